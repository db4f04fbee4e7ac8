// Hostile users: text that looks like a template, ids that look like key separators, JSON that names prototypes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore, Message, Prompts, type Address, type JsonObject } from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { makeBot, useFakeTime, watchProcess } from '../support/hardening';

useFakeTime(0);
const watch = watchProcess();

const TEMPLATES = [
  '%s',
  '%(x)s',
  '%',
  '100%',
  '%%',
  '50%% off',
  '%d',
  '%(constructor)s',
  '%(__proto__)s',
  '%1$s',
  '%j',
  '%(',
  'a % b %',
  '%-5s|%05d',
];

describe('user text is data, never a template', () => {
  /** A bot that repeats the user's text through `how`. */
  async function echoed(how: (session: any, text: string) => void, text: string): Promise<(string | undefined)[]> {
    const made = makeBot();
    made.bot.dialog('/', (session) => how(session, session.message!.text!));
    await made.bot.receive({ address: address(), text });
    await made.bot.close();
    return made.texts();
  }

  it.each(TEMPLATES)('sends %j verbatim through session.send(text)', async (text) => {
    expect(await echoed((session, t) => session.send(t), text)).toEqual([text]);
  });

  it('sends any text verbatim through session.send(text)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.constantFrom(...TEMPLATES),
          fc.string({ maxLength: 40 }),
          fc.string({ unit: 'grapheme', maxLength: 20 }),
        ),
        async (text) => {
          expect(await echoed((session, t) => session.send(t), text)).toEqual([text]);
        },
      ),
      { numRuns: 200 },
    );
  });

  it.each([
    ['endDialog', (session: any, t: string) => session.endDialog(t)],
    ['endConversation', (session: any, t: string) => session.endConversation(t)],
    ['Prompts.text', (session: any, t: string) => Prompts.text(session, t)],
    ['a Message builder', (session: any, t: string) => session.send(new Message().text(t))],
    ['a message object', (session: any, t: string) => session.send({ text: t })],
  ])('sends templates verbatim through %s', async (_how, how) => {
    for (const text of TEMPLATES) expect(await echoed(how, text)).toEqual([text]);
  });

  it('sends templates verbatim through manager.send(address, text)', async () => {
    const made = makeBot();
    for (const text of TEMPLATES) await made.bot.send(address(), text);
    expect(made.texts()).toEqual(TEMPLATES);
  });

  it('formats only with explicit arguments, and then puts the user text in as data', async () => {
    expect(await echoed((session, t) => session.send('You said: %s', t), '%(x)s %s %%')).toEqual([
      'You said: %(x)s %s %%',
    ]);
  });

  it('puts user text into a named placeholder as data', async () => {
    expect(await echoed((session, t) => session.send('Hi %(name)s!', { name: t }), '%s%%')).toEqual(['Hi %s%%!']);
  });

  it('sends dialogErrorMessage and closeMessage verbatim, percent signs and all', async () => {
    const made = makeBot({
      dialogErrorMessage: 'Sorry, 100% broken %s',
      closeMessage: 'Bye %(name)s',
      timeout: MINUTE,
    });
    made.bot.dialog('/', (session) => {
      if (session.message?.text === 'crash') throw new Error('bug');
    });
    await made.bot.receive({ address: address(), text: 'crash' });
    await made.bot.sweepExpired(Date.now() + 2 * MINUTE);
    await made.bot.close();
    expect(made.texts()).toEqual(['Sorry, 100% broken %s', 'Bye %(name)s']);
  });
});

