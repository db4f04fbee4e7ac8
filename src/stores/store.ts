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
  /**
   * The key expires this many ms after this write (on the store's clock), whatever is written later without a `ttlMs`:
   * how the `retention` option reaches the store. `null`: the key no longer expires. Absent: its expiry stays as it is.
   * A session record written with a deadline may expire on the store's own terms instead (RedisStore: `sessionGrace`
   * after its deadline); its `ttlMs` then still keeps its owner's index.
   */
  readonly ttlMs?: number | null;
  /**
   * Stores that index keys by user (see {@link SessionStore.userKeys}): the user key (`u:<channel>:<user>`) whose index
   * lists this key. The key joins that index when this write creates it, and leaves it when this write deletes it; a
   * `ttlMs` also keeps the index at least that long.
   */
  readonly owner?: string;
}

/** What {@link SessionStore.forget} deleted. */
export interface Forgotten {
  /** Whether the record existed. */
  readonly record: boolean;
  /** How many quarantined copies of it went with it. */
  readonly quarantined: number;
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
  /** Stores that hold claims for a while (Redis): how long, unless renewed with `holdClaims`. */
  readonly holdMs?: number;
}

/** Options of one commit. */
export interface CommitOptions {
  /**
   * Stores with leases: gives up the turn lease of `key` once the writes are applied (or at once when there are none),
   * in the same call, if `token` still holds it. A commit that fails keeps the lease.
   */
  readonly release?: { readonly key: string; readonly token: string };
  /**
   * Names the turn attempt that commits (the manager passes one id per attempt; its checkpoints share it). A commit
   * retried with the same `turnId` after an ambiguous failure (a timeout, a dropped connection) that had in fact been
   * applied resolves to the versions it produced instead of a conflict, so nothing is applied twice. A store needs to
   * recognise a retry only for as long as one can come: RedisStore until the key is written again (its own retries
   * stop at `commandTimeout`); MemoryStore, whose commits are never ambiguous, for at least its next 1,024 writes.
   */
  readonly turnId?: string;
}

/** Stores with leases: the turn lease that {@link SessionStore.open} takes on the first key. */
export interface LeaseRequest {
  /** Who asks: one token per manager, so that a lease it still holds (a release lost in an outage) is taken over at once. */
  readonly token: string;
  /** How long the lease lasts, on the store's clock. */
  readonly ttlMs: number;
}

/** Options of {@link SessionStore.open}. */
export interface OpenOptions {
  /** Take (or, when `token` holds it already, extend) the turn lease of the first key before reading. */
  readonly lease?: LeaseRequest;
}

/** What {@link SessionStore.open} read. */
export interface OpenResult {
  /** The records of the keys asked for, in order; `undefined` where a key is absent. Empty when `busy`. */
  readonly records: readonly (StoredRecord | undefined)[];
  /** Set when another token holds the lease: nothing was read. `ttlMs`: how long until it lapses. */
  readonly busy?: { readonly holder: string; readonly ttlMs: number };
}

/** Store notifications the manager listens to. */
export interface StoreListener {
  /** The store dropped `key` to stay within its bound; `record` is what it held. */
  evicted(key: string, record: StoredRecord): void;
}

/**
 * The contract every session store implements. Records are JSON text with store-assigned versions; a commit is an
 * atomic compare-and-set over all its writes. A unit of work is two calls: `open` (lease and records), then `commit`
 * (writes, deadline and lease release).
 */
export interface SessionStore {
  /**
   * Opens a unit of work in one call: takes the lease of `keys[0]` when asked (stores with leases), then reads every key.
   * Stores without it are read with `get`, one key at a time.
   */
  open?(keys: readonly string[], options?: OpenOptions): Awaitable<OpenResult>;
  /** Reads one record; `undefined` when the key is absent. */
  get(key: string): Awaitable<StoredRecord | undefined>;
  /**
   * Writes every write of `writes` atomically if each `expected` matches the stored record, else writes nothing.
   * A stale version is a conflict, never an overwrite.
   */
  commit(writes: readonly CommitWrite[], options?: CommitOptions): Awaitable<CommitResult>;
  /** Removes a key and its deadline unconditionally (administrative deletion). */
  delete(key: string): Awaitable<void>;
  /**
   * Claims up to `limit` keys whose deadline has passed (`now` defaults to the store's clock). Each due
   * deadline is claimed by exactly one caller: the claim bumps the key's generation and clears its deadline.
   */
  claimDue(limit: number, now?: number): Awaitable<readonly ExpiryClaim[]>;
  /** Extends the pending claims on `keys` by the store's claim time, so a slow `onSessionEnd` keeps what it claimed. */
  holdClaims?(keys: readonly string[]): Awaitable<void>;
  /**
   * Stores with leases (their `open` honours `options.lease`): extends the lease to `ttlMs` from now if `token` still
   * holds it; false when it was lost. The lease only keeps turns from overlapping; the compare-and-set commit stays the
   * fence against lost updates.
   */
  renew?(key: string, token: string, ttlMs: number): Awaitable<boolean>;
  /** Gives the lease up if `token` still holds it (else does nothing). */
  release?(key: string, token: string): Awaitable<void>;
  /** Keeps a copy of a record that could not be read back (bad JSON, schema mismatch) aside, for a human to look at. */
  quarantine?(key: string, record: StoredRecord): Awaitable<void>;
  /**
   * The keys indexed under the user key `owner` (every key a write created with that `owner` and no write deleted since):
   * what `manager.forgetUser()` and `exportUser()` find a user's records by, without scanning the store. The owner's
   * own key need not be listed (the manager reads and forgets it by name).
   */
  userKeys?(owner: string): Awaitable<readonly string[]>;
  /**
   * Deletes `key` with everything the store holds for it: the record, its deadline, a pending claim, its quarantined
   * copies, its place in its owner's index (`owner === key`: the whole index of that user goes). A turn that read the
   * record before cannot write it back: its commit is a conflict.
   */
  forget?(key: string, owner?: string): Awaitable<Forgotten>;
  /** The copies of `key` that {@link SessionStore.quarantine} keeps now. */
  quarantinedOf?(key: string): Awaitable<readonly StoredRecord[]>;
  /** In-process stores: the earliest pending deadline, so the scheduler can sleep until then instead of polling. */
  nextDeadline?(): number | undefined;
  /** In-process stores: the session keys held now, so that `close()` can end their sessions (reason `shutdown`). */
  sessionKeys?(): Iterable<string>;
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
