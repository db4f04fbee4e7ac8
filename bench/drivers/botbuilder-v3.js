'use strict';
// botbuilder 3.x: a UniversalBot with MemoryBotStorage and an in-memory connector (IConnector) of our own.
// The root waterfall asks with builder.Prompts.text and ends with session.endDialog('Hello %s!', name).
const builder = require('botbuilder-v3');
const { QUESTION, Replies } = require('../lib/conversation');

const CHANNEL = 'bench';

/** IConnector in memory: `onEvent` takes the bot's handler, `send` hands replies to the run, no network anywhere. */
class MemoryConnector {
  constructor(onReply) {
    this.onReply = onReply;
    this.handler = undefined;
  }
  onEvent(handler) {
    this.handler = handler;
  }
  onInvoke(handler) {
    this.invokeHandler = handler;
  }
  send(messages, done) {
    const addresses = [];
    for (const message of messages) {
      if (message.type === 'message') this.onReply(message);
      addresses.push(message.address);
    }
    done(null, addresses);
  }
  startConversation(address, done) {
    done(null, address);
  }
  /** Feeds one incoming message to the bot (what a channel's webhook would do). */
  receive(message) {
    this.handler([message]);
  }
}

async function create(options) {
  const replies = new Replies(options.users);
  // A turn is over when its reply has been delivered: v3 saves the state before it sends the batch.
  const waiting = new Map();
  const connector = new MemoryConnector((message) => {
    const id = message.address.user.id;
    const i = Number(id.slice(1));
    replies.record(i, message.text);
    const resolve = waiting.get(id);
    if (resolve !== undefined) {
      waiting.delete(id);
      resolve();
    }
  });
  const storage = new builder.MemoryBotStorage();
  const bot = new builder.UniversalBot(connector, [
    (session) => builder.Prompts.text(session, QUESTION),
    (session, results) => {
      session.userData.name = results.response;
      session.endDialog('Hello %s!', results.response);
    },
  ]);
  bot.set('storage', storage);
  // v3's batching: 0 sends each batch on the next timer tick (v3 has no way to send with no timer at all).
  bot.set('autoBatchDelay', options.autoBatchDelay ?? 0);
  let errors = 0;
  bot.on('error', (error) => {
    errors++;
    if (errors <= 3) console.error('[botbuilder v3]', error);
  });

  return {
    replies,
    get errors() {
      return errors;
    },
    immediateReplies: true,
    turn(i, text) {
      const id = `u${i}`;
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        connector.receive({
          type: 'message',
          text,
          timestamp: new Date().toISOString(),
          source: CHANNEL,
          address: { channelId: CHANNEL, user: { id }, bot: { id: 'bot' }, conversation: { id: `c${i}` } },
          user: { id },
        });
      });
    },
    async storedName(i) {
      const json = storage.userStore[`u${i}`];
      return json === undefined ? undefined : JSON.parse(json).name;
    },
    async close() {},
  };
}

module.exports = { name: 'botbuilder-v3', create };