describe('session keys cannot collide', () => {
  const pairs: [string, Address, Address][] = [
    ['channel "a:b", user "c" / channel "a", user "b:c"', address('c', 'x', 'a:b'), address('b:c', 'x', 'a')],
    [
      'channel "a:b", conversation "c" / channel "a", conversation "b:c"',
      address('u', 'c', 'a:b'),
      address('u', 'b:c', 'a'),
    ],
    [
      'conversation "a:b", user "c" / conversation "a", user "b:c"',
      address('c', 'a:b', 'ch'),
      address('b:c', 'a', 'ch'),
    ],
    ['an escaped separator "a%3Ab" / a real one "a:b"', address('a%3Ab'), address('a:b')],
    ['"a%b" / "a%25b"', address('a%b'), address('a%25b')],
  ];

  it('gives any two different (channel, conversation, user) triples different keys', () => {
    const part = fc.oneof(
      fc.constantFrom('a', 'b', ':', '%', '%3A', '%25', 'a:b', 's:', 'u:'),
      fc.string({ maxLength: 5 }).filter((s) => s.length > 0),
    );
    const { bot } = makeBot();
    fc.assert(
      fc.property(fc.tuple(part, part, part), fc.tuple(part, part, part), ([c1, v1, u1], [c2, v2, u2]) => {
        fc.pre(c1 !== c2 || v1 !== v2 || u1 !== u2);
        expect(bot.keyOf(address(u1, v1, c1))).not.toBe(bot.keyOf(address(u2, v2, c2)));
      }),
      { numRuns: 2000 },
    );
  });

  it.each(pairs)('keeps separate sessions, userData and conversationData for %s', async (_what, first, second) => {
    const made = makeBot<{ n?: number }>();
    made.bot.dialog('/', (session) => {
      const bump = (bag: JsonObject) => (bag.n = ((bag.n as number | undefined) ?? 0) + 1);
      bump(session.entities);
      bump(session.userData);
      bump(session.conversationData);
      session.send(
        '%s/%s/%s: %d %d %d',
        session.address.channelId,
        session.address.conversation.id,
        session.address.user.id,
        session.entities.n!,
        session.userData.n as number,
        session.conversationData.n as number,
      );
    });
    await made.bot.receive({ address: first, text: 'x' });
    await made.bot.receive({ address: first, text: 'x' });
    const { replies } = await made.bot.receive({ address: second, text: 'x' });
    const sameUserBag = first.channelId === second.channelId && first.user.id === second.user.id;
    const sameRoomBag = first.channelId === second.channelId && first.conversation.id === second.conversation.id;
    expect(replies[0]!.text).toBe(
      `${second.channelId}/${second.conversation.id}/${second.user.id}: 1 ${sameUserBag ? 3 : 1} ${sameRoomBag ? 3 : 1}`,
    );
    await made.bot.close();
  });

  it.each(pairs)('delivers batched replies to their own address for %s', async (_what, first, second) => {
    const made = makeBot({ autoBatchDelay: 250 });
    made.bot.dialog(
      '/',
      (session) =>
        void session.send(
          `for ${session.address.channelId}/${session.address.conversation.id}/${session.address.user.id}`,
        ),
    );
    await made.bot.receive({ address: first, text: 'x' });
    await made.bot.receive({ address: second, text: 'x' });
    await made.bot.close();
    expect(made.delivered.map((batch) => [batch.address, batch.messages.map((m) => m.text)])).toEqual([
      [first, [`for ${first.channelId}/${first.conversation.id}/${first.user.id}`]],
      [second, [`for ${second.channelId}/${second.conversation.id}/${second.user.id}`]],
    ]);
  });

  it('keeps a custom session key apart from the userData and conversationData records', async () => {
    const made = makeBot({ sessionKey: (to) => `u:${to.channelId}:${to.user.id}` });
    made.bot.dialog('/', (session) => {
      session.userData.visits = ((session.userData.visits as number | undefined) ?? 0) + 1;
      session.send('visit %d', session.userData.visits as number);
    });
    await made.bot.receive({ address: address(), text: 'x' });
    const { replies } = await made.bot.receive({ address: address(), text: 'x' });
    expect(replies.map((m) => m.text)).toEqual(['visit 2']);
    await made.bot.close();
  });

  it('keeps custom keys "1" and "s:1" apart when ended by the key keyOf() gives', async () => {
    const made = makeBot({ sessionKey: (to) => to.user.id });
    made.bot.dialog('/', () => undefined);
    await made.bot.receive({ address: address('1'), text: 'x' });
    await made.bot.receive({ address: address('s:1'), text: 'x' });
    const ended: string[] = [];
    made.bot.on('sessionEnd', ({ session }) => ended.push(session.key));
    await made.bot.endSession(made.bot.keyOf(address('s:1')));
    expect(ended).toEqual(['s:s:1']);
    await made.bot.close();
  });

  it('rejects a turn with INVALID_OPTIONS when the sessionKey option throws', async () => {
    const made = makeBot({
      sessionKey: () => {
        throw new TypeError('no key for you');
      },
    });
    await expect(made.bot.receive({ address: address(), text: 'x' })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('no key for you'),
    });
  });
});

