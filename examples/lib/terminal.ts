// What the scripted examples share when run from a terminal: a user's lines in, the bot's replies printed the way a
// console channel shows them. Bots themselves never import this: each example's create*Bot() stands alone.
import type { Address, IncomingMessage, OutgoingMessage } from '../../src';

/** The address of the scripted user in `conversation`. */
export function consoleAddress(conversation: string, user = 'lars', channelId = 'console'): Address {
  return { channelId, user: { id: user }, conversation: { id: conversation } };
}

/** Prints replies as a console shows them: text with its buttons, attachments, typing. */
export function printReplies(messages: readonly OutgoingMessage[]): void {
  for (const message of messages) {
    if (message.type === 'typing') {
      console.log('  bot is typing...');
      continue;
    }
    const buttons = message.suggestedActions?.map((action) => `[${action.title}]`).join(' ');
    if (message.text) console.log(`  bot> ${message.text}${buttons ? ` ${buttons}` : ''}`);
    for (const attachment of message.attachments ?? []) {
      const shown = attachment.contentUrl ?? JSON.stringify(attachment.content);
      console.log(`  bot> [${attachment.contentType}] ${shown}`);
    }
  }
}

/** Sends `texts` one after another as the user's messages, printing each first. */
export async function say(
  bot: { receive(message: IncomingMessage): Promise<unknown> },
  address: Address,
  texts: readonly string[],
): Promise<void> {
  for (const text of texts) {
    console.log(`user> ${text}`);
    await bot.receive({ address, text });
  }
}

/** Runs `main` when the file is run directly (a test that imports the file does not run it). */
export function runIfMain(module: NodeModule, main: () => Promise<void>): void {
  if (require.main !== module) return;
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
