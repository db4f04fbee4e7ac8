// Pure functions on a session's stored state: a fresh session, a dormant one (ended, keeping entities), the marks of a
// turn's activity, expiry, and what an ended session hands to the next. No I/O, no hooks.
import { setOwn, type SessionStateRecord } from '../schema';
import type { NewSessionOptions } from '../session';
import type { Address, IncomingMessage, JsonObject } from '../types';

/** What an ended session hands to the next one: the kept entities, their expiry times and the version they are in. */
export interface Kept {
  entities: JsonObject;
  entityExpiry: Record<string, number> | undefined;
  entitiesVersion?: number | undefined;
}

/** The entities (and their marks) a dormant or expired state carries into a new session. */
export function keptOf(state: SessionStateRecord | undefined): Kept | undefined {
  if (state === undefined) return undefined;
  return { entities: state.entities, entityExpiry: state.entityExpiry, entitiesVersion: state.entitiesVersion };
}

export function freshState(address: Address, now: number, kept?: Kept): SessionStateRecord {
  const state: SessionStateRecord = {
    v: 1,
    id: newSessionId(),
    startedAt: now,
    lastActiveAt: now,
    turnCount: 0,
    interactive: false,
    developer: false,
    address,
    entities: kept?.entities ?? {},
    stack: [],
    privateConversationData: {},
  };
  if (kept?.entityExpiry !== undefined && Object.keys(kept.entityExpiry).length > 0)
    state.entityExpiry = kept.entityExpiry;
  // Kept entities stay in the version they were written in, so that no migration runs on them twice.
  if (kept?.entitiesVersion !== undefined) state.entitiesVersion = kept.entitiesVersion;
  return state;
}

/** An ended session: no id, no stack; only the kept entities stay until the user writes again. */
export function dormantState(state: SessionStateRecord, kept: Kept): SessionStateRecord {
  const dormant: SessionStateRecord = {
    v: 1,
    lastActiveAt: state.lastActiveAt,
    turnCount: 0,
    interactive: false,
    developer: false,
    address: state.address,
    entities: kept.entities,
    stack: [],
    privateConversationData: {},
  };
  if (kept.entityExpiry !== undefined) dormant.entityExpiry = kept.entityExpiry;
  if (kept.entitiesVersion !== undefined) dormant.entitiesVersion = kept.entitiesVersion;
  return dormant;
}

/** True for a state that holds a live session (a dormant one has no id). */
export function isLive(state: SessionStateRecord | undefined): state is SessionStateRecord & { id: string } {
  return state !== undefined && state.id !== undefined;
}

export function isExpired(state: SessionStateRecord, timeout: number, now: number): boolean {
  return now - state.lastActiveAt >= (state.timeout ?? timeout);
}

/** Drops the entities whose TTL ran out; true when it dropped any. */
export function dropExpiredEntities(state: SessionStateRecord, now: number): boolean {
  const expiry = state.entityExpiry;
  if (expiry === undefined) return false;
  let dropped = false;
  for (const [name, expiresAt] of Object.entries(expiry)) {
    if (expiresAt <= now) {
      delete expiry[name];
      delete state.entities[name];
      dropped = true;
    }
  }
  if (Object.keys(expiry).length === 0) delete state.entityExpiry;
  return dropped;
}

/** Marks the turn's activity on the state. */
export function touch(state: SessionStateRecord, message: IncomingMessage | undefined, at: number): void {
  state.lastActiveAt = at;
  if (message === undefined) return;
  state.turnCount++;
  state.address = message.address;
  if ((message.type ?? 'message') === 'message') {
    state.interactive = true;
    if (state.msgs === undefined) state.msgs = [1, 0];
    else state.msgs[0]++;
  }
  if (message.developer === true) state.developer = true;
  if (message.locale !== undefined) state.locale = message.locale;
}

/** What `newSession({ carry })` adds to what the ended session kept. */
export function carry(entitiesNow: JsonObject, ended: Kept, options: NewSessionOptions<any>): Kept {
  const entities = { ...ended.entities };
  const what = options.carry;
  if (Array.isArray(what)) {
    for (const name of what) if (Object.hasOwn(entitiesNow, name)) setOwn(entities, name, entitiesNow[name]);
  } else if (what !== undefined) {
    for (const [name, value] of Object.entries(what)) setOwn(entities, name, value);
  }
  return { entities, entityExpiry: ended.entityExpiry, entitiesVersion: ended.entitiesVersion };
}

let idCounter = 0;
let turnCounter = 0;
// Unique per process run: turn ids only need to tell this process's attempts from every other's.
const turnPrefix = Date.now().toString(36) + Math.random().toString(36).slice(2, 8) + '.';
const idPrefix = Math.floor(Math.random() * 36 ** 4)
  .toString(36)
  .padStart(4, '0');

/** Names one attempt of a unit of work in its commits, so that a commit the store retries is not applied twice. */
export function newTurnId(): string {
  return turnPrefix + (++turnCounter).toString(36);
}

/** A unique, sortable-enough session id: time, a per-process prefix, and a counter. */
export function newSessionId(): string {
  idCounter = (idCounter + 1) % 36 ** 4;
  return Date.now().toString(36) + idPrefix + idCounter.toString(36).padStart(4, '0');
}

/** A data scope's top-level values as JSON, to tell later what a hook changed in it. */
export type ScopeSnapshot = Map<string, string>;
/** What a hook changed in a data scope: top-level keys set (to JSON) or deleted (`undefined`). */
export type ScopeChanges = [key: string, json: string | undefined][];

export function snapshotScope(scope: JsonObject): ScopeSnapshot {
  const snapshot: ScopeSnapshot = new Map();
  for (const [key, value] of Object.entries(scope)) snapshot.set(key, JSON.stringify(value));
  return snapshot;
}

export function scopeChanges(before: ScopeSnapshot, after: JsonObject): ScopeChanges {
  const changes: ScopeChanges = [];
  for (const [key, value] of Object.entries(after)) {
    const json = JSON.stringify(value);
    if (json !== before.get(key)) changes.push([key, json]);
  }
  for (const key of before.keys()) if (!Object.hasOwn(after, key)) changes.push([key, undefined]);
  return changes;
}

/** Applies `changes` to `scope` (fresh copies of the values: a replay must not share objects with the first run). */
export function applyScopeChanges(scope: JsonObject, changes: ScopeChanges): void {
  for (const [key, json] of changes) {
    if (json === undefined) delete scope[key];
    else setOwn(scope, key, JSON.parse(json) as JsonObject[string]);
  }
}
