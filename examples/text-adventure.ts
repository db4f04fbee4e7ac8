// BotBuilder v3 "Replacing Dialogs", the text adventure written by hand: one dialog per location, and replaceDialog
// moves the player from one to the next, like a state machine (the stack never grows).
// The seed names /room2 and /room3 without writing them (and reads `results.repsonse`): both are fixed here.
// Run it: npx ts-node examples/text-adventure.ts
import { Prompts, SessionManager, type DialogResult, type FoundChoice, type SessionManagerOptions } from '../src';
import { consoleAddress, printReplies, runIfMain, say } from './lib/terminal';

/** Builds the hand-written text adventure. */
export function createTextAdventureBot(
  options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>,
) {
  const bot = new SessionManager(options);

  bot.dialog('/', [
    (session) => {
      session.send("You're in a large clearing. There's a path to the north.");
      Prompts.choice(session, 'command?', ['north', 'look']);
    },
    (session, results: DialogResult<FoundChoice>) => {
      switch (results.response?.entity) {
        case 'north':
          session.replaceDialog('/room1');
          break;
        default:
          session.replaceDialog('/');
          break;
      }
    },
  ]);
  bot.dialog('/room1', [
    (session) => {
      session.send(
        "There's a small house here surrounded by a white fence with a gate. There's a path to the south and west.",
      );
      Prompts.choice(session, 'command?', ['open gate', 'south', 'west', 'look']);
    },
    (session, results: DialogResult<FoundChoice>) => {
      switch (results.response?.entity) {
        case 'open gate':
          session.replaceDialog('/room2');
          break;
        case 'south':
          session.replaceDialog('/');
          break;
        case 'west':
          session.replaceDialog('/room3');
          break;
        default:
          session.replaceDialog('/room1');
          break;
      }
    },
  ]);
  bot.dialog('/room2', [
    (session) => {
      session.send("You're in a garden behind the fence. A path leads out of the woods to the east.");
      Prompts.choice(session, 'command?', ['east', 'back', 'look']);
    },
    (session, results: DialogResult<FoundChoice>) => {
      switch (results.response?.entity) {
        case 'east':
          // The way out: the conversation ends, and the next message starts the adventure again.
          session.endConversation('You follow the path out of the woods. The end!');
          break;
        case 'back':
          session.replaceDialog('/room1');
          break;
        default:
          session.replaceDialog('/room2');
          break;
      }
    },
  ]);
  bot.dialog('/room3', [
    (session) => {
      session.send("You're in a dark forest. The only path leads east.");
      Prompts.choice(session, 'command?', ['east', 'look']);
    },
    (session, results: DialogResult<FoundChoice>) => {
      session.replaceDialog(results.response?.entity === 'east' ? '/room1' : '/room3');
    },
  ]);
  return bot;
}

async function main(): Promise<void> {
  const bot = createTextAdventureBot({ deliver: (_address, messages) => printReplies(messages), autoBatchDelay: 0 });
  await say(bot, consoleAddress('text-adventure'), ['hi', 'north', 'west', 'east', 'open gate', 'east']);
  await bot.close();
}

runIfMain(module, main);
