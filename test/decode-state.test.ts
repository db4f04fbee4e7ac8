// decodeState is public: bad input to it is a PalaverError with a code (CORRUPT_STATE), as from every entry point; and
// it reads what the manager stores, given the session key the record is stored under.
import { describe, expect, it } from 'vitest';
import { decodeState, PalaverError } from '../src';
import { address, makeBot } from './harness';

/** A bot that has had one turn with `to`, and the key and stored text of that session. */
async function oneTurn(to = address('ada', 'room:1%', 'web')) {
  const { bot, say } = makeBot();
  bot.dialog('/', (session) => session.send('hi'));
  await say('hello', to);
  const key = bot.keyOf(to);
  const record = await bot.store.get(key);
  await bot.close();
  return { key, text: record!.data };
}

describe('decodeState (public)', () => {
  it('throws a PalaverError with a code for text that is not JSON', () => {
    expect(() => decodeState('{not json')).toThrow(PalaverError);
    expect(() => decodeState('{not json')).toThrow(expect.objectContaining({ code: 'CORRUPT_STATE' }));
  });

  it('throws a PalaverError with a code for JSON that is not a session state', () => {
    expect(() => decodeState('[3, null]')).toThrow(expect.objectContaining({ code: 'CORRUPT_STATE' }));
  });

  it('gives back the address of a record the manager wrote when passed the key it is stored under', async () => {
    const to = address('ada', 'room:1%', 'web');
    const { key, text } = await oneTurn(to);
    expect(decodeState(text, key).address).toEqual(to);
  });

  it('throws CORRUPT_STATE asking for the key when a record the manager wrote is read without it', async () => {
    const { text } = await oneTurn();
    expect(() => decodeState(text)).toThrow(expect.objectContaining({ code: 'CORRUPT_STATE', message: expect.stringContaining('pass the key') }));
  });
});
