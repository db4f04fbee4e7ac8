import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CardContentType, HeroCard, Message, Prompts, type Session } from '../src';
import { deferred, makeBot, slowStore } from './support/bot';
import { address } from './support/fixtures';

type Profile = { name?: string };
type U = { profile?: Profile; visits?: number };
type C = { topic?: string; members?: string[] };
type P = { step?: string };
type E = { UserName?: string };

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('send and templates', () => {
  it('formats text with positional arguments', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', (session) => session.send('Hello %s, %d new messages', 'Lars', 3));
    await say('hi');
    expect(texts()).toEqual(['Hello Lars, 3 new messages']);
  });

  it('formats named parameters from an object', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', (session) => session.send('Hello there %(name)s', { name: 'Lars' }));
    await say('hi');
    expect(texts()).toEqual(['Hello there Lars']);
  });

  it('sends text without arguments as it is, so user text with % is never a template', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', (session) => session.send(`You said: ${session.message?.text}`));
    await say('100% %s %(x)');
    expect(texts()).toEqual(['You said: 100% %s %(x)']);
  });

  it('throws INVALID_TEMPLATE for a missing positional argument', async () => {
    const { bot, say } = makeBot();
    let caught: unknown;
    bot.dialog('/', (session) => {
      try {
        // @ts-expect-error: the compiler refuses it too; this pins the run-time check
        session.send('Hello %s and %s', 'Lars');
      } catch (error) {
        caught = error;
      }
    });
    await say('hi');
    expect(caught).toMatchObject({ code: 'INVALID_TEMPLATE' });
  });

  it('throws INVALID_TEMPLATE for a named parameter without its type', async () => {
    const { bot, say } = makeBot();
    let caught: unknown;
    bot.dialog('/', (session) => {
      try {
        // @ts-expect-error: the compiler refuses it too; this pins the run-time check
        session.send('Hello there %(name)', { name: 'Lars' });
      } catch (error) {
        caught = error;
      }
    });
    await say('hi');
    expect(caught).toMatchObject({ code: 'INVALID_TEMPLATE' });
  });

  it('fails the turn with INVALID_TEMPLATE when a step lets the error through', async () => {
    const { bot, say } = makeBot();
    // @ts-expect-error: the compiler refuses it too; this pins the run-time check
    bot.dialog('/', (session) => session.send('Hello %(name)s', {}));
    const result = await say('hi');
    expect(result.error).toMatchObject({ code: 'INVALID_TEMPLATE' });
  });

  it('sends a message with attachments in the channel-neutral shape', async () => {
    const { bot, say, delivered } = makeBot();
    bot.dialog('/', (session) =>
      session.send({
        text: 'look',
        attachments: [{ contentType: 'image/png', contentUrl: 'https://example.com/a.png' }],
      }),
    );
    await say('hi');
    expect(delivered[0]?.messages).toEqual([
      {
        type: 'message',
        text: 'look',
        attachments: [{ contentType: 'image/png', contentUrl: 'https://example.com/a.png' }],
      },
    ]);
  });

  it('formats the text of a message object when arguments follow', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', (session) => session.send({ text: 'Hello %s' }, 'Lars'));
    await say('hi');
    expect(texts()).toEqual(['Hello Lars']);
  });

  it('sends a Message builder with its cards', async () => {
    const { bot, say, delivered } = makeBot();
    bot.dialog('/', (session) =>
      session.send(new Message().text('card:').addAttachment(new HeroCard().title('Space Needle'))),
    );
    await say('hi');
    expect(delivered[0]?.messages).toEqual([
      {
        type: 'message',
        text: 'card:',
        attachments: [{ contentType: CardContentType.hero, content: { title: 'Space Needle' } }],
      },
    ]);
  });

  it('rejects a message that does not fit the schema with INVALID_MESSAGE', async () => {
    const { bot, say } = makeBot();
    bot.dialog('/', (session) => session.send({ text: 42 } as never));
    expect((await say('hi')).error).toMatchObject({ code: 'INVALID_MESSAGE' });
  });

  it('rejects a plain card attachment with a wrong field with INVALID_MESSAGE', async () => {
    const { bot, say } = makeBot();
    bot.dialog('/', (session) =>
      session.send({
        attachments: [{ contentType: CardContentType.hero, content: { buttons: [{ type: 'call', value: 'x' }] } }],
      }),
    );
    expect((await say('hi')).error).toMatchObject({ code: 'INVALID_MESSAGE' });
  });

  it('sends the message of endDialog as a template when arguments follow', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', (session) => session.endDialog('%d items found', 3));
    await say('hi');
    expect(texts()).toEqual(['3 items found']);
  });

  it('keeps the replies of a turn in order in one batch', async () => {
    const { bot, say, delivered } = makeBot();
    bot.dialog('/', (session) => session.send('one').send('two').send('three'));
    await say('hi');
    expect(delivered.map((d) => d.messages.map((m) => m.text))).toEqual([['one', 'two', 'three']]);
  });
});

