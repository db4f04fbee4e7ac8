'use strict';
// botbuilder 4.x: a minimal in-memory BotAdapter, MemoryStorage, ConversationState + UserState, and a DialogSet with a
// WaterfallDialog and a TextPrompt. Each turn: continue the active dialog or begin it, then save both states.
const { BotAdapter, TurnContext, MemoryStorage, ConversationState, UserState } = require('botbuilder');
const { DialogSet, WaterfallDialog, TextPrompt, DialogTurnStatus } = require('botbuilder-dialogs');
const { QUESTION, Replies } = require('../lib/conversation');

const CHANNEL = 'bench';

/** The smallest adapter: runs the middleware pipeline and the bot logic on an activity; replies go to `onReply`. */
class MemoryAdapter extends BotAdapter {
  constructor(onReply) {
    super();
    this.onReply = onReply;
  }
  async sendActivities(context, activities) {
    const responses = [];
    for (const activity of activities) {
      if (activity.type === 'message') this.onReply(context.activity.from.id, activity.text);
      responses.push({ id: '' });
    }
    return responses;
  }
  async updateActivity() {}
  async deleteActivity() {}
  async continueConversation() {}
  /** Resolves when the turn (logic and state saves) is done. */
  processActivity(activity, logic) {
    const context = new TurnContext(this, activity);
    return this.runMiddleware(context, logic);
  }
}

async function create(options) {
  const replies = new Replies(options.users);
  const adapter = new MemoryAdapter((userId, text) => replies.record(Number(userId.slice(1)), text));
  const storage = new MemoryStorage();
  const conversationState = new ConversationState(storage);
  const userState = new UserState(storage);
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

  const logic = async (context) => {
    const dc = await dialogs.createContext(context);
    const result = await dc.continueDialog();
    if (result.status === DialogTurnStatus.empty) await dc.beginDialog('askName');
    await conversationState.saveChanges(context, false);
    await userState.saveChanges(context, false);
  };

  let errors = 0;
  adapter.onTurnError = async (context, error) => {
    errors++;
    if (errors <= 3) console.error('[botbuilder v4]', error);
  };

  let activityId = 0;
  return {
    replies,
    get errors() {
      return errors;
    },
    immediateReplies: true,
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
      const items = await storage.read([key]);
      return items[key]?.profile?.name;
    },
    async close() {},
  };
}

module.exports = { name: 'botbuilder-v4', create, MemoryAdapter };
