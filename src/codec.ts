// The stored form of a session key's state. Every turn reads and writes it, and a store holds one per user, so it is
// a JSON array with fixed positions rather than an object with named fields: a third of the bytes, and a reader that
// checks each position by hand instead of running the zod schema (which stays the judge of the older object form).
//
//   [3, id, startedAt, lastActiveAt, turnCount, flags, address, stack, entities, privateConversationData,
//    previousDialog, userMessages, botMessages, rest]
//
// - absent optional values are null; an empty object or stack is 0; trailing absent/empty positions are left out;
// - lastActiveAt: milliseconds after startedAt when there is a startedAt (or, for times that are not integers, 0 with
//   the time itself in rest), else the time itself;
// - flags: 1 interactive, 2 developer;
// - address: 0 when it is the one the session key was made from (the default key of an address that holds only its
//   three ids), else [channelId, userId, conversationId] when it holds nothing else, else the address object;
// - stack entry: [id, dialogData or 0] plus [step] when on a waterfall step, plus [step or null, 1] when an interrupt;
//   a built-in prompt's id is its number (0 text, 1 number, 2 confirm, 3 choice, 4 time, 5 attachment);
// - previousDialog: [id, type], or [id, type, name] when the name is not the id; a built-in prompt's is its number;
// - rest: an object with the fields most sessions never set (locale, timeout, entityExpiry, ended, nudges,
//   entitiesVersion, taskIntent, preferredLanguage, retained, history), or 0;
// - rest.history (the `history` option's transcript): entries [role, at, text] plus [attachments] when it has any;
//   role 0 is the user, 1 the bot; 2 and 3 the same with `at` as the step from the entry before.
// Format 2 (the same but for lastActiveAt, the address and the prompt numbers) and format 1 (the object form that
// sessionStateSchema describes) are still read.
import { PalaverError } from './errors';
import { addressSchema, formatIssues, sessionStateSchema, type SessionStateRecord } from './schema';
import type { Address, Attachment, HistoryEntry } from './types';
import { isAddress, isId } from './validate';
import { addressOfKey, isDefaultKeyOf } from './keys';

const FORMAT = 3;
/**
 * The built-in dialogs stored by number (their position here: stored data, so append only), with their state as
 * `previousDialogState`. The ids are PromptIds' (dialogs/prompts.ts; a test checks that they agree).
 */
const BUILT_IN: readonly { readonly name: string; readonly id: string; readonly type: string }[] = Object.freeze(
  (['text', 'number', 'confirm', 'choice', 'time', 'attachment'] as const).map((kind) =>
    Object.freeze({ name: `Prompts.${kind}`, id: `palaver:prompt:${kind}`, type: 'prompt' }),
  ),
);
const BUILT_IN_NUMBER = new Map<string, number>(BUILT_IN.map((dialog, i) => [dialog.id, i]));
const ENDED = new Set(['timeout', 'endSession', 'newSession', 'refresh', 'evicted', 'shutdown']);
const RARE = [
  'locale',
  'timeout',
  'entityExpiry',
  'ended',
  'nudges',
  'entitiesVersion',
  'taskIntent',
  'preferredLanguage',
  'retained',
] as const;

type DialogInstance = SessionStateRecord['stack'][number];

/** Stored text that is not a session state (code `CORRUPT_STATE`); `problem` says what is wrong with it. */
export class StateFormatError extends PalaverError {
  constructor(
    /** What is wrong, as a phrase: `position 4 (turnCount) must be a non-negative integer, got -1`. */
    readonly problem: string,
    options?: { cause?: unknown },
  ) {
    super('CORRUPT_STATE', `Stored session state ${problem}.`, options);
    this.name = 'StateFormatError';
  }
}

