// BotBuilder v3 "Attachments": send a picture with the Message builder's attachments().
// Run it: npx ts-node examples/pictures.ts
import {
  Message,
  SessionManager,
  imageAttachment,
  type Address,
  type OutgoingMessage,
  type SessionManagerOptions,
} from '../src';

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
  const address: Address = { channelId: 'console', user: { id: 'lars' }, conversation: { id: 'pictures' } };
  const print = (messages: OutgoingMessage[]) => {
    for (const message of messages) {
      if (message.text) console.log(`  bot> ${message.text}`);
      for (const attachment of message.attachments ?? [])
        console.log(`  bot> [${attachment.contentType}] ${attachment.contentUrl}`);
    }
  };
  const bot = createPicturesBot({ deliver: (_address, messages) => print(messages) });
  console.log('user> show me a picture');
  await bot.receive({ address, text: 'show me a picture' });
  // The same picture through the helper: the content type comes from the extension.
  await bot.send(
    address,
    new Message().text('The same, through imageAttachment():').addAttachment(imageAttachment(BENDER)),
  );
  await bot.close();
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
