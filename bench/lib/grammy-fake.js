'use strict';
// What both grammY drivers share: a Bot with a fake botInfo (no getMe call), an API transformer that answers every
// Bot API call in memory (nothing reaches the network), and updates built like Telegram's, fed through handleUpdate.
const { Bot } = require('grammy');

const botInfo = {
  id: 42,
  is_bot: true,
  first_name: 'Bench',
  username: 'bench_bot',
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

/**
 * A bot whose API calls never leave the process; `sendMessage` texts go to `onReply(chatId, text)`.
 * Calls made through `bot.api` / `ctx.api` are answered by an API transformer. With `fetch: true` the client's `fetch`
 * is stubbed as well: @grammyjs/conversations builds its own Api inside a conversation (from the bot's token and
 * client options, without the bot's transformers), so only a stubbed `fetch` reaches the calls made there.
 */
function fakeBot(onReply, { fetch = false } = {}) {
  let messageId = 0;
  const answer = (method, payload) => {
    if (method !== 'sendMessage') return { ok: true, result: true };
    onReply(payload.chat_id, payload.text);
    return {
      ok: true,
      result: {
        message_id: ++messageId,
        date: Math.floor(Date.now() / 1000),
        chat: { id: payload.chat_id, type: 'private', first_name: 'User' },
        from: { id: botInfo.id, is_bot: true, first_name: botInfo.first_name, username: botInfo.username },
        text: payload.text,
      },
    };
  };
  const client = {};
  if (fetch) {
    client.fetch = async (url, init) => {
      const method = url.slice(url.lastIndexOf('/') + 1);
      const result = answer(method, JSON.parse(init.body));
      return { ok: true, status: 200, json: async () => result };
    };
  }
  const bot = new Bot('42:bench-token', { botInfo, client });
  bot.api.config.use(async (_prev, method, payload) => answer(method, payload));
  return bot;
}

let updateId = 0;

/** A private-chat text message from user `i` (chat id = user id = i + 1: Telegram ids are positive). */
function textUpdate(i, text) {
  const id = i + 1;
  const update = ++updateId;
  return {
    update_id: update,
    message: {
      message_id: update,
      date: Math.floor(Date.now() / 1000),
      chat: { id, type: 'private', first_name: `User ${i}` },
      from: { id, is_bot: false, first_name: `User ${i}` },
      text,
    },
  };
}

/**
 * The driver both grammY peers return: `bot` on `storage` (a MemorySessionStorage keyed by chat id, the session
 * holding the name), errors counted and the first few printed under `label`.
 */
function grammyDriver(bot, storage, replies, label) {
  let errors = 0;
  bot.catch((error) => {
    errors++;
    if (errors <= 3) console.error(`[${label}]`, error.error ?? error);
  });
  return {
    replies,
    get errors() {
      return errors;
    },
    immediateReplies: true,
    turn(i, text) {
      return bot.handleUpdate(textUpdate(i, text));
    },
    async storedName(i) {
      return storage.read(String(i + 1))?.name;
    },
    async close() {},
  };
}

module.exports = { grammyDriver, fakeBot, textUpdate };
