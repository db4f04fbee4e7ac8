// The stored form of a session key's state: format 2 (a positional array) round-trips every state the session schema
// accepts, format 1 (the schema's object form) is still read, and every malformed position is named in the error.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeState, encodeState, StateFormatError } from '../src/codec';
import { sessionStateSchema, type SessionStateRecord } from '../src/schema';
import { thrown } from './harness';

// ---- arbitraries -------------------------------------------------------------------------------------------------

/** A finite number other than -0 (JSON writes -0 as 0, and toEqual tells them apart). */
const finite = fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0));
const time = fc.oneof(fc.integer({ min: 0, max: 4_102_444_800_000 }), finite);
const count = fc.oneof(fc.nat(10), fc.nat());

/** Keys that break naive code, `__proto__` first among them. */
const nastyKey = fc.oneof(fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'v', 'id', 'data'), fc.string({ maxLength: 8 }));

/** An object with the given entries, built as JSON.parse builds it: `__proto__` becomes an own key, not the prototype. */
function objectOf<T>(key: fc.Arbitrary<string>, value: fc.Arbitrary<T>, maxLength = 4): fc.Arbitrary<Record<string, T>> {
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

const compactAddress = fc.record({ channelId: addressId, user: fc.record({ id: addressId }), conversation: fc.record({ id: addressId }) });

const richAddress = withExtras(
  fc.record(
    {
      channelId: addressId,
      user: withExtras(fc.record({ id: addressId, name: fc.string({ maxLength: 12 }) }, { requiredKeys: ['id'] }), ['id', 'name']),
      conversation: withExtras(fc.record({ id: addressId, isGroup: fc.boolean() }, { requiredKeys: ['id'] }), ['id', 'isGroup']),
      bot: withExtras(fc.record({ id: addressId, name: fc.string({ maxLength: 12 }) }, { requiredKeys: ['id'] }), ['id', 'name']),
    },
    { requiredKeys: ['channelId', 'user', 'conversation'] },
  ),
  ['channelId', 'user', 'conversation', 'bot'],
);

const address = fc.oneof(compactAddress, richAddress);

const stackEntry = fc.record(
  { id: fc.string({ minLength: 1, maxLength: 12 }), data: bag, step: count, interrupt: fc.constant(true as const) },
  { requiredKeys: ['id', 'data'] },
);

const dialogName = fc.oneof(fc.constantFrom('/', 'greeting', ''), fc.string({ maxLength: 12 }));
const previousDialogState = fc.oneof(
  fc.record({ id: dialogName, type: dialogName }).map(({ id, type }) => ({ name: id, id, type })),
  fc.record({ name: dialogName, id: dialogName, type: dialogName }),
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
    objectOf(fc.oneof(fc.constantFrom('locale', 'timeout', 'entityExpiry', 'ended', 'nudges', 'entitiesVersion', 'at', 'count', 'channelId', 'user', 'conversation', 'bot'), nastyKey), tie('storedPart')),
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
      timeout: fc.option(fc.oneof(fc.integer({ min: 1 }), finite.filter((n) => n > 0)), { nil: undefined }),
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
    { requiredKeys: ['v', 'lastActiveAt', 'turnCount', 'interactive', 'developer', 'address', 'entities', 'stack', 'privateConversationData'] },
  );
}

/** States the schema accepts (that JSON can carry): the filter keeps the arbitrary honest if the schema narrows. */
const state = stateWith(fc.oneof(fc.constant(''), fc.string({ maxLength: 20 }))).filter((s) => sessionStateSchema.safeParse(s).success);

// ---- fixtures ----------------------------------------------------------------------------------------------------

/** A typical idle session, as format 1 stored it. */
const IDLE_FORMAT_1 =
  '{"v":1,"id":"mwritnu1ky1s0002","startedAt":1795332848615,"lastActiveAt":1795332848624,"turnCount":2,"interactive":true,"developer":false,' +
  '"address":{"channelId":"bench","user":{"id":"u1"},"conversation":{"id":"c1"}},"entities":{},"stack":[],"privateConversationData":{},' +
  '"previousDialogState":{"name":"/","id":"/","type":"waterfall"},"msgs":[2,2]}';
const IDLE = sessionStateSchema.parse(JSON.parse(IDLE_FORMAT_1));
const IDLE_FORMAT_2 = '[2,"mwritnu1ky1s0002",1795332848615,1795332848624,2,1,["bench","u1","c1"],0,0,0,["/","waterfall"],2,2]';

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

/** What decodeState makes of `text`, in words. */
function outcome(text: string): string {
  let decoded: SessionStateRecord;
  try {
    decoded = decodeState(text);
  } catch (error) {
    return error instanceof StateFormatError ? 'StateFormatError' : String(error);
  }
  return sessionStateSchema.safeParse(decoded).success ? 'a state the schema accepts' : `a state the schema rejects: ${JSON.stringify(decoded)}`;
}

