// The records of a unit of work: opening them (lease and reads in one store call), reading them back (decode, check,
// quarantine what cannot be read), and committing what the work changed as one compare-and-set against what was read.
// Store failures come back as rejections (STORE_UNAVAILABLE, COMMIT_UNKNOWN); only what the unit of work goes on
// without (a corrupt record) is reported here.
import { decodeState, encodeState, StateFormatError } from '../codec';
import { describe, errorText, PalaverError } from '../errors';
import { joinKey } from '../keys';
import type { Retention } from '../retention';
import type { SessionStateRecord } from '../schema';
import { MemoryStore } from '../stores/memory';
import {
  CONVERSATION_PREFIX,
  USER_PREFIX,
  type CommitResult,
  type CommitWrite,
  type ExpectedRecord,
  type LeaseRequest,
  type OpenResult,
  type SessionStore,
  type StoredRecord,
} from '../stores/store';
import { isThenable, type Address, type Awaitable, type JsonObject } from '../types';
import { lifecycleWrites, refreshDue } from './data-retention';
import type { Reporter } from './events';
import { newTurnId } from './lifecycle';
import type { Settings } from './options';

/** The records a unit of work read: the session's and, when the address is known, its user's and conversation's. */
export interface Opened {
  readonly session: StoredRecord | undefined;
  readonly user: StoredRecord | undefined;
  readonly conversation: StoredRecord | undefined;
  readonly userKey: string | undefined;
  readonly conversationKey: string | undefined;
  /** Set when another holder has the lease: nothing was read. */
  readonly busy?: { readonly holder: string; readonly ttlMs: number };
}

/** What a unit of work's commits are computed from; a commit (a checkpoint, then the end) moves it on. */
export interface Expected {
  readonly userKey: string | undefined;
  readonly conversationKey: string | undefined;
  session: ExpectedRecord;
  user: ExpectedRecord;
  userData: string | undefined;
  conversation: ExpectedRecord;
  conversationData: string | undefined;
  /** Names this attempt in its commits, so that a commit the store retries is not applied twice. */
  readonly turnId: string;
}

/** What one commit writes. A data scope that is `undefined` was not used: its record stays as it was read. */
export interface Changes {
  readonly state: SessionStateRecord;
  readonly userData: JsonObject | undefined;
  readonly conversationData: JsonObject | undefined;
}

const memoryOpen = MemoryStore.prototype.open;
const memoryGet = MemoryStore.prototype.get;
const NOT_BUSY: OpenResult['busy'] = undefined;

export class Records {
  readonly #store: SessionStore;
  readonly #settings: Settings;
  readonly #reporter: Reporter;
  readonly #retention: Retention | undefined;
  /** The deadline a committed session next needs the scheduler for (its close or its next nudge). */
  readonly #wakeAt: (state: SessionStateRecord) => number | undefined;
  readonly #armed: (at: number) => void;
  /** The store, when it is a MemoryStore whose reads are its own (trusted, synchronous). */
  readonly #memory: MemoryStore | undefined;

  constructor(
    settings: Settings,
    reporter: Reporter,
    retention: Retention | undefined,
    wakeAt: (state: SessionStateRecord) => number | undefined,
    armed: (at: number) => void,
  ) {
    this.#store = settings.store;
    this.#settings = settings;
    this.#reporter = reporter;
    this.#retention = retention;
    this.#wakeAt = wakeAt;
    this.#armed = armed;
    const store = settings.store;
    this.#memory =
      store instanceof MemoryStore && store.open === memoryOpen && store.get === memoryGet ? store : undefined;
  }