describe('data scopes', () => {
  it('keeps userData for the user across conversations', async () => {
    const { bot, say, texts } = makeBot<E, U, C, P>();
    bot.dialog('/', (session) => {
      session.userData.visits = (session.userData.visits ?? 0) + 1;
      session.send('visit %d', session.userData.visits);
    });
    await say('hi', address('lars', 'c1'));
    await say('hi', address('lars', 'c2'));
    expect(texts()).toEqual(['visit 1', 'visit 2']);
  });

  it('shares conversationData between the users of a conversation', async () => {
    const { bot, say, texts } = makeBot<E, U, C, P>();
    bot.dialog('/', (session) => {
      const members = (session.conversationData.members ??= []);
      members.push(session.address.user.id);
      session.send(members.join(','));
    });
    await say('hi', address('ann', 'room'));
    await say('hi', address('bob', 'room'));
    expect(texts()).toEqual(['ann', 'ann,bob']);
  });

  it('keeps privateConversationData to one user in one conversation', async () => {
    const { bot, say, texts } = makeBot<E, U, C, P>();
    bot.dialog('/', (session) => {
      session.send('before: %s', session.privateConversationData.step ?? 'none');
      session.privateConversationData.step = session.message?.text;
    });
    await say('one', address('ann', 'room'));
    await say('two', address('bob', 'room'));
    await say('three', address('ann', 'other'));
    await say('four', address('ann', 'room'));
    expect(texts()).toEqual(['before: none', 'before: none', 'before: none', 'before: one']);
  });

  it('gives each dialog instance its own dialogData, back to the caller when the child ends', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', [
      (session) => {
        session.dialogData.mine = 'root';
        session.beginDialog('/child');
      },
      (session) => session.send('root sees %s', String(session.dialogData.mine)),
    ]);
    bot.dialog('/child', [
      (session) => {
        session.send('child sees %s', String(session.dialogData.mine));
        session.dialogData.mine = 'child';
        Prompts.text(session, 'say something');
      },
      (session) => session.endDialog('child had %s', String(session.dialogData.mine)),
    ]);
    await say('hi');
    await say('something');
    expect(texts()).toEqual(['child sees undefined', 'say something', 'child had child', 'root sees root']);
  });

  it('keeps entities for the session', async () => {
    const { bot, say, texts } = makeBot<E>();
    bot.dialog('/', (session) => {
      session.send('name: %s', session.entities.UserName ?? '?');
      session.entities.UserName = session.message?.text;
    });
    await say('Lars');
    await say('again');
    expect(texts()).toEqual(['name: ?', 'name: Lars']);
  });

  it('saves no data scope of a turn that failed', async () => {
    const { bot, say, texts } = makeBot<E, U, C, P>();
    bot.dialog('/', (session) => {
      const d = session.dialogData;
      session.send(
        '%s|%s|%s|%s|%s',
        session.userData.visits ?? 0,
        session.conversationData.topic ?? '-',
        session.privateConversationData.step ?? '-',
        session.entities.UserName ?? '-',
        d.n ?? '-',
      );
      session.userData.visits = (session.userData.visits ?? 0) + 1;
      session.conversationData.topic = session.message?.text;
      session.privateConversationData.step = session.message?.text;
      session.entities.UserName = session.message?.text;
      d.n = session.message?.text;
      if (session.message?.text === 'fail') throw new Error('boom');
    });
    await say('ok');
    await say('fine');
    await say('fail');
    await say('check');
    // The failed turn is undone, and its conversation ended: privateConversationData and the dialog's data are gone.
    expect(texts()).toEqual([
      '0|-|-|-|-',
      '1|ok|ok|ok|ok',
      'Oops. Something went wrong and we need to start over.',
      '2|fine|-|fine|-',
    ]);
  });

  it('types the data scopes from the manager generics', async () => {
    const { bot, say, texts } = makeBot<E, U, C, P>();
    bot.dialog('/', (session: Session<E, U, C, P>) => {
      session.userData.profile = { name: 'Lars' };
      session.send(session.userData.profile.name ?? '');
    });
    await say('hi');
    expect(texts()).toEqual(['Lars']);
  });
});

