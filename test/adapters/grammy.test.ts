import { Bot, type Context } from 'grammy';
import type { Chat, Update, UserFromGetMe } from 'grammy/types';
import { afterEach, describe, expect, it } from 'vitest';
import { GrammyAdapter, type GrammyAdapterOptions } from '../../src/adapters/grammy';
import {
  CardAction,
  HeroCard,
  Message,
  Prompts,
  SessionManager,
  type ActionArgs,
  type Address,
  type OutgoingMessage,
  type SessionManagerOptions,
} from '../../src';
import { createTutorialBot } from '../../examples/session-callbacks';

const botInfo: UserFromGetMe = {
  id: 42,
  is_bot: true,
  first_name: 'Botty',
  username: 'botty_bot',
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
  can_manage_bots: false,
  supports_join_request_queries: false,
};

const lars = { id: 7, is_bot: false, first_name: 'Lars', last_name: 'L', username: 'lars', language_code: 'en' };
const privateChat: Chat.PrivateChat = { id: 7, type: 'private', first_name: 'Lars' };
const forum: Chat.SupergroupChat = { id: -1001, type: 'supergroup', title: 'Pizza lovers', is_forum: true };

type Call = { method: string; payload: Record<string, unknown> };

const managers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
});

/**
 * A real grammY bot with a fake identity and every Bot API call stubbed by a transformer; `calls` records them.
 * `failOnce(test)` makes the first call that passes `test` fail as Telegram would.
 */
function harness(
  options: {
    manager?: (deliver: SessionManagerOptions['deliver']) => SessionManager<any, any, any, any>;
    adapter?: GrammyAdapterOptions;
  } = {},
) {
  const bot = new Bot('123:fake-token', { botInfo });
  const calls: Call[] = [];
  let failing: ((call: Call) => boolean) | undefined;
  let messageId = 100;
  bot.api.config.use(async (_previous, method, payload) => {
    const call = { method, payload: payload as Record<string, unknown> };
    calls.push(call);
    if (failing?.(call)) {
      failing = undefined;
      return { ok: false, error_code: 502, description: 'Bad Gateway' } as never;
    }
    const result =
      method.startsWith('send') && method !== 'sendChatAction'
        ? { message_id: messageId++, date: 0, chat: privateChat }
        : true;
    return { ok: true, result } as never;
  });
  const telegram = new GrammyAdapter(bot.api, options.adapter);
  let inFlight = 0;
  const deliver: SessionManagerOptions['deliver'] = async (address, messages) => {
    inFlight++;
    try {
      await telegram.deliver(address, messages);
    } finally {
      inFlight--;
    }
  };
  const manager = options.manager?.(deliver) ?? createTutorialBot({ deliver, autoBatchDelay: 0 });
  manager.on('error', () => undefined);
  managers.push(manager);
  bot.use(telegram.middleware(manager));
  const passed: Context[] = [];
  bot.use((ctx) => void passed.push(ctx));
  let updateId = 1;
  const feed = async (update: Omit<Update, 'update_id'>) => {
    await bot.handleUpdate({ update_id: updateId++, ...update } as Update);
    await until(() => inFlight === 0);
  };
  return {
    bot,
    telegram,
    manager,
    calls,
    passed,
    failOnce: (test: (call: Call) => boolean) => void (failing = test),
    /** Sends a text message from Lars (in `chat`, in topic `thread`) and waits until its replies are out. */
    say: (text: string, chat: Chat = privateChat, thread?: number) =>
      feed({
        message: {
          message_id: updateId,
          date: 1_700_000_000,
          chat,
          from: lars,
          text,
          ...(thread === undefined ? {} : { message_thread_id: thread, is_topic_message: true }),
        } as Update['message'],
      }),
    /** Presses an inline button with `data` on the bot's message `keyboard`. */
    press: (data: string, keyboard?: unknown) =>
      feed({
        callback_query: {
          id: `q${updateId}`,
          from: lars,
          chat_instance: 'ci',
          data,
          message: {
            message_id: 100,
            date: 0,
            chat: privateChat,
            from: botInfo,
            text: '…',
            ...(keyboard ? { reply_markup: keyboard } : {}),
          },
        } as Update['callback_query'],
      }),
    feed,
    settled: () => until(() => inFlight === 0),
  };
}

