// The stored form of a session key's state: format 3 (a positional array) round-trips every state the session schema
// accepts, with or without the session key; formats 2 (the older array) and 1 (the schema's object form) are still read;
// every malformed position is named in the error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeState, encodeState, StateFormatError } from '../src/codec';
import { PromptIds } from '../src/dialogs/prompts';
import { defaultSessionKey } from '../src/keys';
import { sessionStateSchema, type SessionStateRecord } from '../src/schema';
import type { Address } from '../src/types';
import { PalaverError } from '../src';
import { makeBot, thrown } from './support/bot';
import { address as testAddress } from './support/fixtures';

// ---- arbitraries -------------------------------------------------------------------------------------------------

/** A finite number other than -0 (JSON writes -0 as 0, and toEqual tells them apart). */
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0));
const time = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), finite);
const count = fc.oneof(fc.nat(10), fc.nat());

/** Keys that break naive code, `__proto__` first among them. */
const nastyKey = fc.oneof(
  fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'v', 'id', 'data'),
  fc.string({ maxLength: 8 }),
);

/** An object with the given entries, built as JSON.parse builds it: `__proto__` becomes an own key, not the prototype. */
function objectOf<T>(
  key: fc.Arbitrary<string>,
  value: fc.Arbitrary<T>,
  maxLength = 4,
): fc.Arbitrary<Record<string, T>> {
  return fc.array(fc.tuple(key, value), { maxLength }).map((entries) => Object.fromEntries(entries));
}

/** A JSON value that survives JSON.stringify + JSON.parse unchanged. */
const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 12 }),
    finite,
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('json'), { maxLength: 4 }),
    objectOf(nastyKey, tie('json')),
  ),
}));

/** A JSON object, empty about a third of the time. */
const bag = fc.oneof(fc.constant({}), objectOf(nastyKey, json));

/** One code point, two UTF-16 units. */
const EMOJI = '\u{1F600}';

/** An address id: 1 to 512 characters, the bounds included, counted in code points as zod 4 counts them. */
const addressId = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.constantFrom('x', 'x'.repeat(512), EMOJI.repeat(256), EMOJI.repeat(257), EMOJI.repeat(512)),
  fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }),
);

/** Extra channel fields under keys the schema does not name. `__proto__` is left out: the schema drops it (see below). */
function extras(named: readonly string[]): fc.Arbitrary<Record<string, unknown>> {
  const key = nastyKey.filter((k) => k !== '__proto__' && !named.includes(k));
  return objectOf(key, json, 3);
}

function withExtras<T extends object>(base: fc.Arbitrary<T>, named: readonly string[]): fc.Arbitrary<T> {
  return fc.tuple(base, extras(named)).map(([fields, extra]) => ({ ...extra, ...fields }));
}

const compactAddress = fc.record({
  channelId: addressId,
  user: fc.record({ id: addressId }),
  conversation: fc.record({ id: addressId }),
});

const richAddress = withExtras(
  fc.record(
    {
      channelId: addressId,
      user: withExtras(fc.record({ id: addressId, name: fc.string({ maxLength: 12 }) }, { requiredKeys: ['id'] }), [
        'id',
        'name',
      ]),
      conversation: withExtras(fc.record({ id: addressId, isGroup: fc.boolean() }, { requiredKeys: ['id'] }), [
        'id',
        'isGroup',
      ]),
      bot: withExtras(fc.record({ id: addressId, name: fc.string({ maxLength: 12 }) }, { requiredKeys: ['id'] }), [
        'id',
        'name',
      ]),
    },
    { requiredKeys: ['channelId', 'user', 'conversation'] },
  ),
  ['channelId', 'user', 'conversation', 'bot'],
);

const address = fc.oneof(compactAddress, richAddress);

/** An id made mostly of the characters a session key escapes (`:` and `%`) and of their escapes (`%3A`, `%25`). */
const keyPartId = fc.oneof(
  fc.string({ unit: fc.constantFrom(':', '%', '3', 'A', 'a', '2', '5', 's'), minLength: 1, maxLength: 12 }),
  fc.constantFrom(':', '%', '%3A', '%25', '%253A', '::', 's:', 'a:b%c'),
  addressId,
);
/** An address of the three ids only (the kind the default session key is made from), with ids a key must escape. */
const keyedAddress = fc.record({
  channelId: keyPartId,
  user: fc.record({ id: keyPartId }),
  conversation: fc.record({ id: keyPartId }),
});

/** The ids of the built-in prompts, which format 3 stores as numbers, and ids that look like those numbers. */
const BUILT_IN_IDS = [
  'palaver:prompt:text',
  'palaver:prompt:number',
  'palaver:prompt:confirm',
  'palaver:prompt:choice',
  'palaver:prompt:time',
  'palaver:prompt:attachment',
] as const;
const dialogId = fc.oneof(
  fc.string({ minLength: 1, maxLength: 12 }),
  fc.constantFrom(...BUILT_IN_IDS, '0', '3', '7', 'palaver:prompt:date'),
);

const stackEntry = fc.record(
  { id: dialogId, data: bag, step: count, interrupt: fc.constant(true as const) },
  { requiredKeys: ['id', 'data'] },
);

const dialogName = fc.oneof(
  fc.constantFrom('/', 'greeting', '', 'prompt', 'Prompts.text', 'Prompts.choice', ...BUILT_IN_IDS),
  fc.string({ maxLength: 12 }),
);
/** The previousDialogState of a built-in prompt, as the manager records it. */
const builtInPrevious = fc
  .constantFrom(...(['text', 'number', 'confirm', 'choice', 'time', 'attachment'] as const))
  .map((kind) => ({ name: `Prompts.${kind}`, id: `palaver:prompt:${kind}`, type: 'prompt' }));
