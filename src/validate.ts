// Hand-written checks for the shapes every turn sees (an address, a plain text message). They accept exactly what the
// zod schemas in schema.ts accept for those shapes, without zod's per-call allocations; anything they do not recognise
// goes to zod, which decides and words the error. test/validate.test.ts holds them to the schemas with fast-check.
import { errorText, PalaverError } from './errors';
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
  if (
    !isRecord(conversation) ||
    !isId(conversation.id) ||
    (conversation.isGroup !== undefined && typeof conversation.isGroup !== 'boolean')
  )
    return false;
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

/** The fields `plainOutgoing` takes, in the schema's order, with what each may hold besides `undefined`. */
const OUTGOING_FIELDS: Readonly<Record<string, 'string' | 'any' | readonly unknown[]>> = Object.assign(
  Object.create(null) as object,
  {
    type: ['message', 'typing', 'event'],
    text: 'string',
    textFormat: ['plain', 'markdown', 'xml'],
    attachmentLayout: ['list', 'carousel'],
    inputHint: ['acceptingInput', 'expectingInput', 'ignoringInput'],
    locale: 'string',
    name: 'string',
    value: 'any',
  } as const,
);

/**
 * A copy of `value` when it is a reply made only of text fields (`text`, `locale`, `name`, the enums, `value`) that
 * the outgoing-message schema accepts; `undefined` for anything else (attachments, buttons, `sourceEvent`, unknown
 * fields), which the schema then checks. Fields are read as the schema reads them, getters included.
 */
export function plainOutgoing(value: unknown): OutgoingMessage | undefined {
  if (!isRecord(value) || Object.getPrototypeOf(value) !== Object.prototype) return undefined;
  for (const name in value) if (OUTGOING_FIELDS[name] === undefined) return undefined;
  if (value.attachments !== undefined || value.suggestedActions !== undefined || value.sourceEvent !== undefined)
    return undefined;
  const out: Record<string, unknown> = {};
  for (const name in OUTGOING_FIELDS) {
    if (!(name in value)) continue;
    const field = value[name];
    const allowed = OUTGOING_FIELDS[name]!;
    if (
      field !== undefined &&
      allowed !== 'any' &&
      (allowed === 'string' ? typeof field !== 'string' : !allowed.includes(field))
    )
      return undefined;
    out[name] = field;
  }
  return out as OutgoingMessage;
}

/** Rejects a message whose JSON is over `max` bytes (MESSAGE_TOO_LARGE) or that is no JSON at all (INVALID_MESSAGE). */
export function checkMessageSize(message: IncomingMessage, max: number): void {
  if (jsonBound(message, 0) * 3 <= max) return;
  let json: string;
  try {
    json = JSON.stringify(message);
  } catch (error) {
    throw new PalaverError(
      'INVALID_MESSAGE',
      `The message passed to receive() cannot be written as JSON (${errorText(error)}); a message must be plain JSON.`,
      { cause: error },
    );
  }
  // A UTF-16 unit is 1 to 3 bytes of UTF-8: encode only when the length alone cannot tell.
  if (json.length * 3 <= max) return;
  const bytes = json.length > max ? json.length : new TextEncoder().encode(json).length;
  if (bytes > max) {
    throw new PalaverError(
      'MESSAGE_TOO_LARGE',
      `The message passed to receive() is ${bytes === json.length ? 'at least ' : ''}${bytes} bytes of JSON, over ` +
        `maxMessageBytes (${max}); it was rejected. Send large payloads by reference (a URL).`,
    );
  }
}

/**
 * An upper bound on the length of `value`'s JSON for the flat shapes most messages have (a JSON escape is at most six
 * characters per UTF-16 unit), or Infinity when working it out would cost more than writing the JSON.
 */
export function jsonBound(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
      return value.length * 6 + 2;
    case 'number':
      return 25; // the longest a double is written, e.g. -0.0000012345678901234567
    case 'boolean':
      return 5;
    case 'undefined':
      return 0;
    case 'object': {
      if (value === null) return 4;
      if (depth > 2 || Array.isArray(value)) return Infinity;
      // Only plain data: a class instance or a toJSON (JSON.stringify calls it) can write anything.
      const proto: unknown = Object.getPrototypeOf(value);
      if (
        (proto !== Object.prototype && proto !== null) ||
        typeof (value as { toJSON?: unknown }).toJSON === 'function'
      ) {
        return Infinity;
      }
      let total = 2;
      for (const name in value)
        total += name.length * 6 + 4 + jsonBound((value as Record<string, unknown>)[name], depth + 1);
      return total;
    }
    default:
      return Infinity;
  }
}
