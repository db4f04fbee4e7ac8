// Interruptions and middleware: triggers, scoped and global actions, confirm prompts, dialogAction presses,
// bot.use and session.error, on both stores (MemoryStore, and RedisStore against a real redis-server).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryStore, Prompts, ResumeReason, SessionManager, type ActionArgs, type SessionStore } from '../../src';
import { RedisStore } from '../../src/redis';
import { createTestClient, type TestClient } from '../../src/testing';
import { describeRedis, RedisServer } from '../redis/server';

type MakeStore = () => SessionStore;

/** A bot on `store` and a user talking to it; `close()` closes both. */
function setup(makeStore: MakeStore, options: { trace?: (line: string) => void } = {}) {
  const bot = new SessionManager({
    deliver: () => undefined,
    autoBatchDelay: 0,
    store: makeStore(),
    trace: options.trace,
  });
  bot.on('error', () => undefined); // failed turns are asserted through their results
  const client = createTestClient(bot, { advance: async () => undefined });
  const close = async () => {
    await client.close();
    await bot.close();
  };
  return { bot, client, close };
}

/**
 * The pizza order used by most tests: '/' begins '/order' and reports how it came back; '/order' asks for a number of
 * pizzas (up to two retries), then a topping. '/order' declares `cancelOrder` (with a confirm prompt) and `orderHelp`.
 */
function pizzaBot(makeStore: MakeStore, options: { trace?: (line: string) => void } = {}) {
  const made = setup(makeStore, options);
  const { bot } = made;
  bot.dialog('/', [
    (session) => session.beginDialog('/order'),
    (session, results) => session.endDialog('Back at the root: %s.', results.resumed),
  ]);
  bot.dialog(
    '/order',
    [
      (session) => Prompts.number(session, 'How many pizzas?', { maxRetries: 2 }),
      (session, results) => {
        if (results.response === undefined) return session.endDialog('No number, no pizza.');
        session.dialogData.count = results.response;
        Prompts.text(session, 'Which topping?');
      },
      (session, results) =>
        session.endDialog('%d pizzas with %s.', session.dialogData.count as number, results.response as string),
    ],
    {
      actions: {
        cancelOrder: { matches: /^cancel$/i, cancel: 'Order canceled.', confirmPrompt: 'Cancel your order?' },
        orderHelp: { matches: /^help$/i, beginDialog: '/orderHelp' },
      },
    },
  );
  bot.dialog('/orderHelp', (session, args: ActionArgs<{ topic: string }>) =>
    session.endDialog(`Order help${args.data ? ` on ${args.data.topic}` : ''}.`),
  );
  return made;
}

async function talk(client: TestClient, ...lines: string[]): Promise<(string | undefined)[]> {
  for (const line of lines) await client.say(line);
  return client.replies();
}

