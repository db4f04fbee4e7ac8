import { describe, expect, it } from 'vitest';
import { createTextAdventureBot } from '../../examples/text-adventure';
import { address, errorsOf, recorder, stackOf } from './recorder';

const CLEARING = "You're in a large clearing. There's a path to the north.";
const HOUSE =
  "There's a small house here surrounded by a white fence with a gate. There's a path to the south and west.";
const GARDEN = "You're in a garden behind the fence. A path leads out of the woods to the east.";
const FOREST = "You're in a dark forest. The only path leads east.";

async function play(...commands: string[]) {
  const { options, texts, messages } = recorder();
  const bot = createTextAdventureBot(options);
  const errors = errorsOf(bot);
  for (const text of ['hi', ...commands]) await bot.receive({ address: address(), text });
  return { bot, errors, messages, descriptions: texts().filter((t) => t !== 'command?') };
}

describe('examples/text-adventure (hand-written)', () => {
  it('starts in the clearing and offers the commands as buttons', async () => {
    const { messages } = await play();
    expect(messages().map((m) => [m.text, m.suggestedActions?.map((a) => a.value)])).toEqual([
      [CLEARING, undefined],
      ['command?', ['north', 'look']],
    ]);
  });

  it('moves north to the house and back south to the clearing', async () => {
    const { descriptions } = await play('north', 'south');
    expect(descriptions).toEqual([CLEARING, HOUSE, CLEARING]);
  });

  it('describes the same place again on look', async () => {
    const { descriptions } = await play('north', 'look');
    expect(descriptions).toEqual([CLEARING, HOUSE, HOUSE]);
  });

  it('reaches every location the commands name', async () => {
    const { descriptions, errors } = await play(
      'north',
      'west',
      'look',
      'east',
      'open gate',
      'back',
      'open gate',
      'look',
    );
    expect([descriptions, errors]).toEqual([
      [CLEARING, HOUSE, FOREST, FOREST, HOUSE, GARDEN, HOUSE, GARDEN, GARDEN],
      [],
    ]);
  });

  it('moves with replaceDialog: the location and its prompt are all there is on the stack', async () => {
    const { bot } = await play('north', 'west');
    expect(await stackOf(bot)).toEqual(['/room3', 'palaver:prompt:choice']);
  });

  it('ends the conversation on the way out, and the next message starts over in the clearing', async () => {
    const { bot, descriptions } = await play('north', 'open gate', 'east', 'hello');
    expect([descriptions, await stackOf(bot)]).toEqual([
      [CLEARING, HOUSE, GARDEN, 'You follow the path out of the woods. The end!', CLEARING],
      ['/', 'palaver:prompt:choice'],
    ]);
  });
});