async function until(check: () => boolean): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (check()) return;
    await new Promise((resolve) => setImmediate(resolve));
  }
  throw new Error('the condition was never met');
}

/** A manager whose root dialog sends `message` on every turn. */
function sending(message: OutgoingMessage | string) {
  return (deliver: SessionManagerOptions['deliver']) => {
    const manager = new SessionManager({ deliver, autoBatchDelay: 0 });
    manager.dialog('/', (session) => void session.send(message));
    return manager;
  };
}

describe('GrammyAdapter: messages in', () => {
  it('runs the tutorial through grammY, replying with sendMessage to the chat', async () => {
    const { say, calls } = harness();
    for (const text of ['hi', 'Lars', '555-555-5555', 'Seattle']) await say(text);
    expect(calls).toEqual([
      { method: 'sendMessage', payload: { chat_id: 7, text: "Hi, I'm Botty. What's your name?" } },
      { method: 'sendMessage', payload: { chat_id: 7, text: 'Hi Lars. What is your phone number?' } },
      { method: 'sendMessage', payload: { chat_id: 7, text: 'Can you tell Botty your location, Lars?' } },
      { method: 'sendMessage', payload: { chat_id: 7, text: 'So, Lars, you are in Seattle' } },
      { method: 'sendMessage', payload: { chat_id: 7, text: 'Done' } },
    ]);
  });

  it('maps the chat, the sender and the bot to the palaver address', async () => {
    const seen: Address[] = [];
    const { say } = harness({
      manager: (deliver) => new SessionManager({ deliver }).dialog('/', (session) => void seen.push(session.address)),
    });
    await say('hi');
    expect(seen).toEqual([
      {
        channelId: 'telegram',
        user: { id: '7', name: 'Lars L', username: 'lars' },
        conversation: { id: '7', isGroup: false },
        bot: { id: '42', name: 'botty_bot' },
      },
    ]);
  });

  it('passes the message id, time, locale and the raw update along', async () => {
    const seen: unknown[] = [];
    const { say } = harness({
      manager: (deliver) => new SessionManager({ deliver }).dialog('/', (session) => void seen.push(session.message)),
    });
    await say('hi');
    expect(seen).toEqual([
      expect.objectContaining({
        text: 'hi',
        id: '1',
        timestamp: 1_700_000_000_000,
        locale: 'en',
        sourceEvent: expect.objectContaining({ update_id: 1 }),
      }),
    ]);
  });

  it('replies in the forum topic the message came from', async () => {
    const { say, calls } = harness({ manager: sending('hello topic') });
    await say('hi', forum, 12);
    expect(calls).toEqual([
      { method: 'sendMessage', payload: { chat_id: -1001, message_thread_id: 12, text: 'hello topic' } },
    ]);
  });

  it('marks group chats as group conversations', async () => {
    const seen: Address[] = [];
    const { say } = harness({
      manager: (deliver) => new SessionManager({ deliver }).dialog('/', (session) => void seen.push(session.address)),
    });
    await say('hi', forum);
    expect(seen[0]?.conversation).toEqual({ id: '-1001', isGroup: true });
  });

  it('hands updates it does not handle to the next middleware', async () => {
    const { feed, passed, calls } = harness();
    await feed({
      message: {
        message_id: 1,
        date: 0,
        chat: privateChat,
        from: lars,
        sticker: { file_id: 'f' },
      } as unknown as Update['message'],
    });
    await feed({
      callback_query: { id: 'q', from: lars, chat_instance: 'ci', data: 'not-palaver' } as Update['callback_query'],
    });
    expect({ passed: passed.length, calls }).toEqual({ passed: 2, calls: [] });
  });

  const command = (text: string, length = text.split(' ')[0]!.length) =>
    ({
      message_id: 1,
      date: 0,
      chat: privateChat,
      from: lars,
      text,
      entities: [{ type: 'bot_command', offset: 0, length }],
    }) as Update['message'];

  it('hands bot commands to the next middleware by default, so bot.command() handlers after it see them', async () => {
    const { feed, passed, calls } = harness({ manager: sending('palaver') });
    await feed({ message: command('/start') });
    await feed({ message: command('/help@botty_bot') });
    expect({ passed: passed.map((ctx) => ctx.message?.text), calls }).toEqual({
      passed: ['/start', '/help@botty_bot'],
      calls: [],
    });
  });

  it('hands a photo whose caption is a command to the next middleware by default', async () => {
    const { feed, passed } = harness({ manager: sending('palaver') });
    const photo = {
      message_id: 1,
      date: 0,
      chat: privateChat,
      from: lars,
      photo: [],
      caption: '/scan',
      caption_entities: [{ type: 'bot_command', offset: 0, length: 5 }],
    };
    await feed({ message: photo as unknown as Update['message'] });
    expect(passed.map((ctx) => ctx.message?.caption)).toEqual(['/scan']);
  });

  it('runs a palaver turn for a text that only mentions a command later on', async () => {
    const { feed, passed, calls } = harness({ manager: sending('palaver') });
    const text = 'what does /start do?';
    await feed({
      message: {
        message_id: 1,
        date: 0,
        chat: privateChat,
        from: lars,
        text,
        entities: [{ type: 'bot_command', offset: 10, length: 6 }],
      } as Update['message'],
    });
    expect({ passed: passed.length, sent: calls.map((c) => c.payload.text) }).toEqual({ passed: 0, sent: ['palaver'] });
  });

  it('runs a palaver turn for bot commands with commands: palaver', async () => {
    const { feed, passed, calls } = harness({ manager: sending('palaver'), adapter: { commands: 'palaver' } });
    await feed({ message: command('/start') });
    expect({ passed: passed.length, sent: calls.map((c) => c.payload.text) }).toEqual({ passed: 0, sent: ['palaver'] });
  });
});