function isEmpty(value: object): boolean {
  for (const _ in value) return false;
  return true;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function compactAddress(address: Address, key: string | undefined): unknown {
  const { user, conversation } = address;
  let keys = 0;
  for (const _ in address) keys++;
  if (keys !== 3) return address;
  keys = 0;
  for (const _ in user) keys++;
  if (keys !== 1) return address;
  keys = 0;
  for (const _ in conversation) keys++;
  if (keys !== 1) return address;
  if (key !== undefined && isDefaultKeyOf(key, address.channelId, user.id, conversation.id)) return 0;
  return [address.channelId, user.id, conversation.id];
}

/**
 * The stored text of `state`. With the session `key` it is stored under, an address that `key` was made from is left
 * out (read back with the same key). Throws what JSON.stringify throws (a BigInt, a cycle).
 */
export function encodeState(state: SessionStateRecord, key?: string): string {
  const stack = state.stack;
  let stored: unknown[] | 0 = 0;
  if (stack.length > 0) {
    stored = new Array(stack.length);
    for (let i = 0; i < stack.length; i++) {
      const entry = stack[i]!;
      const data = isEmpty(entry.data) ? 0 : entry.data;
      const id = BUILT_IN_NUMBER.get(entry.id) ?? entry.id;
      stored[i] = entry.interrupt
        ? [id, data, entry.step ?? null, 1]
        : entry.step === undefined
          ? [id, data]
          : [id, data, entry.step];
    }
  }
  const previous = state.previousDialogState;
  let rest: Record<string, unknown> | 0 = 0;
  // Named reads first (a read by a computed name is a slow lookup, and most states set none of these).
  if (
    state.locale !== undefined ||
    state.timeout !== undefined ||
    state.entityExpiry !== undefined ||
    state.ended !== undefined ||
    state.nudges !== undefined ||
    state.entitiesVersion !== undefined ||
    state.taskIntent !== undefined ||
    state.preferredLanguage !== undefined ||
    state.retained !== undefined
  ) {
    for (const name of RARE) {
      const value = state[name];
      if (value !== undefined) (rest ||= {})[name] = value;
    }
  }
  if (state.history !== undefined) (rest ||= {}).history = storedHistory(state.history);
  const startedAt = state.startedAt;
  let lastActive = state.lastActiveAt;
  if (startedAt !== undefined) {
    // Stored relative to startedAt, unless that would not read back exactly (times that are not integers).
    const delta = lastActive - startedAt;
    if (Number.isSafeInteger(delta) && startedAt + delta === lastActive) lastActive = delta;
    else {
      (rest ||= {}).lastActiveAt = lastActive;
      lastActive = 0;
    }
  }
  const fields: unknown[] = [
    FORMAT,
    state.id ?? null,
    startedAt ?? null,
    lastActive,
    state.turnCount,
    (state.interactive ? 1 : 0) | (state.developer ? 2 : 0),
    compactAddress(state.address, key),
    stored,
    isEmpty(state.entities) ? 0 : state.entities,
    isEmpty(state.privateConversationData) ? 0 : state.privateConversationData,
    previous === undefined ? null : storedPrevious(previous),
    state.msgs?.[0] ?? 0,
    state.msgs?.[1] ?? 0,
    rest,
  ];
  let length = fields.length;
  while (length > 7 && (fields[length - 1] === 0 || fields[length - 1] === null)) length--;
  // (Shortening an array is a call into the runtime; a state that ends in its message counts needs only one.)
  if (length < fields.length) fields.length = length;
  return JSON.stringify(fields);
}

function storedHistory(history: readonly HistoryEntry[]): unknown[] {
  const stored: unknown[] = new Array(history.length);
  let previous: number | undefined;
  for (let i = 0; i < history.length; i++) {
    const { role, at, text, attachments } = history[i]!;
    let kind = role === 'user' ? 0 : 1;
    let time = at;
    // After the first entry, a time is stored as the step from the one before, when that reads back exactly.
    if (previous !== undefined) {
      const step = at - previous;
      if (Number.isSafeInteger(step) && previous + step === at) {
        kind += 2;
        time = step;
      }
    }
    previous = at;
    stored[i] = attachments === undefined ? [kind, time, text] : [kind, time, text, attachments];
  }
  return stored;
}

function readHistory(value: unknown, bad: Bad): HistoryEntry[] {
  if (!Array.isArray(value)) return bad(13, 'rest.history', 'an array of [role, at, text, attachments?] entries');
  const history: HistoryEntry[] = new Array(value.length);
  let previous: number | undefined;
  for (let i = 0; i < value.length; i++) {
    const entry: unknown = value[i];
    // Read by index: destructuring would walk an iterator per entry.
    const fields = Array.isArray(entry) ? (entry as unknown[]) : undefined;
    const kind = fields?.[0];
    const time = fields?.[1];
    const text = fields?.[2];
    const attachments = fields?.[3];
    if (
      fields === undefined ||
      (fields.length !== 3 && fields.length !== 4) ||
      !(kind === 0 || kind === 1 || ((kind === 2 || kind === 3) && previous !== undefined)) ||
      !Number.isFinite(time) ||
      typeof text !== 'string' ||
      (fields.length === 4 && !Array.isArray(attachments))
    )
      return bad(
        13,
        'rest.history',
        `entries [role 0 to 3 (2 and 3 not first), time, text, attachments?] (entry ${i} is ${JSON.stringify(entry)})`,
      );
    const at = kind < 2 ? (time as number) : previous! + (time as number);
    const read: HistoryEntry = { role: kind % 2 === 0 ? 'user' : 'bot', at, text };
    if (attachments !== undefined) read.attachments = attachments as Attachment[];
    history[i] = read;
    previous = at;
  }
  return history;
}

function storedPrevious(previous: NonNullable<SessionStateRecord['previousDialogState']>): unknown {
  const number = BUILT_IN_NUMBER.get(previous.id);
  if (number !== undefined) {
    const builtIn = BUILT_IN[number]!;
    if (previous.type === builtIn.type && previous.name === builtIn.name) return number;
  }
  return previous.name === previous.id ? [previous.id, previous.type] : [previous.id, previous.type, previous.name];
}

/**
 * The state stored as `text` (any format), with named fields. Pass the session `key` the text was stored under: a
 * state written with it leaves out the address that the key was made from.
 * @throws StateFormatError (a PalaverError, code `CORRUPT_STATE`) when the text is not JSON or not a session state;
 * its `problem` names the bad field.
 */
export function decodeState(text: string, key?: string): SessionStateRecord {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new StateFormatError(`holds text that is not JSON (${(error as Error).message})`, { cause: error });
  }
  if (!Array.isArray(raw)) {
    const parsed = sessionStateSchema.safeParse(raw);
    if (!parsed.success)
      throw new StateFormatError(`does not match the session schema (${formatIssues(parsed.error)})`);
    return parsed.data;
  }
  const format = raw[0];
  if (format !== FORMAT && format !== 2)
    throw new StateFormatError(
      `is stored in an unknown format (${JSON.stringify(format)}); this palaver reads formats 1, 2 and 3`,
    );
  const length = raw.length;
  if (length > 14) throw new StateFormatError(`has ${length} positions; format ${format} has at most 14`);
  const bad = (position: number, what: string, expected: string): never => {
    throw new StateFormatError(
      `position ${position} (${what}) must be ${expected}, got ${JSON.stringify(raw[position]) ?? 'nothing'}`,
    );
  };
  // Read by index: destructuring would walk an iterator.
  const fields = raw as unknown[];
  const id = fields[1];
  const startedAt = fields[2];
  const lastActiveAt = fields[3];
  const turnCount = fields[4];
  const flags = fields[5];
  const address = fields[6];
  const stack = length > 7 ? fields[7] : 0;
  const entities = length > 8 ? fields[8] : 0;
  const pcd = length > 9 ? fields[9] : 0;
  const previous = length > 10 ? fields[10] : null;
  const fromUser = length > 11 ? fields[11] : 0;
  const fromBot = length > 12 ? fields[12] : 0;
  const rest = length > 13 ? fields[13] : 0;
  if (id !== null && (typeof id !== 'string' || id.length === 0)) bad(1, 'id', 'a non-empty string or null');
  if (startedAt !== null && !Number.isFinite(startedAt)) bad(2, 'startedAt', 'a number or null');
  if (!Number.isFinite(lastActiveAt)) bad(3, 'lastActiveAt', 'a number');
  const relative = format === FORMAT && startedAt !== null;
  if (!isCount(turnCount)) bad(4, 'turnCount', 'a non-negative integer');
  if (flags !== 0 && flags !== 1 && flags !== 2 && flags !== 3) bad(5, 'flags', '0, 1, 2 or 3');
  const state: SessionStateRecord = {
    v: 1,
    lastActiveAt: relative ? relativeTime(startedAt as number, lastActiveAt as number, bad) : (lastActiveAt as number),
    turnCount: turnCount as number,
    interactive: ((flags as number) & 1) !== 0,
    developer: ((flags as number) & 2) !== 0,
    address: format === FORMAT && address === 0 ? addressFromKey(key, bad) : readAddress(address, bad),
    entities: readObject(entities, 8, 'entities', bad),
    stack: stack === 0 ? [] : readStack(stack, format === FORMAT, bad),
    privateConversationData: readObject(pcd, 9, 'privateConversationData', bad),
  };
  if (id !== null) state.id = id as string;
  if (startedAt !== null) state.startedAt = startedAt as number;
  if (previous !== null) state.previousDialogState = readPrevious(previous, format === FORMAT, bad);
  if (!isCount(fromUser)) bad(11, 'userMessages', 'a non-negative integer');
  if (!isCount(fromBot)) bad(12, 'botMessages', 'a non-negative integer');
  if (fromUser !== 0 || fromBot !== 0) state.msgs = [fromUser as number, fromBot as number];
  if (rest !== 0) readRest(rest, state, format === FORMAT, bad);
  return state;
}

