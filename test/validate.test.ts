// The hand-written checks of the turn path, held to the zod schemas they stand in for: isAddress says yes exactly when
// addressSchema does, and plainMessage, when it answers at all, answers what messageSchema would.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { addressSchema, messageSchema, outgoingMessageSchema } from '../src/schema';
import { isAddress, plainMessage, plainOutgoing } from '../src/validate';

// ---- arbitraries -------------------------------------------------------------------------------------------------

/** One code point, two UTF-16 units. */
const EMOJI = '\u{1F600}';

/** Keys that break naive code, and the fields the schemas name. */
const nastyKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'id',
    'name',
    'text',
    'type',
    'bot',
    'user',
    'isGroup',
  ),
  fc.string({ maxLength: 8 }),
);

/** An object with the given entries, built as JSON.parse builds it: `__proto__` becomes an own key, not the prototype. */
function objectOf<T>(
  key: fc.Arbitrary<string>,
  value: fc.Arbitrary<T>,
  maxLength = 3,
): fc.Arbitrary<Record<string, T>> {
  return fc.array(fc.tuple(key, value), { maxLength }).map((entries) => Object.fromEntries(entries));
}

/** JSON-ish values plus undefined, NaN and the infinities that zod's z.number() rejects. */
const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.string({ maxLength: 8 }),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie('json'), { maxLength: 3 }),
    objectOf(nastyKey, tie('json')),
  ),
}));

/**
 * Anything in an id's place: the length bounds 0, 1, 512 and 513, other strings, and other types. zod 4 measures a
 * string's length in code points, so the bounds come both as ASCII and as astral characters (two UTF-16 units each).
 */
const id = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      '',
      'x',
      'x'.repeat(512),
      'x'.repeat(513),
      EMOJI.repeat(256),
      EMOJI.repeat(257),
      EMOJI.repeat(512),
      EMOJI.repeat(513),
      'x'.repeat(511) + EMOJI,
    ),
  },
  { weight: 4, arbitrary: fc.string({ maxLength: 8 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
  { weight: 2, arbitrary: json },
);
const optionalString = fc.oneof(fc.string({ maxLength: 8 }), fc.constant(undefined), json);
const optionalBoolean = fc.oneof(fc.boolean(), fc.constant(undefined), json);

/** Turns an object into one that is shaped differently but holds the same own keys: null prototype, a Date, an array. */
function reshaped(value: Record<string, unknown>): fc.Arbitrary<unknown> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.constant(value) },
    { weight: 1, arbitrary: fc.constant(Object.assign(Object.create(null) as object, value)) },
    { weight: 1, arbitrary: fc.constant(Object.assign(new Date(0), value)) },
    // An array's `length` only takes array lengths.
    { weight: 1, arbitrary: fc.constant(Object.hasOwn(value, 'length') ? value : Object.assign([], value)) },
  );
}

/** A near-valid object: some fields missing, extra keys (a JSON-made `__proto__` among them) added under the named ones. */
function nearObject(fields: Record<string, fc.Arbitrary<unknown>>, required: string[]): fc.Arbitrary<unknown> {
  const named = Object.keys(fields);
  const record = fc.oneof(
    fc.record(fields, { requiredKeys: required as never[] }),
    fc.record(fields, { requiredKeys: [] }),
  );
  const extra = objectOf(
    nastyKey.filter((key) => !named.includes(key)),
    json,
  );
  return fc
    .tuple(record, extra)
    .map(([base, more]) => ({ ...more, ...base }) as Record<string, unknown>)
    .chain(reshaped);
}

/** An address the schema accepts, compact or with names, flags, a bot and extra fields (a JSON-made `__proto__` among them). */
const goodId = fc.string({ minLength: 1, maxLength: 12 });
const goodExtras = (named: string[]) =>
  objectOf(
    nastyKey.filter((key) => !named.includes(key)),
    json,
  );