describe('sendTyping', () => {
  it('sends a typing indicator at once, while the step still works', async () => {
    const { bot, say, delivered } = makeBot({ autoBatchDelay: 250 });
    const work = deferred();
    bot.dialog('/', async (session) => {
      session.sendTyping();
      await work.promise;
      session.send('done');
    });
    const turn = say('count');
    await vi.advanceTimersByTimeAsync(0);
    expect(delivered.map((d) => d.messages)).toEqual([[{ type: 'typing' }]]);
    work.resolve();
    await turn;
  });

  it('goes out behind the replies already queued in the turn', async () => {
    const { bot, say, delivered } = makeBot();
    bot.dialog('/', (session) => {
      session.send('first');
      session.sendTyping();
      session.send('second');
    });
    await say('hi');
    expect(delivered.map((d) => d.messages.map((m) => m.text ?? m.type))).toEqual([['first', 'typing'], ['second']]);
  });

  it('still works after the turn ended', async () => {
    const { bot, say, delivered } = makeBot();
    let kept: Session | undefined;
    bot.dialog('/', (session) => {
      kept = session;
    });
    await say('hi');
    kept!.sendTyping();
    await vi.advanceTimersByTimeAsync(0);
    expect(delivered.map((d) => d.messages)).toEqual([[{ type: 'typing' }]]);
  });
});

describe('sendBatch', () => {
  it('saves the state before it delivers', async () => {
    const seen: unknown[] = [];
    const h = makeBot<E>({
      deliver: async () => {
        seen.push((await h.stored())?.entities);
      },
    });
    h.bot.dialog('/', async (session) => {
      session.entities.UserName = 'Lars';
      session.send('saved?');
      await session.sendBatch();
      session.entities.UserName = 'Later';
    });
    await h.say('hi');
    expect(seen).toEqual([{ UserName: 'Lars' }]);
  });

  it('delivers the replies so far ahead of the rest of the turn', async () => {
    const { bot, say, delivered } = makeBot({ autoBatchDelay: 250 });
    bot.dialog('/', async (session) => {
      session.send('working on it');
      await session.sendBatch();
      session.send('done');
    });
    await say('hi');
    await vi.advanceTimersByTimeAsync(250);
    expect(delivered.map((d) => d.messages.map((m) => m.text))).toEqual([['working on it'], ['done']]);
  });

  it('resolves only once the batch is delivered', async () => {
    const gate = deferred();
    const { bot, say } = makeBot({ deliver: () => gate.promise });
    const events: string[] = [];
    bot.dialog('/', async (session) => {
      session.send('one');
      const sent = session.sendBatch().then(() => events.push('delivered'));
      await vi.advanceTimersByTimeAsync(0);
      events.push('waiting');
      gate.resolve();
      await sent;
    });
    await say('hi');
    expect(events).toEqual(['waiting', 'delivered']);
  });

  it('calls the callback once delivered', async () => {
    const { bot, say } = makeBot();
    const done = vi.fn();
    bot.dialog('/', async (session) => {
      session.send('one');
      await new Promise<void>((resolve) =>
        session.sendBatch((error) => {
          done(error);
          resolve();
        }),
      );
    });
    await say('hi');
    expect(done).toHaveBeenCalledWith(undefined);
  });

  it('passes the DeliveryError to the callback when delivery keeps failing', async () => {
    const { bot, say } = makeBot({ deliver: () => Promise.reject(new Error('down')), deliveryRetry: { retries: 0 } });
    let passed: unknown;
    bot.dialog('/', async (session) => {
      session.send('one');
      await new Promise<void>((resolve) =>
        session.sendBatch((error) => {
          passed = error;
          resolve();
        }),
      );
    });
    await say('hi');
    expect(passed).toMatchObject({ code: 'DELIVERY_FAILED', messages: [{ type: 'message', text: 'one' }] });
  });

  it('rejects with the DeliveryError and reports it as an error event', async () => {
    const { bot, say, errors } = makeBot({
      deliver: () => Promise.reject(new Error('down')),
      deliveryRetry: { retries: 0 },
    });
    let rejected: unknown;
    bot.dialog('/', async (session) => {
      session.send('one');
      await session.sendBatch().catch((error: unknown) => (rejected = error));
    });
    await say('hi');
    expect([rejected, errors[0]]).toEqual([expect.objectContaining({ code: 'DELIVERY_FAILED' }), rejected]);
  });

  it('finishes saving before the turn commits, even when not awaited', async () => {
    const { bot, say, stored, texts, errors } = makeBot<E>({ store: slowStore() });
    bot.dialog('/', (session) => {
      session.entities.UserName = 'first';
      session.send('one');
      void session.sendBatch();
      session.entities.UserName = 'second';
      session.send('two');
    });
    const result = await say('hi');
    expect([texts(), (await stored())?.entities, result.session.turnCount, errors]).toEqual([
      ['one', 'two'],
      { UserName: 'second' },
      1,
      [],
    ]);
  });

  it('counts the turn once however often it saves', async () => {
    const { bot, say } = makeBot();
    bot.dialog('/', async (session) => {
      await session.sendBatch();
      await session.sendBatch();
    });
    await say('one');
    expect((await say('two')).session.turnCount).toBe(2);
  });

  it('resolves after the turn ended, with nothing to save', async () => {
    const { bot, say, texts } = makeBot();
    let kept: Session | undefined;
    bot.dialog('/', (session) => {
      kept = session;
    });
    await say('hi');
    kept!.send('late');
    await expect(kept!.sendBatch()).resolves.toBeUndefined();
    expect(texts()).toEqual(['late']);
  });
});

