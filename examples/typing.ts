// BotBuilder v3 "Typing Indicator": show that the bot is busy while a slow lookup runs, then answer.
// v3 reported a failed lookup with session.error(err); here the step just throws (the await does it): the manager
// emits `error`, tells the user `dialogErrorMessage` and ends the conversation, so the bot stays consistent.
// Run it: npx ts-node examples/typing.ts
import { Prompts, SessionManager, type DialogResult, type SessionManagerOptions } from '../src';
import { consoleAddress, printReplies, runIfMain, say } from './lib/terminal';

/** Looks items up somewhere slow (here: a catalogue behind a 1.5 s delay). */
export type LookupItems = (query: string) => Promise<string[]>;

const catalogue = ['red socks', 'blue socks', 'green socks', 'red hat', 'blue scarf'];

/** The slow service of the sample: answers after 1.5 seconds. */
export const lookupItemsAsync: LookupItems = (query) =>
  new Promise((resolve) =>
    setTimeout(() => resolve(catalogue.filter((item) => item.includes(query.toLowerCase()))), 1500),
  );

/** Builds the countItems bot; `lookupItems` replaces the slow service (a test makes it fail). */
export function createTypingBot(
  options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>,
  lookupItems: LookupItems = lookupItemsAsync,
) {
  const bot = new SessionManager(options);

  bot.dialog('/', [
    (session) => Prompts.text(session, 'What shall I count?'),
    (session, results: DialogResult<string>) => session.beginDialog('/countItems', { query: results.response }),
  ]);
  bot.dialog('/countItems', async (session, args: { query: string }) => {
    session.sendTyping();
    const items = await lookupItems(args.query);
    session.endDialog('%d items found', items.length);
  });
  return bot;
}

async function main(): Promise<void> {
  const bot = createTypingBot({ deliver: (_address, messages) => printReplies(messages), autoBatchDelay: 0 });
  await say(bot, consoleAddress('typing'), ['hi', 'socks']);
  await bot.close();
}

runIfMain(module, main);
