'use strict';
// grammY on Redis: session() with @grammyjs/storage-redis (its RedisAdapter on an ioredis client, as its README
// shows), optionally behind sequentialize() from @grammyjs/runner (turns of one chat queued in this process).
// In a private chat the session key (the chat id) is the user: the session is the per-user data.
const { session } = require('grammy');
const { sequentialize } = require('@grammyjs/runner');
const { RedisAdapter } = require('@grammyjs/storage-redis');
const IORedis = require('ioredis');
const { fakeBot, textUpdate } = require('../../lib/grammy-fake');
const { QUESTION } = require('../../lib/conversation');

/**
 * @param {{ url: string, bot: 'conversation' | 'counter', onReply(i: number, text: string): void,
 *           wrap?: (client: object) => object, sequentialize?: boolean }} options
 */
async function create(options) {
  const redis = new IORedis(options.url, { lazyConnect: true });
  await redis.connect();
  const storage = new RedisAdapter({ instance: options.wrap ? options.wrap(redis) : redis });
  const bot = fakeBot((chatId, text) => options.onReply(chatId - 1, text));
  if (options.sequentialize) bot.use(sequentialize((ctx) => ctx.chat?.id.toString()));
  if (options.bot === 'counter') {
    bot.use(session({ initial: () => ({ count: 0 }), storage }));
    bot.on('message:text', async (ctx) => {
      if (ctx.message.text === '?') return void (await ctx.reply(String(ctx.session.count)));
      ctx.session.count++;
      await ctx.reply(String(ctx.session.count));
    });
  } else {
    bot.use(session({ initial: () => ({ step: 'idle' }), storage }));
    bot.on('message:text', async (ctx) => {
      const state = ctx.session;
      if (state.step === 'idle') {
        state.step = 'name';
        await ctx.reply(QUESTION);
      } else {
        const name = ctx.message.text;
        state.step = 'idle';
        state.name = name;
        await ctx.reply(`Hello ${name}!`);
      }
    });
  }
  let errors = 0;
  bot.catch((error) => {
    errors++;
    if (errors <= 3) console.error('[grammY]', error.error ?? error);
  });
  return {
    get errors() {
      return errors;
    },
    turn(i, text) {
      return bot.handleUpdate(textUpdate(i, text));
    },
    async storedName(i) {
      return (await new RedisAdapter({ instance: redis }).read(String(i + 1)))?.name;
    },
    async close() {
      await redis.quit();
    },
  };
}

module.exports = { name: 'grammy', create };