describe('after the turn', () => {
  it('sends a reply at once when send is called after the turn ended', async () => {
    const { bot, say, texts } = makeBot({ autoBatchDelay: 250 });
    let kept: Session | undefined;
    bot.dialog('/', (session) => {
      kept = session;
    });
    await say('hi');
    kept!.send('from a callback');
    await vi.advanceTimersByTimeAsync(0);
    expect(texts()).toEqual(['from a callback']);
  });

  it('throws TURN_ENDED for a dialog operation after the turn ended', async () => {
    const { bot, say } = makeBot();
    let kept: Session | undefined;
    bot.dialog('/', (session) => {
      kept = session;
    });
    await say('hi');
    expect(() => kept!.endDialog('too late')).toThrow(expect.objectContaining({ code: 'TURN_ENDED' }));
  });

  it.each([
    ['beginDialog', (s: Session) => s.beginDialog('/')],
    ['replaceDialog', (s: Session) => s.replaceDialog('/')],
    ['endDialogWithResult', (s: Session) => s.endDialogWithResult({ response: 1 })],
    ['discard', (s: Session) => s.discard()],
  ])('names %s() in the TURN_ENDED message of a late call', async (method, call) => {
    const { bot, say } = makeBot();
    let kept: Session | undefined;
    bot.dialog('/', (session) => {
      kept = session;
    });
    await say('hi');
    expect(() => call(kept!)).toThrow(
      expect.objectContaining({
        code: 'TURN_ENDED',
        message: expect.stringMatching(new RegExp(`^session\\.${method}\\(\\) was called after`)),
      }),
    );
  });

  it('names both methods in the DIALOG_ACTION_CONFLICT message', async () => {
    const { bot, say } = makeBot();
    bot.dialog('other', (session) => void session.send('x'));
    bot.dialog('/', (session) => {
      session.beginDialog('other');
      session.endDialogWithResult();
    });
    expect((await say('hi')).error).toMatchObject({
      code: 'DIALOG_ACTION_CONFLICT',
      message: expect.stringContaining('(beginDialog() then endDialogWithResult())'),
    });
  });
});

