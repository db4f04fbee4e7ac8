// fast-check generators of hostile input: JSON-ish values whose objects carry `__proto__`, `constructor` and
// `prototype` as own keys, addresses and messages that are almost right, and templates full of `%`.
import fc from 'fast-check';

/** Keys that break naive code: prototype names, Object.prototype methods, the fields palaver reads. */
export const nastyKey = fc.oneof(
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'hasOwnProperty',
    'valueOf',
    'then',
    'id',
    'text',
    'type',
    'data',
    'v',
  ),
  fc.string({ maxLength: 8 }),
);

/** Text that looks like a sprintf template, or like a session key. */
export const nastyText = fc.oneof(
  fc.constantFrom(
    '%s',
    '%(x)s',
    '%',
    '100%',
    '%%',
    '%d%%',
    '%(constructor)s',
    '%(__proto__)s',
    '%1$s',
    '%j',
    '%c',
    'a:b',
    '%3A',
    's:x',
    '',
  ),
  fc.string({ maxLength: 24 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
);

/** Objects are built with Object.fromEntries so that `__proto__` is an own key, as JSON.parse makes it. */
export const { json } = fc.letrec<{ json: unknown }>((tie) => ({
  json: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    nastyText,
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie('json'), { maxLength: 4 }),
    fc.array(fc.tuple(nastyKey, tie('json')), { maxLength: 4 }).map((entries) => Object.fromEntries(entries)),
  ),
}));

/** A JSON object with nasty own keys. */
export const jsonObject = fc
  .array(fc.tuple(nastyKey, json), { maxLength: 4 })
  .map((entries) => Object.fromEntries(entries) as Record<string, unknown>);

/** Adds the own keys of `extra` (nasty ones included) under the record's. */
function withExtra<T extends object>(record: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.tuple(record, jsonObject).map(([base, extra]) => ({ ...extra, ...base }));
}

/** Ids: mostly valid, some with the key separator, some not strings at all. Never the bystander's. */
export const id = fc
  .oneof(
    {
      weight: 3,
      arbitrary: fc.constantFrom('u1', 'u2', 'a:b', 'a', 'b:c', '%3A', '%', ' ', '__proto__', 'constructor'),
    },
    { weight: 2, arbitrary: fc.string({ maxLength: 6 }) },
    { weight: 1, arbitrary: json },
  )
  .filter((value) => value !== 'safe' && value !== 'bystander' && value !== 'quiet-room');

export const address = fc.oneof(
  {
    weight: 4,
    arbitrary: withExtra(
      fc.record({ channelId: id, user: withExtra(fc.record({ id })), conversation: withExtra(fc.record({ id })) }),
    ),
  },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        channelId: id,
        user: fc.oneof(fc.record({ id, name: json }, { requiredKeys: ['id'] }), json),
        conversation: fc.oneof(fc.record({ id, isGroup: json }, { requiredKeys: ['id'] }), json),
        bot: json,
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: json },
);

const attachment = withExtra(
  fc.record(
    {
      contentType: fc.oneof(
        fc.constantFrom(
          'image/png',
          'application/vnd.microsoft.card.hero',
          'application/vnd.microsoft.card.receipt',
          'constructor',
          '__proto__',
          'toString',
        ),
        json,
      ),
      content: json,
      contentUrl: json,
      name: json,
    },
    { requiredKeys: [] },
  ),
);

/** What an incoming message may carry, each field right or wrong. */
export const message = fc.oneof(
  {
    weight: 6,
    arbitrary: withExtra(
      fc.record(
        {
          address,
          type: fc.oneof(fc.constantFrom('message', 'event'), json),
          text: fc.oneof({ weight: 4, arbitrary: nastyText }, { weight: 1, arbitrary: json }),
          name: json,
          value: json,
          attachments: fc.oneof(fc.array(attachment, { maxLength: 2 }), json),
          locale: json,
          developer: fc.oneof(fc.boolean(), json),
          timestamp: json,
          id: json,
          sourceEvent: fc.oneof(jsonObject, json),
        },
        { requiredKeys: ['address'] },
      ),
    ),
  },
  { weight: 1, arbitrary: json },
);

/** What `send` takes: text, a message object right or wrong, or anything. */
export const outgoing = fc.oneof(
  { weight: 3, arbitrary: nastyText },
  {
    weight: 3,
    arbitrary: withExtra(
      fc.record(
        {
          type: fc.oneof(fc.constantFrom('message', 'typing', 'event'), json),
          text: fc.oneof(nastyText, json),
          attachments: fc.oneof(fc.array(attachment, { maxLength: 2 }), json),
          suggestedActions: json,
          sourceEvent: fc.oneof(jsonObject, json),
          value: json,
        },
        { requiredKeys: [] },
      ),
    ),
  },
  { weight: 1, arbitrary: json },
);

/** Format arguments: none most of the time, since no arguments means no formatting. */
export const args = fc.oneof(
  { weight: 2, arbitrary: fc.constant([] as unknown[]) },
  { weight: 1, arbitrary: fc.array(json, { maxLength: 3 }) },
);
