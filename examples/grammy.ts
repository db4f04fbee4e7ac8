// The tutorial bot on Telegram through grammY and palaver/grammy.
// Run it: npx ts-node examples/grammy.ts                   an offline run: fake updates in, the Bot API calls printed
//         BOT_TOKEN=123:abc npx ts-node examples/grammy.ts  the real bot, long polling (talk to it in Telegram)
import { Bot } from 'grammy';
import type { Update, UserFromGetMe } from 'grammy/types';
import { GrammyAdapter } from '../src/adapters/grammy';
import { createTutorialBot } from './session-callbacks';
import { runIfMain } from './lib/terminal';

async function main(): Promise<void> {
  const token = process.env.BOT_TOKEN;
  // Offline, the bot gets a made-up identity and every Bot API call is answered here instead of by Telegram.
  const bot = token ? new Bot(token) : new Bot('0:offline', { botInfo: offlineBotInfo });
  if (!token) {
    bot.api.config.use(async (_previous, method, payload) => {
      const { chat_id: _chat, ...rest } = payload as Record<string, unknown>;
      console.log(`  → ${method} ${JSON.stringify(rest)}`);
      const result =
        method === 'sendChatAction'
          ? true
          : { message_id: 1, date: 0, chat: { id: 7, type: 'private', first_name: 'Lars' } };
      return { ok: true, result } as never;
    });
  }

  const telegram = new GrammyAdapter(bot.api);
  const manager = createTutorialBot({ deliver: telegram.deliver, autoBatchDelay: 0 });
  bot.use(telegram.middleware(manager));
  // Bot commands go past palaver's middleware (its `commands` option) to handlers like this one.
  bot.command('start', (ctx) => ctx.reply('Hi! Say anything to begin.'));
  bot.catch((error) => console.error('bot error:', error.error));

  if (token) {
    console.log('Long polling; talk to your bot in Telegram. Ctrl-C to stop.');
    process.once('SIGINT', () => void bot.stop().then(() => manager.close()));
    await bot.start();
    return;
  }

  let id = 1;
  for (const text of ['hi', 'Lars', '555-555-5555', 'Seattle']) {
    console.log(`user> ${text}`);
    const update = {
      update_id: id,
      message: {
        message_id: id,
        date: Math.floor(Date.now() / 1000),
        chat: { id: 7, type: 'private', first_name: 'Lars' },
        from: { id: 7, is_bot: false, first_name: 'Lars' },
        text,
      },
    };
    id++;
    await bot.handleUpdate(update as Update);
  }
  await manager.close(); // delivers what is still queued
}

const offlineBotInfo: UserFromGetMe = {
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

runIfMain(module, main);