describe('a bad clock', () => {
  it.each([NaN, Infinity, '2024-01-01'])(
    'rejects sweepExpired(%j) with INVALID_ARGUMENT and ends no session',
    async (now) => {
      const made = makeBot();
      const ended: string[] = [];
      made.bot.on('sessionEnd', ({ session }) => ended.push(session.id));
      made.bot.dialog('/', () => undefined);
      await made.bot.receive({ address: address(), text: 'hi' });
      await expect(made.bot.sweepExpired(now as number)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('`now`'),
      });
      expect(ended).toEqual([]);
    },
  );

  it.each([null, 'lars', { channelId: 'x' }])('rejects keyOf(%j) with INVALID_ADDRESS', (value) => {
    const { bot } = makeBot();
    expect(() => bot.keyOf(value as never)).toThrow(expect.objectContaining({ code: 'INVALID_ADDRESS' }));
  });
});

describe('prototype pollution', () => {
  const NASTY =
    '{"__proto__":{"isAdmin":true},"constructor":{"prototype":{"isAdmin":true}},"prototype":{"isAdmin":true},"a":1}';
  const nasty = () => JSON.parse(NASTY) as JsonObject;

  function expectCleanPrototypes(): void {
    expect(({} as JsonObject).isAdmin).toBeUndefined();
    expect(Object.getOwnPropertyNames(Object.prototype)).not.toContain('isAdmin');
    expect((Object as unknown as JsonObject).isAdmin).toBeUndefined();
    expect(watch.unhandled).toEqual([]);
  }

  /** True when `value` holds NASTY's keys as its own, plain data, inheriting nothing from them. */
  function heldAsData(value: unknown): boolean {
    const object = value as JsonObject;
    return (
      Object.getPrototypeOf(object) === Object.prototype &&
      Object.hasOwn(object, '__proto__') &&
      object.isAdmin === undefined &&
      JSON.stringify(object) === NASTY
    );
  }

  it('takes a message with prototype keys at every level without polluting anything', async () => {
    const made = makeBot();
    let seen: unknown[] = [];
    made.bot.dialog('/', (session) => {
      const m = session.message as unknown as JsonObject;
      seen = [
        m.isAdmin,
        (m.address as JsonObject).isAdmin,
        (session.address.user as JsonObject).isAdmin,
        (m.sourceEvent as JsonObject).isAdmin,
      ];
      session.send('ok');
    });
    const message = JSON.parse(
      `{"address":{"channelId":"t","user":{"id":"u",${NASTY.slice(1, -1)}},"conversation":{"id":"c",${NASTY.slice(1, -1)}},${NASTY.slice(1, -1)}},` +
        `"text":"hi","value":${NASTY},"sourceEvent":${NASTY},"attachments":[{"contentType":"x","content":${NASTY}}],${NASTY.slice(1, -1)}}`,
    );
    const { replies } = await made.bot.receive(message);
    expect([replies.map((m) => m.text), seen]).toEqual([['ok'], [undefined, undefined, undefined, undefined]]);
    expectCleanPrototypes();
    await made.bot.close();
  });

  it('keeps prototype keys inside message.value as plain data', async () => {
    const made = makeBot();
    let value: unknown;
    made.bot.dialog('/', (session) => void (value = session.message?.value));
    await made.bot.receive(
      JSON.parse(`{"address":{"channelId":"t","user":{"id":"u"},"conversation":{"id":"c"}},"value":${NASTY}}`),
    );
    expect(heldAsData(value)).toBe(true);
    expectCleanPrototypes();
  });

  it.each(['userData', 'conversationData', 'privateConversationData', 'entities', 'dialogData'] as const)(
    'round-trips prototype keys in %s as plain data',
    async (scope) => {
      const made = makeBot();
      let readBack: unknown;
      made.bot.dialog('/', (session: any) => {
        if (session.message.text === 'write') {
          session[scope] = nasty();
          session[scope].nested = nasty();
        } else readBack = session[scope];
      });
      await made.bot.receive({ address: address(), text: 'write' });
      await made.bot.receive({ address: address(), text: 'read' });
      const read = readBack as JsonObject;
      expect([heldAsData(read.nested), Object.hasOwn(read, '__proto__'), read.isAdmin, read.a]).toEqual([
        true,
        true,
        undefined,
        1,
      ]);
      expectCleanPrototypes();
      await made.bot.close();
    },
  );

  it.each(['__proto__', 'constructor', 'prototype'])(
    'round-trips an entity named %s set with setEntity',
    async (name) => {
      const made = makeBot({ preserve: [name] });
      let readBack: unknown;
      made.bot.dialog('/', (session) => {
        if (session.message?.text === 'write') session.setEntity(name, { isAdmin: true }, { ttl: 5 * MINUTE });
        else readBack = Object.hasOwn(session.entities, name) ? session.entities[name] : 'missing';
      });
      await made.bot.receive({ address: address(), text: 'write' });
      await made.bot.endSession(address());
      await made.bot.receive({ address: address(), text: 'read' });
      expect([readBack, (made.bot as unknown as JsonObject).isAdmin]).toEqual([{ isAdmin: true }, undefined]);
      expectCleanPrototypes();
      await made.bot.close();
    },
  );

  it('carries an entity named __proto__ into a new session as data', async () => {
    const made = makeBot();
    let readBack: unknown;
    made.bot.dialog('/', (session) => {
      if (session.message?.text === 'write') {
        session.setEntity('__proto__', { isAdmin: true });
        session.newSession({ carry: nasty() as never, message: { text: 'read' } });
      } else readBack = [Object.hasOwn(session.entities, '__proto__'), (session.entities as JsonObject).isAdmin];
    });
    await made.bot.receive({ address: address(), text: 'write' });
    expect(readBack).toEqual([true, undefined]);
    expectCleanPrototypes();
    await made.bot.close();
  });

  it('reads stored records with prototype keys back as plain data', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const made = makeBot({ store });
    const key = made.bot.keyOf(address());
    const state = {
      v: 1,
      id: 'x',
      startedAt: 0,
      lastActiveAt: 0,
      turnCount: 1,
      interactive: true,
      developer: false,
      address: address(),
      entities: nasty(),
      stack: [{ id: '/', data: nasty() }],
      privateConversationData: nasty(),
    };
    store.commit([
      {
        key,
        expected: null,
        data: JSON.stringify(state).replace('{"v":1', `{${NASTY.slice(1, -1)},"v":1`),
        idleMs: MINUTE,
      },
      { key: 'u:test:lars', expected: null, data: NASTY },
    ]);
    let read: unknown[] = [];
    made.bot.dialog(
      '/',
      (session) =>
        void (read = [session.entities, session.dialogData, session.privateConversationData, session.userData].map(
          heldAsData,
        )),
    );
    await made.bot.receive({ address: address(), text: 'x' });
    expect([read, made.errors]).toEqual([[true, true, true, true], []]);
    expectCleanPrototypes();
    await made.bot.close();
  });
});
