// BotBuilder v3 "Replacing Dialogs", the text adventure written by hand: one dialog per location, and replaceDialog
// moves the player from one to the next, like a state machine (the stack never grows).
// The seed names /room2 and /room3 without writing them (and reads `results.repsonse`): both are fixed here.
// Run it: npx ts-node examples/text-adventure.ts
import {
  Prompts,
  SessionManager,
  type Address,
  type DialogResult,
  type FoundChoice,
  type OutgoingMessage,
  type SessionManagerOptions,
} from '../src';

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
  const address: Address = { channelId: 'console', user: { id: 'lars' }, conversation: { id: 'text-adventure' } };
  const print = (messages: OutgoingMessage[]) => {
    for (const message of messages) {
      const buttons = message.suggestedActions?.map((action) => `[${action.title}]`).join(' ');
      console.log(`  bot> ${message.text}${buttons ? ` ${buttons}` : ''}`);
    }
  };
  const bot = createTextAdventureBot({ deliver: (_address, messages) => print(messages), autoBatchDelay: 0 });
  for (const text of ['hi', 'north', 'west', 'east', 'open gate', 'east']) {
    console.log(`user> ${text}`);
    await bot.receive({ address, text });
  }
  await bot.close();
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