/** Position 10: the dialog that was on top before the current one (a built-in prompt's number in format 3). */
function readPrevious(
  previous: unknown,
  numbered: boolean,
  bad: Bad,
): NonNullable<SessionStateRecord['previousDialogState']> {
  if (numbered && typeof previous === 'number') {
    const builtIn = BUILT_IN[previous];
    if (builtIn === undefined) {
      bad(
        10,
        'previousDialog',
        `a built-in dialog's number (0 to ${BUILT_IN.length - 1}), [id, type] or [id, type, name]`,
      );
    }
    return { ...builtIn! };
  }
  if (
    !Array.isArray(previous) ||
    (previous.length !== 2 && previous.length !== 3) ||
    !previous.every((part) => typeof part === 'string')
  ) {
    bad(10, 'previousDialog', '[id, type] or [id, type, name] (strings) or null');
  }
  const [dialogId, type, name = dialogId] = previous as string[];
  return { name: name!, id: dialogId!, type: type! };
}

function relativeTime(startedAt: number, delta: number, bad: Bad): number {
  const at = startedAt + delta;
  return Number.isFinite(at)
    ? at
    : bad(3, 'lastActiveAt', `a time after startedAt that is a finite number (startedAt ${startedAt} + ${delta})`);
}

function isCount(value: unknown): value is number {
  return Number.isSafeInteger(value) && (value as number) >= 0;
}

