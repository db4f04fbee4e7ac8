// Forgetting and exporting a user (`manager.forgetUser`, `manager.exportUser`): every record palaver holds about them,
// found through the store's per-user index, never by scanning the keyspace. Each session key is forgotten under its
// turn lease and behind this process's turns of that key, so a turn in flight either commits before (and is deleted)
// or finds nothing.
import { decodeState } from '../codec';
import { describe, errorText, PalaverError } from '../errors';
import { CONVERSATION_PREFIX, SESSION_PREFIX, type SessionStore } from '../stores/store';
import type { Address, JsonObject } from '../types';
import { userKeyOf } from './data-retention';
import { storeError } from './records';
import type { Engine } from './turns';

/** A user, named by an address of theirs or by their channel and user id. */
export type UserRef = Address | { readonly channelId: string; readonly userId: string };

/** What `forgetUser` deleted. */
export interface ForgetResult {
  /** Session records (live or dormant, in every conversation), with their deadlines and claims. */
  sessions: number;
  /** The `userData` record (0 or 1). */
  userData: number;
  /** `conversationData` records of the user's one-to-one conversations (a group's is kept: see the privacy guide). */
  conversations: number;
  /** Replies to the user that were waiting in this process's outbox and will not be delivered. */
  replies: number;
  /** Quarantined copies of those records (state that could not be read back). */
  quarantined: number;
}

/** Everything palaver holds about a user, decoded: what `exportUser` resolves to. */
export interface UserExport {
  user: { channelId: string; userId: string };
  /** The `userData` record, or `null` when there is none. */
  userData: JsonObject | null;
  /** Each session record (a live session, or a dormant one that holds kept entities), by session key. */
  sessions: { key: string; state: unknown }[];
  /** `conversationData` of the user's one-to-one conversations, by key. */
  conversations: { key: string; data: unknown }[];
  /** Records set aside because they could not be read back, raw. */
  quarantined: { key: string; version: number; generation: number; data: string }[];
}

/** How many times the user's index is read again for keys that turns in flight created meanwhile. */
const PASSES = 4;

/** Deletes every record of the user; see `SessionManager.forgetUser`. */
export async function forgetUser(engine: Engine, who: UserRef): Promise<ForgetResult> {
  const { channelId, userId } = userOf(who, 'forgetUser');
  const store = supporting(engine.settings.store, 'forgetUser');
  const owner = userKeyOf({ channelId, user: { id: userId } });
  const result: ForgetResult = { sessions: 0, userData: 0, conversations: 0, replies: 0, quarantined: 0 };
  const done = new Set<string>();
  for (let pass = 0; pass < PASSES; pass++) {
    const keys = (await call(() => store.userKeys(owner), owner)).filter((key) => !done.has(key));
    if (keys.length === 0) break;
    for (const key of keys) {
      done.add(key);
      const gone = key.startsWith(SESSION_PREFIX)
        ? await engine.gate.run(key, () => underLease(engine, store, key, () => store.forget(key, owner)))
        : await call(() => store.forget(key, owner), key);
      if (gone.record) {
        if (key.startsWith(SESSION_PREFIX)) result.sessions++;
        else if (key.startsWith(CONVERSATION_PREFIX)) result.conversations++;
      }
      result.quarantined += gone.quarantined;
    }
  }
  const own = await call(() => store.forget(owner, owner), owner);
  result.userData = own.record ? 1 : 0;
  result.quarantined += own.quarantined;
  result.replies = engine.outbox.discard((address) => address.channelId === channelId && address.user.id === userId);
  return result;
}

