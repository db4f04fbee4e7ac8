// Shared set-up for the Session, outbox and dialog suites: a manager with a recording deliver, error log and trace.
import {
  MemoryStore,
  SessionManager,
  type Address,
  type IncomingMessage,
  type JsonObject,
  type OutgoingMessage,
  type CommitWrite,
  type PalaverError,
  type SessionManagerOptions,
  type SessionStore,
  type TurnResult,
} from '../../src';
import type { SessionStateRecord } from '../../src/schema';
import { decodeState } from '../../src/codec';
import { address } from './fixtures';

export interface Bot<E extends JsonObject, U extends JsonObject, C extends JsonObject, P extends JsonObject> {
  bot: SessionManager<E, U, C, P>;
  /** Every `deliver` call, in order. */
  delivered: { address: Address; messages: OutgoingMessage[] }[];
  /** Every `error` event. */
  errors: PalaverError[];
  /** Every trace line. */
  trace: string[];
  /** The texts delivered so far, in order (typing indicators as `'(typing)'`). */
  texts(): (string | undefined)[];
  /** Sends `text` (and any other message fields) from `to` (the default address). */
  say(text: string, to?: Address, extra?: Partial<IncomingMessage>): Promise<TurnResult>;
  /** The stored session state of `to`, read back under the schema. */
  stored(to?: Address): Promise<SessionStateRecord | undefined>;
}

/** A manager that records deliveries, errors and trace lines; replies go out at the end of each turn unless told otherwise. */
export function makeBot<
  E extends JsonObject = JsonObject,
  U extends JsonObject = JsonObject,
  C extends JsonObject = JsonObject,
  P extends JsonObject = JsonObject,
>(options: Partial<SessionManagerOptions<E, U, C, P>> = {}): Bot<E, U, C, P> {
  const delivered: Bot<E, U, C, P>['delivered'] = [];
  const errors: PalaverError[] = [];
  const trace: string[] = [];
  const bot = new SessionManager<E, U, C, P>({
    deliver: (to, messages) => {
      delivered.push({ address: to, messages });
    },
    autoBatchDelay: 0,
    trace: (line) => trace.push(line),
    store: smallStore(),
    ...options,
  });
  bot.on('error', (error) => errors.push(error));
  return {
    bot,
    delivered,
    errors,
    trace,
    texts: () => delivered.flatMap((batch) => batch.messages.map((m) => (m.type === 'typing' ? '(typing)' : m.text))),
    say: (text, to = address(), extra = {}) => bot.receive({ address: to, text, ...extra }),
    stored: async (to = address()) => {
      const key = bot.keyOf(to);
      const record = await bot.store.get(key);
      return record === undefined ? undefined : decodeState(record.data, key);
    },
  };
}

/** A promise with its resolve and reject functions, for a `deliver` that the test settles. */
export function deferred<T = void>(): {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
} {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** A MemoryStore sized for tests (the default one preallocates room for 100 000 sessions, which takes ~100 ms). */
export function smallStore(): MemoryStore {
  return new MemoryStore({ maxSessions: 1000 });
}

/** A small MemoryStore whose commits take a few ticks, like a store over the network. */
export function slowStore(): SessionStore {
  const inner = smallStore();
  return {
    get: (key) => inner.get(key),
    commit: async (writes: readonly CommitWrite[]) => {
      for (let i = 0; i < 20; i++) await Promise.resolve();
      return inner.commit(writes);
    },
    delete: (key) => inner.delete(key),
    claimDue: (limit, now) => inner.claimDue(limit, now),
    nextDeadline: () => inner.nextDeadline(),
  };
}

/** What `run` throws, or `undefined` when it returns. */
export function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}
