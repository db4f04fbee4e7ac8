// BotBuilder v3 "Using Session in Callbacks": async work inside a turn. The step awaits the lookup and only then
// changes the conversation (endDialog), so the turn is saved once the answer is known.
// Calling session.endDialog() before the lookup finishes (the seed's "not ok" case) would end the dialog first and
// answer later; in palaver a step's turn ends when the step returns, and a late endDialog() throws TURN_ENDED.
// Run it: npx ts-node examples/list-items.ts
import { SessionManager, type SessionManagerOptions } from '../src';
import { consoleAddress, printReplies, runIfMain, say } from './lib/terminal';

/** What the slow service answers. */
export interface LookupResult {
  message: string;
}

/** The slow service of the sample: answers after a second. */
export const lookupItemsAsync = (): Promise<LookupResult> =>
  new Promise((resolve) => setTimeout(() => resolve({ message: 'You have 3 items: socks, a hat and a scarf.' }), 1000));

/** Builds the listItems bot. */
export function createListItemsBot(
  options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>,
  lookup: () => Promise<LookupResult> = lookupItemsAsync,
) {
  const bot = new SessionManager(options);

  bot.dialog('/', [(session) => session.beginDialog('listItems')]);
  bot.dialog('listItems', async (session) => {
    session.sendTyping();
    const results = await lookup();
    // Ending the dialog here, after the answer is in, is the right place.
    session.endDialog(results.message);
  });
  return bot;
}

async function main(): Promise<void> {
  const bot = createListItemsBot({ deliver: (_address, messages) => printReplies(messages) });
  await say(bot, consoleAddress('list-items'), ['what do I have?']);
  await bot.close();
}

runIfMain(module, main);