const goodAddress = fc
  .record(
    {
      channelId: goodId,
      user: fc
        .tuple(fc.record({ id: goodId, name: fc.string() }, { requiredKeys: ['id'] }), goodExtras(['id', 'name']))
        .map(([u, x]) => ({ ...x, ...u })),
      conversation: fc
        .tuple(
          fc.record({ id: goodId, isGroup: fc.boolean() }, { requiredKeys: ['id'] }),
          goodExtras(['id', 'isGroup']),
        )
        .map(([c, x]) => ({ ...x, ...c })),
      bot: fc
        .tuple(fc.record({ id: goodId, name: fc.string() }, { requiredKeys: ['id'] }), goodExtras(['id', 'name']))
        .map(([b, x]) => ({ ...x, ...b })),
    },
    { requiredKeys: ['channelId', 'user', 'conversation'] },
  )
  .chain((address) =>
    fc
      .tuple(fc.constant(address), goodExtras(['channelId', 'user', 'conversation', 'bot']))
      .map(([a, x]) => ({ ...x, ...a })),
  );

/** Values in an address's place (or in one of its parts'): near-valid objects mostly, anything else sometimes. */
const nearAddress = fc.oneof(
  { weight: 2, arbitrary: goodAddress.chain(reshaped) },
  {
    weight: 6,
    arbitrary: nearObject(
      {
        channelId: id,
        user: fc.oneof(
          { weight: 5, arbitrary: nearObject({ id, name: optionalString }, ['id']) },
          { weight: 1, arbitrary: json },
        ),
        conversation: fc.oneof(
          { weight: 5, arbitrary: nearObject({ id, isGroup: optionalBoolean }, ['id']) },
          { weight: 1, arbitrary: json },
        ),
        bot: fc.oneof(fc.constant(undefined), nearObject({ id, name: optionalString }, ['id']), json),
      },
      ['channelId', 'user', 'conversation'],
    ),
  },
  { weight: 1, arbitrary: json },
);

const timestamp = fc.oneof(
  fc.integer({ min: 0 }),
  fc.double(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -0),
  json,
);
const messageFields = {
  type: fc.oneof(fc.constantFrom('message', 'event', 'typing', 'Message', undefined), json),
  text: optionalString,
  name: optionalString,
  value: json,
  locale: optionalString,
  developer: optionalBoolean,
  timestamp,
  id: optionalString,
};
/** Extra message fields, under keys the schema does not name (an own `__proto__` on the message is tested on its own). */
const messageExtras = objectOf(
  nastyKey.filter(
    (key) =>
      !['__proto__', 'address', 'attachments', 'sourceEvent'].includes(key) && !Object.hasOwn(messageFields, key),
  ),
  json,
);

/** A near-valid message with no attachments or sourceEvent (at most present as undefined), on Object.prototype. */
const nearPlainMessage = fc
  .tuple(
    fc.record(
      {
        address: fc.oneof({ weight: 3, arbitrary: goodAddress }, { weight: 2, arbitrary: nearAddress }),
        ...messageFields,
      },
      { requiredKeys: [] },
    ),
    fc.record({ attachments: fc.constant(undefined), sourceEvent: fc.constant(undefined) }, { requiredKeys: [] }),
    messageExtras,
  )
  .map(([fields, none, extra]) => ({ ...extra, ...none, ...fields }) as Record<string, unknown>);

/** A message the schema accepts, without attachments or sourceEvent. */
const goodPlainMessage = fc
  .tuple(
    fc.record(
      {
        address: goodAddress,
        type: fc.constantFrom('message', 'event'),
        text: fc.string(),
        name: fc.string(),
        value: json,
        locale: fc.string(),
        developer: fc.boolean(),
        timestamp: fc.integer({ min: 0 }),
        id: fc.string(),
      },
      { requiredKeys: ['address'] },
    ),
    messageExtras,
  )
  .map(([fields, extra]) => ({ ...extra, ...fields }) as Record<string, unknown>);

const attachment = fc.record(
  {
    contentType: fc.constantFrom('image/png', 'application/vnd.microsoft.card.hero'),
    contentUrl: fc.webUrl(),
    name: fc.string(),
    content: json,
  },
  { requiredKeys: ['contentType'] },
);