/** FULL's stored array with `position` replaced by `value`, as stored text. */
function spoiled(position: number, value: unknown): string {
  const fields = JSON.parse(encodeState(FULL)) as unknown[];
  fields[position] = value;
  return JSON.stringify(fields);
}

// ---- tests -------------------------------------------------------------------------------------------------------

describe('encodeState and decodeState', () => {
  it('give back every state the session schema accepts', () => {
    fc.assert(
      fc.property(state, (s) => {
        const decoded = decodeState(encodeState(s));
        expect(decoded).toEqual(s);
        expect(sessionStateSchema.safeParse(decoded).success).toBe(true);
      }),
      { numRuns: 500 },
    );
  });

  it('write format 2: a JSON array that starts with 2', () => {
    fc.assert(
      fc.property(state, (s) => {
        const stored: unknown = JSON.parse(encodeState(s));
        expect(Array.isArray(stored)).toBe(true);
        expect((stored as unknown[])[0]).toBe(2);
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
    // A format-1 record with "id": "" is read (the schema allows it), written back as format 2, and then unreadable.
    const s: SessionStateRecord = { ...IDLE, id: '' };
    const readBack = thrown(() => decodeState(encodeState(s))) === undefined;
    expect(readBack).toBe(sessionStateSchema.safeParse(s).success);
  });

  it('read back a compact address whose ids are up to 512 characters long, counted as the schema counts them', () => {
    // 257 astral characters: 514 UTF-16 units, 257 code points, which addressSchema accepts.
    const s: SessionStateRecord = { ...IDLE, address: { channelId: 'web', user: { id: EMOJI.repeat(257) }, conversation: { id: EMOJI.repeat(512) } } };
    expect(sessionStateSchema.safeParse(s).success).toBe(true);
    expect(thrown(() => decodeState(encodeState(s)))).toBeUndefined();
  });

  it('drop msgs when both counts are 0, as the manager keeps it', () => {
    const decoded = decodeState(encodeState({ ...IDLE, msgs: [0, 0] }));
    expect(decoded).not.toHaveProperty('msgs');
  });

  it('store a typical idle session in the documented positions', () => {
    expect(encodeState(IDLE)).toBe(IDLE_FORMAT_2);
    expect(decodeState(IDLE_FORMAT_2)).toEqual(IDLE);
  });

  it('store a typical idle session in under a third of the characters of its format-1 JSON', () => {
    const ratio = encodeState(IDLE).length / IDLE_FORMAT_1.length;
    // Measured: 102 / 345 = 0.296; the margin allows a few characters more, never the half the format promises.
    expect(ratio).toBeLessThan(0.32);
  });

  it('store an address with nothing but the three ids as a [channelId, userId, conversationId] triple', () => {
    const stored = JSON.parse(encodeState(IDLE)) as unknown[];
    expect(stored[6]).toEqual(['bench', 'u1', 'c1']);
  });

  it('store an address with anything more as the address object', () => {
    const stored = JSON.parse(encodeState({ ...IDLE, address: { ...IDLE.address, bot: { id: 'b' } } })) as unknown[];
    expect(stored[6]).toEqual({ channelId: 'bench', user: { id: 'u1' }, conversation: { id: 'c1' }, bot: { id: 'b' } });
  });

  it('store every position of a busy session as the header comment documents', () => {
    expect(encodeState(FULL)).toBe(FULL_FORMAT_2);
    expect(decodeState(FULL_FORMAT_2)).toEqual(FULL);
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

  it('re-encodes what it read in format 2', () => {
    expect(encodeState(decodeState(IDLE_FORMAT_1))).toBe(IDLE_FORMAT_2);
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

describe('decodeState of a malformed format-2 array', () => {
  it('reads the array it spoils when nothing is spoiled', () => {
    expect(decodeState(encodeState(FULL))).toEqual(FULL);
  });

  const cases: [string, number, unknown, string][] = [
    ['an unknown format number', 0, 3, 'unknown format (3)'],
    ['format 1 as a number in an array', 0, 1, 'unknown format (1)'],
    ['the format as a string', 0, '2', 'unknown format ("2")'],
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
    ['an address triple with an empty id', 6, ['web', '', 'c1'], 'position 6 (address)'],
    ['an address triple with a 513-character id', 6, ['web', 'u1', 'x'.repeat(513)], 'position 6 (address)'],
    ['an address triple with an id of 513 astral characters', 6, ['web', 'u1', EMOJI.repeat(513)], 'position 6 (address)'],
    ['an address triple with a number', 6, ['web', 1, 'c1'], 'position 6 (address)'],
    ['an address object without a user', 6, { channelId: 'web', conversation: { id: 'c1' } }, 'position 6 (address)'],
    ['an address as text', 6, 'web/u1/c1', 'position 6 (address)'],
    ['a null address', 6, null, 'position 6 (address)'],
    ['a stack that is text', 7, 'stack', 'position 7 (stack)'],
    ['a stack entry that is not an array', 7, ['/'], 'position 7 (stack)'],
    ['a stack entry without data', 7, [['/']], 'position 7 (stack)'],
    ['a stack entry with an empty id', 7, [['', 0]], 'position 7 (stack)'],
    ['a stack entry with array data', 7, [['/', []]], 'position 7 (stack)'],
    ['a stack entry with a negative step', 7, [['/', 0, -1]], 'position 7 (stack)'],
    ['a stack entry with a fractional step', 7, [['/', 0, 0.5]], 'position 7 (stack)'],
    ['a stack entry with a bad interrupt flag', 7, [['/', 0, 1, 2]], 'position 7 (stack)'],
    ['a stack entry of five parts', 7, [['/', 0, 1, 1, 1]], 'position 7 (stack)'],
    ['entities that are an array', 8, [], 'position 8 (entities)'],
    ['null entities', 8, null, 'position 8 (entities)'],
    ['privateConversationData that is text', 9, 'x', 'position 9 (privateConversationData)'],
    ['a previousDialog that is text', 10, '/', 'position 10 (previousDialog)'],
    ['a previousDialog of one part', 10, ['/'], 'position 10 (previousDialog)'],
    ['a previousDialog of four parts', 10, ['/', 'waterfall', '/', '/'], 'position 10 (previousDialog)'],
    ['a previousDialog with a number', 10, ['/', 5], 'position 10 (previousDialog)'],
    ['a negative userMessages', 11, -1, 'position 11 (userMessages)'],
    ['a fractional userMessages', 11, 0.5, 'position 11 (userMessages)'],
    ['a negative botMessages', 12, -1, 'position 12 (botMessages)'],
    ['rest as text', 13, 'x', 'position 13 (rest)'],
    ['rest as an array', 13, [], 'position 13 (rest)'],
    ['an unknown key in rest', 13, { colour: 'red' }, 'position 13 (rest) must be an object of locale, timeout, entityExpiry, ended, nudges, entitiesVersion (it holds "colour")'],
    ['an own __proto__ key in rest', 13, JSON.parse('{"__proto__":{"locale":"de"}}'), 'position 13 (rest)'],
    ['a rest.locale that is a number', 13, { locale: 5 }, 'position 13 (rest.locale)'],
    ['a zero rest.timeout', 13, { timeout: 0 }, 'position 13 (rest.timeout)'],
    ['a negative rest.timeout', 13, { timeout: -5 }, 'position 13 (rest.timeout)'],
    ['a rest.timeout that is text', 13, { timeout: '30m' }, 'position 13 (rest.timeout)'],
    ['a rest.entityExpiry with a time that is text', 13, { entityExpiry: { UserName: 'soon' } }, 'position 13 (rest.entityExpiry)'],
    ['a rest.entityExpiry that is an array', 13, { entityExpiry: [1] }, 'position 13 (rest.entityExpiry)'],
    ['an unknown rest.ended', 13, { ended: 'crashed' }, 'position 13 (rest.ended)'],
    ['a rest.nudges without a count', 13, { nudges: { at: 1 } }, 'position 13 (rest.nudges)'],
    ['a rest.nudges with a negative count', 13, { nudges: { at: 1, count: -1 } }, 'position 13 (rest.nudges)'],
    ['a negative rest.entitiesVersion', 13, { entitiesVersion: -1 }, 'position 13 (rest.entitiesVersion)'],
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

  it('rejects an array with more positions than format 2 has', () => {
    const fields = JSON.parse(encodeState(decodeState(IDLE_FORMAT_2))) as unknown[];
    while (fields.length < 15) fields.push(0);
    expect(thrown(() => decodeState(JSON.stringify(fields)))).toMatchObject({ problem: 'has 15 positions; format 2 has at most 14' });
  });

  it('names the first missing position of an array that stops short', () => {
    expect(thrown(() => decodeState('[2]'))).toMatchObject({ message: expect.stringContaining('position 1 (id)') });
    expect(thrown(() => decodeState('[2,null,null,1,0,0]'))).toMatchObject({ message: expect.stringContaining('position 6 (address)') });
  });

  it('either reads a state the schema accepts or throws StateFormatError, whatever JSON sits at a position', () => {
    fc.assert(
      fc.property(state, fc.nat(13), storedPart, (s, position, value) => {
        const fields = JSON.parse(encodeState(s)) as unknown[];
        fields[position] = value;
        expect(['a state the schema accepts', 'StateFormatError']).toContain(outcome(JSON.stringify(fields)));
      }),
      { numRuns: 1000 },
    );
  });
});

describe('decodeState of text that is not JSON', () => {
  it.each([[''], ['not json'], ['[2,'], ["{'v':1}"]])('throws StateFormatError (CORRUPT_STATE) with the SyntaxError as its cause for %j', (text) => {
    const error = thrown(() => decodeState(text)) as StateFormatError;
    expect({ error, cause: error.cause instanceof SyntaxError }).toMatchObject({
      error: { code: 'CORRUPT_STATE', problem: expect.stringContaining('not JSON') },
      cause: true,
    });
  });
});