  /**
   * Reads the records of `key` (taking its lease when asked) in one store call when the address is known, and in two
   * when it must be read from the session first. Synchronous when the store answers synchronously.
   */
  open(key: string, address: Address | undefined, lease?: LeaseRequest): Awaitable<Opened> {
    if (address === undefined) {
      return then(this.#read([key], lease, key), (first) => {
        if (first.busy !== undefined) return busyOpened(first.busy);
        const session = first.records[0];
        const at = session === undefined ? undefined : this.decodeSession(session, key, false)?.address;
        const userKey = this.#userKey(at);
        const conversationKey = this.#conversationKey(at);
        if (userKey === undefined && conversationKey === undefined) return opened(session, [], undefined, undefined, 0);
        const keys = [userKey, conversationKey].filter((k): k is string => k !== undefined);
        return then(this.#read(keys, undefined, key), (rest) =>
          opened(session, rest.records, userKey, conversationKey, 0),
        );
      });
    }
    const userKey = this.#userKey(address);
    const conversationKey = this.#conversationKey(address);
    if (this.#memory !== undefined) return this.#openMemory(this.#memory, key, userKey, conversationKey);
    const keys = [key];
    if (userKey !== undefined) keys.push(userKey);
    if (conversationKey !== undefined) keys.push(conversationKey);
    return then(this.#read(keys, lease, key), (read) => {
      if (read.busy !== undefined) return busyOpened(read.busy);
      const records = read.records;
      return opened(records[0], records, userKey, conversationKey, 1);
    });
  }

  /** What the commits of a unit of work that read `opened` expect to find. */
  expect(opened: Opened): Expected {
    return {
      userKey: opened.userKey,
      conversationKey: opened.conversationKey,
      session: ref(opened.session),
      user: ref(opened.user),
      userData: opened.user?.data,
      conversation: ref(opened.conversation),
      conversationData: opened.conversation?.data,
      turnId: newTurnId(),
    };
  }

  /** Reads a session record back (`check`: also upgrades and checks its entities, when the bot declares them). */
  decodeSession(record: StoredRecord | undefined, key: string, check = true): SessionStateRecord | undefined {
    if (record === undefined) return undefined;
    let state: SessionStateRecord;
    try {
      state = decodeState(record.data, key);
    } catch (error) {
      this.#quarantine(key, record);
      const problem = error instanceof StateFormatError ? error.problem : `could not be read (${errorText(error)})`;
      this.#reporter.report(
        new PalaverError('CORRUPT_STATE', `Session "${key}" ${problem}; a fresh session replaces it.`, {
          cause: error,
        }),
      );
      return undefined;
    }
    if (this.#retention !== undefined && check) {
      // A bad entity is reported and dropped, never the session.
      const problems = this.#retention.load(state);
      if (problems.length > 0) {
        this.#quarantine(key, record);
        for (const problem of problems) {
          this.#reporter.report(
            new PalaverError('CORRUPT_STATE', `Session "${key}": ${problem.message}.`, { cause: problem.cause }),
          );
        }
      }
    }
    return state;
  }

  /** Reads a userData or conversationData record back; one that is not a JSON object is reported and starts empty. */
  decodeBag(record: StoredRecord | undefined, key: string): JsonObject {
    if (record === undefined) return {};
    try {
      const value: unknown = JSON.parse(record.data);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as JsonObject;
    } catch {
      // reported below
    }
    this.#reporter.report(
      new PalaverError(
        'CORRUPT_STATE',
        `A data record of session "${key}" is not a JSON object; it starts empty again.`,
      ),
    );
    return {};
  }

  /**
   * Writes the session record and any data record that changed, compare-and-set on `expected`, and gives the lease
   * up in the same call when `release` is set. False on a lost race. Synchronous when the store answers synchronously.
   */
  commit(
    key: string,
    changes: Changes,
    expected: Expected,
    release?: { key: string; token: string },
  ): Awaitable<boolean> {
    const { state } = changes;
    if (this.#retention !== undefined) this.#retention.stamp(state, Date.now());
    if (state.nudges !== undefined && state.nudges.at !== state.lastActiveAt) delete state.nudges; // the user came back
    const lifecycle = this.#settings.retention;
    const now = lifecycle === undefined ? 0 : Date.now();
    const refresh = refreshDue(lifecycle, state, now);
    const data = this.serialize(state, `Session "${key}"`, key);
    const active = state.id !== undefined;
    const wake = active ? this.#wakeAt(state) : undefined;
    const writes: CommitWrite[] = [];
    if (active || expected.session !== null) {
      const empty = !active && Object.keys(state.entities).length === 0 && state.history === undefined;
      writes.push({
        key,
        expected: expected.session,
        data: empty ? null : data,
        idleMs: wake === undefined ? null : wake - Date.now(),
      });
    }
    const { userKey, conversationKey } = expected;
    const { userData, conversationData } = changes;
    if (userKey !== undefined && userData !== undefined) {
      const json = isEmptyBag(userData) ? '{}' : this.serialize(userData, `The userData of session "${key}"`);
      if (json !== (expected.userData ?? '{}')) writes.push({ key: userKey, expected: expected.user, data: json });
    }
    if (conversationKey !== undefined && conversationData !== undefined) {
      const json = isEmptyBag(conversationData)
        ? '{}'
        : this.serialize(conversationData, `The conversationData of session "${key}"`);
      if (json !== (expected.conversationData ?? '{}'))
        writes.push({ key: conversationKey, expected: expected.conversation, data: json });
    }
    if (lifecycle !== undefined || createsOrDeletes(writes)) {
      lifecycleWrites(lifecycle, writes, {
        key,
        state,
        refresh,
        now,
        userKey,
        conversationKey,
        user: { expected: expected.user, data: expected.userData },
        conversation: { expected: expected.conversation, data: expected.conversationData },
      });
    }
    if (writes.length === 0 && release === undefined) return true;
    let pending: Awaitable<CommitResult>;
    try {
      const turnId = expected.turnId;
      pending = this.#store.commit(writes, release === undefined ? { turnId } : { turnId, release });
    } catch (error) {
      throw storeError(error, `saving session "${key}"`);
    }
    if (isThenable(pending)) {
      return Promise.resolve(pending).then(
        (result) => this.#committed(key, writes, result, expected, wake),
        (error: unknown) => Promise.reject(storeError(error, `saving session "${key}"`)),
      );
    }
    return this.#committed(key, writes, pending, expected, wake);
  }

  /** After a commit the store answered: false on a lost race, else what later commits of the unit of work expect. */
  #committed(
    key: string,
    writes: CommitWrite[],
    result: CommitResult,
    expected: Expected,
    wake: number | undefined,
  ): boolean {
    if (!result.ok) return false;
    // Later commits of this unit of work (a checkpoint, then the end) build on what was just written.
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      const version = result.versions[i]!;
      const next: ExpectedRecord =
        write.data === null
          ? null
          : { version, generation: write.key === key ? (expected.session?.generation ?? 0) : 0 };
      if (write.key === key) expected.session = next;
      else if (write.key === expected.userKey) {
        expected.user = next;
        expected.userData = write.data ?? undefined;
      } else {
        expected.conversation = next;
        expected.conversationData = write.data ?? undefined;
      }
    }
    if (wake !== undefined) this.#armed(wake);
    return true;
  }

  /**
   * JSON of what a commit saves (the session state stored under `stateKey`, or a data record); STATE_TOO_LARGE past
   * `maxStateBytes`, INVALID_ARGUMENT for what JSON cannot hold (a BigInt, a cycle).
   */
  serialize(value: unknown, what: string, stateKey?: string): string {
    let json: string;
    try {
      json = stateKey === undefined ? JSON.stringify(value) : encodeState(value as SessionStateRecord, stateKey);
    } catch (cause) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `${what} cannot be written as JSON (${errorText(cause)}); the turn was not saved. Keep only plain JSON in the data scopes.`,
        { cause },
      );
    }
    const max = this.#settings.maxStateBytes;
    if (json.length > max) {
      throw new PalaverError(
        'STATE_TOO_LARGE',
        `${what} would store ${json.length} characters, over maxStateBytes (${max}); the turn was not saved. ` +
          'Keep large data outside the session.',
      );
    }
    return json;
  }

  #userKey(at: Address | undefined): string | undefined {
    return at !== undefined && this.#settings.persistUserData
      ? USER_PREFIX + joinKey(at.channelId, at.user.id)
      : undefined;
  }

  #conversationKey(at: Address | undefined): string | undefined {
    return at !== undefined && this.#settings.persistConversationData
      ? CONVERSATION_PREFIX + joinKey(at.channelId, at.conversation.id)
      : undefined;
  }

  /** MemoryStore's own records, read without the arrays of the general `open` (the in-memory turn's hot path). */
  #openMemory(
    store: MemoryStore,
    key: string,
    userKey: string | undefined,
    conversationKey: string | undefined,
  ): Opened {
    try {
      const session = store.get(key);
      const user = userKey === undefined ? undefined : store.get(userKey);
      const conversation = conversationKey === undefined ? undefined : store.get(conversationKey);
      return { session, user, conversation, userKey, conversationKey };
    } catch (error) {
      throw storeError(error, `loading session "${key}"`);
    }
  }

  /** One store call: the store's `open`, or `get` per key for stores without one. */
  #read(keys: string[], lease: LeaseRequest | undefined, key: string): Awaitable<OpenResult> {
    const store = this.#store;
    let result: Awaitable<OpenResult>;
    try {
      if (store.open !== undefined) result = store.open(keys, lease === undefined ? undefined : { lease });
      else result = readEach(store, keys);
    } catch (error) {
      throw storeError(error, `loading session "${key}"`);
    }
    // MemoryStore's own open() answers records it built itself; any other store's answer is checked.
    const trusted = store.open === memoryOpen && store.get === memoryGet;
    if (isThenable(result)) {
      return Promise.resolve(result).then(
        (read) => checkOpen(read, keys, trusted),
        (error: unknown) => Promise.reject(storeError(error, `loading session "${key}"`)),
      );
    }
    try {
      return checkOpen(result, keys, trusted);
    } catch (error) {
      throw storeError(error, `loading session "${key}"`);
    }
  }

  /** Hands a record that could not be read back to the store's quarantine (stores that have one). */
  #quarantine(key: string, record: StoredRecord): void {
    const failed = (error: unknown) => this.#reporter.fail(error, 'STORE_UNAVAILABLE', `Quarantining session "${key}"`);
    try {
      const pending = this.#store.quarantine?.(key, record);
      if (isThenable(pending)) pending.then(undefined, failed);
    } catch (error) {
      failed(error);
    }
  }
}