/** Reads every record of the user; see `SessionManager.exportUser`. */
export async function exportUser(engine: Engine, who: UserRef): Promise<UserExport> {
  const { channelId, userId } = userOf(who, 'exportUser');
  const store = supporting(engine.settings.store, 'exportUser');
  const owner = userKeyOf({ channelId, user: { id: userId } });
  const out: UserExport = {
    user: { channelId, userId },
    userData: null,
    sessions: [],
    conversations: [],
    quarantined: [],
  };
  const keys = [...(await call(() => store.userKeys(owner), owner))].sort();
  for (const key of [owner, ...keys]) {
    const record = await call(() => store.get(key), key);
    if (record !== undefined) {
      if (key === owner) out.userData = parsed(record.data) as JsonObject;
      else if (key.startsWith(SESSION_PREFIX)) out.sessions.push({ key, state: sessionOf(record.data, key) });
      else out.conversations.push({ key, data: parsed(record.data) });
    }
    for (const copy of (await call(() => store.quarantinedOf?.(key), key)) ?? []) {
      out.quarantined.push({ key, version: copy.version, generation: copy.generation, data: copy.data });
    }
  }
  return out;
}

type Supporting = SessionStore & Required<Pick<SessionStore, 'userKeys' | 'forget'>>;

function supporting(store: SessionStore, method: string): Supporting {
  if (typeof store.userKeys === 'function' && typeof store.forget === 'function') return store as Supporting;
  throw new PalaverError(
    'NOT_SUPPORTED',
    `${method}() needs a store that finds a user's records (userKeys and forget); this store has neither. ` +
      'MemoryStore and RedisStore have them.',
  );
}

function userOf(who: UserRef, method: string): { channelId: string; userId: string } {
  const ref = who as Partial<Address> & { userId?: unknown };
  const channelId = ref?.channelId;
  const userId = typeof ref?.userId === 'string' ? ref.userId : ref?.user?.id;
  if (typeof channelId === 'string' && channelId !== '' && typeof userId === 'string' && userId !== '')
    return { channelId, userId };
  throw new PalaverError(
    'INVALID_ARGUMENT',
    `${method}() takes an address or { channelId, userId } with non-empty strings, got ${describe(who)}` +
      (typeof who === 'object' && who !== null
        ? ` with channelId ${describe(channelId)} and user ${describe(userId)}.`
        : '.'),
  );
}

/**
 * Runs `work` on `key` holding its turn lease (stores with leases), waiting up to `leaseWait` for another process's
 * turn to give it up: that turn commits first, and its records are then deleted with the rest.
 */
async function underLease<T>(
  engine: Engine,
  store: SessionStore,
  key: string,
  work: () => T | PromiseLike<T>,
): Promise<T> {
  const { leaseTtl, leaseWait } = engine.settings;
  if (store.renew === undefined || store.open === undefined) return call(work, key);
  const lease = { token: engine.gate.token, ttlMs: leaseTtl };
  const started = Date.now();
  for (let backoff = 5; ; backoff = Math.min(backoff * 2, 200)) {
    const opened = await call(() => store.open!([key], { lease }), key);
    if (opened.busy === undefined) break;
    if (Date.now() - started >= leaseWait) {
      throw new PalaverError(
        'LEASE_TIMEOUT',
        `Another process (${opened.busy.holder}) held the turn lease of session "${key}" for over ${leaseWait} ms ` +
          '(leaseWait); the user was not forgotten. Call forgetUser() again.',
      );
    }
    await new Promise<void>((resolve) => setTimeout(resolve, backoff * (0.5 + Math.random())).unref?.());
  }
  try {
    return await call(work, key);
  } finally {
    await Promise.resolve(store.release?.(key, lease.token)).catch(() => undefined); // it lapses by itself
  }
}

async function call<T>(work: () => T | PromiseLike<T>, key: string): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw storeError(error, `reaching the records of "${key}"`);
  }
}

function parsed(data: string): unknown {
  try {
    return JSON.parse(data);
  } catch (error) {
    return { unreadable: data, problem: errorText(error) };
  }
}

/** A session record decoded (the address it leaves out for a default key put back); raw text when it cannot be read. */
function sessionOf(data: string, key: string): unknown {
  try {
    return decodeState(data, key);
  } catch (error) {
    return { unreadable: data, problem: errorText(error) };
  }
}
