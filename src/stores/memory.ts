import { z } from 'zod';
import { isUserKeyOf } from '../keys';
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
   * The most session records kept; past it the least recently used session (approximately: a session used since the
   * last eviction passed over it gets a second chance) is evicted and ends with reason `evicted`.
   * @default 100_000
   */
  maxSessions?: number;
  /**
   * The most `userData` and `conversationData` records kept (least recently used dropped first, approximately, as for
   * sessions).
   * @default 3 * maxSessions
   */
  maxDataRecords?: number;
}

/**
 * A session record: it can have a deadline, and an expiry claim bumps its generation. `mark` holds the version times 4,
 * plus {@link OWNED} while the record's owner (`CommitWrite.owner`) is the user key of its own default session key (as
 * it is for every default key: the owner then costs neither a string nor a field), plus {@link USED} while the record
 * has been used since eviction last looked at it (see {@link Records}). Any other owner is kept in `MemoryStore.owners`.
 */
class SessionEntry implements HeapItem {
  heapIndex = -1;
  constructor(
    readonly key: string,
    public data: string,
    public mark: number,
    public generation: number,
  ) {}
}

/** Mark bits (`&` reads the low bits of any safe integer: ToInt32 keeps them, so versions past 2^29 stay exact). */
const USED = 1;
const OWNED = 2;
/** One version, in a mark. */
const VERSION = 4;

/** Whether `entry` (the record of `key`) is listed in the index of `owner` through its own user key. */
function ownedBy(key: string, entry: SessionEntry, owner: string): boolean {
  return (entry.mark & OWNED) !== 0 && isUserKeyOf(key, owner);
}

/** The version in a mark. */
function versionOf(mark: number): number {
  return (mark - (mark & (USED | OWNED))) / VERSION;
}

/** The mark of the next version, used (the owner bit stays). `|` would cut a mark past 2^31 to 32 bits. */
function nextMark(mark: number): number {
  return mark - (mark & USED) + VERSION + USED;
}

const COLON = 58;
const ZERO = 48;

/**
 * A `userData` or `conversationData` record as one string: its mark (as a session's) in decimal, `:`, then its text.
 * It never has a deadline, so no claim bumps its generation, and it needs no object of its own: a data record costs
 * its Map entry and its text, plus a few characters, where an object for its text and version took 40 bytes more.
 */
function markOf(packed: string): number {
  let mark = 0;
  for (let i = 0; ; i++) {
    const c = packed.charCodeAt(i);
    if (c === COLON) return mark;
    mark = mark * 10 + (c - ZERO);
  }
}

function dataOf(packed: string): string {
  return packed.slice(packed.indexOf(':') + 1);
}

function pack(mark: number, data: string): string {
  return flat(`${mark}:${data}`);
}

/**
 * Records by key in one Map, bounded by `max`: past it, the least recently used record goes, found the way a clock
 * sweep finds it (second chance). A use only sets a bit in the record; the Map's order is the order records came in
 * or were last passed over, and eviction walks it from the oldest: a record used since it was last passed over loses
 * its bit and goes to the back, the first one found unused is evicted. So a use costs no reordering and no memory,
 * where exact recency order (lru-cache's index) cost about 47 bytes per record more than the Map alone and a
 * reinsertion per use; the price is that a record used once, long ago, outlives one sweep more than exact order would
 * let it.
 */
class Records<E extends SessionEntry | string> {
  readonly map = new Map<string, E>();

  constructor(
    private readonly max: number,
    private readonly evicted: (key: string, entry: E) => void,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** Adds a record for a key it does not hold, evicting one first when full. */
  add(key: string, entry: E): void {
    if (this.map.size >= this.max) this.evictOne();
    this.map.set(key, entry);
  }

  private evictOne(): void {
    const map = this.map;
    // A record moved to the back comes round again in this same walk (Map iteration sees later insertions), unused
    // by then: the walk ends within one pass plus one record.
    for (const [key, entry] of map) {
      map.delete(key);
      if (typeof entry === 'string') {
        const mark = markOf(entry);
        if ((mark & 1) === 1) {
          map.set(key, pack(mark - 1, dataOf(entry)) as E);
          continue;
        }
      } else if ((entry.mark & 1) === 1) {
        entry.mark--;
        map.set(key, entry);
        continue;
      }
      this.evicted(key, entry);
      return;
    }
  }
}

/** When a record expires (`CommitWrite.ttlMs`): kept in a heap of its own, so the scheduler's wake-ups purge it. */
class Expiry implements HeapItem {
  heapIndex = -1;
  constructor(readonly key: string) {}
}

const RECENT_TURNS = 2048;
const QUARANTINED = 100;

/**
 * The turn ids of the latest writes: what recognises a retried commit (`CommitOptions.turnId`). A retry comes right
 * after the failure it follows, so an id is kept for the next `RECENT_TURNS` - 1 writes (a ring of the latest writes,
 * a write of no turn included) instead of for the life of every record. A write costs two array stores; only a commit
 * that fails its check, which may be a retry, looks anything up.
 */
class RecentTurns {
  private readonly keys = new Array<string | undefined>(RECENT_TURNS).fill(undefined);
  private readonly ids = new Array<string | undefined>(RECENT_TURNS).fill(undefined);
  private next = 0;

