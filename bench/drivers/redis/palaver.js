'use strict';
// palaver on Redis: SessionManager + RedisStore from the built package, through public API only, so that the same
// driver runs on whatever the store does inside (the client is a plain node-redis client; the store may call any
// of its methods).
const path = require('node:path');
const { QUESTION } = require('../../lib/conversation');

const dist = process.env.PALAVER_DIST
  ? path.resolve(process.env.PALAVER_DIST)
  : path.join(__dirname, '..', '..', '..', 'dist', 'index.js');
const palaver = require(dist);
const { RedisStore } = require(path.join(path.dirname(dist), 'redis.js'));
// The node-redis that palaver itself resolves (its peer dependency, as an application would have it installed).
const { createClient } = require(require.resolve('redis', { paths: [path.dirname(dist)] }));

const CHANNEL = 'bench';
const PROBE = 'probe';

function address(i, conversation = `c${i}`) {
  return { channelId: CHANNEL, user: { id: `u${i}` }, conversation: { id: conversation } };
}

/**
 * @param {{ url: string, bot: 'conversation' | 'counter', onReply(i: number, text: string): void,
 *           wrap?: (client: object) => object }} options
 */
async function create(options) {
  const redis = createClient({ url: options.url, disableOfflineQueue: true });
  redis.on('error', () => undefined);
  await redis.connect();
  // commandTimeout 5 s, node-redis's own default (the store's is 1 s): on a machine shared with other work, a call
  // queued behind a wave of 1,000 turns can wait longer than 1 s, which would fail the run rather than measure it.
  const store = new RedisStore({ redis: options.wrap ? options.wrap(redis) : redis, commandTimeout: 5_000 });
  const probes = new Map();
  const bot = new palaver.SessionManager({
    store,
    autoBatchDelay: 0,
    deliver: (to, messages) => {
      const i = Number(to.user.id.slice(1));
      for (const message of messages) {
        if (to.conversation.id === PROBE) probes.get(i)?.(message.text);
        else options.onReply(i, message.text);
      }
    },
  });
  let errors = 0;
  bot.on('error', (error) => {
    errors++;
    if (errors <= 3) console.error(`[palaver] ${error.code}: ${error.message}`);
  });

  if (options.bot === 'counter') {
    // Every message adds one to the user's counter and replies with the new value; "?" only reads it.
    bot.dialog('/', (session) => {
      const count = session.userData.count ?? 0;
      if (session.message.text === '?') return session.endDialog(String(count));
      session.userData.count = count + 1;
      session.endDialog(String(count + 1));
    });
  } else {
    bot.dialog('/', [
      (session) => {
        // A probe from another conversation of the same user reads the name in userData (shared by the user's
        // conversations): how the run checks what was stored without knowing the store's layout.
        if (session.message.address.conversation.id === PROBE) return session.endDialog(String(session.userData.name));
        palaver.Prompts.text(session, QUESTION);
      },
      (session, results) => {
        session.userData.name = results.response;
        session.endDialog('Hello %s!', results.response);
      },
    ]);
  }

  return {
    get errors() {
      return errors;
    },
    turn(i, text) {
      return bot.receive({ address: address(i), text });
    },
    async storedName(i) {
      const answer = new Promise((resolve) => probes.set(i, resolve));
      await bot.receive({ address: address(i, PROBE), text: '?' });
      const text = await answer;
      probes.delete(i);
      return text;
    },
    async close() {
      await bot.close();
      await store.close();
      await redis.close();
    },
  };
}

module.exports = { name: 'palaver', create };
