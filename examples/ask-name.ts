// BotBuilder v3 "Starting and Ending dialogs": two waterfalls ask the user's name, then greet them.
// Run it: npx ts-node examples/ask-name.ts  (a scripted conversation with the v3-style trace, then it exits)
import { Prompts, SessionManager, type DialogResult, type SessionManagerOptions } from '../src';
import { consoleAddress, printReplies, runIfMain, say } from './lib/terminal';

/** Builds the askName bot; `options` lets a test or a script pick the delivery, the trace and the batching delay. */
export function createAskNameBot(options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>) {
  const bot = new SessionManager(options);

  bot.dialog('/', [
    (session) => session.beginDialog('/askName'),
    // What a child dialog returns is not known to the compiler: the annotation is this step's own claim.
    (session, results: DialogResult<string>) => session.send('Hello %s!', results.response ?? 'there'),
  ]);
  bot.dialog('/askName', [
    (session) => Prompts.text(session, 'Hi! What is your name?'),
    // Returning the prompt types `results` here: a PromptResult<string>.
    (session, results) => session.endDialogWithResult(results),
  ]);
  return bot;
}

async function main(): Promise<void> {
  // The trace shows where the bot is: a dot per dialog under the one on top, as in the v3 console output.
  const bot = createAskNameBot({
    deliver: (_address, messages) => printReplies(messages),
    trace: (line) => console.log(`        ${line}`),
  });
  await say(bot, consoleAddress('ask-name'), ['hi', 'Lars']);
  await bot.close(); // delivers the last batch without waiting for the batching delay
}

runIfMain(module, main);