/** A manager whose root dialog shows a card with a dialogAction button; the action's dialog says the button's topic. */
function buttonBot(deliver: SessionManagerOptions['deliver']) {
  const manager = new SessionManager({ deliver, autoBatchDelay: 0 });
  manager.action('sizeHelp', { matches: /^sizes$/i, beginDialog: '/sizes' });
  manager.dialog(
    '/',
    (session) =>
      void session.send(
        new Message().addAttachment(
          new HeroCard()
            .title('Menu')
            .buttons([CardAction.dialogAction('sizeHelp', { topic: 'sizes' }, 'Help with sizes')]),
        ),
      ),
  );
  manager.dialog('/sizes', (session, args: ActionArgs<{ topic: string }>) =>
    session.endDialog('Help on %s.', args.data?.topic ?? 'nothing'),
  );
  return manager;
}

describe('GrammyAdapter: buttons', () => {
  it('sends a dialogAction button as a callback button whose press triggers its action with its data', async () => {
    const { say, press, calls } = harness({ manager: buttonBot });
    await say('hi');
    const keyboard = calls[0]?.payload.reply_markup as { inline_keyboard: { text: string; callback_data: string }[][] };
    const button = keyboard.inline_keyboard[0]![0]!;
    await press(button.callback_data);
    expect({ title: button.text, reply: calls.at(-1) }).toEqual({
      title: 'Help with sizes',
      reply: { method: 'sendMessage', payload: { chat_id: 7, text: 'Help on sizes.' } },
    });
  });

  it('shows a choice prompt as an inline keyboard', async () => {
    const { say, calls } = harness({
      manager: (deliver) =>
        new SessionManager({ deliver, autoBatchDelay: 0 }).dialog('/', [
          (session) => Prompts.choice(session, 'Which size?', ['Small', 'Large']),
        ]),
    });
    await say('hi');
    expect(calls).toEqual([
      {
        method: 'sendMessage',
        payload: {
          chat_id: 7,
          text: 'Which size?',
          reply_markup: {
            inline_keyboard: [
              [{ text: 'Small', callback_data: 'pv:Small' }],
              [{ text: 'Large', callback_data: 'pv:Large' }],
            ],
          },
        },
      },
    ]);
  });

  it('answers the callback query of a pressed button and runs the turn with its value', async () => {
    const { say, press, calls } = harness({
      manager: (deliver) =>
        new SessionManager({ deliver, autoBatchDelay: 0 }).dialog('/', [
          (session) => Prompts.choice(session, 'Which size?', ['Small', 'Large']),
          (session, results) => void session.send('A %s one.', (results.response as { entity: string }).entity),
        ]),
    });
    await say('hi');
    await press('pv:Large');
    expect(calls.slice(1)).toEqual([
      { method: 'answerCallbackQuery', payload: { callback_query_id: 'q2' } },
      { method: 'sendMessage', payload: { chat_id: 7, text: 'A Large one.' } },
    ]);
  });

  it('round-trips a button value longer than the 64 bytes Telegram allows', async () => {
    const long = 'I would like the large pizza with extra cheese, olives and basil, please';
    const texts: (string | undefined)[] = [];
    const { say, press, calls } = harness({
      manager: (deliver) =>
        new SessionManager({ deliver, autoBatchDelay: 0 }).dialog('/', (session) => {
          texts.push(session.message?.text);
          session.send({ text: 'Order?', suggestedActions: [{ type: 'imBack', title: 'Large', value: long }] });
        }),
    });
    await say('hi');
    const keyboard = calls[0]?.payload.reply_markup as { inline_keyboard: { callback_data: string }[][] };
    const data = keyboard.inline_keyboard[0]![0]!.callback_data;
    await press(data);
    expect({ bytes: Buffer.byteLength(data) <= 64, texts }).toEqual({ bytes: true, texts: ['hi', long] });
  });

  it('falls back to the button label for a long value it no longer remembers', async () => {
    const texts: (string | undefined)[] = [];
    const { press } = harness({
      manager: (deliver) =>
        new SessionManager({ deliver, autoBatchDelay: 0 }).dialog(
          '/',
          (session) => void texts.push(session.message?.text),
        ),
    });
    await press('pv#zz', { inline_keyboard: [[{ text: 'Large', callback_data: 'pv#zz' }]] });
    expect(texts).toEqual(['Large']);
  });
});

