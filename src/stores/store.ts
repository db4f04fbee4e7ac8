import type { Awaitable } from '../types';

/** One stored value with the version and generation the store assigned to it. */
export interface StoredRecord {
  /** The value, as JSON text. */
  readonly data: string;
  /** Starts at 1 when the key is created; the store adds 1 on every commit. */
  readonly version: number;
  /** Starts at 0; the store adds 1 each time an expiry claim on the key is won. */
  readonly generation: number;
}

/** What a write was computed from: the record's version and generation, or `null` when the key was absent. */
export type ExpectedRecord = { readonly version: number; readonly generation: number } | null;

/** One compare-and-set write of a commit. */
export interface CommitWrite {
  readonly key: string;
  /** The record this write was computed from; a mismatch fails the whole commit. There is no wildcard. */
  readonly expected: ExpectedRecord;
  /** The new JSON, or `null` to delete the key. */
  readonly data: string | null;
  /**
   * For session records: the key is due for expiry `idleMs` from now, counted on the store's clock.
   * `null` or absent: the key has no deadline.
   */
  readonly idleMs?: number | null;
}

/** The outcome of a commit: new versions in write order, or why nothing was written. */
export type CommitResult =
  | { readonly ok: true; readonly versions: readonly number[] }
  | {
      readonly ok: false;
      /** `conflict`: a version did not match. `ended`: an expiry claim bumped the generation. */
      readonly reason: 'conflict' | 'ended';
      readonly key: string;
    };

/** A due key that this caller, and no other, won the right to expire. */
export interface ExpiryClaim {
  readonly key: string;
  /** The generation after the claim (the claim bumped it). */
  readonly generation: number;
  /** The record's version when it was claimed: if it has moved since, a turn touched the key and it is not idle. */
  readonly version: number;
  /** The deadline that came due (ms since the epoch, store clock). */
  readonly deadline: number;
}

/** Store notifications the manager listens to. */
export interface StoreListener {
  /** The store dropped `key` to stay within its bound; `record` is what it held. */
  evicted(key: string, record: StoredRecord): void;
}

/**
 * The contract every session store implements. Records are JSON text with store-assigned versions;
 * a commit is an atomic compare-and-set over all its writes.
 */
export interface SessionStore {
  /** Reads one record; `undefined` when the key is absent. */
  get(key: string): Awaitable<StoredRecord | undefined>;
  /**
   * Writes every write of `writes` atomically if each `expected` matches the stored record, else writes nothing.
   * A stale version is a conflict, never an overwrite.
   */
  commit(writes: readonly CommitWrite[]): Awaitable<CommitResult>;
  /** Removes a key and its deadline unconditionally (administrative deletion). */
  delete(key: string): Awaitable<void>;
  /**
   * Claims up to `limit` keys whose deadline has passed (`now` defaults to the store's clock). Each due
   * deadline is claimed by exactly one caller: the claim bumps the key's generation and clears its deadline.
   */
  claimDue(limit: number, now?: number): Awaitable<readonly ExpiryClaim[]>;
  /** In-process stores: the earliest pending deadline, so the scheduler can sleep until then instead of polling. */
  nextDeadline?(): number | undefined;
  /** Registers the manager's listener (one per store). */
  listen?(listener: StoreListener): void;
  /** True when records outlive the process (Redis); `close()` then persists sessions instead of ending them. */
  readonly persistent?: boolean;
  /** Releases timers and connections. */
  close?(): Awaitable<void>;
}

/** Key prefixes: session records, user bags and conversation bags share one store. */
export const SESSION_PREFIX = 's:';
export const USER_PREFIX = 'u:';
export const CONVERSATION_PREFIX = 'c:';
