// Shared set-up for the hardening suites: fake time that leaves setImmediate real (so a hang can be told from a
// slow turn without advancing the clock), an unhandled-rejection watch, a store that fails on demand, and a bystander.
import { afterEach, beforeEach, expect, vi } from 'vitest';
import {
  MemoryStore,
  PalaverError,
  SessionManager,
  type Address,
  type CommitResult,
  type CommitWrite,
  type ExpiryClaim,
  type JsonObject,
  type OutgoingMessage,
  type SessionManagerOptions,
  type SessionStore,
  type StoredRecord,
  type StoreListener,
} from '../../src';
import { address } from './fixtures';

/** Fakes the clock and timers but not setImmediate: `outcome()` uses the real one to spot a hang. */
export function useFakeTime(now = 0): void {
  beforeEach(() => {
    vi.useFakeTimers({ now, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
}

/** Collects every unhandled rejection and uncaught exception while a test runs; assert it is empty. */
export function watchProcess(): { unhandled: unknown[] } {
  const watch = { unhandled: [] as unknown[] };
  const onError = (reason: unknown) => watch.unhandled.push(reason);
  beforeEach(() => {
    watch.unhandled.length = 0;
    process.on('unhandledRejection', onError);
    process.on('uncaughtException', onError);
  });
  afterEach(async () => {
    // Node reports an unhandled rejection after the microtask queue drains: give it a real turn of the loop.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('unhandledRejection', onError);
    process.off('uncaughtException', onError);
  });
  return watch;
}

export type Outcome<T> =
  { status: 'fulfilled'; value: T } | { status: 'rejected'; reason: unknown } | { status: 'hung' };

/**
 * Settles `promise` without advancing fake time: after `turns` real turns of the event loop, a promise still pending
 * counts as hung. In-memory turns never wait on a timer, so they settle in microtasks.
 */
export async function outcome<T>(promise: Promise<T>, turns = 20): Promise<Outcome<T>> {
  let result: Outcome<T> = { status: 'hung' };
  promise.then(
    (value) => void (result = { status: 'fulfilled', value }),
    (reason: unknown) => void (result = { status: 'rejected', reason }),
  );
  for (let i = 0; i < turns && result.status === 'hung'; i++) await new Promise((resolve) => setImmediate(resolve));
  return result;
}

/** True for a PalaverError with a code; anything else thrown is a bug. */
export function isTyped(reason: unknown): boolean {
  return reason instanceof PalaverError && typeof reason.code === 'string' && reason.code.length > 0;
}

/** The reason of a rejected outcome, or a description of what happened instead (so a failed expect says why). */
export function rejection(result: Outcome<unknown>): unknown {
  return result.status === 'rejected' ? result.reason : `not rejected: ${result.status}`;
}

export interface Recorder {
  deliver: (to: Address, messages: OutgoingMessage[]) => void;
  delivered: { address: Address; messages: OutgoingMessage[] }[];
  texts(): (string | undefined)[];
}

export function recorder(): Recorder {
  const delivered: Recorder['delivered'] = [];
  return {
    deliver: (to, messages) => void delivered.push({ address: to, messages }),
    delivered,
    texts: () => delivered.flatMap((batch) => batch.messages.map((m) => m.text)),
  };
}

/** A manager with a recording deliver and an error log; replies go out at the end of each turn. */
export function makeBot<E extends JsonObject = JsonObject>(options: Partial<SessionManagerOptions<E>> = {}) {
  const record = recorder();
  const errors: PalaverError[] = [];
  const bot = new SessionManager<E>({
    deliver: record.deliver,
    autoBatchDelay: 0,
    store: new MemoryStore({ maxSessions: 1000 }),
    ...options,
  });
  bot.on('error', (error) => errors.push(error));
  return { bot, errors, ...record };
}

/** What a call of FaultyStore is about to do; return true to make it throw. */
export type FaultRule = (call: { op: 'get' | 'commit' | 'claimDue'; n: number; key: string }) => boolean;

/**
 * A MemoryStore that fails when `rule` says so (every k-th call, for a while...), synchronously or asynchronously.
 * `calls` counts the calls of each operation.
 */
export class FaultyStore implements SessionStore {
  readonly inner: MemoryStore;
  readonly persistent = false;
  rule: FaultRule = () => false;
  async = false;
  readonly calls = { get: 0, commit: 0, claimDue: 0 };

  constructor(inner = new MemoryStore({ maxSessions: 1000 })) {
    this.inner = inner;
  }

  get(key: string): StoredRecord | undefined | Promise<StoredRecord | undefined> {
    return this.run('get', key, () => this.inner.get(key));
  }
  commit(
    writes: readonly CommitWrite[],
    options?: Parameters<SessionStore['commit']>[1],
  ): CommitResult | Promise<CommitResult> {
    return this.run('commit', writes[0]?.key ?? '', () => this.inner.commit(writes, options));
  }
  delete(key: string): void {
    this.inner.delete(key);
  }
  claimDue(limit: number, now?: number): readonly ExpiryClaim[] | Promise<readonly ExpiryClaim[]> {
    return this.run('claimDue', '', () => this.inner.claimDue(limit, now));
  }
  nextDeadline(): number | undefined {
    return this.inner.nextDeadline();
  }
  sessionKeys(): string[] {
    return this.inner.sessionKeys();
  }
  listen(listener: StoreListener): void {
    this.inner.listen(listener);
  }
  quarantine(key: string, record: StoredRecord): void {
    this.inner.quarantine(key, record);
  }

  private run<T>(op: 'get' | 'commit' | 'claimDue', key: string, work: () => T): T | Promise<T> {
    const n = ++this.calls[op];
    const fail = this.rule({ op, n, key });
    if (!this.async) {
      if (fail) throw new Error(`store ${op} #${n} failed`);
      return work();
    }
    return Promise.resolve().then(() => {
      if (fail) throw new Error(`store ${op} #${n} failed`);
      return work();
    });
  }
}

/** The raw records of an address's session, user and conversation keys (to compare before and after). */
export function recordsOf(bot: SessionManager<any>, to: Address): (string | undefined)[] {
  const store = bot.store as MemoryStore | FaultyStore;
  const inner = store instanceof FaultyStore ? store.inner : store;
  return [bot.keyOf(to), `u:${to.channelId}:${to.user.id}`, `c:${to.channelId}:${to.conversation.id}`].map(
    (key) => inner.get(key)?.data,
  );
}

/**
 * A user who is never the target of an attack: two turns of state before, then `check()` asserts that nothing of it
 * changed and that a third turn still counts on from it.
 */
export async function bystander(bot: SessionManager<any>, to = address('bystander', 'quiet-room', 'safe')) {
  await bot.receive({ address: to, text: 'count' });
  await bot.receive({ address: to, text: 'count' });
  const before = recordsOf(bot, to);
  expect(before[0]).toBeDefined();
  return {
    address: to,
    /** Asserts the bystander's records are untouched. */
    untouched(): void {
      expect(recordsOf(bot, to)).toEqual(before);
    },
  };
}
