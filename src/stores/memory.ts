import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { parseOrThrow } from '../schema';
import { DeadlineHeap, type HeapItem } from './deadline-heap';
import {
  SESSION_PREFIX,
  type CommitOptions,
  type CommitResult,
  type CommitWrite,
  type ExpectedRecord,
  type ExpiryClaim,
  type Forgotten,
  type OpenResult,
  type SessionStore,
  type StoredRecord,
  type StoreListener,
} from './store';

const optionsSchema = z
  .object({
    maxSessions: z.number().int().positive().optional(),
    // A turn writes up to two data records (userData, conversationData): with room for fewer, one would evict the other.
    maxDataRecords: z.number().int().min(2, 'must be at least 2').optional(),
  })
  .strict();

/** Options of {@link MemoryStore}. */
export interface MemoryStoreOptions {
  /**
   * The most session records kept; past it the least recently used session is evicted and ends with reason `evicted`.
   * @default 100_000
   */
  maxSessions?: number;
  /**
   * The most `userData` and `conversationData` records kept (least recently used dropped first).
   * @default 3 * maxSessions
   */
  maxDataRecords?: number;
}

/** A session record: it can have a deadline, and an expiry claim bumps its generation. */
class SessionEntry implements StoredRecord, HeapItem {
  heapIndex = -1;
  /** The user key whose index lists this record (`CommitWrite.owner`). */
  owner: string | undefined = undefined;
  constructor(
    readonly key: string,
    public data: string,
    public version: number,
    public generation: number,
  ) {}
}

/** A `userData` or `conversationData` record: it never has a deadline, so no claim bumps its generation. */
class DataEntry implements StoredRecord {
  /** The user key whose index lists this record (`CommitWrite.owner`). */
  owner: string | undefined = undefined;
  constructor(
    public data: string,
    public version: number,
  ) {}

  get generation(): number {
    return 0;
  }
}

type Entry = SessionEntry | DataEntry;

/** When a record expires (`CommitWrite.ttlMs`): kept in a heap of its own, so the scheduler's wake-ups purge it. */
class Expiry implements HeapItem {
  heapIndex = -1;
  constructor(readonly key: string) {}
}

const RECENT_TURNS = 1024;

/**
 * The turn ids of the latest writes, by key: what recognises a retried commit (`CommitOptions.turnId`). A retry comes
 * right after the failure it follows, so an id is kept for the next `RECENT_TURNS` to 2 × `RECENT_TURNS` writes
 * (two generations of maps) instead of for the life of every record.
 */
class RecentTurns {
  private current = new Map<string, string>();
  private previous = new Map<string, string>();

  get(key: string): string | undefined {
    return this.current.get(key) ?? this.previous.get(key);
  }

  set(key: string, turnId: string | undefined): void {
    if (turnId === undefined) {
      this.current.delete(key);
      this.previous.delete(key);
      return;
    }
    if (this.current.size >= RECENT_TURNS) {
      const older = this.previous;
      this.previous = this.current;
      older.clear();
      this.current = older;
    }
    this.current.set(key, turnId);
  }
}

/**
 * The default store: records held as JSON text in lru-cache (so a later mutation of a committed
 * object changes nothing stored), bounded by `maxSessions`, with an in-process deadline heap.
 * A commit retried with the same `turnId` is recognised for at least the next 1,024 writes to the store; older turn ids
 * are forgotten, so that an idle record holds none.
 */
export class MemoryStore implements SessionStore {
  readonly persistent = false;
  private readonly sessions: LRUCache<string, SessionEntry>;
  private readonly data: LRUCache<string, DataEntry>;
  private readonly deadlines = new DeadlineHeap<SessionEntry>();
  private readonly expiries = new DeadlineHeap<Expiry>();
  /** The records that expire, by key (empty unless writes carry `ttlMs`: then each read checks it). */
  private readonly expiring = new Map<string, Expiry>();
  private readonly turns = new RecentTurns();
  private listener: StoreListener | undefined;
  private readonly quarantined = new LRUCache<string, { key: string; record: StoredRecord }>({ max: 100 });

  constructor(options: MemoryStoreOptions = {}) {
    const { maxSessions = 100_000, maxDataRecords } = parseOrThrow(
      optionsSchema,
      options,
      'INVALID_OPTIONS',
      'MemoryStore options',
    );
    this.sessions = new LRUCache<string, SessionEntry>({
      // A size bound (1 per entry) instead of `max`: lru-cache then grows its index as sessions come instead of
      // allocating room for every possible session up front (with `max`, a full cache takes about 25 bytes less per
      // session, but every store, however few sessions it will hold, pays 28 bytes per possible one and some
      // milliseconds when it is created).
      maxSize: maxSessions,
      sizeCalculation: one,
      dispose: (entry, key, reason) => {
        this.deadlines.remove(entry);
        if (this.expiring.size > 0) this.unexpire(key);
        if (reason === 'evict') this.listener?.evicted(key, snapshot(entry));
      },
    });
    this.data = new LRUCache<string, DataEntry>({
      // Grown as records come: a store holds three times as much room for them as for sessions, and most of it
      // usually stays empty (a conversation waiting at its first prompt has no data record yet).
      maxSize: maxDataRecords ?? 3 * maxSessions,
      sizeCalculation: one,
      dispose: (entry, key, reason) => {
        if (this.expiring.size > 0) this.unexpire(key);
        if (reason === 'evict') this.listener?.evicted(key, snapshot(entry));
      },
    });
  }