/** Anything at all in a message's place: near-valid messages (attachments and sourceEvent included), other shapes, other values. */
const anyMessage = fc.oneof(
  { weight: 4, arbitrary: nearPlainMessage },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        nearPlainMessage,
        fc.record(
          {
            attachments: fc.oneof(fc.array(attachment, { maxLength: 2 }), json),
            sourceEvent: fc.oneof(objectOf(nastyKey, json), json),
          },
          { requiredKeys: [] },
        ),
      )
      .map(([message, more]) => ({ ...message, ...more })),
  },
  { weight: 1, arbitrary: nearPlainMessage.chain(reshaped) },
  {
    weight: 1,
    arbitrary: nearPlainMessage.map((message) => ({
      ...(JSON.parse('{"__proto__":{"text":5}}') as object),
      ...message,
    })),
  },
  { weight: 1, arbitrary: json },
);

// ---- isAddress ---------------------------------------------------------------------------------------------------

describe('isAddress', () => {
  it('agrees with addressSchema on near-valid values', () => {
    fc.assert(
      fc.property(nearAddress, (value) => {
        expect(isAddress(value)).toBe(addressSchema.safeParse(value).success);
      }),
      { numRuns: 3000 },
    );
  });

  it('meets both answers among the near-valid values it is tested on', () => {
    const answers = fc.sample(nearAddress, { numRuns: 2000, seed: 42 }).map((value) => isAddress(value));
    expect(answers.filter(Boolean).length).toBeGreaterThan(100);
    expect(answers.filter((answer) => !answer).length).toBeGreaterThan(100);
  });

  const valid = { channelId: 'web', user: { id: 'u1' }, conversation: { id: 'c1' } };
  const cases: [string, unknown, boolean][] = [
    ['a compact address', valid, true],
    ['ids of 1 and 512 characters', { ...valid, channelId: 'x', user: { id: 'x'.repeat(512) } }, true],
    ['an id of 513 characters', { ...valid, user: { id: 'x'.repeat(513) } }, false],
    ['an id of 256 astral characters (512 UTF-16 units)', { ...valid, user: { id: EMOJI.repeat(256) } }, true],
    // zod counts code points: 257 astral characters are 514 UTF-16 units but 257 characters.
    ['an id of 257 astral characters (514 UTF-16 units)', { ...valid, user: { id: EMOJI.repeat(257) } }, true],
    ['an id of 512 astral characters', { ...valid, conversation: { id: EMOJI.repeat(512) } }, true],
    ['an id of 513 astral characters', { ...valid, conversation: { id: EMOJI.repeat(513) } }, false],
    ['an empty channelId', { ...valid, channelId: '' }, false],
    ['a numeric user id', { ...valid, user: { id: 1 } }, false],
    ['a missing conversation', { channelId: 'web', user: { id: 'u1' } }, false],
    ['a user name that is a number', { ...valid, user: { id: 'u1', name: 5 } }, false],
    ['an isGroup that is text', { ...valid, conversation: { id: 'c1', isGroup: 'yes' } }, false],
    ['a bot present as undefined', { ...valid, bot: undefined }, true],
    ['a null bot', { ...valid, bot: null }, false],
    ['a bot without an id', { ...valid, bot: { name: 'b' } }, false],
    ['a bot with a name', { ...valid, bot: { id: 'b', name: 'Bot' } }, true],
    [
      'extra fields everywhere',
      { ...valid, serviceUrl: 'x', user: { id: 'u1', role: 1 }, conversation: { id: 'c1', tenant: {} } },
      true,
    ],
    [
      'an own __proto__ key made by JSON.parse',
      JSON.parse('{"channelId":"web","user":{"id":"u1"},"conversation":{"id":"c1"},"__proto__":{"x":1}}'),
      true,
    ],
    ['a null-prototype object', Object.assign(Object.create(null) as object, valid), true],
    ['an array with the fields', Object.assign([], valid), false],
    ['a user that is an array', { ...valid, user: Object.assign([], { id: 'u1' }) }, false],
    ['null', null, false],
    ['an array', [], false],
    ['a string', 'web:u1', false],
  ];

  it.each(cases)('answers like addressSchema for %s', (_what, value, expected) => {
    expect(isAddress(value)).toBe(expected);
    expect(addressSchema.safeParse(value).success).toBe(expected);
  });
});

// ---- plainMessage ------------------------------------------------------------------------------------------------

/** A message as a caller holds it, free to change any field afterwards. */
type Mutable = Record<string, unknown> & {
  address: Record<string, unknown> & {
    user: Record<string, unknown>;
    conversation: Record<string, unknown>;
    bot?: Record<string, unknown>;
  };
};

