// Hand-written checks for the shapes every turn sees (an address, a plain text message). They accept exactly what the
// zod schemas in schema.ts accept for those shapes, without zod's per-call allocations; anything they do not recognise
// goes to zod, which decides and words the error. test/validate.test.ts holds them to the schemas with fast-check.
import type { Address, IncomingMessage, OutgoingMessage } from './types';

const MAX_ID = 512;

export function isId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && (value.length <= MAX_ID || [...value].length <= MAX_ID);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** True when `value` is an address the address schema accepts. */
export function isAddress(value: unknown): value is Address {
  if (!isRecord(value) || !isId(value.channelId)) return false;
  const { user, conversation, bot } = value;
  if (!isRecord(user) || !isId(user.id) || (user.name !== undefined && typeof user.name !== 'string')) return false;
  if (!isRecord(conversation) || !isId(conversation.id) || (conversation.isGroup !== undefined && typeof conversation.isGroup !== 'boolean')) return false;
  if (bot === undefined) return true;
  return isRecord(bot) && isId(bot.id) && (bot.name === undefined || typeof bot.name === 'string');
}

const OPTIONAL_STRINGS = ['text', 'name', 'locale', 'id'] as const;

/**
 * A copy of `value` when it is a message the message schema accepts and has no attachments or `sourceEvent` (those
 * and anything unusual are left to the schema); `undefined` otherwise. Like the schema, it copies the message and its
 * address objects, so that a caller changing them later changes nothing palaver holds.
 */
export function plainMessage(value: unknown): IncomingMessage | undefined {
  if (!isRecord(value) || !isAddress(value.address)) return undefined;
  if (value.attachments !== undefined || value.sourceEvent !== undefined) return undefined;
  const type = value.type;
  if (type !== undefined && type !== 'message' && type !== 'event') return undefined;
  for (const name of OPTIONAL_STRINGS) if (value[name] !== undefined && typeof value[name] !== 'string') return undefined;
  if (value.developer !== undefined && typeof value.developer !== 'boolean') return undefined;
  if (value.timestamp !== undefined && !Number.isFinite(value.timestamp)) return undefined;
  if (Object.getPrototypeOf(value) !== Object.prototype || Object.hasOwn(value, '__proto__')) return undefined;
  const address = value.address;
  const copy = looseCopy(address, ADDRESS_KEYS) as unknown as Address;
  copy.user = looseCopy(address.user, NAMED_KEYS) as Address['user'];
  copy.conversation = looseCopy(address.conversation, CONVERSATION_KEYS) as Address['conversation'];
  if (address.bot !== undefined) copy.bot = looseCopy(address.bot, NAMED_KEYS) as NonNullable<Address['bot']>;
  const message = looseCopy(value, MESSAGE_KEYS);
  message.address = copy;
  return message as unknown as IncomingMessage;
}

const ADDRESS_KEYS = ['channelId', 'user', 'conversation', 'bot'];
const NAMED_KEYS = ['id', 'name'];
const CONVERSATION_KEYS = ['id', 'isGroup'];
const MESSAGE_KEYS = ['address', 'type', 'text', 'name', 'value', 'attachments', 'locale', 'developer', 'timestamp', 'id', 'sourceEvent'];

/**
 * Copies an object as a zod loose object does: the declared keys by property access (getters, inherited and
 * non-enumerable ones included), then every other enumerable key except `__proto__`.
 */
function looseCopy(value: object, declared: readonly string[]): Record<string, unknown> {
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in source) if (key !== '__proto__') out[key] = source[key];
  for (const key of declared) if (key in source) out[key] = source[key];
  return out;
}

const OUTGOING_ENUMS: Record<string, readonly string[]> = {
  type: ['message', 'typing', 'event'],
  textFormat: ['plain', 'markdown', 'xml'],
  attachmentLayout: ['list', 'carousel'],
  inputHint: ['acceptingInput', 'expectingInput', 'ignoringInput'],
};

/**
 * A copy of `value` when it is a reply made only of text fields (`text`, `locale`, `name`, the enums, `value`) that
 * the outgoing-message schema accepts; `undefined` for anything else (attachments, buttons, `sourceEvent`, unknown
 * fields), which the schema then checks. Fields are read as the schema reads them, getters included.
 */
export function plainOutgoing(value: unknown): OutgoingMessage | undefined {
  if (!isRecord(value) || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  for (const name in value) if (!Object.hasOwn(OUTGOING_FIELDS, name)) return undefined;
  if (value.attachments !== undefined || value.suggestedActions !== undefined || value.sourceEvent !== undefined) return undefined;
  const out: Record<string, unknown> = {};
  for (const name in OUTGOING_FIELDS) {
    if (!(name in value)) continue;
    const field = value[name];
    const allowed = OUTGOING_FIELDS[name]!;
    if (field !== undefined && allowed !== 'any' && (allowed === 'string' ? typeof field !== 'string' : !allowed.includes(field as string))) return undefined;
    out[name] = field;
  }
  return out as OutgoingMessage;
}

const OUTGOING_FIELDS: Record<string, 'string' | 'any' | readonly string[]> = {
  type: ['message', 'typing', 'event'],
  text: 'string',
  textFormat: ['plain', 'markdown', 'xml'],
  attachmentLayout: ['list', 'carousel'],
  inputHint: ['acceptingInput', 'expectingInput', 'ignoringInput'],
  locale: 'string',
  name: 'string',
  value: 'any',
};