function behaviours(makeStore: MakeStore): void {
  describe('triggers and actions', () => {
    it('re-asks a waiting number prompt after a help interruption ends, its retry count untouched', async () => {
      const { bot, client, close } = setup(makeStore);
      bot.dialog('/help', (session) => session.endDialog('Just type a number.'), {
        triggerAction: { matches: /^help$/i, interrupt: true },
      });
      bot.dialog('/', [
        (session) => Prompts.number(session, 'How many?', { maxRetries: 1 }),
        (session, r) =>
          r.resumed === ResumeReason.completed
            ? session.endDialog('Got %d.', r.response)
            : session.endDialog('Gave up.'),
      ]);
      expect(await talk(client, 'hi', 'lots')).toEqual(['How many?', "I didn't understand. How many?"]);
      expect(await talk(client, 'help')).toEqual(['Just type a number.', 'How many?']);
      // Had the help counted as a second wrong answer, maxRetries 1 would have given up at it.
      expect(await talk(client, '4')).toEqual(['Got 4.']);
      await close();
    });

    it('begins a scoped action’s dialog on top, then the prompt below asks again', async () => {
      const { client, close } = pizzaBot(makeStore);
      expect(await talk(client, 'hi')).toEqual(['How many pizzas?']);
      expect(await talk(client, 'help')).toEqual(['Order help.', 'How many pizzas?']);
      expect(await talk(client, '2', 'ham')).toEqual([
        'Which topping?',
        '2 pizzas with ham.',
        'Back at the root: completed.',
      ]);
      await close();
    });

    it('cancels the declaring dialog when the user confirms, and its caller resumes as not completed', async () => {
      const { client, close } = pizzaBot(makeStore);
      await talk(client, 'hi', '2');
      expect(await talk(client, 'cancel')).toEqual(['Cancel your order?']);
      expect(await talk(client, 'yes')).toEqual(['Order canceled.', 'Back at the root: notCompleted.']);
      await close();
    });

    it('returns the user to where they were, re-prompted, when they do not confirm the cancel', async () => {
      const { client, close } = pizzaBot(makeStore);
      await talk(client, 'hi', '2');
      await talk(client, 'cancel');
      expect(await talk(client, 'no')).toEqual(['Which topping?']);
      expect(await talk(client, 'olives')).toEqual(['2 pizzas with olives.', 'Back at the root: completed.']);
      await close();
    });

    it('fires an action declared by a dialog lower in the stack, removing the dialogs above it', async () => {
      const { bot, client, close } = setup(makeStore);
      bot.dialog('/', [
        (session) => session.beginDialog('/order'),
        (session, results) => session.endDialog('Root got %s.', results.resumed),
      ]);
      bot.dialog(
        '/order',
        [(session) => session.beginDialog('/address'), (session) => session.endDialog('Order done.')],
        {
          actions: { stop: { matches: 'stop', cancel: 'Stopped the order.' } },
        },
      );
      bot.dialog('/address', [
        (session) => Prompts.text(session, 'Street?'),
        (session) => Prompts.text(session, 'Town?'),
        (session) => session.endDialog(),
      ]);
      expect(await talk(client, 'hi', 'Main St')).toEqual(['Street?', 'Town?']);
      expect(await talk(client, '  STOP ')).toEqual(['Stopped the order.', 'Root got notCompleted.']);
      await close();
    });

    it('clears the stack for a trigger without interrupt, so nothing re-asks when its dialog ends', async () => {
      const { bot, client, close } = pizzaBot(makeStore);
      bot.dialog('/menu', (session) => session.endDialog('Menu: pizza, pasta.'), {
        triggerAction: { matches: 'menu' },
      });
      await talk(client, 'hi', '2');
      const result = await client.say('Menu');
      expect(await client.replies()).toEqual(['Menu: pizza, pasta.']);
      expect(result.session.currentDialogState).toBeUndefined();
      // The stack was empty: the next message begins the root dialog afresh.
      expect(await talk(client, 'again')).toEqual(['How many pizzas?']);
      await close();
    });

    it('lets the innermost dialog’s action win when several match', async () => {
      const { bot, client, close } = setup(makeStore);
      bot.action('help', { matches: 'help', beginDialog: '/globalHelp' });
      bot.dialog('/', [(session) => session.beginDialog('/inner'), (session) => session.endDialog()], {
        actions: { help: { matches: 'help', beginDialog: '/outerHelp' } },
      });
      bot.dialog('/inner', [(session) => Prompts.text(session, 'Name?'), (session) => session.endDialog()], {
        actions: { help: { matches: /help/, beginDialog: '/innerHelp' } },
      });
      for (const id of ['/globalHelp', '/outerHelp', '/innerHelp']) bot.dialog(id, (session) => session.endDialog(id));
      await talk(client, 'hi');
      expect(await talk(client, 'help')).toEqual(['/innerHelp', 'Name?']);
      await close();
    });

    it('tries triggers and global actions in registration order', async () => {
      const { bot, client, close } = setup(makeStore);
      bot.dialog('/', (session) => session.send('root'));
      bot.action('first', { matches: /^b/, beginDialog: '/first' });
      bot.dialog('/second', (session) => session.endDialog('second'), { triggerAction: { matches: 'bye' } });
      bot.dialog('/first', (session) => session.endDialog('first'));
      expect(await talk(client, 'bye')).toEqual(['first']);
      await close();
    });

    it('ends the conversation for an endConversation action', async () => {
      const { bot, client, close } = pizzaBot(makeStore);
      bot.action('goodbye', { matches: /^(bye|goodbye)$/i, endConversation: 'Goodbye!' });
      await talk(client, 'hi', '2');
      const result = await client.say('bye');
      expect(await client.replies()).toEqual(['Goodbye!']);
      expect(result.session.currentDialogState).toBeUndefined();
      await close();
    });

    it('clears the stack before beginning the dialog of a replace action', async () => {
      const { bot, client, close } = pizzaBot(makeStore);
      bot.action('startOver', { matches: 'start over', beginDialog: '/', replace: true });
      await talk(client, 'hi', '2');
      expect(await talk(client, 'start over')).toEqual(['How many pizzas?']);
      // Nothing from before is under it: finishing the order ends at the new root.
      expect(await talk(client, '1', 'ham')).toEqual([
        'Which topping?',
        '1 pizzas with ham.',
        'Back at the root: completed.',
      ]);
      await close();
    });

    it('runs a matcher function, awaiting its promise', async () => {
      const { bot, client, close } = pizzaBot(makeStore);
      const seen: (string | undefined)[] = [];
      bot.action('shout', {
        matches: async (message, session) => {
          seen.push(session.info.currentDialogState?.id);
          return message.text === message.text?.toUpperCase() && /[A-Z]/.test(message.text ?? '');
        },
        beginDialog: '/calm',
      });
      bot.dialog('/calm', (session, args: ActionArgs) =>
        session.endDialog('No need to shout "%s".', args.matched[0] ?? ''),
      );
      await talk(client, 'hi');
      expect(await talk(client, 'HEY')).toEqual(['No need to shout "HEY".', 'How many pizzas?']);
      // It ran on each message: the first (nothing on the stack yet) and the shout (a number prompt waiting).
      expect(seen).toEqual([undefined, 'palaver:prompt:number']);
      await close();
    });

    it('asks a trigger’s confirmPrompt before it switches dialogs', async () => {
      const { bot, client, close } = pizzaBot(makeStore);
      bot.dialog('/menu', (session) => session.endDialog('Menu.'), {
        triggerAction: { matches: 'menu', confirmPrompt: 'Leave your order?' },
      });
      await talk(client, 'hi');
      expect(await talk(client, 'menu')).toEqual(['Leave your order?']);
      expect(await talk(client, 'yes')).toEqual(['Menu.']);
      await close();
    });

    it('shows the matched action in the trace', async () => {
      const lines: string[] = [];
      const { client, close } = pizzaBot(makeStore, { trace: (line) => lines.push(line) });
      await talk(client, 'hi', 'cancel');
      expect(
        lines.some((line) => line.includes('action cancelOrder matched (declared by /order), asking to confirm')),
      ).toBe(true);
      await close();
    });
  });

  describe('dialogAction presses', () => {
    it('triggers the named action with the button’s data, whatever the message’s text', async () => {
      const { bot, client, close } = pizzaBot(makeStore);
      bot.action('goodbye', { matches: /bye/, endConversation: 'Goodbye!' });
      await talk(client, 'hi');
      await client.say({ text: 'bye', value: { dialogAction: 'orderHelp', data: { topic: 'sizes' } } });
      expect(await client.replies()).toEqual(['Order help on sizes.', 'How many pizzas?']);
      await close();
    });

    it('gives the action’s dialog { action, data, matched } as its args', async () => {
      const { bot, client, close } = setup(makeStore);
      const got: unknown[] = [];
      bot.dialog('/', (session) => session.send('root'));
      bot.action('show', { matches: /^show (\w+)(?: (\d+))?$/, beginDialog: '/show' });
      bot.dialog('/show', (session, args: ActionArgs) => {
        got.push(args);
        session.endDialog();
      });
      await client.say('show sizes');
      await client.say({ value: { dialogAction: 'show', data: { page: 2 } } });
      expect(got).toEqual([
        { action: 'show', data: undefined, matched: ['show sizes', 'sizes', ''] },
        { action: 'show', data: { page: 2 }, matched: [] },
      ]);
      await close();
    });

    it('hands a press for an action not in force to the dialog on top', async () => {
      const { client, close } = pizzaBot(makeStore);
      await talk(client, 'hi', '2', 'ham');
      // The order is over: cancelOrder belongs to /order, which is not on the stack, so the press begins the root dialog.
      await client.say({ value: { dialogAction: 'cancelOrder' } });
      expect(await client.replies()).toEqual(['How many pizzas?']);
      await close();
    });
  });

  describe('middleware', () => {
    it('runs middleware in the order added, around the dialogs', async () => {
      const { bot, client, close } = setup(makeStore);
      const order: string[] = [];
      bot.use(async (_session, next) => {
        order.push('a in');
        await next();
        order.push('a out');
      });
      bot.use(async (_session, next) => {
        order.push('b in');
        await next();
        order.push('b out');
      });
      bot.dialog('/', (session) => {
        order.push('dialog');
        session.send('hello');
      });
      await client.say('hi');
      expect(order).toEqual(['a in', 'b in', 'dialog', 'b out', 'a out']);
      expect(await client.replies()).toEqual(['hello']);
      await close();
    });

    it('skips the actions and dialogs when a middleware does not call next, and keeps what it changed', async () => {
      const { bot, client, close } = pizzaBot(makeStore);
      bot.use(async (session, next) => {
        if (session.message?.text === 'ping') {
          session.userData.pings = ((session.userData.pings as number | undefined) ?? 0) + 1;
          session.send('pong %d', session.userData.pings as number);
          return;
        }
        await next();
      });
      await talk(client, 'hi');
      expect(await talk(client, 'ping', 'ping')).toEqual(['pong 1', 'pong 2']);
      // The prompt did not see the pings: no retry, and it still takes its answer.
      expect(await talk(client, '3')).toEqual(['Which topping?']);
      await close();
    });

    it('fails the turn like a throwing step when a middleware throws', async () => {
      const { bot, client, close } = pizzaBot(makeStore);
      bot.use(async (session, next) => {
        if (session.message?.text === 'boom') throw new Error('middleware broke');
        await next();
      });
      await talk(client, 'hi', '2');
      const result = await client.say('boom');
      expect(result.error).toMatchObject({
        code: 'DIALOG_FAILED',
        cause: expect.objectContaining({ message: 'middleware broke' }),
      });
      expect(result.session.currentDialogState).toBeUndefined();
      expect(await client.replies()).toEqual(['Oops. Something went wrong and we need to start over.']);
      await close();
    });

    it('lets events through middleware', async () => {
      const { bot, client, close } = setup(makeStore);
      const seen: (string | undefined)[] = [];
      bot.use(async (session, next) => {
        seen.push(`${session.message?.type}:${session.message?.name}`);
        await next();
      });
      bot.dialog('/', (session) => session.send('root'));
      await client.event('conversationUpdate');
      expect(seen).toEqual(['event:conversationUpdate']);
      await close();
    });

    it('lets a middleware see what the actions and dialogs did once next() resolves', async () => {
      const { bot, client, close } = pizzaBot(makeStore);
      const tops: (string | undefined)[] = [];
      bot.use(async (session, next) => {
        await next();
        tops.push(session.info.currentDialogState?.id);
      });
      await talk(client, 'hi', 'cancel');
      expect(tops).toEqual(['palaver:prompt:number', 'palaver:prompt:confirm']);
      await close();
    });

    it('carries out a stack operation a middleware asked for instead of routing the message', async () => {
      const { bot, client, close } = pizzaBot(makeStore);
      bot.use(async (session, next) => {
        if (session.message?.text === 'reset') session.endConversation('Starting over.');
        else await next();
      });
      await talk(client, 'hi', '2');
      const result = await client.say('reset');
      expect(await client.replies()).toEqual(['Starting over.']);
      expect(result.session.currentDialogState).toBeUndefined();
      await close();
    });

    it('fails the turn when a middleware reports an error with session.error', async () => {
      const { bot, client, close } = pizzaBot(makeStore);
      const cause = new Error('rate limited');
      bot.use((session) => void session.error(cause));
      const result = await client.say('hi');
      expect(result.error).toMatchObject({ code: 'DIALOG_FAILED', cause });
      await close();
    });

    it('rejects a second next() call with NEXT_CALLED_TWICE', async () => {
      const { bot, client, close } = setup(makeStore);
      bot.use(async (_session, next) => {
        await next();
        await next();
      });
      bot.dialog('/', (session) => session.send('root'));
      const result = await client.say('hi');
      expect(result.error).toMatchObject({ code: 'NEXT_CALLED_TWICE' });
      await close();
    });
  });

  describe('session.error', () => {
    it('fails the turn as a throwing step does: the error message, the conversation ended, the cause kept', async () => {
      const { bot, client, close } = setup(makeStore);
      const cause = new Error('lookup failed');
      bot.dialog('/', [(session) => Prompts.text(session, 'City?'), (session) => session.error(cause)]);
      await talk(client, 'hi');
      const result = await client.say('Oslo');
      expect(result.error).toMatchObject({ code: 'DIALOG_FAILED', cause });
      expect(result.session.currentDialogState).toBeUndefined();
      expect(await client.replies()).toEqual(['Oops. Something went wrong and we need to start over.']);
      expect(await talk(client, 'again')).toEqual(['City?']);
      await close();
    });

    it('takes the place of a stack operation the step asked for', async () => {
      const { bot, client, close } = setup(makeStore);
      bot.dialog('/', (session) => {
        session.beginDialog('/other');
        session.error(new Error('changed my mind'));
      });
      bot.dialog('/other', (session) => session.send('other'));
      const result = await client.say('hi');
      expect(result.error).toMatchObject({ code: 'DIALOG_FAILED' });
      expect(await client.replies()).toEqual(['Oops. Something went wrong and we need to start over.']);
      await close();
    });
  });
}

