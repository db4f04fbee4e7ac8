import { describe, expect, it } from 'vitest';
import { createReceiptBot, facebookReceipt } from '../../examples/receipt';
import { address, recorder } from './recorder';

async function run() {
  const { options, messages } = recorder();
  const bot = createReceiptBot(options);
  await bot.receive({ address: address('lars', 'c1', 'facebook'), text: 'receipt' });
  return messages();
}

describe('examples/receipt', () => {
  it('says what it sends, in order', async () => {
    expect((await run()).map((m) => m.text)).toEqual([
      'You can send a receipt for Facebook using the ReceiptCard builder...',
      undefined,
      "Or using Facebook's native attachment schema...",
      undefined,
    ]);
  });

  it('sends the receipt card with items, facts, tax and total', async () => {
    const receipt = (await run())[1];
    expect(receipt?.attachments).toEqual([
      {
        contentType: 'application/vnd.microsoft.card.receipt',
        content: {
          title: "Recipient's Name",
          items: [
            {
              price: '$22.00',
              title: 'EMP Museum',
              image: { url: 'https://upload.wikimedia.org/wikipedia/commons/a/a0/Night_Exterior_EMP.jpg' },
            },
            {
              price: '$22.00',
              title: 'Space Needle',
              image: { url: 'https://upload.wikimedia.org/wikipedia/commons/7/7c/Seattlenighttimequeenanne.jpg' },
            },
          ],
          facts: [
            { key: 'Order Number', value: '1234567898' },
            { key: 'Payment Method', value: 'VISA 4076' },
          ],
          tax: '$4.40',
          total: '$48.40',
        },
      },
    ]);
  });

  it("carries Facebook's native receipt in sourceEvent, as it is", async () => {
    const native = (await run())[3];
    expect(native).toEqual({ type: 'message', sourceEvent: { facebook: facebookReceipt } });
  });
});