  /** Session records held now. */
  get size(): number {
    return this.sessions.size;
  }

  listen(listener: StoreListener): void {
    this.listener = listener;
  }

  /** Reads `keys` (MemoryStore has no leases: one process, and its per-key queue, is the only writer). */
  open(keys: readonly string[]): OpenResult {
    const records: (StoredRecord | undefined)[] = [];
    for (const key of keys) records.push(this.get(key));
    return { records };
  }

  get(key: string): StoredRecord | undefined {
    if (this.expiring.size > 0) this.purgeIfExpired(key);
    // The entry is mutable inside the store; callers get an immutable snapshot.
    const entry = this.cache(key).get(key);
    return entry === undefined ? undefined : snapshot(entry);
  }

  commit(writes: readonly CommitWrite[], options?: CommitOptions): CommitResult {
    const turnId = options?.turnId;
    const entries: (Entry | undefined)[] = [];
    for (const write of writes) {
      if (this.expiring.size > 0) this.purgeIfExpired(write.key);
      const entry = this.cache(write.key).peek(write.key);
      entries.push(entry);
      const reason = mismatch(entry, write.expected);
      if (reason !== undefined) {
        // A commit that was applied already fails the check it passed then: only now can it be a retry.
        const replayed = turnId === undefined ? undefined : this.replayed(writes, turnId);
        return replayed === undefined ? { ok: false, reason, key: write.key } : { ok: true, versions: replayed };
      }
    }
    const versions: number[] = [];
    let added = false; // or removed: after either, an entry looked up before may be gone
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      const key = write.key;
      // Looked up again once an earlier write of this commit has added a record (that may have evicted this one) or
      // removed one (this very key, written twice).
      const entry = added && entries[i] !== undefined ? this.cache(key).peek(key) : entries[i];
      if (write.data === null) {
        if (entry !== undefined) {
          this.cache(key).delete(key);
          added = true;
        }
        versions.push(0);
        continue;
      }
      this.turns.set(key, turnId);
      const data = flat(write.data);
      if (entry !== undefined) {
        entry.data = data;
        entry.version++;
        this.cache(key).get(key); // refresh recency without replacing the entry
        versions.push(entry.version);
        if (entry instanceof SessionEntry) this.schedule(entry, write.idleMs);
      } else if (key.startsWith(SESSION_PREFIX)) {
        const record = new SessionEntry(key, data, 1, 0);
        record.owner = write.owner;
        this.sessions.set(key, record);
        added = true;
        versions.push(1);
        this.schedule(record, write.idleMs);
      } else {
        const record = new DataEntry(data, 1);
        record.owner = write.owner;
        this.data.set(key, record);
        added = true;
        versions.push(1);
      }
      if (write.ttlMs !== undefined) this.expire(key, write.ttlMs);
    }
    return { ok: true, versions };
  }

  delete(key: string): void {
    this.cache(key).delete(key);
  }

  /** Also drops every record whose `ttlMs` ran out (the scheduler wakes for those too: see `nextDeadline`). */
  claimDue(limit: number, now: number = Date.now()): ExpiryClaim[] {
    for (let due = this.expiries.popDue(now); due !== undefined; due = this.expiries.popDue(now)) {
      this.expiring.delete(due.key);
      this.cache(due.key).delete(due.key);
    }
    const claims: ExpiryClaim[] = [];
    while (claims.length < limit) {
      const deadline = this.deadlines.peekDeadline();
      const entry = this.deadlines.popDue(now);
      if (entry === undefined || deadline === undefined) break;
      entry.generation++;
      claims.push({ key: entry.key, generation: entry.generation, version: entry.version, deadline });
    }
    return claims;
  }

  nextDeadline(): number | undefined {
    const deadline = this.deadlines.peekDeadline();
    const expiry = this.expiries.peekDeadline();
    return expiry === undefined || (deadline !== undefined && deadline <= expiry) ? deadline : expiry;
  }

  /** The keys whose creating write named `owner` (a scan: MemoryStore keeps no index of its own). */
  userKeys(owner: string): string[] {
    const keys: string[] = [];
    for (const cache of this.caches())
      for (const [key, entry] of cache.entries()) if (entry.owner === owner) keys.push(key);
    return keys.filter((key) => this.get(key) !== undefined);
  }

  forget(key: string, owner?: string): Forgotten {
    const record = this.get(key) !== undefined;
    if (owner === key)
      for (const cache of this.caches())
        for (const entry of cache.values()) if (entry.owner === owner) entry.owner = undefined;
    this.cache(key).delete(key);
    this.turns.set(key, undefined);
    let quarantined = 0;
    for (const [name, copy] of [...this.quarantined.entries()]) {
      if (copy.key !== key) continue;
      this.quarantined.delete(name);
      quarantined++;
    }
    return { record, quarantined };
  }

  quarantinedOf(key: string): StoredRecord[] {
    return this.quarantinedRecords()
      .filter((copy) => copy.key === key)
      .map((copy) => copy.record);
  }

  /** The session keys held now (a snapshot: ending them while iterating is safe). */
  sessionKeys(): string[] {
    return [...this.sessions.keys()];
  }

  /** Keeps a copy of a record that could not be read back (the latest 100), for `quarantined()`. */
  quarantine(key: string, record: StoredRecord): void {
    this.quarantined.set(`${key}#${record.version}.${record.generation}`, {
      key,
      record: { data: record.data, version: record.version, generation: record.generation },
    });
  }

  /** The records set aside by `quarantine`, oldest first. */
  quarantinedRecords(): { key: string; record: StoredRecord }[] {
    return [...this.quarantined.values()].reverse();
  }

  /** Sessions with a pending deadline. */
  get pendingDeadlines(): number {
    return this.deadlines.size;
  }

  close(): void {
    // Nothing to release: no timers, no sockets.
  }

  /** The versions `writes` produced if this very commit (same turn id) was already applied, else `undefined`. */
  private replayed(writes: readonly CommitWrite[], turnId: string): number[] | undefined {
    for (const write of writes) {
      if (write.data === null || this.turns.get(write.key) !== turnId) return undefined;
      const entry = this.cache(write.key).peek(write.key);
      if (entry === undefined) return undefined;
      if (write.expected !== null && entry.version !== write.expected.version + 1) return undefined;
    }
    return writes.map((write) => this.cache(write.key).peek(write.key)!.version);
  }

  private cache(key: string): LRUCache<string, SessionEntry> | LRUCache<string, DataEntry> {
    return key.startsWith(SESSION_PREFIX) ? this.sessions : this.data;
  }

  private caches(): LRUCache<string, Entry>[] {
    return [this.sessions, this.data] as LRUCache<string, Entry>[];
  }

  private expire(key: string, ttlMs: number | null): void {
    if (ttlMs === null) return this.unexpire(key);
    let expiry = this.expiring.get(key);
    if (expiry === undefined) this.expiring.set(key, (expiry = new Expiry(key)));
    this.expiries.set(expiry, Date.now() + ttlMs);
  }

  private unexpire(key: string): void {
    const expiry = this.expiring.get(key);
    if (expiry === undefined) return;
    this.expiries.remove(expiry);
    this.expiring.delete(key);
  }

  /** Drops `key` now if its `ttlMs` ran out (a read must not see it, a create must not conflict with it). */
  private purgeIfExpired(key: string): void {
    const expiry = this.expiring.get(key);
    if (expiry !== undefined && this.expiries.deadlineOf(expiry)! <= Date.now()) this.cache(key).delete(key);
  }

  private schedule(entry: SessionEntry, idleMs: number | null | undefined): void {
    if (idleMs == null) this.deadlines.remove(entry);
    else this.deadlines.set(entry, Date.now() + idleMs);
  }
}

/** Why a write computed from `expected` cannot apply over `entry`, or `undefined` when it can. */
function mismatch(entry: Entry | undefined, expected: ExpectedRecord): 'conflict' | 'ended' | undefined {
  if (expected === null) return entry === undefined ? undefined : 'conflict';
  if (entry === undefined) return 'conflict';
  if (entry.generation !== expected.generation) return 'ended';
  return entry.version === expected.version ? undefined : 'conflict';
}

function snapshot(entry: Entry): StoredRecord {
  return { data: entry.data, version: entry.version, generation: entry.generation };
}

/**
 * `text`, made to hold its characters in one piece. V8's JSON.stringify builds text longer than a few dozen characters
 * in parts joined by rope nodes (32 bytes each, and a header per part): held as it comes, a record of 120 characters takes
 * about 90 bytes more. Reading a character joins the parts in place (one copy of the text; nothing for text in one
 * piece already), and the next collection of young objects drops the rope node that led to them.
 */
function flat(text: string): string {
  text.charCodeAt(0);
  return text;
}

function one(): number {
  return 1;
}
