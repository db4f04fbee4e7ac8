import { describe, expect, it } from 'vitest';
import { BENDER, createPicturesBot } from '../../examples/pictures';
import { address, recorder, stackOf } from './recorder';

describe('examples/pictures', () => {
  it('sends the text, then the picture, in one batch', async () => {
    const { options, delivered } = recorder();
    const bot = createPicturesBot(options);
    await bot.receive({ address: address(), text: 'picture' });
    expect(delivered.map((d) => d.messages)).toEqual([
      [
        { type: 'message', text: 'You can easily send pictures to a user...' },
        { type: 'message', attachments: [{ contentType: 'image/jpeg', contentUrl: BENDER }] },
      ],
    ]);
  });

  it('ends the picture dialog with the picture', async () => {
    const { options } = recorder();
    const bot = createPicturesBot(options);
    await bot.receive({ address: address(), text: 'picture' });
    expect(await stackOf(bot)).toEqual([]);
  });
});