  /** The turn id of the latest write of `key` still in the ring (`undefined`: none, or a write of no turn). */
  get(key: string): string | undefined {
    for (let n = 1; n <= RECENT_TURNS; n++) {
      const slot = (this.next - n + RECENT_TURNS) % RECENT_TURNS;
      if (this.keys[slot] === key) return this.ids[slot];
    }
    return undefined;
  }

  set(key: string, turnId: string | undefined): void {
    this.keys[this.next] = key;
    this.ids[this.next] = turnId;
    this.next = (this.next + 1) % RECENT_TURNS;
  }
}

/**
 * The default store: records held as JSON text in Maps (so a later mutation of a committed object changes nothing
 * stored), bounded by `maxSessions` and `maxDataRecords`, with an in-process deadline heap.
 * A commit retried with the same `turnId` is recognised for at least the next 1,024 writes to the store; older turn ids
 * are forgotten, so that an idle record holds none.
 */
export class MemoryStore implements SessionStore {
  readonly persistent = false;
  private readonly sessions: Records<SessionEntry>;
  private readonly data: Records<string>;
  private readonly deadlines = new DeadlineHeap<SessionEntry>();
  private readonly expiries = new DeadlineHeap<Expiry>();
  /** The records that expire, by key (empty unless writes carry `ttlMs`: then each read checks it). */
  private readonly expiring = new Map<string, Expiry>();
  /**
   * The owners of records (`CommitWrite.owner`) other than the one a record implies: a data record's own key (a user's
   * `userData` record is owned by it), a session's own user key (its {@link OWNED} bit). Here: a one-to-one
   * `conversationData` record's owner, and a custom session key's.
   * its own key and needs no entry; only one-to-one `conversationData` records have one.
   */
  private readonly owners = new Map<string, string>();
  private readonly turns = new RecentTurns();
  private listener: StoreListener | undefined;
  private readonly quarantined = new Map<string, { key: string; record: StoredRecord }>();

