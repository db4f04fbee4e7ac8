'use strict';
// botbuilder 4.x on Redis: botbuilder-storage-redis (RedisDbStorage) on a current node-redis client, with the same
// adapter, states and dialogs as the in-memory driver. Each turn loads the states it touches and saves them.
const { ConversationState, UserState } = require('botbuilder');
const { DialogSet, WaterfallDialog, TextPrompt, DialogTurnStatus } = require('botbuilder-dialogs');
const { RedisDbStorage } = require('botbuilder-storage-redis');
const { createClient } = require('redis');
const { MemoryAdapter } = require('../botbuilder-v4');
const { QUESTION } = require('../../lib/conversation');

const CHANNEL = 'bench';

/**
 * @param {{ url: string, bot: 'conversation' | 'counter', onReply(i: number, text: string): void,
 *           wrap?: (client: object) => object }} options
 */
async function create(options) {
  const redis = createClient({ url: options.url });
  redis.on('error', () => undefined);
  await redis.connect();
  const storage = new RedisDbStorage(options.wrap ? options.wrap(redis) : redis);
  const adapter = new MemoryAdapter((userId, text) => options.onReply(Number(userId.slice(1)), text));
  const userState = new UserState(storage);
  let logic;
  if (options.bot === 'counter') {
    const count = userState.createProperty('count');
    logic = async (context) => {
      const n = await count.get(context, 0);
      if (context.activity.text === '?') await context.sendActivity(String(n));
      else {
        await count.set(context, n + 1);
        await context.sendActivity(String(n + 1));
      }
      await userState.saveChanges(context, false);
    };
  } else {
    const conversationState = new ConversationState(storage);
    const dialogState = conversationState.createProperty('dialogState');
    const profile = userState.createProperty('profile');
    const dialogs = new DialogSet(dialogState);
    dialogs.add(new TextPrompt('text'));
    dialogs.add(
      new WaterfallDialog('askName', [
        async (step) => step.prompt('text', QUESTION),
        async (step) => {
          const name = step.result;
          const data = await profile.get(step.context, {});
          data.name = name;
          await step.context.sendActivity(`Hello ${name}!`);
          return step.endDialog();
        },
      ]),
    );
    logic = async (context) => {
      const dc = await dialogs.createContext(context);
      const result = await dc.continueDialog();
      if (result.status === DialogTurnStatus.empty) await dc.beginDialog('askName');
      await conversationState.saveChanges(context, false);
      await userState.saveChanges(context, false);
    };
  }

  let errors = 0;
  adapter.onTurnError = async (_context, error) => {
    errors++;
    if (errors <= 3) console.error('[botbuilder v4]', error);
  };

  let activityId = 0;
  return {
    get errors() {
      return errors;
    },
    turn(i, text) {
      return adapter.processActivity(
        {
          type: 'message',
          id: String(++activityId),
          timestamp: new Date(),
          channelId: CHANNEL,
          serviceUrl: 'http://localhost',
          from: { id: `u${i}`, name: `User ${i}` },
          recipient: { id: 'bot', name: 'Bot' },
          conversation: { id: `c${i}` },
          text,
        },
        logic,
      );
    },
    async storedName(i) {
      const key = `${CHANNEL}/users/u${i}/`;
      const items = await new RedisDbStorage(redis).read([key]);
      return items[key]?.profile?.name;
    },
    async close() {
      await redis.close();
    },
  };
}

module.exports = { name: 'botbuilder-v4', create };
