// Session keys and the addresses they come from. The default key of an address is reversible, which lets the stored
// state leave the address out (see codec.ts).
import { describe, PalaverError } from './errors';
import { addressSchema, parseOrThrow } from './schema';
import type { Address } from './types';
import { SESSION_PREFIX, USER_PREFIX } from './stores/store';

/**
 * Joins key parts so that no two different part lists give the same key (`:` and `%` inside parts are escaped).
 * (Two or three parts, named: a rest parameter would build an array on every turn.)
 */
export function joinKey(first: string, second: string, third?: string): string {
  const key = escapePart(first) + ':' + escapePart(second);
  return third === undefined ? key : key + ':' + escapePart(third);
}

function escapePart(part: string): string {
  return needsEscape(part) ? part.replace(/%/g, '%25').replace(/:/g, '%3A') : part;
}

/** The default session key of `address` (without a `sessionKey` option). */
export function defaultSessionKey(address: Address): string {
  return SESSION_PREFIX + joinKey(address.channelId, address.conversation.id, address.user.id);
}

/** Whether `key` is the default session key of the address with these ids (without building that key). */
export function isDefaultKeyOf(key: string, channelId: string, userId: string, conversationId: string): boolean {
  const prefix = SESSION_PREFIX.length;
  if (
    key.length !== prefix + channelId.length + conversationId.length + userId.length + 2 ||
    needsEscape(channelId) ||
    needsEscape(conversationId) ||
    needsEscape(userId)
  ) {
    return key === SESSION_PREFIX + joinKey(channelId, conversationId, userId);
  }
  const second = prefix + channelId.length + 1;
  const third = second + conversationId.length + 1;
  return (
    key.startsWith(SESSION_PREFIX) &&
    key.startsWith(channelId, prefix) &&
    key.charCodeAt(second - 1) === COLON &&
    key.startsWith(conversationId, second) &&
    key.charCodeAt(third - 1) === COLON &&
    key.startsWith(userId, third)
  );
}

/** The address whose default session key is `key` (its three ids only), or `undefined` when `key` is not one. */
export function addressOfKey(key: string): Address | undefined {
  if (!key.startsWith(SESSION_PREFIX)) return undefined;
  const first = SESSION_PREFIX.length;
  const second = key.indexOf(':', first) + 1;
  const third = second === 0 ? 0 : key.indexOf(':', second) + 1;
  if (third === 0 || key.indexOf(':', third) !== -1) return undefined;
  if (second - 1 === first || third - 1 === second || third === key.length) return undefined;
  const address = {
    channelId: unescapePart(key.slice(first, second - 1)),
    user: { id: unescapePart(key.slice(third)) },
    conversation: { id: unescapePart(key.slice(second, third - 1)) },
  };
  // An escape that joinKey would not have written (`%zz`, `%3a`, a lone `%`) makes a key no address has.
  return !key.includes('%') || defaultSessionKey(address) === key ? address : undefined;
}

const COLON = 58;

/**
 * Whether `owner` is the user key of the default session key `key` (`s:<channel>:<conversation>:<user>` is owned by
 * `u:<channel>:<user>`), compared in place.
 */
export function isUserKeyOf(key: string, owner: string): boolean {
  const first = SESSION_PREFIX.length;
  if (!key.startsWith(SESSION_PREFIX) || !owner.startsWith(USER_PREFIX) || USER_PREFIX.length !== first) return false;
  const second = key.indexOf(':', first) + 1;
  const third = second === 0 ? 0 : key.indexOf(':', second) + 1;
  if (third === 0 || key.indexOf(':', third) !== -1) return false;
  const user = key.length - third;
  return (
    owner.length === second + user &&
    sameChars(key, first, owner, first, second - first) &&
    sameChars(key, third, owner, second, user)
  );
}

function sameChars(a: string, from: number, b: string, at: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a.charCodeAt(from + i) !== b.charCodeAt(at + i)) return false;
  return true;
}

function needsEscape(part: string): boolean {
  return part.includes(':') || part.includes('%');
}

function unescapePart(part: string): string {
  return part.includes('%') ? part.replace(/%3A/g, ':').replace(/%25/g, '%') : part;
}

/** The outbox lane of an address: one per user per conversation per channel (the default session key, unprefixed). */
export function laneKey(address: Address): string {
  return joinKey(address.channelId, address.conversation.id, address.user.id);
}

/**
 * The session key of `address`: the default key, or the `sessionKey` option's, prefixed.
 * @throws PalaverError `INVALID_ADDRESS` for something that is not an address; `INVALID_OPTIONS` when `custom` throws or
 * returns no string.
 */
export function sessionKeyOf(address: Address, custom: ((address: Address) => string) | undefined): string {
  // Cheap: the turns pass addresses already parsed; only a caller's own value can fail here.
  if (
    typeof address?.channelId !== 'string' ||
    typeof address.user?.id !== 'string' ||
    typeof address.conversation?.id !== 'string'
  ) {
    parseOrThrow(addressSchema, address, 'INVALID_ADDRESS', 'address passed to keyOf()');
  }
  if (custom === undefined) return defaultSessionKey(address);
  let key: unknown;
  try {
    key = custom(address);
  } catch (error) {
    throw PalaverError.from(error, 'INVALID_OPTIONS', 'The sessionKey option');
  }
  if (typeof key !== 'string' || key.length === 0) {
    throw new PalaverError(
      'INVALID_OPTIONS',
      `The sessionKey option must return a non-empty string, got ${describe(key)}.`,
    );
  }
  return SESSION_PREFIX + key;
}