const previousDialogState = fc.oneof(
  fc.record({ id: dialogName, type: dialogName }).map(({ id, type }) => ({ name: id, id, type })),
  fc.record({ name: dialogName, id: dialogName, type: dialogName }),
  builtInPrevious,
);

/** Message counts as the manager keeps them: absent while both are 0. */
const msgs = fc.tuple(count, count).filter(([fromUser, fromBot]) => fromUser !== 0 || fromBot !== 0);

/** Something to put at a stored position: JSON, with the numbers, keys and shapes the positions take mixed in. */
const { storedPart } = fc.letrec<{ storedPart: unknown }>((tie) => ({
  storedPart: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    json,
    fc.constantFrom(0, 1, 2, 3, -1, 0.5, 2 ** 53, null, '', 'x', 'timeout', '\u{1F600}'.repeat(513)),
    fc.array(tie('storedPart'), { maxLength: 4 }),
    objectOf(
      fc.oneof(
        fc.constantFrom(
          'locale',
          'timeout',
          'entityExpiry',
          'ended',
          'nudges',
          'entitiesVersion',
          'at',
          'count',
          'channelId',
          'user',
          'conversation',
          'bot',
        ),
        nastyKey,
      ),
      tie('storedPart'),
    ),
  ),
}));

const ended = fc.constantFrom('timeout', 'endSession', 'newSession', 'refresh', 'evicted', 'shutdown' as const);

/** Every field of sessionStateSchema; each optional one absent, present, or (for a few) present as undefined. */
function stateWith(id: fc.Arbitrary<string>): fc.Arbitrary<SessionStateRecord> {
  return fc.record(
    {
      v: fc.constant(1 as const),
      id,
      startedAt: time,
      lastActiveAt: time,
      turnCount: count,
      interactive: fc.boolean(),
      developer: fc.boolean(),
      locale: fc.option(fc.constantFrom('en-US', 'de', ''), { nil: undefined }),
      address,
      timeout: fc.option(
        fc.oneof(
          fc.integer({ min: 1 }),
          finite.filter((n) => n > 0),
        ),
        { nil: undefined },
      ),
      entities: bag,
      entityExpiry: objectOf(nastyKey, time),
      stack: fc.array(stackEntry, { maxLength: 4 }),
      privateConversationData: bag,
      previousDialogState,
      ended,
      msgs,
      nudges: fc.record({ at: time, count }),
      entitiesVersion: count,
    },
    {
      requiredKeys: [
        'v',
        'lastActiveAt',
        'turnCount',
        'interactive',
        'developer',
        'address',
        'entities',
        'stack',
        'privateConversationData',
      ],
    },
  );
}

/** States the schema accepts (that JSON can carry): the filter keeps the arbitrary honest if the schema narrows. */
const state = stateWith(fc.oneof(fc.constant(''), fc.string({ maxLength: 20 }))).filter(
  (s) => sessionStateSchema.safeParse(s).success,
);

// ---- fixtures ----------------------------------------------------------------------------------------------------

/** A typical idle session, as format 1 stored it. */
const IDLE_FORMAT_1 =
  '{"v":1,"id":"mwritnu1ky1s0002","startedAt":1795332848615,"lastActiveAt":1795332848624,"turnCount":2,"interactive":true,"developer":false,' +
  '"address":{"channelId":"bench","user":{"id":"u1"},"conversation":{"id":"c1"}},"entities":{},"stack":[],"privateConversationData":{},' +
  '"previousDialogState":{"name":"/","id":"/","type":"waterfall"},"msgs":[2,2]}';
const IDLE = sessionStateSchema.parse(JSON.parse(IDLE_FORMAT_1));
/** The default session key of IDLE's address: s:channelId:conversationId:userId. */
const IDLE_KEY = 's:bench:c1:u1';
/** IDLE as format 2 stored it. */
const IDLE_FORMAT_2 =
  '[2,"mwritnu1ky1s0002",1795332848615,1795332848624,2,1,["bench","u1","c1"],0,0,0,["/","waterfall"],2,2]';
/** IDLE as the manager stores it under IDLE_KEY: lastActiveAt 9 ms after startedAt, the address left to the key. */
const IDLE_FORMAT_3 = '[3,"mwritnu1ky1s0002",1795332848615,9,2,1,0,0,0,0,["/","waterfall"],2,2]';

/** A state with every position of format 2 in use, so that each can be spoiled on its own. */
const FULL: SessionStateRecord = {
  v: 1,
  id: 's1',
  startedAt: 1000,
  lastActiveAt: 2000,
  turnCount: 3,
  interactive: true,
  developer: true,
  locale: 'de',
  address: { channelId: 'web', user: { id: 'u1', name: 'Ada' }, conversation: { id: 'c1', isGroup: false } },
  timeout: 60_000,
  entities: { UserName: 'Ada' },
  entityExpiry: { UserName: 5000 },
  stack: [
    { id: '/', data: {}, step: 1 },
    { id: 'help', data: { asked: true }, interrupt: true },
  ],
  privateConversationData: { topic: 'tea' },
  previousDialogState: { name: 'ask', id: 'ask-2', type: 'prompt' },
  ended: 'timeout',
  msgs: [4, 5],
  nudges: { at: 2000, count: 1 },
  entitiesVersion: 2,
};

const FULL_FORMAT_2 =
  '[2,"s1",1000,2000,3,3,{"channelId":"web","user":{"id":"u1","name":"Ada"},"conversation":{"id":"c1","isGroup":false}},' +
  '[["/",0,1],["help",{"asked":true},null,1]],{"UserName":"Ada"},{"topic":"tea"},["ask-2","prompt","ask"],4,5,' +
  '{"locale":"de","timeout":60000,"entityExpiry":{"UserName":5000},"ended":"timeout","nudges":{"at":2000,"count":1},"entitiesVersion":2}]';

