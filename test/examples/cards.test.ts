import { describe, expect, it } from 'vitest';
import { createCardsBot } from '../../examples/cards';
import { address, recorder } from './recorder';

async function run() {
  const { options, messages } = recorder();
  const bot = createCardsBot(options);
  await bot.receive({ address: address(), text: 'cards' });
  return messages();
}

describe('examples/cards', () => {
  it('sends the hero card of the seed in the Bot Framework shape, with XML text', async () => {
    const [hero] = await run();
    expect(hero).toEqual({
      type: 'message',
      textFormat: 'xml',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.hero',
          content: {
            title: 'Hero Card',
            subtitle: 'Space Needle',
            text: 'The <b>Space Needle</b> is an observation tower in Seattle, Washington, a landmark of the Pacific Northwest, and an icon of Seattle.',
            images: [
              {
                url: 'https://upload.wikimedia.org/wikipedia/commons/thumb/7/7c/Seattlenighttimequeenanne.jpg/320px-Seattlenighttimequeenanne.jpg',
              },
            ],
            tap: { type: 'openUrl', value: 'https://en.wikipedia.org/wiki/Space_Needle' },
          },
        },
      ],
    });
  });

  it('then sends thumbnail cards with openUrl, imBack and postBack buttons in a carousel', async () => {
    const [, carousel] = await run();
    expect([
      carousel?.text,
      carousel?.attachmentLayout,
      carousel?.attachments?.map((a) => a.contentType),
      carousel?.attachments?.flatMap((a) => (a.content as { buttons: { type: string }[] }).buttons.map((b) => b.type)),
    ]).toEqual([
      'Thumbnail cards with buttons, side by side:',
      'carousel',
      ['application/vnd.microsoft.card.thumbnail', 'application/vnd.microsoft.card.thumbnail'],
      ['openUrl', 'imBack', 'openUrl', 'postBack'],
    ]);
  });
});
