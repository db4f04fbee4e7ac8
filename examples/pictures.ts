// BotBuilder v3 "Attachments": send a picture with the Message builder's attachments().
// Run it: npx ts-node examples/pictures.ts
import { Message, SessionManager, imageAttachment, type SessionManagerOptions } from '../src';
import { consoleAddress, printReplies, runIfMain, say } from './lib/terminal';

export const BENDER = 'http://www.theoldrobots.com/images62/Bender-18.JPG';

/** Builds the pictures bot. */
export function createPicturesBot(options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>) {
  const bot = new SessionManager(options);

  bot.dialog('/', [(session) => session.beginDialog('/picture')]);
  bot.dialog('/picture', [
    (session) => {
      session.send('You can easily send pictures to a user...');
      const msg = new Message().attachments([
        {
          contentType: 'image/jpeg',
          contentUrl: BENDER,
        },
      ]);
      // Or, with the content type read from the extension: new Message().addAttachment(imageAttachment(BENDER))
      session.endDialog(msg);
    },
  ]);
  return bot;
}

async function main(): Promise<void> {
  const address = consoleAddress('pictures');
  const bot = createPicturesBot({ deliver: (_address, messages) => printReplies(messages) });
  await say(bot, address, ['show me a picture']);
  // The same picture through the helper: the content type comes from the extension.
  await bot.send(
    address,
    new Message().text('The same, through imageAttachment():').addAttachment(imageAttachment(BENDER)),
  );
  await bot.close();
}

runIfMain(module, main);
