import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConsoleAdapter, renderMessage, type ConsoleAdapterOptions, type ConsoleBot } from '../../src/adapters/console';
import { CardAction, Message, Prompts, SessionManager, type ActionArgs } from '../../src';
import { createTutorialBot } from '../../examples/session-callbacks';

const managers: { close(): Promise<void> }[] = [];

afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
});

/** A console on in-memory streams: `type` writes lines, `output()` is everything printed so far. */
function terminal(options: ConsoleAdapterOptions = {}) {
  const input = new PassThrough();
  const output = new PassThrough();
  let printed = '';
  output.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  const chat = new ConsoleAdapter({ input, output, botName: 'Botty', ...options });
  return {
    chat,
    type: (...lines: string[]) => input.write(lines.map((line) => `${line}\n`).join('')),
    end: () => input.end(),
    output: () => printed,
  };
}

function tutorial(chat: ConsoleAdapter, options: Partial<Parameters<typeof createTutorialBot>[0]> = {}) {
  const bot = createTutorialBot({ deliver: chat.deliver, autoBatchDelay: 0, ...options });
  managers.push(bot);
  return bot;
}

/** Waits (on the event loop, not on timers) until `check` passes. */
async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the condition was never met');
}

describe('ConsoleAdapter', () => {
  it('prints a transcript of the conversation when the output is not a terminal', async () => {
    const { chat, type, end, output } = terminal();
    const done = chat.start(tutorial(chat));
    type('hi', 'Lars', '555-555-5555', 'Seattle');
    end();
    await done;
    expect(output()).toBe(
      [
        'you> hi',
        "Botty> Hi, I'm Botty. What's your name?",
        'you> Lars',
        'Botty> Hi Lars. What is your phone number?',
        'you> 555-555-5555',
        'Botty> Can you tell Botty your location, Lars?',
        'you> Seattle',
        'Botty> So, Lars, you are in Seattle',
        'Botty> Done',
        '',
      ].join('\n'),
    );
  });

  it('shows the typing indicator while the batch waits in the outbox, then the batch', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { chat, type, end, output } = terminal();
    const done = chat.start(tutorial(chat, { autoBatchDelay: 250 }));
    type('hi');
    await until(() => output().includes('Botty is typing…'));
    expect(output()).toBe('you> hi\nBotty is typing…\n');
    await vi.advanceTimersByTimeAsync(250);
    expect(output()).toBe("you> hi\nBotty is typing…\nBotty> Hi, I'm Botty. What's your name?\n");
    end();
    await done;
  });

  it('shows the typing indicator when the bot sends a typing message', async () => {
    const { chat, type, end, output } = terminal();
    const bot = new SessionManager({ deliver: chat.deliver, autoBatchDelay: 0 });
    managers.push(bot);
    bot.dialog('/', (session) => void session.sendTyping());
    const done = chat.start(bot);
    type('hi');
    await until(() => output().includes('typing'));
    end();
    await done;
    expect(output()).toBe('you> hi\nBotty is typing…\n');
  });

  it('prints proactive batches as they arrive', async () => {
    const { chat, end, output } = terminal();
    const bot = tutorial(chat);
    const done = chat.start(bot);
    await bot.send(chat.address, 'Your pizza is on its way!');
    end();
    await done;
    expect(output()).toBe('Botty> Your pizza is on its way!\n');
  });

  it('ends the session with /timeout and /end, printing session events when asked', async () => {
    const { chat, type, end, output } = terminal({ showSessionEvents: true });
    const bot = tutorial(chat);
    const ids: string[] = [];
    bot.on('sessionStart', ({ session }) => void ids.push(session.id));
    const done = chat.start(bot);
    type('hi', 'Lars', '/timeout', '/end');
    end();
    await done;
    expect(output()).toBe(
      [
        'you> hi',
        "Botty> Hi, I'm Botty. What's your name?",
        `[session ${ids[0]} started]`,
        'you> Lars',
        'Botty> Hi Lars. What is your phone number?',
        'you> /timeout',
        `[session ${ids[0]} ended: timeout; kept UserName]`,
        'you> /end',
        '[no active session]',
        '',
      ].join('\n'),
    );
  });

  it('stops reading at /quit', async () => {
    const { chat, type, output } = terminal();
    const done = chat.start(tutorial(chat));
    type('hi', '/quit', 'Lars');
    await done;
    expect(output()).toBe("you> hi\nBotty> Hi, I'm Botty. What's your name?\n");
  });

  it('prints a failed turn as an error line and goes on', async () => {
    const { chat, type, end, output } = terminal();
    const failing: ConsoleBot = {
      receive: () => Promise.reject(new Error('store down')),
      endSession: () => Promise.resolve(false),
      keyOf: () => 'key',
      on: () => failing as never,
      off: () => failing as never,
    } as unknown as ConsoleBot;
    const done = chat.start(failing);
    type('hi', 'again');
    end();
    await done;
    expect(output()).toBe('you> hi\n[error: store down]\nyou> again\n[error: store down]\n');
  });

  it('shows choice prompts with their choices', async () => {
    const { chat, type, end, output } = terminal();
    const bot = new SessionManager({ deliver: chat.deliver, autoBatchDelay: 0 });
    managers.push(bot);
    bot.dialog('/', [(session) => Prompts.choice(session, 'Which size?', ['Small', 'Large'])]);
    const done = chat.start(bot);
    type('hi');
    end();
    await done;
    expect(output()).toBe('you> hi\nBotty> Which size?\n  [Small] [Large]\n');
  });

  it('presses a dialogAction button when the user types its title, triggering its action with its data', async () => {
    const { chat, type, end, output } = terminal();
    const bot = new SessionManager({ deliver: chat.deliver, autoBatchDelay: 0 });
    managers.push(bot);
    bot.action('sizeHelp', { beginDialog: '/sizes' });
    bot.dialog(
      '/',
      (session) =>
        void session.send(
          new Message()
            .text('Menu')
            .suggestedActions([CardAction.dialogAction('sizeHelp', { topic: 'sizes' }, 'Help with sizes')]),
        ),
    );
    bot.dialog('/sizes', (session, args: ActionArgs<{ topic: string }>) =>
      session.endDialog('Help on %s.', args.data?.topic ?? 'nothing'),
    );
    const done = chat.start(bot);
    type('hi', 'help with sizes');
    end();
    await done;
    expect(output()).toBe('you> hi\nBotty> Menu\n  [Help with sizes]\nyou> help with sizes\nBotty> Help on sizes.\n');
  });

  it('in terminal mode, prompts and erases the typing indicator when the batch arrives', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { chat, type, end, output } = terminal({ terminal: true });
    const done = chat.start(tutorial(chat, { autoBatchDelay: 250 }));
    type('hi');
    await until(() => output().includes('Botty is typing…'));
    await vi.advanceTimersByTimeAsync(250);
    end();
    await done;
    // \x1b[2K erases the line, \x1b[1G goes to its start: the indicator is gone before the reply is written over it.
    // eslint-disable-next-line no-control-regex -- the escape codes are what this test reads
    expect(output().replace(/\x1b\[[0-9]*[GJ]/g, '')).toBe(
      "you> hi\r\n\x1b[2KBotty is typing…\x1b[2K\x1b[2KBotty> Hi, I'm Botty. What's your name?\nyou> ",
    );
  });
});