describe('actions and middleware on MemoryStore', () => {
  behaviours(() => new MemoryStore({ maxSessions: 100 }));
});

let server: RedisServer | undefined;
let prefixes = 0;
describeRedis('actions and middleware on RedisStore', () => {
  beforeAll(async () => {
    server = await RedisServer.start();
  });
  afterAll(async () => {
    await server?.dispose();
  });
  behaviours(() => new RedisStore({ url: server!.url, prefix: `actions${prefixes++}`, commandTimeout: 2000 }));
});

describe('registering actions', () => {
  const bot = () => new SessionManager({ deliver: () => undefined, store: new MemoryStore({ maxSessions: 10 }) });

  it('rejects a second global action with the same name', () => {
    const b = bot();
    b.action('help', { matches: 'help', beginDialog: '/help' });
    expect(() => b.action('help', { matches: '?', beginDialog: '/help' })).toThrow(
      expect.objectContaining({ code: 'ACTION_EXISTS' }),
    );
  });

  it('rejects an action that does two things', () => {
    expect(() => bot().action('x', { matches: 'x', beginDialog: '/x', cancel: true })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('rejects an action that does nothing', () => {
    expect(() => bot().dialog('/', () => undefined, { actions: { x: { matches: 'x' } } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('rejects a matcher that is not a RegExp, string or function', () => {
    expect(() => bot().action('x', { matches: 42 as unknown as string, cancel: true })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('rejects a trigger without matches', () => {
    expect(() => bot().dialog('/', () => undefined, { triggerAction: {} as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('rejects middleware that is not a function', () => {
    expect(() => bot().use('log' as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('keeps no actions of a dialog whose id is taken', () => {
    const b = bot();
    b.dialog('/', () => undefined);
    expect(() => b.dialog('/', () => undefined, { triggerAction: { matches: 'x' } })).toThrow(
      expect.objectContaining({ code: 'DIALOG_EXISTS' }),
    );
    expect(() => b.action('/', { matches: 'y', cancel: true })).not.toThrow();
  });
});
