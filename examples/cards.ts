// BotBuilder v3 "Cards": a hero card with XML text, an image and a tap action, then thumbnail cards with buttons
// (openUrl, postBack, imBack) side by side. The cards are plain JSON in the Bot Framework's shapes.
// Run it: npx ts-node examples/cards.ts
import {
  CardAction,
  CardImage,
  HeroCard,
  Message,
  SessionManager,
  TextFormat,
  ThumbnailCard,
  type SessionManagerOptions,
} from '../src';
import { consoleAddress, printReplies, runIfMain, say } from './lib/terminal';

/** Builds the cards bot. */
export function createCardsBot(options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>) {
  const bot = new SessionManager(options);

  bot.dialog('/', [
    (session) => session.beginDialog('/cards'),
    (session) => {
      const msg = new Message()
        .text('Thumbnail cards with buttons, side by side:')
        .attachmentLayout('carousel')
        .attachments([
          new ThumbnailCard()
            .title('Space Needle')
            .subtitle('Seattle, Washington')
            .images([
              CardImage.create('https://upload.wikimedia.org/wikipedia/commons/7/7c/Seattlenighttimequeenanne.jpg', {
                alt: 'The Space Needle at night',
              }),
            ])
            .buttons([
              CardAction.openUrl('https://en.wikipedia.org/wiki/Space_Needle', 'Wikipedia'),
              CardAction.imBack('Tell me more about the Space Needle', 'More'),
            ]),
          new ThumbnailCard()
            .title('EMP Museum')
            .subtitle('Seattle, Washington')
            .images(['https://upload.wikimedia.org/wikipedia/commons/a/a0/Night_Exterior_EMP.jpg'])
            .buttons([
              CardAction.openUrl('https://en.wikipedia.org/wiki/Museum_of_Pop_Culture', 'Wikipedia'),
              CardAction.postBack('ticket:emp', 'Buy a ticket'),
            ]),
        ]);
      session.send(msg);
    },
  ]);
  bot.dialog('/cards', [
    (session) => {
      const msg = new Message().textFormat(TextFormat.xml).attachments([
        new HeroCard()
          .title('Hero Card')
          .subtitle('Space Needle')
          .text(
            'The <b>Space Needle</b> is an observation tower in Seattle, Washington, a landmark of the Pacific Northwest, and an icon of Seattle.',
          )
          .images([
            CardImage.create(
              'https://upload.wikimedia.org/wikipedia/commons/thumb/7/7c/Seattlenighttimequeenanne.jpg/320px-Seattlenighttimequeenanne.jpg',
            ),
          ])
          .tap(CardAction.openUrl('https://en.wikipedia.org/wiki/Space_Needle')),
      ]);
      session.endDialog(msg);
    },
  ]);
  return bot;
}

async function main(): Promise<void> {
  const bot = createCardsBot({ deliver: (_address, messages) => printReplies(messages) });
  await say(bot, consoleAddress('cards'), ['show me cards']);
  await bot.close();
}

runIfMain(module, main);
