import { describe, expect, it } from 'vitest';
import { createDataAdventureBot, world, type Location } from '../../examples/text-adventure-data';
import { address, errorsOf, recorder, stackOf } from './recorder';

async function play(commands: string[], map: Record<string, Location> = world) {
  const { options, texts, messages } = recorder();
  const bot = createDataAdventureBot(options, map);
  const errors = errorsOf(bot);
  for (const text of ['hi', ...commands]) await bot.receive({ address: address(), text });
  return { bot, errors, texts, messages };
}

describe('examples/text-adventure-data', () => {
  it("asks with the location's description and its commands as choices", async () => {
    const { messages } = await play([]);
    expect(messages().map((m) => [m.text, m.suggestedActions?.map((a) => a.value)])).toEqual([
      [world.room0!.description, ['north', 'look']],
    ]);
  });

  it('walks the world and congratulates the player on the way out', async () => {
    const { texts } = await play(['north', 'look', 'open gate', 'east']);
    expect(texts()).toEqual([
      world.room0!.description,
      world.room1!.description,
      world.room1!.description,
      world.room2!.description,
      'Congratulations! You made it out!',
    ]);
  });

  it('keeps the root, one /location and its prompt on the stack however far the player walks', async () => {
    const { bot } = await play(['north', 'west', 'east', 'west']);
    expect(await stackOf(bot)).toEqual(['/', '/location', 'palaver:prompt:choice']);
  });

  it('has a location for every command of the world', () => {
    const destinations = Object.values(world).flatMap((location) => Object.values(location.commands));
    expect(destinations.filter((d) => d !== 'out' && world[d] === undefined)).toEqual([]);
  });

  it('reports a command that leads nowhere and starts over', async () => {
    const broken: Record<string, Location> = { room0: { description: 'A room.', commands: { north: 'nowhere' } } };
    const { errors, texts, bot } = await play(['north'], broken);
    expect([errors.map((e) => e.code), texts(), await stackOf(bot)]).toEqual([
      ['DIALOG_FAILED'],
      ['A room.', 'Oops. Something went wrong and we need to start over.'],
      [],
    ]);
  });
});
