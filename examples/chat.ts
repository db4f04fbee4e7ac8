// Chat with the Conversation Learner tutorial bot in your terminal, through palaver/console.
// Run it: npm run chat        (/timeout ends the session as if you had been away, /end ends it, /quit leaves)
// Or pipe a script through it: printf 'hi\nLars\n555-555-5555\nSeattle\n' | npm run chat
import { ConsoleAdapter, type ConsoleAdapterOptions } from '../src/adapters/console';
import { createTutorialBot } from './session-callbacks';
import { runIfMain } from './lib/terminal';

/** Runs the chat until the input ends or the user types /quit, then closes the bot. */
export async function main(options: ConsoleAdapterOptions = {}): Promise<void> {
  const chat = new ConsoleAdapter({ botName: 'Botty', showSessionEvents: true, ...options });
  // A short inactivity timeout, so that a real one can be seen: the session ends on its own and the bot forgets
  // where you are, but keeps your name and phone number.
  const timeout = Number(process.env.SESSION_TIMEOUT_MS ?? 120_000);
  const bot = createTutorialBot({ deliver: chat.deliver, timeout });
  if ((options.output ?? process.stdout) === process.stdout && process.stdout.isTTY) {
    console.log(
      `Chatting with Botty (sessions time out after ${timeout / 1000} s idle). Say hi; /timeout, /end, /quit.`,
    );
  }
  await chat.start(bot);
  await bot.close();
}

runIfMain(module, main);