/** A store failure as the caller's rejection: a PalaverError from the store as it is, anything else STORE_UNAVAILABLE. */
export function storeError(error: unknown, doing: string): PalaverError {
  if (error instanceof PalaverError) return error;
  return new PalaverError('STORE_UNAVAILABLE', `The store failed while ${doing}: ${errorText(error)}`, {
    cause: error,
  });
}

function then<T, R>(value: Awaitable<T>, next: (value: T) => Awaitable<R>): Awaitable<R> {
  return isThenable(value) ? Promise.resolve(value).then(next) : next(value);
}

function readEach(store: SessionStore, keys: string[]): Awaitable<OpenResult> {
  const reads = keys.map((key) => store.get(key));
  if (!reads.some(isThenable)) return { records: reads as (StoredRecord | undefined)[] };
  return Promise.all(reads).then((records) => ({ records }));
}

function checkOpen(read: OpenResult, keys: string[], trusted: boolean): OpenResult {
  if (read.busy !== undefined || trusted) return read;
  if (typeof read !== 'object' || read === null || !Array.isArray(read.records)) {
    throw new Error(`open() answered ${describe(read)}, not { records: [...] }`);
  }
  return { records: keys.map((key, i) => checkRecord(read.records[i], key)), busy: NOT_BUSY };
}