type Bad = (position: number, what: string, expected: string) => never;

function readObject(value: unknown, position: number, what: string, bad: Bad): Record<string, unknown> {
  if (value === 0) return {};
  if (!isRecord(value)) bad(position, what, 'a JSON object or 0');
  return value as Record<string, unknown>;
}

function readAddress(value: unknown, bad: Bad): Address {
  if (Array.isArray(value)) {
    const [channelId, userId, conversationId] = value as unknown[];
    if (value.length === 3 && isId(channelId) && isId(userId) && isId(conversationId)) {
      return { channelId, user: { id: userId }, conversation: { id: conversationId } };
    }
    return bad(6, 'address', '[channelId, userId, conversationId] (non-empty strings) or an address object');
  }
  if (isAddress(value)) return value;
  const parsed = addressSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  return bad(6, 'address', `an address (${formatIssues(parsed.error)})`);
}

function addressFromKey(key: string | undefined, bad: Bad): Address {
  if (key === undefined)
    return bad(
      6,
      'address',
      'read with the session key it was stored under (0 means "the address the key was made from"): pass the key to decodeState',
    );
  return addressOfKey(key) ?? bad(6, 'address', `an address, since the key "${key}" is not the default key of one`);
}

function readStack(value: unknown, numbered: boolean, bad: Bad): DialogInstance[] {
  if (!Array.isArray(value)) return bad(7, 'stack', 'an array of dialog entries or 0');
  const stack: DialogInstance[] = new Array(value.length);
  for (let i = 0; i < value.length; i++) {
    const entry: unknown = value[i];
    const wrong = () =>
      bad(7, 'stack', `entries [id, dialogData or 0, step?, 1?] (entry ${i} is ${JSON.stringify(entry)})`);
    if (!Array.isArray(entry) || entry.length < 2 || entry.length > 4) return wrong();
    const stored: unknown = entry[0];
    const data: unknown = entry[1];
    const step: unknown = entry.length > 2 ? entry[2] : null;
    const interrupt: unknown = entry[3];
    const dialogId = numbered && typeof stored === 'number' ? BUILT_IN[stored]?.id : stored;
    if (
      typeof dialogId !== 'string' ||
      dialogId.length === 0 ||
      (data !== 0 && !isRecord(data)) ||
      (step !== null && !isCount(step))
    )
      return wrong();
    if (entry.length === 4 && interrupt !== 1) return wrong();
    const instance: DialogInstance = { id: dialogId, data: data === 0 ? {} : (data as Record<string, unknown>) };
    if (step !== null) instance.step = step as number;
    if (interrupt === 1) instance.interrupt = true;
    stack[i] = instance;
  }
  return stack;
}