describe('plainMessage', () => {
  it('returns only messages that messageSchema accepts, equal to what the schema returns', () => {
    fc.assert(
      fc.property(anyMessage, (value) => {
        const plain = plainMessage(value);
        const parsed = messageSchema.safeParse(value);
        // What the manager does with a message: the fast path, or else the schema.
        expect(plain ?? (parsed.success ? parsed.data : 'rejected')).toEqual(parsed.success ? parsed.data : 'rejected');
      }),
      { numRuns: 3000 },
    );
  });

  it('returns a value for a near-valid plain message exactly when messageSchema accepts it', () => {
    fc.assert(
      fc.property(nearPlainMessage, (value) => {
        expect(plainMessage(value) !== undefined).toBe(messageSchema.safeParse(value).success);
      }),
      { numRuns: 3000 },
    );
  });

  it('meets both answers among the near-valid plain messages it is tested on', () => {
    const answers = fc
      .sample(nearPlainMessage, { numRuns: 2000, seed: 42 })
      .map((value) => plainMessage(value) !== undefined);
    expect(answers.filter(Boolean).length).toBeGreaterThan(100);
    expect(answers.filter((answer) => !answer).length).toBeGreaterThan(100);
  });

  it('returns undefined for a valid message with attachments or a sourceEvent, leaving it to the schema', () => {
    const withExtras = fc
      .tuple(
        goodPlainMessage,
        fc.record(
          { attachments: fc.array(attachment, { maxLength: 2 }), sourceEvent: objectOf(nastyKey, json) },
          { requiredKeys: [] },
        ),
      )
      .filter(([, more]) => Object.keys(more).length > 0)
      .map(([message, more]) => ({ ...message, ...more }));
    fc.assert(
      fc.property(withExtras, (value) => {
        expect(messageSchema.safeParse(value).success).toBe(true);
        expect(plainMessage(value)).toBeUndefined();
      }),
    );
  });

  it.each([
    ['an empty attachments array', { attachments: [] }],
    ['an empty sourceEvent', { sourceEvent: {} }],
  ])('returns undefined for a message with %s', (_what, more) => {
    const value = {
      address: { channelId: 'web', user: { id: 'u1' }, conversation: { id: 'c1' } },
      text: 'hi',
      ...more,
    };
    expect(messageSchema.safeParse(value).success).toBe(true);
    expect(plainMessage(value)).toBeUndefined();
  });

  it('leaves a message with an own __proto__ key to the schema, which drops the key', () => {
    const value = JSON.parse(
      '{"address":{"channelId":"web","user":{"id":"u1"},"conversation":{"id":"c1"}},"__proto__":{"text":5}}',
    ) as unknown;
    expect(plainMessage(value)).toBeUndefined();
    expect(Object.hasOwn(messageSchema.parse(value), '__proto__')).toBe(false);
  });

  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Infinity],
    ['-Infinity', -Infinity],
  ])('rejects a timestamp of %s, as z.number() does', (_what, timestamp) => {
    const value = { address: { channelId: 'web', user: { id: 'u1' }, conversation: { id: 'c1' } }, timestamp };
    expect(messageSchema.safeParse(value).success).toBe(false);
    expect(plainMessage(value)).toBeUndefined();
  });

  it('returns a copy of the message and of its address, user, conversation and bot', () => {
    fc.assert(
      fc.property(goodPlainMessage, (value) => {
        const plain = plainMessage(value);
        const input = value as unknown as Mutable;
        expect(plain).toBeDefined();
        expect(plain).not.toBe(value);
        expect(plain?.address).not.toBe(input.address);
        expect(plain?.address.user).not.toBe(input.address.user);
        expect(plain?.address.conversation).not.toBe(input.address.conversation);
        expect(plain?.address.bot === undefined || plain.address.bot !== input.address.bot).toBe(true);
      }),
    );
  });

  it('keeps what it returned when the caller changes the message afterwards', () => {
    fc.assert(
      fc.property(goodPlainMessage, (value) => {
        const plain = plainMessage(value);
        const before = structuredClone(plain);
        const input = value as unknown as Mutable;
        input.text = 'changed';
        delete input.locale;
        input.address.channelId = 'changed';
        input.address.serviceUrl = 'changed';
        input.address.user.id = 'changed';
        input.address.user.name = 'changed';
        input.address.conversation.id = 'changed';
        input.address.conversation.isGroup = true;
        if (input.address.bot === undefined) input.address.bot = { id: 'changed' };
        else input.address.bot.id = 'changed';
        expect(plain).toEqual(before);
      }),
    );
  });

  it('keeps what it returned when the caller changes an existing bot afterwards', () => {
    const value = {
      address: { channelId: 'web', user: { id: 'u1' }, conversation: { id: 'c1' }, bot: { id: 'b1', name: 'Bot' } },
      text: 'hi',
    };
    const plain = plainMessage(value);
    value.address.bot.id = 'changed';
    value.address.bot.name = 'changed';
    expect(plain?.address.bot).toEqual({ id: 'b1', name: 'Bot' });
  });

  // The fast path copies the address objects with object spread; the schema copies them as z.looseObject does
  // (for...in, skipping `__proto__`). Where the two copies differ, the manager holds different data depending on
  // which path took the message.
  it.each([
    [
      'an own __proto__ key in address.user (as JSON.parse makes it)',
      () =>
        JSON.parse(
          '{"address":{"channelId":"web","user":{"id":"u1","__proto__":{"admin":true}},"conversation":{"id":"c1"}}}',
        ) as unknown,
    ],
    [
      'an own __proto__ key in the address',
      () =>
        JSON.parse(
          '{"address":{"channelId":"web","__proto__":{"x":1},"user":{"id":"u1"},"conversation":{"id":"c1"}}}',
        ) as unknown,
    ],
    [
      'a user that inherits its name',
      () => ({
        address: {
          channelId: 'web',
          user: Object.assign(Object.create({ name: 'Ada' }) as object, { id: 'u1' }),
          conversation: { id: 'c1' },
        },
      }),
    ],
    [
      'a symbol key on the message',
      () => ({
        address: { channelId: 'web', user: { id: 'u1' }, conversation: { id: 'c1' } },
        [Symbol.for('palaver.test')]: 1,
      }),
    ],
  ])('yields what messageSchema yields for a message with %s', (_what, make) => {
    const value = make();
    expect(plainMessage(value) ?? messageSchema.parse(value)).toEqual(messageSchema.parse(value));
  });
});

