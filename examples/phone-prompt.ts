// BotBuilder v3 "Replacing Dialogs": a custom phone number prompt built from Prompts.text and replaceDialog,
// which loops (without growing the stack) until the number has 10 or 11 digits.
// Run it: npx ts-node examples/phone-prompt.ts
import { Prompts, SessionManager, type DialogResult, type SessionManagerOptions } from '../src';
import { consoleAddress, printReplies, runIfMain, say } from './lib/terminal';

/** Builds the phonePrompt bot. */
export function createPhonePromptBot(options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>) {
  const bot = new SessionManager(options);

  bot.dialog('/', [
    (session) => session.beginDialog('/phonePrompt'),
    (session, results: DialogResult<string>) =>
      session.send('Got it... Setting number to %s', results.response ?? '(none)'),
  ]);
  bot.dialog('/phonePrompt', [
    (session, args: { reprompt?: boolean } | undefined) => {
      if (args?.reprompt) {
        Prompts.text(
          session,
          "Enter the number using a format of either: '(555) 123-4567' or '555-123-4567' or '5551234567'",
        );
      } else {
        Prompts.text(session, "What's your phone number?");
      }
    },
    (session, results: DialogResult<string>) => {
      const matched = results.response?.match(/\d+/g);
      const number = matched ? matched.join('') : '';
      if (number.length === 10 || number.length === 11) {
        session.endDialogWithResult({ response: number });
      } else {
        session.replaceDialog('/phonePrompt', { reprompt: true });
      }
    },
  ]);
  return bot;
}

async function main(): Promise<void> {
  const bot = createPhonePromptBot({ deliver: (_address, messages) => printReplies(messages), autoBatchDelay: 0 });
  await say(bot, consoleAddress('phone-prompt'), ['hi', 'call me at 555-1234', '(555) 123-4567']);
  await bot.close();
}

runIfMain(module, main);