function readRest(rest: unknown, state: SessionStateRecord, latest: boolean, bad: Bad): void {
  if (!isRecord(rest)) return bad(13, 'rest', 'an object or 0');
  for (const name in rest) {
    if (latest && name === 'lastActiveAt') {
      if (!Number.isFinite(rest.lastActiveAt)) bad(13, 'rest.lastActiveAt', 'a number');
      state.lastActiveAt = rest.lastActiveAt as number;
    } else if (latest && name === 'history') {
      state.history = readHistory(rest.history, bad);
    } else if (!(RARE as readonly string[]).includes(name))
      bad(13, 'rest', `an object of ${RARE.join(', ')}${latest ? ', history' : ''} (it holds "${name}")`);
  }
  const { locale, timeout, entityExpiry, ended, nudges, entitiesVersion, retained } = rest;
  if (locale !== undefined) {
    if (typeof locale !== 'string') bad(13, 'rest.locale', 'a string');
    state.locale = locale as string;
  }
  if (timeout !== undefined) {
    if (typeof timeout !== 'number' || !(timeout > 0) || !Number.isFinite(timeout))
      bad(13, 'rest.timeout', 'a positive number');
    state.timeout = timeout as number;
  }
  if (entityExpiry !== undefined) {
    if (!isRecord(entityExpiry) || !Object.values(entityExpiry).every((at) => Number.isFinite(at)))
      bad(13, 'rest.entityExpiry', 'an object of entity names to times');
    state.entityExpiry = entityExpiry as Record<string, number>;
  }
  if (ended !== undefined) {
    if (typeof ended !== 'string' || !ENDED.has(ended)) bad(13, 'rest.ended', `one of ${[...ENDED].join(', ')}`);
    state.ended = ended as SessionStateRecord['ended'];
  }
  if (nudges !== undefined) {
    if (!isRecord(nudges) || !Number.isFinite(nudges.at) || !isCount(nudges.count))
      bad(13, 'rest.nudges', '{ at: number, count: non-negative integer }');
    state.nudges = nudges as { at: number; count: number };
  }
  if (entitiesVersion !== undefined) {
    if (!isCount(entitiesVersion)) bad(13, 'rest.entitiesVersion', 'a non-negative integer');
    state.entitiesVersion = entitiesVersion as number;
  }
  if (retained !== undefined) {
    if (!Number.isFinite(retained)) bad(13, 'rest.retained', 'a number');
    state.retained = retained as number;
  }
  readRecognized(rest, state, bad);
}

/** The recognizers' marks: the intent the current task began with, the language detected. */
function readRecognized(rest: Record<string, unknown>, state: SessionStateRecord, bad: Bad): void {
  const { taskIntent, preferredLanguage } = rest;
  if (taskIntent !== undefined) {
    if (typeof taskIntent !== 'string' || taskIntent.length === 0) bad(13, 'rest.taskIntent', 'a non-empty string');
    state.taskIntent = taskIntent as string;
  }
  if (preferredLanguage !== undefined) {
    if (typeof preferredLanguage !== 'string' || preferredLanguage.length === 0)
      bad(13, 'rest.preferredLanguage', 'a non-empty string');
    state.preferredLanguage = preferredLanguage as string;
  }
}