describe('GrammyAdapter: messages out', () => {
  const hero = {
    contentType: 'application/vnd.microsoft.card.hero',
    content: {
      title: 'Margherita <classic>',
      subtitle: 'Tomato & mozzarella',
      text: 'Our best seller.',
      images: [{ url: 'https://example.com/margherita.png', alt: 'pizza' }],
      buttons: [
        { type: 'imBack', title: 'Order', value: 'order margherita' },
        { type: 'openUrl', title: 'Menu', value: 'https://example.com/menu' },
      ],
    },
  };

  it('sends a hero card with an image as a photo with an HTML caption and an inline keyboard', async () => {
    const { say, calls } = harness({ manager: sending({ attachments: [hero] }) });
    await say('hi');
    expect(calls).toEqual([
      {
        method: 'sendPhoto',
        payload: {
          chat_id: 7,
          photo: 'https://example.com/margherita.png',
          caption: '<b>Margherita &lt;classic&gt;</b>\n<i>Tomato &amp; mozzarella</i>\nOur best seller.',
          parse_mode: 'HTML',
          reply_markup: {
            inline_keyboard: [
              [{ text: 'Order', callback_data: 'pv:order margherita' }],
              [{ text: 'Menu', url: 'https://example.com/menu' }],
            ],
          },
        },
      },
    ]);
  });

  it('sends a thumbnail card without an image as an HTML message', async () => {
    const { say, calls } = harness({
      manager: sending({
        attachments: [
          { contentType: 'application/vnd.microsoft.card.thumbnail', content: { title: 'Hours', text: '11–23 daily' } },
        ],
      }),
    });
    await say('hi');
    expect(calls).toEqual([
      { method: 'sendMessage', payload: { chat_id: 7, text: '<b>Hours</b>\n11–23 daily', parse_mode: 'HTML' } },
    ]);
  });

  it('sends a receipt card as an HTML message with its items, facts, tax and total', async () => {
    const receipt = {
      contentType: 'application/vnd.microsoft.card.receipt',
      content: {
        title: 'Order 42',
        items: [{ title: 'Margherita', price: '$9.00', quantity: '2' }],
        facts: [{ key: 'Table', value: '7' }],
        tax: '$1.80',
        total: '$19.80',
        buttons: [{ type: 'postBack', title: 'Pay', value: 'pay 42' }],
      },
    };
    const { say, calls } = harness({ manager: sending({ attachments: [receipt] }) });
    await say('hi');
    expect(calls).toEqual([
      {
        method: 'sendMessage',
        payload: {
          chat_id: 7,
          text: '<b>Order 42</b>\n\nMargherita × 2 — $9.00\n\nTable: 7\n\nTax: $1.80\n<b>Total: $19.80</b>',
          parse_mode: 'HTML',
          reply_markup: { inline_keyboard: [[{ text: 'Pay', callback_data: 'pv:pay 42' }]] },
        },
      },
    ]);
  });

  it('sends text first, then images with sendPhoto and other files with sendDocument', async () => {
    const { say, calls } = harness({
      manager: sending({
        text: 'Your files:',
        attachments: [
          { contentType: 'image/png', contentUrl: 'https://example.com/a.png' },
          { contentType: 'application/pdf', contentUrl: 'https://example.com/menu.pdf', name: 'menu.pdf' },
        ],
      }),
    });
    await say('hi');
    expect(calls).toEqual([
      { method: 'sendMessage', payload: { chat_id: 7, text: 'Your files:' } },
      { method: 'sendPhoto', payload: { chat_id: 7, photo: 'https://example.com/a.png' } },
      {
        method: 'sendDocument',
        payload: { chat_id: 7, document: 'https://example.com/menu.pdf', caption: 'menu.pdf' },
      },
    ]);
  });

  it('puts suggested actions on the last part of a message', async () => {
    const { say, calls } = harness({
      manager: sending({
        text: 'Look:',
        attachments: [{ contentType: 'image/png', contentUrl: 'https://example.com/a.png' }],
        suggestedActions: [{ type: 'imBack', value: 'More' }],
      }),
    });
    await say('hi');
    expect(calls.map((call) => [call.method, call.payload.reply_markup])).toEqual([
      ['sendMessage', undefined],
      ['sendPhoto', { inline_keyboard: [[{ text: 'More', callback_data: 'pv:More' }]] }],
    ]);
  });

  it('sends typing with sendChatAction', async () => {
    const { say, calls } = harness({
      manager: (deliver) =>
        new SessionManager({ deliver, autoBatchDelay: 0 }).dialog('/', (session) => void session.sendTyping()),
    });
    await say('hi');
    expect(calls).toEqual([{ method: 'sendChatAction', payload: { chat_id: 7, action: 'typing' } }]);
  });

  it('merges sourceEvent.telegram into the options of the text', async () => {
    const { say, calls } = harness({
      manager: sending({ text: '*bold*', sourceEvent: { telegram: { parse_mode: 'MarkdownV2' } } }),
    });
    await say('hi');
    expect(calls).toEqual([
      { method: 'sendMessage', payload: { chat_id: 7, text: '*bold*', parse_mode: 'MarkdownV2' } },
    ]);
  });

  it('sends proactive messages to the saved address', async () => {
    const { say, manager, calls, settled } = harness();
    const seen: Address[] = [];
    manager.on('turn', ({ message }) => void seen.push(message.address));
    await say('hi');
    await manager.send(seen[0]!, 'Your pizza is on its way!');
    await settled();
    expect(calls.at(-1)).toEqual({ method: 'sendMessage', payload: { chat_id: 7, text: 'Your pizza is on its way!' } });
  });

  it('does not send a message twice when a retried batch failed halfway', async () => {
    const { say, calls, failOnce, settled } = harness({
      manager: (deliver) => {
        const manager = new SessionManager({ deliver, autoBatchDelay: 0, deliveryRetry: { minDelay: 0 } });
        manager.dialog('/', (session) => void session.send('one').send('two'));
        return manager;
      },
    });
    // 'one' goes out; 'two' fails once; the retry of the batch sends only 'two'.
    failOnce((call) => call.payload.text === 'two');
    await say('hi');
    await until(() => calls.length === 3);
    await settled();
    expect(calls.map((call) => call.payload.text)).toEqual(['one', 'two', 'two']);
  });
});