  constructor(options: MemoryStoreOptions = {}) {
    const { maxSessions = 100_000, maxDataRecords } = parseOrThrow(
      optionsSchema,
      options,
      'INVALID_OPTIONS',
      'MemoryStore options',
    );
    // Both grow as records come: nothing is allocated for room a store may never use.
    this.sessions = new Records<SessionEntry>(maxSessions, (key, entry) => {
      this.deadlines.remove(entry);
      this.forgetMarks(key);
      this.listener?.evicted(key, snapshot(entry));
    });
    this.data = new Records<string>(maxDataRecords ?? 3 * maxSessions, (key, packed) => {
      this.forgetMarks(key);
      this.listener?.evicted(key, snapshot(packed));
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
    if (key.startsWith(SESSION_PREFIX)) {
      const entry = this.sessions.map.get(key);
      if (entry === undefined) return undefined;
      if ((entry.mark & 1) === 0) entry.mark++; // used
      return snapshot(entry);
    }
    const packed = this.data.map.get(key);
    if (packed === undefined) return undefined;
    const mark = markOf(packed);
    if ((mark & 1) === 0) this.data.map.set(key, pack(mark + 1, dataOf(packed)));
    return { data: dataOf(packed), version: versionOf(mark), generation: 0 };
  }

  commit(writes: readonly CommitWrite[], options?: CommitOptions): CommitResult {
    const turnId = options?.turnId;
    const entries: (SessionEntry | string | undefined)[] = [];
    for (const write of writes) {
      if (this.expiring.size > 0) this.purgeIfExpired(write.key);
      const entry = this.records(write.key).map.get(write.key);
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
      const entry = added && entries[i] !== undefined ? this.records(key).map.get(key) : entries[i];
      if (write.data === null) {
        if (entry !== undefined) {
          this.delete(key);
          added = true;
        }
        versions.push(0);
        continue;
      }
      this.turns.set(key, turnId);
      const data = flat(write.data);
      if (typeof entry === 'string') {
        const mark = nextMark(markOf(entry));
        this.data.map.set(key, pack(mark, data));
        versions.push(versionOf(mark));
      } else if (entry !== undefined) {
        entry.data = data;
        entry.mark = nextMark(entry.mark);
        versions.push(versionOf(entry.mark));
        this.schedule(entry, write.idleMs);
      } else if (key.startsWith(SESSION_PREFIX)) {
        const owner = write.owner;
        const own = owner !== undefined && isUserKeyOf(key, owner);
        const record = new SessionEntry(key, data, own ? VERSION + OWNED : VERSION, 0);
        if (owner !== undefined && !own) this.owners.set(key, owner);
        this.sessions.add(key, record);
        added = true;
        versions.push(1);
        this.schedule(record, write.idleMs);
      } else {
        this.data.add(key, pack(VERSION, data));
        if (write.owner !== undefined && write.owner !== key) this.owners.set(key, write.owner);
        added = true;
        versions.push(1);
      }
      if (write.ttlMs !== undefined) this.expire(key, write.ttlMs);
    }
    return { ok: true, versions };
  }

  delete(key: string): void {
    if (key.startsWith(SESSION_PREFIX)) {
      const entry = this.sessions.map.get(key);
      if (entry === undefined) return;
      this.sessions.map.delete(key);
      this.deadlines.remove(entry);
    } else {
      this.data.map.delete(key);
    }
    this.forgetMarks(key);
  }

  /** Also drops every record whose `ttlMs` ran out (the scheduler wakes for those too: see `nextDeadline`). */
  claimDue(limit: number, now: number = Date.now()): ExpiryClaim[] {
    // Expiries run on the store's own clock: a caller's later \`now\` (sweepExpired(now)) is for deadlines only.
    const clock = Math.min(now, Date.now());
    for (let due = this.expiries.popDue(clock); due !== undefined; due = this.expiries.popDue(clock))
      this.delete(due.key);
    const claims: ExpiryClaim[] = [];
    while (claims.length < limit) {
      const deadline = this.deadlines.peekDeadline();
      const entry = this.deadlines.popDue(now);
      if (entry === undefined || deadline === undefined) break;
      entry.generation++;
      claims.push({ key: entry.key, generation: entry.generation, version: versionOf(entry.mark), deadline });
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
    for (const [key, entry] of this.sessions.map) if (ownedBy(key, entry, owner)) keys.push(key);
    for (const [key, of] of this.owners) if (of === owner) keys.push(key);
    return keys.filter((key) => this.get(key) !== undefined);
  }

  forget(key: string, owner?: string): Forgotten {
    const record = this.get(key) !== undefined;
    if (owner === key) {
      for (const [name, entry] of this.sessions.map) if (ownedBy(name, entry, owner)) entry.mark -= OWNED;
      for (const [name, of] of [...this.owners]) if (of === owner) this.owners.delete(name);
    }
    this.delete(key);
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
    return [...this.sessions.map.keys()];
  }

  /** Keeps a copy of a record that could not be read back (the latest 100), for `quarantined()`. */
  quarantine(key: string, record: StoredRecord): void {
    const id = `${key}#${record.version}.${record.generation}`;
    this.quarantined.delete(id);
    this.quarantined.set(id, {
      key,
      record: { data: record.data, version: record.version, generation: record.generation },
    });
    if (this.quarantined.size > QUARANTINED) this.quarantined.delete(this.quarantined.keys().next().value!);
  }

  /** The records set aside by `quarantine`, oldest first. */
  quarantinedRecords(): { key: string; record: StoredRecord }[] {
    return [...this.quarantined.values()];
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
      const entry = this.records(write.key).map.get(write.key);
      if (entry === undefined) return undefined;
      if (write.expected !== null && versionOf(markOfEntry(entry)) !== write.expected.version + 1) return undefined;
    }
    return writes.map((write) => versionOf(markOfEntry(this.records(write.key).map.get(write.key)!)));
  }

  private records(key: string): Records<SessionEntry> | Records<string> {
    return key.startsWith(SESSION_PREFIX) ? this.sessions : this.data;
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

  /** What a record leaves when it goes: its expiry and its owner, when it has one of its own. */
  private forgetMarks(key: string): void {
    if (this.expiring.size > 0) this.unexpire(key);
    if (this.owners.size > 0) this.owners.delete(key);
  }

  /** Drops `key` now if its `ttlMs` ran out (a read must not see it, a create must not conflict with it). */
  private purgeIfExpired(key: string): void {
    const expiry = this.expiring.get(key);
    if (expiry !== undefined && this.expiries.deadlineOf(expiry)! <= Date.now()) this.delete(key);
  }

  private schedule(entry: SessionEntry, idleMs: number | null | undefined): void {
    if (idleMs == null) this.deadlines.remove(entry);
    else this.deadlines.set(entry, Date.now() + idleMs);
  }
}

/** Why a write computed from `expected` cannot apply over `entry`, or `undefined` when it can. */
function mismatch(
  entry: SessionEntry | string | undefined,
  expected: ExpectedRecord,
): 'conflict' | 'ended' | undefined {
  if (expected === null) return entry === undefined ? undefined : 'conflict';
  if (entry === undefined) return 'conflict';
  if ((typeof entry === 'string' ? 0 : entry.generation) !== expected.generation) return 'ended';
  return versionOf(markOfEntry(entry)) === expected.version ? undefined : 'conflict';
}

function markOfEntry(entry: SessionEntry | string): number {
  return typeof entry === 'string' ? markOf(entry) : entry.mark;
}

function snapshot(entry: SessionEntry | string): StoredRecord {
  if (typeof entry === 'string') return { data: dataOf(entry), version: versionOf(markOf(entry)), generation: 0 };
  return { data: entry.data, version: versionOf(entry.mark), generation: entry.generation };
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
