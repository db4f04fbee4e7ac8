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
  // The optional strings, by name: a fixed key reads faster than a key from a list.
  if (value.text !== undefined && typeof value.text !== 'string') return undefined;
  if (value.name !== undefined && typeof value.name !== 'string') return undefined;
  if (value.locale !== undefined && typeof value.locale !== 'string') return undefined;
  if (value.id !== undefined && typeof value.id !== 'string') return undefined;
  if (value.developer !== undefined && typeof value.developer !== 'boolean') return undefined;
  if (value.timestamp !== undefined && !Number.isFinite(value.timestamp)) return undefined;
  if (Object.getPrototypeOf(value) !== Object.prototype || Object.hasOwn(value, '__proto__')) return undefined;
  const address = value.address;
  const copy = copyAddress(address);
  copy.user = copyNamed(address.user) as Address['user'];
  copy.conversation = copyConversation(address.conversation) as Address['conversation'];
  if (address.bot !== undefined) copy.bot = copyNamed(address.bot) as NonNullable<Address['bot']>;
  const message = copyMessage(value);
  message.address = copy;
  return message as unknown as IncomingMessage;
}

// Copies as a zod loose object makes them: every enumerable key except `__proto__`, then the declared keys by property
// access (getters, inherited and non-enumerable ones included). One function per shape, each with its own loop and
// fixed names for the declared keys: V8 then keeps one shape per site, about twice as fast as one shared loop over lists.

function copyAddress(address: Address): Address {
  const source = address as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in source) if (key !== '__proto__') out[key] = source[key];
  if ('channelId' in source) out.channelId = source.channelId;
  if ('user' in source) out.user = source.user;
  if ('conversation' in source) out.conversation = source.conversation;
  if ('bot' in source) out.bot = source.bot;
  return out as unknown as Address;
}

function copyNamed(named: NonNullable<Address['bot']>): Record<string, unknown> {
  const source = named as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in source) if (key !== '__proto__') out[key] = source[key];
  if ('id' in source) out.id = source.id;
  if ('name' in source) out.name = source.name;
  return out;
}

function copyConversation(conversation: Address['conversation']): Record<string, unknown> {
  const source = conversation as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key in source) if (key !== '__proto__') out[key] = source[key];
  if ('id' in source) out.id = source.id;
  if ('isGroup' in source) out.isGroup = source.isGroup;
  return out;
}

function copyMessage(source: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const key in source) if (key !== '__proto__') out[key] = source[key];
  if ('address' in source) out.address = source.address;
  if ('type' in source) out.type = source.type;
  if ('text' in source) out.text = source.text;
  if ('name' in source) out.name = source.name;
  if ('value' in source) out.value = source.value;
  if ('attachments' in source) out.attachments = source.attachments;
  if ('locale' in source) out.locale = source.locale;
  if ('developer' in source) out.developer = source.developer;
  if ('timestamp' in source) out.timestamp = source.timestamp;
  if ('id' in source) out.id = source.id;
  if ('sourceEvent' in source) out.sourceEvent = source.sourceEvent;
  return out;
}

const TYPES: readonly unknown[] = ['message', 'typing', 'event'];
const TEXT_FORMATS: readonly unknown[] = ['plain', 'markdown', 'xml'];
const LAYOUTS: readonly unknown[] = ['list', 'carousel'];
const INPUT_HINTS: readonly unknown[] = ['acceptingInput', 'expectingInput', 'ignoringInput'];

/**
 * A copy of `value` when it is a reply made only of text fields (`text`, `locale`, `name`, the enums, `value`) that
 * the outgoing-message schema accepts; `undefined` for anything else (attachments, buttons, `sourceEvent`, unknown
 * fields), which the schema then checks. Fields are read as the schema reads them, getters included.
 */
export function plainOutgoing(value: unknown): OutgoingMessage | undefined {
  if (!isRecord(value) || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  for (const name in value) if (!isOutgoingField(name)) return undefined;
  if (value.attachments !== undefined || value.suggestedActions !== undefined || value.sourceEvent !== undefined) return undefined;
  // Field by field in the schema's order, each by name (fixed keys read faster than keys from a list).
  const out: Record<string, unknown> = {};
  if ('type' in value) {
    const field = value.type;
    if (field !== undefined && !TYPES.includes(field)) return undefined;
    out.type = field;
  }
  if ('text' in value) {
    const field = value.text;
    if (field !== undefined && typeof field !== 'string') return undefined;
    out.text = field;
  }
  if ('textFormat' in value) {
    const field = value.textFormat;
    if (field !== undefined && !TEXT_FORMATS.includes(field)) return undefined;
    out.textFormat = field;
  }
  if ('attachmentLayout' in value) {
    const field = value.attachmentLayout;
    if (field !== undefined && !LAYOUTS.includes(field)) return undefined;
    out.attachmentLayout = field;
  }
  if ('inputHint' in value) {
    const field = value.inputHint;
    if (field !== undefined && !INPUT_HINTS.includes(field)) return undefined;
    out.inputHint = field;
  }
  if ('locale' in value) {
    const field = value.locale;
    if (field !== undefined && typeof field !== 'string') return undefined;
    out.locale = field;
  }
  if ('name' in value) {
    const field = value.name;
    if (field !== undefined && typeof field !== 'string') return undefined;
    out.name = field;
  }
  if ('value' in value) out.value = value.value;
  return out as OutgoingMessage;
}

/** The fields `plainOutgoing` takes. */
function isOutgoingField(name: string): boolean {
  switch (name) {
    case 'type':
    case 'text':
    case 'textFormat':
    case 'attachmentLayout':
    case 'inputHint':
    case 'locale':
    case 'name':
    case 'value':
      return true;
    default:
      return false;
  }
}
