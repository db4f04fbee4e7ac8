// BotBuilder v3 "Starting and Ending dialogs", second sample: a dialog called with arguments fills in the missing parts
// of the user's profile (waterfall steps skip with next()), and session.userData remembers it for next time.
// The seed's slips are fixed: the profile comes back as `results.response` and is read from `dialogData`, not `args`.
// Run it: npx ts-node examples/ensure-profile.ts
import { Prompts, SessionManager, type DialogResult, type SessionManagerOptions } from '../src';
import { consoleAddress, printReplies, runIfMain, say } from './lib/terminal';

export type Profile = { name?: string; email?: string };
export type ProfileUserData = { profile?: Profile };

/** Builds the ensureProfile bot. */
export function createEnsureProfileBot(
  options: Partial<SessionManagerOptions<{}, ProfileUserData>> & Pick<SessionManagerOptions, 'deliver'>,
) {
  const bot = new SessionManager<{}, ProfileUserData>(options);

  bot.dialog('/', [
    (session) => session.beginDialog('/ensureProfile', session.userData.profile),
    (session, results: DialogResult<Profile>) => {
      session.userData.profile = results.response;
      session.send('Hello %s!', session.userData.profile?.name ?? 'there');
    },
  ]);
  bot.dialog('/ensureProfile', [
    (session, args: Profile | undefined, next) => {
      session.dialogData.profile = { ...args };
      if (!args?.name) {
        Prompts.text(session, 'Hi! What is your name?');
      } else {
        next();
      }
    },
    (session, results: DialogResult<string>, next) => {
      const profile = session.dialogData.profile as Profile;
      if (results.response) profile.name = results.response;
      if (!profile.email) {
        Prompts.text(session, "What's your email address?");
      } else {
        next();
      }
    },
    (session, results: DialogResult<string>) => {
      const profile = session.dialogData.profile as Profile;
      if (results.response) profile.email = results.response;
      session.endDialogWithResult({ response: profile });
    },
  ]);
  return bot;
}

async function main(): Promise<void> {
  const bot = createEnsureProfileBot({ deliver: (_address, messages) => printReplies(messages), autoBatchDelay: 0 });
  // The first time the bot asks; the second time it knows the user already.
  await say(bot, consoleAddress('ensure-profile'), ['hi', 'Lars', 'lars@example.com', 'hi again']);
  await bot.close();
}

runIfMain(module, main);
