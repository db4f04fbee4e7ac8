// Shared set-up for the SessionManager suites: a recording deliver, an error log, and addresses.
import { vi } from 'vitest';
import {
  MemoryStore,
  SessionManager,
  type Address,
  type CommitResult,
  type CommitWrite,
  type JsonObject,
  type OutgoingMessage,
  type PalaverError,
  type SessionManagerOptions,
  type SessionStore,
} from '../../src';

export interface Harness<E extends JsonObject> {
  bot: SessionManager<E>;
  /** Every `deliver` call, in order. */
  delivered: { address: Address; messages: OutgoingMessage[] }[];
  /** Every `error` event. */
  errors: PalaverError[];
  /** The texts delivered so far, in order. */
  texts(): (string | undefined)[];
}

/**
 * A manager with a recording `deliver` and `error` listener; replies go out at the end of each turn unless told otherwise.
 * The default store is small (maxSessions 1,000).
 */
export function harness<E extends JsonObject = JsonObject>(
  options: Partial<SessionManagerOptions<E>> = {},
): Harness<E> {
  const delivered: Harness<E>['delivered'] = [];
  const errors: PalaverError[] = [];
  const bot = new SessionManager<E>({
    deliver: (to, messages) => {
      delivered.push({ address: to, messages });
    },
    autoBatchDelay: 0,
    store: new MemoryStore({ maxSessions: 1000 }),
    ...options,
  });
  bot.on('error', (error) => errors.push(error));
  return { bot, delivered, errors, texts: () => delivered.flatMap((batch) => batch.messages.map((m) => m.text)) };
}

/** A MemoryStore whose commit can be made to fail or conflict, and whose commits are counted. */
export class FlakyStore implements SessionStore {
  readonly inner: MemoryStore;
  commits = 0;
  /** Commits still to answer with a conflict. */
  conflicts = 0;
  /** Commits still to throw. */
  failures = 0;

  constructor(inner = new MemoryStore({ maxSessions: 1000 })) {
    this.inner = inner;
  }

  get(key: string) {
    return this.inner.get(key);
  }
  commit(writes: readonly CommitWrite[], options?: Parameters<SessionStore['commit']>[1]): CommitResult {
    this.commits++;
    if (this.failures > 0) {
      this.failures--;
      throw new Error('disk on fire');
    }
    if (this.conflicts > 0) {
      this.conflicts--;
      return { ok: false, reason: 'conflict', key: writes[0]!.key };
    }
    return this.inner.commit(writes, options);
  }
  delete(key: string) {
    this.inner.delete(key);
  }
  claimDue(limit: number, now?: number) {
    return this.inner.claimDue(limit, now);
  }
  nextDeadline() {
    return this.inner.nextDeadline();
  }
  sessionKeys() {
    return this.inner.sessionKeys();
  }
}

/** Lets the scheduler's sweep (timer, then async store work and hooks) run to the end. */
export async function elapse(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}
