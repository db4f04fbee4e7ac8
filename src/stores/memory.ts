import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { parseOrThrow } from '../schema';
import { DeadlineHeap, type HeapItem } from './deadline-heap';
import {
  SESSION_PREFIX,
  type CommitOptions,
  type CommitResult,
  type CommitWrite,
  type ExpiryClaim,
  type SessionStore,
  type StoredRecord,
  type StoreListener,
} from './store';

const optionsSchema = z
  .object({
    maxSessions: z.number().int().positive().optional(),
    maxDataRecords: z.number().int().positive().optional(),
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

class Entry implements StoredRecord, HeapItem {
  deadline = Infinity;
  heapIndex = -1;
  /** The turn attempt that wrote the entry last (see `CommitOptions.turnId`). */
  turn: string | undefined;
  constructor(
    readonly key: string,
    public data: string,
    public version: number,
    public generation: number,
  ) {}
}

/**
 * The default store: records held as JSON text in lru-cache (so a later mutation of a committed
 * object changes nothing stored), bounded by `maxSessions`, with an in-process deadline heap.
 */
export class MemoryStore implements SessionStore {
  readonly persistent = false;
  private readonly sessions: LRUCache<string, Entry>;
  private readonly data: LRUCache<string, Entry>;
  private readonly deadlines = new DeadlineHeap<Entry>();
  private listener: StoreListener | undefined;
  private readonly quarantined = new LRUCache<string, { key: string; record: StoredRecord }>({ max: 100 });

  constructor(options: MemoryStoreOptions = {}) {
    const { maxSessions = 100_000, maxDataRecords } = parseOrThrow(optionsSchema, options, 'INVALID_OPTIONS', 'MemoryStore options');
    this.sessions = new LRUCache<string, Entry>({
      // A size bound (1 per entry) instead of `max`: lru-cache then grows its index as sessions come instead of
      // allocating room for every possible session up front.
      maxSize: maxSessions,
      sizeCalculation: one,
      dispose: (entry, key, reason) => {
        this.deadlines.remove(entry);
        if (reason === 'evict') this.listener?.evicted(key, snapshot(entry));
      },
    });
    this.data = new LRUCache<string, Entry>({
      maxSize: maxDataRecords ?? 3 * maxSessions,
      sizeCalculation: one,
      dispose: (entry, key, reason) => {
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

  get(key: string): StoredRecord | undefined {
    // The entry is mutable inside the store; callers get an immutable snapshot.
    const entry = this.cache(key).get(key);
    return entry === undefined ? undefined : snapshot(entry);
  }

  commit(writes: readonly CommitWrite[], options?: CommitOptions): CommitResult {
    const turnId = options?.turnId;
    if (turnId !== undefined) {
      const replayed = this.replayed(writes, turnId);
      if (replayed !== undefined) return { ok: true, versions: replayed };
    }
    const entries: (Entry | undefined)[] = [];
    for (const write of writes) {
      const entry = this.cache(write.key).peek(write.key);
      entries.push(entry);
      const expected = write.expected;
      if (expected === null) {
        if (entry !== undefined) return { ok: false, reason: 'conflict', key: write.key };
        continue;
      }
      if (entry === undefined) return { ok: false, reason: 'conflict', key: write.key };
      if (entry.generation !== expected.generation) return { ok: false, reason: 'ended', key: write.key };
      if (entry.version !== expected.version) return { ok: false, reason: 'conflict', key: write.key };
    }
    const versions: number[] = [];
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      const cache = this.cache(write.key);
      let entry = entries[i];
      if (write.data === null) {
        if (entry !== undefined) cache.delete(write.key);
        versions.push(0);
        continue;
      }
      if (entry === undefined) {
        entry = new Entry(write.key, write.data, 1, 0);
        cache.set(write.key, entry);
      } else {
        entry.data = write.data;
        entry.version++;
        cache.get(write.key); // refresh recency without replacing the entry
      }
      entry.turn = turnId;
      versions.push(entry.version);
      if (cache === this.sessions) {
        if (write.idleMs == null) this.deadlines.remove(entry);
        else this.deadlines.set(entry, Date.now() + write.idleMs);
      }
    }
    return { ok: true, versions };
  }

  delete(key: string): void {
    this.cache(key).delete(key);
  }

  claimDue(limit: number, now: number = Date.now()): ExpiryClaim[] {
    const claims: ExpiryClaim[] = [];
    while (claims.length < limit) {
      const entry = this.deadlines.popDue(now);
      if (entry === undefined) break;
      entry.generation++;
      claims.push({ key: entry.key, generation: entry.generation, version: entry.version, deadline: entry.deadline });
    }
    return claims;
  }

  nextDeadline(): number | undefined {
    return this.deadlines.peek()?.deadline;
  }

  /** The session keys held now (a snapshot: ending them while iterating is safe). */
  sessionKeys(): string[] {
    return [...this.sessions.keys()];
  }

  /** Keeps a copy of a record that could not be read back (the latest 100), for `quarantined()`. */
  quarantine(key: string, record: StoredRecord): void {
    this.quarantined.set(`${key}#${record.version}.${record.generation}`, { key, record: { data: record.data, version: record.version, generation: record.generation } });
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
    const versions: number[] = [];
    for (const write of writes) {
      const entry = this.cache(write.key).peek(write.key);
      if (write.data === null || entry === undefined || entry.turn !== turnId) return undefined;
      if (write.expected !== null && entry.version !== write.expected.version + 1) return undefined;
      versions.push(entry.version);
    }
    return versions;
  }

  private cache(key: string): LRUCache<string, Entry> {
    return key.startsWith(SESSION_PREFIX) ? this.sessions : this.data;
  }
}

function snapshot(entry: Entry): StoredRecord {
  return { data: entry.data, version: entry.version, generation: entry.generation };
}

function one(): number {
  return 1;
}