describe('renderMessage', () => {
  it('renders a hero card with its image and buttons', () => {
    const lines = renderMessage(
      {
        text: 'Our pick:',
        attachments: [
          {
            contentType: 'application/vnd.microsoft.card.hero',
            content: {
              title: 'Margherita',
              subtitle: 'Tomato, mozzarella',
              text: 'The classic.',
              images: [{ url: 'https://example.com/m.png', alt: 'a pizza' }],
              buttons: [
                { type: 'imBack', title: 'Order', value: 'order margherita' },
                { type: 'openUrl', title: 'Menu', value: 'https://example.com/menu' },
              ],
            },
          },
        ],
      },
      'Botty',
    );
    expect(lines).toEqual([
      'Botty> Our pick:',
      '  ┌ Margherita — Tomato, mozzarella',
      '  │ The classic.',
      '  │ [image: a pizza]',
      '  │ [Order] [Menu → https://example.com/menu]',
      '  └',
    ]);
  });

  it('renders a receipt card with items, facts, tax and total', () => {
    const lines = renderMessage({
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.receipt',
          content: {
            title: 'Order 42',
            items: [{ title: 'Margherita', price: '$9.00', quantity: '2' }],
            facts: [{ key: 'Table', value: '7' }],
            tax: '$1.80',
            total: '$19.80',
          },
        },
      ],
    });
    expect(lines).toEqual([
      '  ┌ Order 42',
      '  │ Margherita × 2  $9.00',
      '  │ Table: 7',
      '  │ Tax: $1.80',
      '  │ Total: $19.80',
      '  └',
    ]);
  });

  it('renders an image attachment by its name', () => {
    expect(
      renderMessage({
        attachments: [{ contentType: 'image/png', contentUrl: 'https://example.com/p.png', name: 'pizza.png' }],
      }),
    ).toEqual(['  [image: pizza.png]']);
  });
});