describe('batching through the outbox', () => {
  it('waits autoBatchDelay after the turn, then delivers its replies in one call', async () => {
    const { bot, say, delivered } = makeBot({ autoBatchDelay: 250 });
    bot.dialog('/', (session) => session.send('one').send('two'));
    await say('hi');
    await vi.advanceTimersByTimeAsync(249);
    expect(delivered).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(delivered.map((d) => d.messages.map((m) => m.text))).toEqual([['one', 'two']]);
  });

  it('merges the replies of turns closer together than autoBatchDelay', async () => {
    const { bot, say, delivered } = makeBot({ autoBatchDelay: 250 });
    bot.dialog('/', (session) => session.send(session.message?.text ?? ''));
    await say('one');
    await vi.advanceTimersByTimeAsync(100);
    await say('two');
    await vi.advanceTimersByTimeAsync(250);
    expect(delivered.map((d) => d.messages.map((m) => m.text))).toEqual([['one', 'two']]);
  });

  it('delivers at the end of the turn with autoBatchDelay 0', async () => {
    const { bot, say, texts } = makeBot({ autoBatchDelay: 0 });
    bot.dialog('/', (session) => session.send('now'));
    await say('hi');
    expect(texts()).toEqual(['now']);
  });

  it('does not wait for the batching delay or the delivery to resolve receive()', async () => {
    const { bot, say } = makeBot({ autoBatchDelay: 250, deliver: () => new Promise<void>(() => undefined) });
    bot.dialog('/', (session) => session.send('slow'));
    await expect(say('hi')).resolves.toMatchObject({ replies: [{ text: 'slow' }] });
  });

  it('flushes the replies of a prompt without the delay', async () => {
    const { bot, say, texts } = makeBot({ autoBatchDelay: 250 });
    bot.dialog('/', (session) => {
      session.send('Welcome.');
      Prompts.text(session, 'Your name?');
    });
    await say('hi');
    expect(texts()).toEqual(['Welcome.', 'Your name?']);
  });

  it('flushes the replies of endConversation without the delay', async () => {
    const { bot, say, texts } = makeBot({ autoBatchDelay: 250 });
    bot.dialog('/', (session) => session.endConversation('Goodbye.'));
    await say('bye');
    expect(texts()).toEqual(['Goodbye.']);
  });

  it('never lets a later turn overtake an earlier one while deliver is slow', async () => {
    const gate = deferred();
    const order: string[] = [];
    const { bot, say } = makeBot({
      deliver: async (_to, messages) => {
        if (messages[0]?.text === 'one') await gate.promise;
        order.push(messages[0]!.text!);
      },
    });
    bot.dialog('/', (session) => session.send(session.message?.text ?? ''));
    await say('one');
    await say('two');
    await vi.advanceTimersByTimeAsync(5000);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(order).toEqual(['one', 'two']);
  });
});

describe('manager.send (proactive)', () => {
  it('reaches the user outside any turn', async () => {
    const { bot, delivered } = makeBot();
    await bot.send(address(), 'Your pizza is on its way!');
    expect(delivered).toEqual([
      { address: address(), messages: [{ type: 'message', text: 'Your pizza is on its way!' }] },
    ]);
  });

  it('goes behind the replies still waiting for the same address, in one batch', async () => {
    const { bot, say, delivered } = makeBot({ autoBatchDelay: 250 });
    bot.dialog('/', (session) => session.send('Starting your order...'));
    await say('pizza');
    await bot.send(address(), 'Your pizza is on its way!');
    expect(delivered.map((d) => d.messages.map((m) => m.text))).toEqual([
      ['Starting your order...', 'Your pizza is on its way!'],
    ]);
  });

  it('formats templates and takes a Message builder', async () => {
    const { bot, texts } = makeBot();
    await bot.send(address(), 'Order %s is ready', '42');
    await bot.send(address(), new Message().text('Table %d', 7));
    expect(texts()).toEqual(['Order 42 is ready', 'Table 7']);
  });

  it('rejects a template that does not fit with INVALID_TEMPLATE', async () => {
    const { bot } = makeBot();
    // @ts-expect-error: the compiler refuses it too; this pins the run-time check
    await expect(bot.send(address(), 'Order %s of %s', '42')).rejects.toMatchObject({ code: 'INVALID_TEMPLATE' });
  });

  it('rejects with a DeliveryError after retrying, and reports it', async () => {
    const { bot, errors } = makeBot({
      deliver: () => Promise.reject(new Error('down')),
      deliveryRetry: { retries: 2, minDelay: 10 },
    });
    const sent = bot.send(address(), 'hello');
    const outcome = expect(sent).rejects.toMatchObject({
      code: 'DELIVERY_FAILED',
      messages: [{ type: 'message', text: 'hello' }],
    });
    await vi.advanceTimersByTimeAsync(1000);
    await outcome;
    expect(errors.map((e) => e.code)).toEqual(['DELIVERY_FAILED']);
  });
});
