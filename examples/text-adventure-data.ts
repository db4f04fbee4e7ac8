// BotBuilder v3 "Replacing Dialogs", the text adventure made data-driven: one /location dialog reads the world and
// replaces itself with the next location; the root dialog congratulates the player once /location ends.
// The seed's world stops at room1 though its commands lead to room2 and room3: they are written here, with a way out.
// Run it: npx ts-node examples/text-adventure-data.ts
import { Prompts, SessionManager, type DialogResult, type FoundChoice, type SessionManagerOptions } from '../src';
import { consoleAddress, printReplies, runIfMain, say } from './lib/terminal';

/** A location: what the player sees, and where each command leads (`out` leaves the world). */
export interface Location {
  description: string;
  commands: Record<string, string>;
}

/** The world of the seed, completed. */
export const world: Record<string, Location> = {
  room0: {
    description: "You're in a large clearing. There's a path to the north.",
    commands: { north: 'room1', look: 'room0' },
  },
  room1: {
    description:
      "There's a small house here surrounded by a white fence with a gate. There's a path to the south and west.",
    commands: { 'open gate': 'room2', south: 'room0', west: 'room3', look: 'room1' },
  },
  room2: {
    description: "You're in a garden behind the fence. A path leads out of the woods to the east.",
    commands: { east: 'out', back: 'room1', look: 'room2' },
  },
  room3: {
    description: "You're in a dark forest. The only path leads east.",
    commands: { east: 'room1', look: 'room3' },
  },
};

/** Builds the data-driven text adventure over `map` (the world above by default). */
export function createDataAdventureBot(
  options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>,
  map: Record<string, Location> = world,
) {
  const bot = new SessionManager(options);

  bot.dialog('/', [
    (session) => session.beginDialog('/location', { location: 'room0' }),
    (session) => session.send('Congratulations! You made it out!'),
  ]);
  bot.dialog('/location', [
    (session, args: { location: string }) => {
      const location = map[args.location];
      if (location === undefined) throw new Error(`The world has no location "${args.location}".`);
      session.dialogData.commands = location.commands;
      Prompts.choice(session, location.description, location.commands);
    },
    (session, results: DialogResult<FoundChoice>) => {
      const commands = session.dialogData.commands as Record<string, string>;
      const destination = commands[results.response!.entity]!;
      if (destination === 'out') {
        session.endDialog();
      } else {
        session.replaceDialog('/location', { location: destination });
      }
    },
  ]);
  return bot;
}

async function main(): Promise<void> {
  const bot = createDataAdventureBot({ deliver: (_address, messages) => printReplies(messages), autoBatchDelay: 0 });
  await say(bot, consoleAddress('text-adventure-data'), ['hi', 'north', 'look', 'open gate', 'east']);
  await bot.close();
}

runIfMain(module, main);
