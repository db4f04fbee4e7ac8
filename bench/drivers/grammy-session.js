'use strict';
// grammY with the session() middleware (MemorySessionStorage) and a hand-written two-state dialog:
// idle --any text--> asks the name --text--> greets, stores the name in the session, back to idle.
// In a private chat the session key (the chat id) is the user: the session is the per-user data.
const { session, MemorySessionStorage } = require('grammy');
const { fakeBot, grammyDriver } = require('../lib/grammy-fake');
const { QUESTION, Replies } = require('../lib/conversation');

async function create(options) {
  const replies = new Replies(options.users);
  const bot = fakeBot((chatId, text) => replies.record(chatId - 1, text));
  const storage = new MemorySessionStorage();
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
  return grammyDriver(bot, storage, replies, 'grammY');
}

module.exports = { name: 'grammy-session', create };
