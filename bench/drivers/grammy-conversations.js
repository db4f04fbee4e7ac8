'use strict';
// grammY with @grammyjs/conversations (v2, in-memory storage): any text enters the `askName` conversation, which asks,
// waits for the answer, stores the name in the session (through conversation.external) and greets.
// Replies sent inside a conversation go through grammY's HTTP client code down to a stubbed fetch (see lib/grammy-fake.js).
const { session, MemorySessionStorage } = require('grammy');
const { conversations, createConversation } = require('@grammyjs/conversations');
const { fakeBot, grammyDriver } = require('../lib/grammy-fake');
const { QUESTION, Replies } = require('../lib/conversation');

async function askName(conversation, ctx) {
  await ctx.reply(QUESTION);
  const answer = await conversation.waitFor('message:text');
  const name = answer.message.text;
  await conversation.external((outside) => {
    outside.session.name = name;
  });
  await answer.reply(`Hello ${name}!`);
}

async function create(options) {
  const replies = new Replies(options.users);
  const bot = fakeBot((chatId, text) => replies.record(chatId - 1, text), { fetch: true });
  const storage = new MemorySessionStorage();
  bot.use(session({ initial: () => ({}), storage }));
  bot.use(conversations());
  bot.use(createConversation(askName, 'askName'));
  bot.on('message:text', (ctx) => ctx.conversation.enter('askName'));
  return grammyDriver(bot, storage, replies, 'grammY conversations');
}

module.exports = { name: 'grammy-conversations', create };