describe('plainOutgoing', () => {
  const textField = fc.oneof(fc.string({ maxLength: 6 }), fc.integer(), fc.constant(undefined), fc.constant(null));
  const enumField = (values: string[]) =>
    fc.oneof(fc.constantFrom(...values), fc.string({ maxLength: 4 }), fc.constant(undefined), fc.integer());
  const reply = fc.record(
    {
      text: textField,
      locale: textField,
      name: textField,
      type: enumField(['message', 'typing', 'event']),
      textFormat: enumField(['plain', 'markdown', 'xml']),
      attachmentLayout: enumField(['list', 'carousel']),
      inputHint: enumField(['acceptingInput', 'expectingInput', 'ignoringInput']),
      value: json,
    },
    { requiredKeys: [], noNullPrototype: true },
  );

  it('returns a value for a plain reply of text fields exactly when outgoingMessageSchema accepts it, equal to what the schema returns', () => {
    fc.assert(
      fc.property(reply, (input) => {
        const fast = plainOutgoing(input);
        const parsed = outgoingMessageSchema.safeParse(input);
        expect(fast !== undefined).toBe(parsed.success);
        if (fast !== undefined && parsed.success) expect(fast).toEqual(parsed.data);
      }),
    );
  });

  it('leaves replies with buttons, attachments, a sourceEvent or unknown fields to the schema', () => {
    const leftToSchema = [
      { text: 'a', suggestedActions: [] },
      { text: 'a', attachments: [] },
      { text: 'a', sourceEvent: {} },
      { text: 'a', speak: 'a' },
      Object.create({ text: 'inherited' }) as object,
    ];
    expect(leftToSchema.map((message) => plainOutgoing(message))).toEqual(leftToSchema.map(() => undefined));
  });

  it('returns a copy: changing the reply afterwards changes nothing returned', () => {
    const input = { text: 'hello', inputHint: 'expectingInput' };
    const copy = plainOutgoing(input)!;
    input.text = 'changed';
    expect(copy).toEqual({ text: 'hello', inputHint: 'expectingInput' });
  });
});