/** FULL waiting in a choice prompt after a number prompt, so that format 3's numbered built-in dialogs are in use too. */
const FULL_3: SessionStateRecord = {
  ...FULL,
  stack: [
    ...FULL.stack,
    { id: 'palaver:prompt:choice', data: { prompt: 'Tea or coffee?', choices: ['tea', 'coffee'], retries: 1 } },
  ],
  previousDialogState: { name: 'Prompts.number', id: 'palaver:prompt:number', type: 'prompt' },
};

const FULL_FORMAT_3 =
  '[3,"s1",1000,1000,3,3,{"channelId":"web","user":{"id":"u1","name":"Ada"},"conversation":{"id":"c1","isGroup":false}},' +
  '[["/",0,1],["help",{"asked":true},null,1],[3,{"prompt":"Tea or coffee?","choices":["tea","coffee"],"retries":1}]],{"UserName":"Ada"},{"topic":"tea"},1,4,5,' +
  '{"locale":"de","timeout":60000,"entityExpiry":{"UserName":5000},"ended":"timeout","nudges":{"at":2000,"count":1},"entitiesVersion":2}]';

/** What decodeState makes of `text` (read with `key`), in words. */
function outcome(text: string, key?: string): string {
  let decoded: SessionStateRecord;
  try {
    decoded = decodeState(text, key);
  } catch (error) {
    return error instanceof StateFormatError ? 'StateFormatError' : String(error);
  }
  return sessionStateSchema.safeParse(decoded).success
    ? 'a state the schema accepts'
    : `a state the schema rejects: ${JSON.stringify(decoded)}`;
}

/** `text` with `position` replaced by `value`. */
function spoil(text: string, position: number, value: unknown): string {
  const fields = JSON.parse(text) as unknown[];
  fields[position] = value;
  return JSON.stringify(fields);
}

/** FULL_3's format-3 array with `position` replaced by `value`, as stored text. */
function spoiled(position: number, value: unknown): string {
  return spoil(encodeState(FULL_3), position, value);
}

/** The stored array of `state` (written with `key`). */
function positions(state: SessionStateRecord, key?: string): unknown[] {
  return JSON.parse(encodeState(state, key)) as unknown[];
}

/** IDLE without a startedAt. */
function unstarted(lastActiveAt: number): SessionStateRecord {
  const { startedAt: _, ...rest } = IDLE;
  return { ...rest, lastActiveAt };
}

// ---- tests -------------------------------------------------------------------------------------------------------

