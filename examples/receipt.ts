// BotBuilder v3 "Cards", the receipt: a ReceiptCard in the neutral shape, then the same idea in Facebook's own
// attachment schema through sourceEvent(), the escape hatch for what the neutral shape cannot say.
// Run it: npx ts-node examples/receipt.ts
import {
  CardImage,
  Message,
  ReceiptCard,
  SessionManager,
  type Address,
  type OutgoingMessage,
  type SessionManagerOptions,
} from '../src';
import { runIfMain } from './lib/terminal';

/** Facebook's native receipt template, as in the seed: `deliver` sends it as it is on the facebook channel. */
export const facebookReceipt = {
  attachment: {
    type: 'template',
    payload: {
      template_type: 'receipt',
      recipient_name: 'Stephane Crozatier',
      order_number: '12345678902',
      currency: 'USD',
      payment_method: 'Visa 2345',
      order_url: 'http://petersapparel.parseapp.com/order?order_id=123456',
      timestamp: '1428444852',
      elements: [
        {
          title: 'Classic White T-Shirt',
          subtitle: '100% Soft and Luxurious Cotton',
          quantity: 2,
          price: 50,
          currency: 'USD',
          image_url: 'http://petersapparel.parseapp.com/img/whiteshirt.png',
        },
        {
          title: 'Classic Gray T-Shirt',
          subtitle: '100% Soft and Luxurious Cotton',
          quantity: 1,
          price: 25,
          currency: 'USD',
          image_url: 'http://petersapparel.parseapp.com/img/grayshirt.png',
        },
      ],
      address: {
        street_1: '1 Hacker Way',
        street_2: '',
        city: 'Menlo Park',
        postal_code: '94025',
        state: 'CA',
        country: 'US',
      },
      summary: {
        subtotal: 75.0,
        shipping_cost: 4.95,
        total_tax: 6.19,
        total_cost: 56.14,
      },
      adjustments: [
        { name: 'New Customer Discount', amount: 20 },
        { name: '$10 Off Coupon', amount: 10 },
      ],
    },
  },
};

/** Builds the receipt bot. */
export function createReceiptBot(options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>) {
  const bot = new SessionManager(options);

  bot.dialog('/', [(session) => session.beginDialog('/receipt')]);
  bot.dialog('/receipt', [
    (session) => {
      session.send('You can send a receipt for Facebook using the ReceiptCard builder...');
      let msg = new Message().attachments([
        new ReceiptCard()
          .title("Recipient's Name")
          .items([
            {
              price: '$22.00',
              title: 'EMP Museum',
              image: CardImage.create('https://upload.wikimedia.org/wikipedia/commons/a/a0/Night_Exterior_EMP.jpg'),
            },
            {
              price: '$22.00',
              title: 'Space Needle',
              image: CardImage.create(
                'https://upload.wikimedia.org/wikipedia/commons/7/7c/Seattlenighttimequeenanne.jpg',
              ),
            },
          ])
          .facts([
            { key: 'Order Number', value: '1234567898' },
            { key: 'Payment Method', value: 'VISA 4076' },
          ])
          .tax('$4.40')
          .total('$48.40'),
      ]);
      session.send(msg);

      session.send("Or using Facebook's native attachment schema...");
      msg = new Message().sourceEvent({ facebook: facebookReceipt });
      session.endDialog(msg);
    },
  ]);
  return bot;
}

async function main(): Promise<void> {
  const address: Address = { channelId: 'facebook', user: { id: 'lars' }, conversation: { id: 'receipt' } };
  const print = (messages: OutgoingMessage[]) => {
    for (const message of messages) {
      if (message.text) console.log(`  bot> ${message.text}`);
      for (const attachment of message.attachments ?? [])
        console.log(`  bot> [${attachment.contentType}] ${JSON.stringify(attachment.content)}`);
      // A facebook deliver() would post this payload as it is.
      const native = message.sourceEvent?.[address.channelId];
      if (native) console.log(`  bot> [facebook native] ${JSON.stringify(native).slice(0, 100)}...`);
    }
  };
  const bot = createReceiptBot({ deliver: (_address, messages) => print(messages) });
  console.log('user> receipt please');
  await bot.receive({ address, text: 'receipt please' });
  await bot.close();
}

runIfMain(module, main);
