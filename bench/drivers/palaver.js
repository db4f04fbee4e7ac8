'use strict';
// palaver: a root waterfall with a text prompt; the name goes into session.userData.
const path = require('node:path');
const { QUESTION, Replies } = require('../lib/conversation');

// The built library (npm run build at the top). PALAVER_DIST points elsewhere, e.g. at a prototype build.
const palaver = require(process.env.PALAVER_DIST ? path.resolve(process.env.PALAVER_DIST) : '../../dist/index.js');

const CHANNEL = 'bench';

function address(i) {
  return { channelId: CHANNEL, user: { id: `u${i}` }, conversation: { id: `c${i}` } };
}

/**
 * @param {{ users: number, autoBatchDelay?: number, timeout?: number, maxSessions?: number, onSessionEnd?: () => void }} options
 */
async function create(options) {
  const replies = new Replies(options.users);
  const store = new palaver.MemoryStore({ maxSessions: Math.max(100_000, options.maxSessions ?? options.users) });
  const bot = new palaver.SessionManager({
    store,
    autoBatchDelay: options.autoBatchDelay ?? 0,
    timeout: options.timeout,
    deliver: (to, messages) => {
      const i = Number(to.user.id.slice(1));
      for (const message of messages) replies.record(i, message.text);
    },
  });
  let errors = 0;
  bot.on('error', (error) => {
    errors++;
    if (errors <= 3) console.error(`[palaver] ${error.code}: ${error.message}`);
  });
  if (options.onSessionEnd) bot.on('sessionEnd', options.onSessionEnd);

  bot.dialog('/', [
    (session) => palaver.Prompts.text(session, QUESTION),
    (session, results) => {
      session.userData.name = results.response;
      session.endDialog('Hello %s!', results.response);
    },
  ]);

  return {
    replies,
    bot,
    store,
    get errors() {
      return errors;
    },
    // With a batching delay, replies leave after the turn has resolved; the run checks them after close().
    immediateReplies: (options.autoBatchDelay ?? 0) === 0,
    turn(i, text) {
      return bot.receive({ address: address(i), text });
    },
    async storedName(i) {
      const record = store.get(`u:${CHANNEL}:u${i}`);
      if (record === undefined) return undefined;
      // (`value`: a store that keeps objects rather than JSON text, as a prototype may.)
      return (record.value ?? JSON.parse(record.data)).name;
    },
    close() {
      return bot.close();
    },
  };
}

module.exports = { name: 'palaver', create };
