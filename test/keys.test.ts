// Default session keys are reversible: the stored state leaves out an address its key was made from (codec.ts).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressOfKey, defaultSessionKey, isDefaultKeyOf, isUserKeyOf, joinKey } from '../src/keys';

/** Ids, with the characters the key escapes (`:` and `%`) and the escapes themselves over-represented. */
const id = fc.oneof(fc.string({ minLength: 1, maxLength: 8 }), fc.stringMatching(/^[:%a3A5]{1,6}$/));
const address = fc.record({ channelId: id, user: fc.record({ id }), conversation: fc.record({ id }) });

describe('default session keys', () => {
  it('give back the address they were made from', () => {
    fc.assert(
      fc.property(address, (a) => {
        expect(addressOfKey(defaultSessionKey(a))).toEqual(a);
      }),
      { numRuns: 2000 },
    );
  });

  it('are recognised as the key of their own address', () => {
    fc.assert(
      fc.property(address, (a) => {
        expect(isDefaultKeyOf(defaultSessionKey(a), a.channelId, a.user.id, a.conversation.id)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("are not taken for another address's key", () => {
    fc.assert(
      fc.property(address, address, (a, b) => {
        const key = defaultSessionKey(b);
        expect(isDefaultKeyOf(key, a.channelId, a.user.id, a.conversation.id)).toBe(key === defaultSessionKey(a));
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    'x:web:c1:u1',
    's:wex:c1:u1',
    's:web-c1:u1',
    's:web:cx:u1',
    's:web:c1-u1',
    's:web:c1:ux',
    's:web:u1:c1',
    's:web:c1:u1x',
    's:web:c1:u',
  ])('are not taken for %j, which is not the key of channel web, conversation c1, user u1', (key) => {
    expect(isDefaultKeyOf(key, 'web', 'u1', 'c1')).toBe(false);
  });

  it('are not taken for a key of the same length whose colons were not escaped', () => {
    // The key of channel "a:b", conversation "c", user "d" is s:a%3Ab:c:d.
    expect(isDefaultKeyOf('s:a:b:c:d', 'a:b', 'd', 'c')).toBe(false);
  });

  it.each([
    's:',
    's:a',
    's:a:b',
    's::b:c',
    's:a::c',
    's:a:b:',
    's:a:b:c:d',
    'x:a:b:c',
    'a:b:c',
    's:a%zz:b:c',
    's:a%3a:b:c',
    's:a%:b:c',
  ])('do not include %j, which is not one', (key) => {
    expect(addressOfKey(key)).toBeUndefined();
  });
});

describe('the user key of a default session key', () => {
  const userKey = (a: { channelId: string; user: { id: string } }) => `u:${joinKey(a.channelId, a.user.id)}`;

  it('is recognised as its owner', () => {
    fc.assert(
      fc.property(address, (a) => {
        expect(isUserKeyOf(defaultSessionKey(a), userKey(a))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it("is recognised exactly when it is the user key of the session key's own address", () => {
    fc.assert(
      fc.property(address, address, (a, b) => {
        expect(isUserKeyOf(defaultSessionKey(a), userKey(b))).toBe(userKey(b) === userKey(a));
      }),
      { numRuns: 5000 },
    );
  });

  it.each([
    ['s:web:c1:u1', 'u:web:u1x'],
    ['s:web:c1:u1', 'u:wex:u1'],
    ['s:web:c1:u1', 'c:web:u1'],
    ['s:web:c1:u1', 'u:web:c1'],
    ['x:web:c1:u1', 'u:web:u1'],
    ['s:web:c1', 'u:web:c1'],
    ['s:web:c1:u1:x', 'u:web:u1:x'],
  ])('does not own %j when it is %j', (key, owner) => {
    expect(isUserKeyOf(key, owner)).toBe(false);
  });
});
