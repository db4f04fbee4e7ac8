import { describe, expect, it } from 'vitest';
import {
  CardAction,
  CardContentType,
  CardImage,
  HeroCard,
  Message,
  ReceiptCard,
  TextFormat,
  ThumbnailCard,
  imageAttachment,
} from '../src';
import { checkCards, isMessageSource } from '../src/cards';
import { outgoingMessageSchema } from '../src/schema';

describe('CardAction', () => {
  it('builds an openUrl action', () => {
    expect(CardAction.openUrl('https://example.com', 'Open')).toEqual({
      type: 'openUrl',
      title: 'Open',
      value: 'https://example.com',
    });
  });

  it('builds a postBack action without a default title, so a hidden value is never shown', () => {
    expect(CardAction.postBack('order:42')).toEqual({ type: 'postBack', value: 'order:42' });
  });

  it('builds an imBack action whose title defaults to its text', () => {
    expect(CardAction.imBack('north')).toEqual({ type: 'imBack', title: 'north', value: 'north' });
  });
});

describe('CardAction.dialogAction', () => {
  it('builds a button naming its action, with its data and title', () => {
    expect(CardAction.dialogAction('orderHelp', { topic: 'sizes' }, 'Help with sizes')).toEqual({
      type: 'dialogAction',
      title: 'Help with sizes',
      value: 'orderHelp',
      data: { topic: 'sizes' },
    });
  });

  it('leaves out data and title when not given', () => {
    expect(CardAction.dialogAction('menu')).toEqual({ type: 'dialogAction', value: 'menu' });
  });

  it('keeps its data through the outgoing message schema', () => {
    const button = CardAction.dialogAction('orderHelp', [1, 'two'], 'Help');
    expect(outgoingMessageSchema.parse({ suggestedActions: [button] }).suggestedActions).toEqual([button]);
  });

  it('rejects an empty action name', () => {
    expect(() => CardAction.dialogAction(' ')).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('rejects data that is not plain JSON', () => {
    expect(() => CardAction.dialogAction('x', { when: new Date() })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('HeroCard and ThumbnailCard', () => {
  it('builds a hero card in the Bot Framework shape', () => {
    const tap = CardAction.openUrl('https://en.wikipedia.org/wiki/Space_Needle');
    const card = new HeroCard()
      .title('Hero Card')
      .subtitle('Space Needle')
      .text('The <b>Space Needle</b>')
      .images([CardImage.create('https://example.com/needle.jpg', { alt: 'needle' })])
      .buttons([CardAction.imBack('More')])
      .tap(tap)
      .toAttachment();
    expect(card).toEqual({
      contentType: 'application/vnd.microsoft.card.hero',
      content: {
        title: 'Hero Card',
        subtitle: 'Space Needle',
        text: 'The <b>Space Needle</b>',
        images: [{ url: 'https://example.com/needle.jpg', alt: 'needle' }],
        buttons: [{ type: 'imBack', title: 'More', value: 'More' }],
        tap: { type: 'openUrl', value: 'https://en.wikipedia.org/wiki/Space_Needle' },
      },
    });
  });

  it('takes image URLs as strings', () => {
    expect(new HeroCard().images(['https://example.com/a.png']).toAttachment().content).toEqual({
      images: [{ url: 'https://example.com/a.png' }],
    });
  });

  it('builds a thumbnail card with the thumbnail content type', () => {
    expect(new ThumbnailCard().title('T').toAttachment()).toEqual({
      contentType: CardContentType.thumbnail,
      content: { title: 'T' },
    });
  });

  it('rejects an image without a URL', () => {
    expect(() => new HeroCard().images([{ url: '' }]).toAttachment()).toThrow(
      expect.objectContaining({ code: 'INVALID_MESSAGE' }),
    );
  });

  it('copies the content, so changing the builder later does not change a built card', () => {
    const builder = new HeroCard().title('before');
    const built = builder.toAttachment();
    builder.title('after');
    expect(built.content).toEqual({ title: 'before' });
  });
});

describe('ReceiptCard', () => {
  it('builds a receipt with items, facts, tax and total', () => {
    const receipt = new ReceiptCard()
      .title("Recipient's Name")
      .items([
        { price: '$22.00', title: 'EMP Museum', image: 'https://example.com/emp.jpg' },
        {
          price: '$11.00',
          title: 'Space Needle',
          quantity: 2,
          image: CardImage.create('https://example.com/needle.jpg'),
        },
      ])
      .facts([{ key: 'Order Number', value: '1234567898' }])
      .tax('$4.40')
      .vat('$0.00')
      .total('$48.40')
      .toAttachment();
    expect(receipt).toEqual({
      contentType: 'application/vnd.microsoft.card.receipt',
      content: {
        title: "Recipient's Name",
        items: [
          { price: '$22.00', title: 'EMP Museum', image: { url: 'https://example.com/emp.jpg' } },
          { price: '$11.00', title: 'Space Needle', quantity: '2', image: { url: 'https://example.com/needle.jpg' } },
        ],
        facts: [{ key: 'Order Number', value: '1234567898' }],
        tax: '$4.40',
        vat: '$0.00',
        total: '$48.40',
      },
    });
  });

  it('takes buttons and a tap action', () => {
    const content = new ReceiptCard()
      .buttons([CardAction.openUrl('https://example.com/order', 'Order')])
      .tap(CardAction.postBack('receipt'))
      .toAttachment().content;
    expect(content).toEqual({
      buttons: [{ type: 'openUrl', title: 'Order', value: 'https://example.com/order' }],
      tap: { type: 'postBack', value: 'receipt' },
    });
  });
});

describe('imageAttachment', () => {
  it('reads the content type from the extension', () => {
    expect(imageAttachment('http://www.theoldrobots.com/images62/Bender-18.JPG')).toEqual({
      contentType: 'image/jpeg',
      contentUrl: 'http://www.theoldrobots.com/images62/Bender-18.JPG',
    });
  });

  it('ignores a query string after the extension', () => {
    expect(imageAttachment('https://example.com/a.png?size=2').contentType).toBe('image/png');
  });

  it('takes an explicit content type and a name', () => {
    expect(imageAttachment('https://example.com/image', { contentType: 'image/webp', name: 'cat' })).toEqual({
      contentType: 'image/webp',
      contentUrl: 'https://example.com/image',
      name: 'cat',
    });
  });

  it('rejects a URL whose type it cannot tell', () => {
    expect(() => imageAttachment('https://example.com/image')).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('Message', () => {
  it('builds text with a template', () => {
    expect(new Message().text('Hello %s!', 'Lars').toMessage()).toEqual({ type: 'message', text: 'Hello Lars!' });
  });

  it('rejects a template that does not fit its arguments', () => {
    expect(() => new Message().text('Hello %s and %s', 'Lars')).toThrow(
      expect.objectContaining({ code: 'INVALID_TEMPLATE' }),
    );
  });

  it('keeps text without arguments as it is', () => {
    expect(new Message().text('100% done').toMessage().text).toBe('100% done');
  });

  it('sets the text format', () => {
    expect(new Message().textFormat(TextFormat.xml).toMessage().textFormat).toBe('xml');
  });

  it('replaces attachments with attachments() and appends with addAttachment()', () => {
    const message = new Message()
      .addAttachment({ contentType: 'image/png', contentUrl: 'https://example.com/old.png' })
      .attachments([{ contentType: 'image/jpeg', contentUrl: 'https://example.com/a.jpg' }])
      .addAttachment(new HeroCard().title('card'))
      .toMessage();
    expect(message.attachments).toEqual([
      { contentType: 'image/jpeg', contentUrl: 'https://example.com/a.jpg' },
      { contentType: CardContentType.hero, content: { title: 'card' } },
    ]);
  });

  it('sets the attachment layout', () => {
    expect(new Message().attachmentLayout('carousel').toMessage().attachmentLayout).toBe('carousel');
  });

  it('turns suggested actions given as strings into imBack actions', () => {
    expect(
      new Message().suggestedActions(['yes', CardAction.postBack('no', 'No')]).toMessage().suggestedActions,
    ).toEqual([
      { type: 'imBack', title: 'yes', value: 'yes' },
      { type: 'postBack', title: 'No', value: 'no' },
    ]);
  });

  it('carries channel-native payloads in sourceEvent', () => {
    const facebook = {
      attachment: {
        type: 'template',
        payload: { template_type: 'receipt', elements: [{ title: 'T-Shirt', price: 50 }] },
      },
    };
    expect(new Message().sourceEvent({ facebook }).toMessage().sourceEvent).toEqual({ facebook });
  });

  it('builds plain JSON that the message schema accepts as it is', () => {
    const message = new Message()
      .text('hi')
      .addAttachment(new ReceiptCard().title('r').items([{ title: 'x', quantity: 1 }]))
      .toMessage();
    expect(JSON.parse(JSON.stringify(message))).toEqual(message);
    expect(outgoingMessageSchema.parse(message)).toEqual(message);
  });

  it('copies what it builds, so later changes to the builder do not reach a built message', () => {
    const builder = new Message().text('one');
    const built = builder.toMessage();
    builder.text('two');
    expect(built.text).toBe('one');
  });

  it('rejects an invalid card given as a plain attachment', () => {
    const message = new Message().addAttachment({ contentType: CardContentType.hero, content: { title: 42 } });
    expect(() => message.toMessage()).toThrow(expect.objectContaining({ code: 'INVALID_MESSAGE' }));
  });

  it('is recognised as a message source', () => {
    expect([isMessageSource(new Message()), isMessageSource({ text: 'hi' }), isMessageSource(null)]).toEqual([
      true,
      false,
      false,
    ]);
  });
});

describe('checkCards', () => {
  it('names the attachment and the field of an invalid receipt', () => {
    const message = {
      attachments: [
        { contentType: 'image/png' },
        { contentType: CardContentType.receipt, content: { items: [{ price: 22 }] } },
      ],
    };
    expect(() => checkCards(message)).toThrow(/attachments\.1\.content.*items\.0\.price/);
  });

  it('lets attachments of other content types pass as they are', () => {
    expect(() =>
      checkCards({ attachments: [{ contentType: 'application/vnd.custom', content: { anything: [1, 2] } }] }),
    ).not.toThrow();
  });
});