describe('encodeState and decodeState', () => {
  it('give back every state the session schema accepts, without a key', () => {
    fc.assert(
      fc.property(state, (s) => {
        const decoded = decodeState(encodeState(s));
        expect(decoded).toEqual(s);
        expect(sessionStateSchema.safeParse(decoded).success).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('give back every state the session schema accepts, written and read with the default key of its address', () => {
    fc.assert(
      fc.property(state, (s) => {
        const key = defaultSessionKey(s.address);
        const decoded = decodeState(encodeState(s, key), key);
        expect(decoded).toEqual(s);
        expect(sessionStateSchema.safeParse(decoded).success).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('give back every state, its address kept in the text, written and read with a key that is not its address’s', () => {
    fc.assert(
      fc.property(state, fc.constantFrom('s:custom', 's:a:b', 's:other:c1:u1', 'tenant-7/web/u1'), (s, key) => {
        fc.pre(key !== defaultSessionKey(s.address));
        const text = encodeState(s, key);
        expect([(JSON.parse(text) as unknown[])[6] === 0, decodeState(text, key)]).toEqual([false, s]);
      }),
      { numRuns: 300 },
    );
  });

  it('leave out every compact address, ids with `:` and `%` included, and rebuild it from its default key', () => {
    fc.assert(
      fc.property(state, keyedAddress, (s, keyed) => {
        const withAddress: SessionStateRecord = { ...s, address: keyed };
        const key = defaultSessionKey(keyed);
        const text = encodeState(withAddress, key);
        expect([(JSON.parse(text) as unknown[])[6], decodeState(text, key).address]).toEqual([0, keyed]);
      }),
      { numRuns: 500 },
    );
  });

  it('give back startedAt and lastActiveAt exactly, whatever finite times they are', () => {
    fc.assert(
      fc.property(finite, finite, (startedAt, lastActiveAt) => {
        const decoded = decodeState(encodeState({ ...IDLE, startedAt, lastActiveAt }));
        expect([decoded.startedAt, decoded.lastActiveAt]).toEqual([startedAt, lastActiveAt]);
      }),
      { numRuns: 1000 },
    );
  });

  it('write format 3: a JSON array that starts with 3', () => {
    fc.assert(
      fc.property(state, fc.boolean(), (s, withKey) => {
        const stored: unknown = JSON.parse(encodeState(s, withKey ? defaultSessionKey(s.address) : undefined));
        expect(Array.isArray(stored)).toBe(true);
        expect((stored as unknown[])[0]).toBe(3);
      }),
    );
  });

  it('keep __proto__, constructor and prototype as plain keys of entities, dialog data and privateConversationData', () => {
    const s = structuredClone(IDLE);
    s.entities = JSON.parse('{"__proto__":{"admin":true},"constructor":1}') as Record<string, unknown>;
    s.privateConversationData = JSON.parse('{"prototype":{"__proto__":2}}') as Record<string, unknown>;
    s.stack = [{ id: '/', data: JSON.parse('{"__proto__":[1]}') as Record<string, unknown> }];
    const decoded = decodeState(encodeState(s));
    expect(Object.getPrototypeOf(decoded.entities)).toBe(Object.prototype);
    expect(Object.keys(decoded.entities)).toEqual(['__proto__', 'constructor']);
    expect(decoded.entities.__proto__).toEqual({ admin: true });
    expect(Object.keys(decoded.stack[0]!.data)).toEqual(['__proto__']);
    expect(decoded).toEqual(s);
  });

  it('read back a state with an empty session id exactly when the schema accepts one', () => {
    // A format-1 record with "id": "" is read (the schema allows it), written back as format 3, and then unreadable.
    const s: SessionStateRecord = { ...IDLE, id: '' };
    const readBack = thrown(() => decodeState(encodeState(s))) === undefined;
    expect(readBack).toBe(sessionStateSchema.safeParse(s).success);
  });

  it('read back a compact address whose ids are up to 512 characters long, counted as the schema counts them', () => {
    // 257 astral characters: 514 UTF-16 units, 257 code points, which addressSchema accepts.
    const s: SessionStateRecord = {
      ...IDLE,
      address: { channelId: 'web', user: { id: EMOJI.repeat(257) }, conversation: { id: EMOJI.repeat(512) } },
    };
    expect(sessionStateSchema.safeParse(s).success).toBe(true);
    expect(thrown(() => decodeState(encodeState(s)))).toBeUndefined();
  });

  it('drop msgs when both counts are 0, as the manager keeps it', () => {
    const decoded = decodeState(encodeState({ ...IDLE, msgs: [0, 0] }));
    expect(decoded).not.toHaveProperty('msgs');
  });

  it('store a typical idle session, under its default key, in the documented positions', () => {
    expect(encodeState(IDLE, IDLE_KEY)).toBe(IDLE_FORMAT_3);
  });

  it('read a typical idle session back with its default key', () => {
    expect(decodeState(IDLE_FORMAT_3, IDLE_KEY)).toEqual(IDLE);
  });

  it('store a typical idle session under its default key in under a quarter of the characters of its format-1 JSON', () => {
    const ratio = encodeState(IDLE, IDLE_KEY).length / IDLE_FORMAT_1.length;
    // Measured: 72 / 345 = 0.209 (format 2 took 102); the margin allows a few characters more.
    expect(ratio).toBeLessThan(0.23);
  });

  it('store lastActiveAt as the milliseconds after startedAt', () => {
    expect(positions({ ...IDLE, startedAt: 1000, lastActiveAt: 61_000 })[3]).toBe(60_000);
  });

  it('store a lastActiveAt before startedAt as a negative difference and read it back', () => {
    const s: SessionStateRecord = { ...IDLE, startedAt: 1000, lastActiveAt: 400 };
    expect([positions(s)[3], decodeState(encodeState(s)).lastActiveAt]).toEqual([-600, 400]);
  });

  it('store lastActiveAt itself when there is no startedAt', () => {
    expect(positions(unstarted(1795332848624))[3]).toBe(1795332848624);
  });

  it('read lastActiveAt back as it is when there is no startedAt', () => {
    expect(decodeState(encodeState(unstarted(1795332848624))).lastActiveAt).toBe(1795332848624);
  });

  it('store a lastActiveAt that is not a whole number of milliseconds after startedAt in rest, with 0 at position 3', () => {
    const stored = positions({ ...IDLE, startedAt: 1000.25, lastActiveAt: 2000.5 });
    expect([stored[3], stored[13]]).toEqual([0, { lastActiveAt: 2000.5 }]);
  });

  it('read back non-integer times exactly, where startedAt plus the difference would not give lastActiveAt', () => {
    // 0.1 - 1795332848615 rounds to -1795332848614.9, and 1795332848615 + that is 0.10009765625.
    const s: SessionStateRecord = { ...IDLE, startedAt: 1795332848615, lastActiveAt: 0.1 };
    const decoded = decodeState(encodeState(s));
    expect([decoded.startedAt, decoded.lastActiveAt]).toEqual([1795332848615, 0.1]);
  });

  it('store lastActiveAt in rest when the difference from startedAt is too large to be exact', () => {
    const s: SessionStateRecord = { ...IDLE, startedAt: -1e300, lastActiveAt: 1e300 };
    const stored = positions(s);
    expect([stored[3], stored[13], decodeState(encodeState(s)).lastActiveAt]).toEqual([
      0,
      { lastActiveAt: 1e300 },
      1e300,
    ]);
  });

  it('store a state with nothing after its address, left to the key, in seven positions and read it back', () => {
    const { previousDialogState: _, msgs: __, ...rest } = IDLE;
    const s: SessionStateRecord = { ...rest, interactive: false };
    const text = encodeState(s, IDLE_KEY);
    expect([text, decodeState(text, IDLE_KEY)]).toEqual(['[3,"mwritnu1ky1s0002",1795332848615,9,2,0,0]', s]);
  });

  it('store the address as 0 when written with its default key', () => {
    expect(positions(IDLE, IDLE_KEY)[6]).toBe(0);
  });

  it('store an address with nothing but the three ids as a [channelId, userId, conversationId] triple without a key', () => {
    expect(positions(IDLE)[6]).toEqual(['bench', 'u1', 'c1']);
  });

  it('store a compact address as the triple when the key is not its default key', () => {
    expect(positions(IDLE, 's:bench:u1:c1')[6]).toEqual(['bench', 'u1', 'c1']);
  });

  it('store an address with anything more as the address object, even with its default key', () => {
    const rich: Address = { ...IDLE.address, bot: { id: 'b' } };
    expect(positions({ ...IDLE, address: rich }, IDLE_KEY)[6]).toEqual({
      channelId: 'bench',
      user: { id: 'u1' },
      conversation: { id: 'c1' },
      bot: { id: 'b' },
    });
  });

  it('take the address from the text, not from the key, when the text holds one', () => {
    expect(decodeState(encodeState(IDLE), 's:other:c9:u9').address).toEqual(IDLE.address);
  });

  it('store a built-in prompt on the stack by its number', () => {
    const stack = BUILT_IN_IDS.map((id) => ({ id, data: {} }));
    expect(positions({ ...IDLE, stack })[7]).toEqual([
      [0, 0],
      [1, 0],
      [2, 0],
      [3, 0],
      [4, 0],
      [5, 0],
    ]);
  });

  it('number the built-in prompts in PromptIds order: text, number, confirm, choice, time, attachment', () => {
    // The numbers are stored data: a prompt kind added to PromptIds must go at the end and not renumber the others.
    expect(Object.values(PromptIds)).toEqual(BUILT_IN_IDS);
  });

  it('read a built-in prompt’s number on the stack back as its id', () => {
    const stack = BUILT_IN_IDS.map((id) => ({ id, data: { prompt: id } }));
    expect(decodeState(encodeState({ ...IDLE, stack })).stack).toEqual(stack);
  });

  it('keep a dialog id that is a digit as text', () => {
    const s: SessionStateRecord = { ...IDLE, stack: [{ id: '0', data: {} }] };
    expect([positions(s)[7], decodeState(encodeState(s)).stack]).toEqual([[['0', 0]], [{ id: '0', data: {} }]]);
  });

  it('store the previousDialogState of a built-in prompt as its number', () => {
    expect(
      positions({
        ...IDLE,
        previousDialogState: { name: 'Prompts.confirm', id: 'palaver:prompt:confirm', type: 'prompt' },
      })[10],
    ).toBe(2);
  });

  it('read a previousDialog number back as the built-in prompt’s previousDialogState', () => {
    const previousDialogState = { name: 'Prompts.choice', id: 'palaver:prompt:choice', type: 'prompt' };
    expect(decodeState(encodeState({ ...IDLE, previousDialogState })).previousDialogState).toEqual(previousDialogState);
  });

  it('store a previousDialogState with a built-in prompt’s id but another name or type as an array', () => {
    const named = { name: 'askAge', id: 'palaver:prompt:number', type: 'prompt' };
    const typed = { name: 'Prompts.number', id: 'palaver:prompt:number', type: 'waterfall' };
    expect([
      positions({ ...IDLE, previousDialogState: named })[10],
      positions({ ...IDLE, previousDialogState: typed })[10],
    ]).toEqual([
      ['palaver:prompt:number', 'prompt', 'askAge'],
      ['palaver:prompt:number', 'waterfall', 'Prompts.number'],
    ]);
  });

  it('store every position of a busy session as the header comment documents', () => {
    expect(encodeState(FULL_3)).toBe(FULL_FORMAT_3);
  });

  it('read every position of a busy session back', () => {
    expect(decodeState(FULL_FORMAT_3)).toEqual(FULL_3);
  });
});

describe('decodeState of format 2', () => {
  it('reads a typical idle session, lastActiveAt as the time itself', () => {
    expect(decodeState(IDLE_FORMAT_2)).toEqual(IDLE);
  });

  it('reads a typical idle session whatever key it is given', () => {
    expect(decodeState(IDLE_FORMAT_2, 's:other:c9:u9')).toEqual(IDLE);
  });

  it('reads every position of a busy session', () => {
    expect(decodeState(FULL_FORMAT_2)).toEqual(FULL);
  });

  it('reads a built-in prompt’s id on the stack as text', () => {
    const text = spoil(FULL_FORMAT_2, 7, [['palaver:prompt:text', { prompt: 'Name?' }]]);
    expect(decodeState(text).stack).toEqual([{ id: 'palaver:prompt:text', data: { prompt: 'Name?' } }]);
  });

  it('re-encodes what it read in format 3', () => {
    expect(encodeState(decodeState(IDLE_FORMAT_2), IDLE_KEY)).toBe(IDLE_FORMAT_3);
  });

  // Numbers at these positions, and lastActiveAt in rest, mean something only in format 3.
  it.each([
    ['an address of 0, even with the default key', 6, 0, 'position 6 (address)'],
    ['a stack entry with a number for its id', 7, [[0, 0]], 'position 7 (stack)'],
    ['a previousDialog that is a number', 10, 0, 'position 10 (previousDialog)'],
    [
      'a rest.lastActiveAt',
      13,
      { lastActiveAt: 5 },
      'position 13 (rest) must be an object of locale, timeout, entityExpiry, ended, nudges, entitiesVersion, taskIntent, preferredLanguage (it holds "lastActiveAt")',
    ],
  ])('throws StateFormatError for %s', (_what, position, value, message) => {
    const error = thrown(() => decodeState(spoil(FULL_FORMAT_2, position, value), 's:web:c1:u1'));
    expect(error).toBeInstanceOf(StateFormatError);
    expect(error).toMatchObject({ message: expect.stringContaining(message) });
  });

  it('rejects an array with more positions than format 2 has', () => {
    const fields = JSON.parse(IDLE_FORMAT_2) as unknown[];
    while (fields.length < 15) fields.push(0);
    expect(thrown(() => decodeState(JSON.stringify(fields)))).toMatchObject({
      problem: 'has 15 positions; format 2 has at most 14',
    });
  });
});

describe('decodeState of format 1', () => {
  it('reads the object form of every state the schema accepts', () => {
    fc.assert(
      fc.property(state, (s) => {
        const decoded = decodeState(JSON.stringify(s));
        expect(decoded).toEqual(s);
        expect(sessionStateSchema.safeParse(decoded).success).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it('reads a typical idle session', () => {
    expect(decodeState(IDLE_FORMAT_1)).toEqual(JSON.parse(IDLE_FORMAT_1));
  });

  it('re-encodes what it read in format 3', () => {
    expect(encodeState(decodeState(IDLE_FORMAT_1), IDLE_KEY)).toBe(IDLE_FORMAT_3);
  });

  it('throws StateFormatError naming the field when the object does not match the schema', () => {
    const text = JSON.stringify({ ...JSON.parse(IDLE_FORMAT_1), turnCount: -1 });
    const error = thrown(() => decodeState(text));
    expect(error).toBeInstanceOf(StateFormatError);
    expect(error).toMatchObject({ message: expect.stringContaining('`turnCount`') });
  });

  it.each([
    ['null', 'null'],
    ['a number', '5'],
    ['a string', '"state"'],
    ['an empty object', '{}'],
    ['a format-1 object with v: 2', JSON.stringify({ ...JSON.parse(IDLE_FORMAT_1), v: 2 })],
  ])('throws StateFormatError for %s', (_what, text) => {
    expect(thrown(() => decodeState(text))).toBeInstanceOf(StateFormatError);
  });
});

describe('decodeState of a malformed format-3 array', () => {
  it('reads the array it spoils when nothing is spoiled', () => {
    expect(decodeState(encodeState(FULL_3))).toEqual(FULL_3);
  });

  const cases: [string, number, unknown, string][] = [
    ['an unknown format number', 0, 4, 'unknown format (4); this palaver reads formats 1, 2 and 3'],
    ['format 1 as a number in an array', 0, 1, 'unknown format (1)'],
    ['the format as a string', 0, '3', 'unknown format ("3")'],
    ['an empty id', 1, '', 'position 1 (id)'],
    ['an id that is a number', 1, 7, 'position 1 (id)'],
    ['a startedAt that is text', 2, 'yesterday', 'position 2 (startedAt)'],
    ['a null lastActiveAt', 3, null, 'position 3 (lastActiveAt)'],
    ['a lastActiveAt that is text', 3, '2000', 'position 3 (lastActiveAt)'],
    ['a negative turnCount', 4, -1, 'position 4 (turnCount)'],
    ['a fractional turnCount', 4, 1.5, 'position 4 (turnCount)'],
    ['a turnCount that is text', 4, '3', 'position 4 (turnCount)'],
    ['flags out of range', 5, 4, 'position 5 (flags)'],
    ['negative flags', 5, -1, 'position 5 (flags)'],
    ['flags as a boolean', 5, true, 'position 5 (flags)'],
    ['an address triple of two', 6, ['web', 'u1'], 'position 6 (address)'],
    ['an address triple of four', 6, ['web', 'u1', 'c1', 'x'], 'position 6 (address)'],
    ['an address triple with an empty id', 6, ['web', '', 'c1'], 'position 6 (address)'],
    ['an address triple with a 513-character id', 6, ['web', 'u1', 'x'.repeat(513)], 'position 6 (address)'],
    [
      'an address triple with an id of 513 astral characters',
      6,
      ['web', 'u1', EMOJI.repeat(513)],
      'position 6 (address)',
    ],
    ['an address triple with a number', 6, ['web', 1, 'c1'], 'position 6 (address)'],
    ['an address object without a user', 6, { channelId: 'web', conversation: { id: 'c1' } }, 'position 6 (address)'],
    ['an address as text', 6, 'web/u1/c1', 'position 6 (address)'],
    ['a null address', 6, null, 'position 6 (address)'],
    ['an address that is a number other than 0', 6, 1, 'position 6 (address)'],
    ['a stack that is text', 7, 'stack', 'position 7 (stack)'],
    ['a stack entry that is not an array', 7, ['/'], 'position 7 (stack)'],
    ['a stack entry without data', 7, [['/']], 'position 7 (stack)'],
    ['a stack entry with an empty id', 7, [['', 0]], 'position 7 (stack)'],
    ['a stack entry with array data', 7, [['/', []]], 'position 7 (stack)'],
    ['a stack entry with a negative step', 7, [['/', 0, -1]], 'position 7 (stack)'],
    ['a stack entry with a fractional step', 7, [['/', 0, 0.5]], 'position 7 (stack)'],
    ['a stack entry with a bad interrupt flag', 7, [['/', 0, 1, 2]], 'position 7 (stack)'],
    ['a stack entry of five parts', 7, [['/', 0, 1, 1, 1]], 'position 7 (stack)'],
    ['a stack entry numbered past the built-in prompts', 7, [[7, 0]], 'position 7 (stack)'],
    ['a stack entry numbered 6, one past the last built-in prompt', 7, [[6, 0]], 'position 7 (stack)'],
    ['a stack entry with a negative number', 7, [[-1, 0]], 'position 7 (stack)'],
    ['a stack entry with a fractional number', 7, [[0.5, 0]], 'position 7 (stack)'],
    ['entities that are an array', 8, [], 'position 8 (entities)'],
    ['null entities', 8, null, 'position 8 (entities)'],
    ['privateConversationData that is text', 9, 'x', 'position 9 (privateConversationData)'],
    ['a previousDialog that is text', 10, '/', 'position 10 (previousDialog)'],
    ['a previousDialog of one part', 10, ['/'], 'position 10 (previousDialog)'],
    ['a previousDialog of four parts', 10, ['/', 'waterfall', '/', '/'], 'position 10 (previousDialog)'],
    ['a previousDialog with a number', 10, ['/', 5], 'position 10 (previousDialog)'],
    ['a previousDialog numbered past the built-in prompts', 10, 7, 'position 10 (previousDialog)'],
    ['a previousDialog numbered 6, one past the last built-in prompt', 10, 6, 'position 10 (previousDialog)'],
    ['a negative previousDialog number', 10, -1, 'position 10 (previousDialog)'],
    ['a fractional previousDialog number', 10, 1.5, 'position 10 (previousDialog)'],
    ['a negative userMessages', 11, -1, 'position 11 (userMessages)'],
    ['a fractional userMessages', 11, 0.5, 'position 11 (userMessages)'],
    ['a negative botMessages', 12, -1, 'position 12 (botMessages)'],
    ['rest as text', 13, 'x', 'position 13 (rest)'],
    ['rest as an array', 13, [], 'position 13 (rest)'],
    [
      'an unknown key in rest',
      13,
      { colour: 'red' },
      'position 13 (rest) must be an object of locale, timeout, entityExpiry, ended, nudges, entitiesVersion, taskIntent, preferredLanguage (it holds "colour")',
    ],
    ['an own __proto__ key in rest', 13, JSON.parse('{"__proto__":{"locale":"de"}}'), 'position 13 (rest)'],
    ['a rest.locale that is a number', 13, { locale: 5 }, 'position 13 (rest.locale)'],
    ['a zero rest.timeout', 13, { timeout: 0 }, 'position 13 (rest.timeout)'],
    ['a negative rest.timeout', 13, { timeout: -5 }, 'position 13 (rest.timeout)'],
    ['a rest.timeout that is text', 13, { timeout: '30m' }, 'position 13 (rest.timeout)'],
    [
      'a rest.entityExpiry with a time that is text',
      13,
      { entityExpiry: { UserName: 'soon' } },
      'position 13 (rest.entityExpiry)',
    ],
    ['a rest.entityExpiry that is an array', 13, { entityExpiry: [1] }, 'position 13 (rest.entityExpiry)'],
    ['an unknown rest.ended', 13, { ended: 'crashed' }, 'position 13 (rest.ended)'],
    ['a null rest.nudges', 13, { nudges: null }, 'position 13 (rest.nudges)'],
    ['a rest.nudges without a count', 13, { nudges: { at: 1 } }, 'position 13 (rest.nudges)'],
    ['a rest.nudges with a negative count', 13, { nudges: { at: 1, count: -1 } }, 'position 13 (rest.nudges)'],
    ['a negative rest.entitiesVersion', 13, { entitiesVersion: -1 }, 'position 13 (rest.entitiesVersion)'],
    ['a rest.lastActiveAt that is text', 13, { lastActiveAt: '2000' }, 'position 13 (rest.lastActiveAt)'],
    ['a null rest.lastActiveAt', 13, { lastActiveAt: null }, 'position 13 (rest.lastActiveAt)'],
  ];

  it.each(cases)('throws StateFormatError for %s', (_what, position, value, message) => {
    const error = thrown(() => decodeState(spoiled(position, value)));
    expect(error).toBeInstanceOf(StateFormatError);
    expect(error).toMatchObject({ message: expect.stringContaining(message) });
  });

  it('says what it got at the position', () => {
    expect(thrown(() => decodeState(spoiled(4, -1)))).toMatchObject({
      code: 'CORRUPT_STATE',
      problem: 'position 4 (turnCount) must be a non-negative integer, got -1',
      message: 'Stored session state position 4 (turnCount) must be a non-negative integer, got -1.',
    });
  });

  it.each([
    [1, 7, 'position 1 (id) must be a non-empty string or null, got 7'],
    [2, 'yesterday', 'position 2 (startedAt) must be a number or null, got "yesterday"'],
    [3, null, 'position 3 (lastActiveAt) must be a number, got null'],
    [5, 4, 'position 5 (flags) must be 0, 1, 2 or 3, got 4'],
    [
      6,
      ['web', 'u1'],
      'position 6 (address) must be [channelId, userId, conversationId] (non-empty strings) or an address object, got ["web","u1"]',
    ],
    [7, 'stack', 'position 7 (stack) must be an array of dialog entries or 0, got "stack"'],
    [7, [['/']], 'position 7 (stack) must be entries [id, dialogData or 0, step?, 1?] (entry 0 is ["/"]), got [["/"]]'],
    [8, [], 'position 8 (entities) must be a JSON object or 0, got []'],
    [
      10,
      7,
      "position 10 (previousDialog) must be a built-in dialog's number (0 to 5), [id, type] or [id, type, name], got 7",
    ],
    [10, '/', 'position 10 (previousDialog) must be [id, type] or [id, type, name] (strings) or null, got "/"'],
    [11, -1, 'position 11 (userMessages) must be a non-negative integer, got -1'],
    [12, -1, 'position 12 (botMessages) must be a non-negative integer, got -1'],
    [13, 'x', 'position 13 (rest) must be an object or 0, got "x"'],
    [13, { lastActiveAt: '2000' }, 'position 13 (rest.lastActiveAt) must be a number, got {"lastActiveAt":"2000"}'],
    [13, { locale: 5 }, 'position 13 (rest.locale) must be a string, got {"locale":5}'],
    [13, { timeout: 0 }, 'position 13 (rest.timeout) must be a positive number, got {"timeout":0}'],
    [
      13,
      { entityExpiry: [1] },
      'position 13 (rest.entityExpiry) must be an object of entity names to times, got {"entityExpiry":[1]}',
    ],
    [
      13,
      { ended: 'crashed' },
      'position 13 (rest.ended) must be one of timeout, endSession, newSession, refresh, evicted, shutdown, got {"ended":"crashed"}',
    ],
    [
      13,
      { nudges: { at: 1 } },
      'position 13 (rest.nudges) must be { at: number, count: non-negative integer }, got {"nudges":{"at":1}}',
    ],
    [
      13,
      { entitiesVersion: -1 },
      'position 13 (rest.entitiesVersion) must be a non-negative integer, got {"entitiesVersion":-1}',
    ],
  ])('says what position %i must be when it holds %j', (position, value, problem) => {
    expect(thrown(() => decodeState(spoiled(position, value)))).toMatchObject({ problem });
  });

  it('says what an address object at position 6 lacks', () => {
    expect(thrown(() => decodeState(spoiled(6, { channelId: 'web', conversation: { id: 'c1' } })))).toMatchObject({
      problem: expect.stringMatching(
        /^position 6 \(address\) must be an address \(.*`user`.*\), got \{"channelId":"web","conversation":\{"id":"c1"\}\}$/,
      ),
    });
  });

  it('says it got nothing at a position the array stops short of', () => {
    expect(thrown(() => decodeState('[3]'))).toMatchObject({
      problem: 'position 1 (id) must be a non-empty string or null, got nothing',
    });
  });

  it('shows itself as StateFormatError in logs', () => {
    expect(String(thrown(() => decodeState('[3]')))).toMatch(
      /^StateFormatError: Stored session state position 1 \(id\)/,
    );
  });

  it('throws StateFormatError naming position 6 and asking for the key when an address of 0 is read without one', () => {
    const error = thrown(() => decodeState(IDLE_FORMAT_3));
    expect(error).toBeInstanceOf(StateFormatError);
    expect(error).toMatchObject({
      problem: expect.stringMatching(/^position 6 \(address\) .*pass the key to decodeState/),
    });
  });

  it.each([
    ['s:a:b'],
    ['s:only'],
    ['s:'],
    ['s:bench:c1:u1:extra'],
    ['s:bench::u1'],
    ['u:bench:u1'],
    ['bench:c1:u1'],
    ['custom'],
  ])(
    'throws StateFormatError naming position 6 when an address of 0 is read with %j, which is no address’s default key',
    (key) => {
      const error = thrown(() => decodeState(IDLE_FORMAT_3, key));
      expect(error).toBeInstanceOf(StateFormatError);
      expect(error).toMatchObject({
        problem: expect.stringContaining(`position 6 (address) must be an address, since the key "${key}"`),
      });
    },
  );

  it('throws StateFormatError naming position 3 and the sum when startedAt plus the difference is not a finite time', () => {
    const error = thrown(() => decodeState('[3,null,1e308,1e308,0,0,0]', IDLE_KEY));
    expect(error).toBeInstanceOf(StateFormatError);
    expect(error).toMatchObject({
      problem:
        'position 3 (lastActiveAt) must be a time after startedAt that is a finite number (startedAt 1e+308 + 1e+308), got 1e+308',
    });
  });

  it('rejects an array with more positions than format 3 has', () => {
    const fields = JSON.parse(encodeState(IDLE)) as unknown[];
    while (fields.length < 15) fields.push(0);
    expect(thrown(() => decodeState(JSON.stringify(fields)))).toMatchObject({
      problem: 'has 15 positions; format 3 has at most 14',
    });
  });

  it('names the first missing position of an array that stops short', () => {
    expect(thrown(() => decodeState('[3]'))).toMatchObject({ message: expect.stringContaining('position 1 (id)') });
    expect(thrown(() => decodeState('[3,null,null,1,0,0]'))).toMatchObject({
      message: expect.stringContaining('position 6 (address)'),
    });
  });

  it('either reads a state the schema accepts or throws StateFormatError, whatever JSON sits at a position, with or without the key', () => {
    fc.assert(
      fc.property(state, fc.boolean(), fc.nat(13), storedPart, (s, withKey, position, value) => {
        const key = withKey ? defaultSessionKey(s.address) : undefined;
        const fields = JSON.parse(encodeState(s, key)) as unknown[];
        fields[position] = value;
        expect(['a state the schema accepts', 'StateFormatError']).toContain(outcome(JSON.stringify(fields), key));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('decodeState of text that is not JSON', () => {
  it.each([[''], ['not json'], ['[3,'], ["{'v':1}"]])(
    'throws StateFormatError (CORRUPT_STATE) with the SyntaxError as its cause for %j',
    (text) => {
      const error = thrown(() => decodeState(text)) as StateFormatError;
      expect({ error, cause: error.cause instanceof SyntaxError }).toMatchObject({
        error: { code: 'CORRUPT_STATE', problem: expect.stringContaining('not JSON') },
        cause: true,
      });
    },
  );
});

// ---- decodeState from the public entry (src/index.ts re-exports it from the codec) -------------------------------
// Bad input to it is a PalaverError with a code (CORRUPT_STATE), as from every entry point; and it reads what the
// manager stores, given the session key the record is stored under.

/** A bot that has had one turn with `to`, and the key and stored text of that session. */
async function oneTurn(to = testAddress('ada', 'room:1%', 'web')) {
  const { bot, say } = makeBot();
  bot.dialog('/', (session) => session.send('hi'));
  await say('hello', to);
  const key = bot.keyOf(to);
  const record = await bot.store.get(key);
  await bot.close();
  return { key, text: record!.data };
}

describe('decodeState (public)', () => {
  it('throws a PalaverError with a code for text that is not JSON', () => {
    expect(() => decodeState('{not json')).toThrow(PalaverError);
    expect(() => decodeState('{not json')).toThrow(expect.objectContaining({ code: 'CORRUPT_STATE' }));
  });

  it('throws a PalaverError with a code for JSON that is not a session state', () => {
    expect(() => decodeState('[3, null]')).toThrow(expect.objectContaining({ code: 'CORRUPT_STATE' }));
  });

  it('gives back the address of a record the manager wrote when passed the key it is stored under', async () => {
    const to = testAddress('ada', 'room:1%', 'web');
    const { key, text } = await oneTurn(to);
    expect(decodeState(text, key).address).toEqual(to);
  });

  it('throws CORRUPT_STATE asking for the key when a record the manager wrote is read without it', async () => {
    const { text } = await oneTurn();
    expect(() => decodeState(text)).toThrow(
      expect.objectContaining({ code: 'CORRUPT_STATE', message: expect.stringContaining('pass the key') }),
    );
  });
});