/** The records of an open; the data records start at `from` in `read`. */
function opened(
  session: StoredRecord | undefined,
  read: readonly (StoredRecord | undefined)[],
  userKey: string | undefined,
  conversationKey: string | undefined,
  from: number,
): Opened {
  const user = userKey === undefined ? undefined : read[from];
  const conversation = conversationKey === undefined ? undefined : read[userKey === undefined ? from : from + 1];
  return { session, user, conversation, userKey, conversationKey };
}

function busyOpened(busy: NonNullable<OpenResult['busy']>): Opened {
  return {
    session: undefined,
    user: undefined,
    conversation: undefined,
    userKey: undefined,
    conversationKey: undefined,
    busy,
  };
}

/** What a store answered for a key, as a record: `null` counts as absent; anything else that is not a record is a store failure. */
function checkRecord(value: StoredRecord | null | undefined, key: string): StoredRecord | undefined {
  if (value === undefined || value === null) return undefined;
  if (
    typeof value !== 'object' ||
    typeof value.data !== 'string' ||
    !Number.isSafeInteger(value.version) ||
    !Number.isSafeInteger(value.generation)
  ) {
    throw new Error(
      `get("${key}") answered ${describe(value)}, not a record of { data: string, version: integer, generation: integer }`,
    );
  }
  return value;
}

/** Whether a write creates or deletes a key (then its owner's index changes). */
function createsOrDeletes(writes: readonly CommitWrite[]): boolean {
  for (const write of writes) if (write.expected === null || write.data === null) return true;
  return false;
}

function ref(record: StoredRecord | undefined): ExpectedRecord {
  return record === undefined ? null : { version: record.version, generation: record.generation };
}

/** A bag that JSON.stringify would write as `{}` for sure: missing, or a plain object with no keys of its own. */
function isEmptyBag(bag: object | undefined): boolean {
  if (bag === undefined || bag === null) return true;
  if (Object.getPrototypeOf(bag) !== Object.prototype) return false;
  for (const _ in bag) return false;
  return true;
}
