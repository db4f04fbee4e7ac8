import { z } from 'zod';
import { describe, PalaverError } from './errors';
import { formatText } from './format';
import { cardActionSchema, formatIssues, outgoingMessageSchema, parseOrThrow } from './schema';
import type { Attachment, JsonObject, OutgoingMessage } from './types';

// A small, channel-neutral builder for rich messages. Everything it builds is plain JSON in the Bot Framework's
// shapes (content types and field names), so a `deliver` function or an adapter can map it to its channel.

/** The content types of the cards, as the Bot Framework names them. */
export const CardContentType = {
  /** A card with a large image, text and buttons. */
  hero: 'application/vnd.microsoft.card.hero',
  /** Like a hero card, with a small image (some channels show them alike). */
  thumbnail: 'application/vnd.microsoft.card.thumbnail',
  /** A receipt: items with prices, facts, tax and total. */
  receipt: 'application/vnd.microsoft.card.receipt',
} as const;

/**
 * How a message's text is to be read.
 * - `plain`: as it is.
 * - `markdown`: as Markdown.
 * - `xml`: as the small XML/HTML subset some channels render (`<b>`, `<i>`, `<a>`).
 */
export type TextFormat = 'plain' | 'markdown' | 'xml';
/** The values of {@link TextFormat}, for `new Message().textFormat(TextFormat.xml)`. */
export const TextFormat = { plain: 'plain', markdown: 'markdown', xml: 'xml' } as const satisfies Record<
  TextFormat,
  TextFormat
>;

/** How a message shows several attachments: one under the other, or side by side. */
export type AttachmentLayout = 'list' | 'carousel';

/** A button or a tap action: open a link, post back a hidden value, or send a visible message as the user. */
export type CardAction = z.infer<typeof cardActionSchema>;

/** Builds card actions. */
export const CardAction = {
  /** Opens `url` in a browser. */
  openUrl(url: string, title?: string): CardAction {
    return action('openUrl', url, title);
  },
  /** Sends `value` to the bot without showing it in the chat (channels without postBack fall back to imBack). */
  postBack(value: string, title?: string): CardAction {
    return action('postBack', value, title);
  },
  /** Sends `text` to the bot as if the user had typed it; the button shows `title`, by default the text itself. */
  imBack(text: string, title: string = text): CardAction {
    return action('imBack', text, title);
  },
  /**
   * A button that triggers the action named `name` (`bot.action`, a dialog's `actions`, or a dialog's trigger, named
   * after its dialog), whatever its title and the user's language; the action's dialog gets `data` in its args. Every
   * adapter maps it to its channel (a callback button on Telegram, a postBack on Bot Framework, a button in the web chat).
   * @throws PalaverError `INVALID_ARGUMENT` when `name` is empty or `data` is not JSON.
   * @example
   * new HeroCard().buttons([CardAction.dialogAction('orderHelp', { topic: 'sizes' }, 'Help with sizes')]);
   */
  dialogAction(name: string, data?: unknown, title?: string): CardAction {
    if (typeof name !== 'string' || name.trim().length === 0) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `CardAction.dialogAction: expected the action's name as a non-empty string, got ${describe(name)}.`,
      );
    }
    if (data !== undefined && !isJson(data)) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `CardAction.dialogAction("${name}"): \`data\` must be plain JSON (objects, arrays, strings, numbers, booleans, null), got ${describe(data)}.`,
      );
    }
    const button = action('dialogAction', name, title);
    if (data !== undefined) button.data = data;
    return button;
  },
};

/** True for a value that survives JSON as it is: no functions, undefined, NaN, class instances or cycles. */
function isJson(value: unknown, depth = 0): boolean {
  if (depth > 64) return false;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return true;
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every((item) => isJson(item, depth + 1));
  if (typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype)
    return Object.values(value).every((item) => isJson(item, depth + 1));
  return false;
}

/** An image on a card. */
export interface CardImage {
  /** Where the image is (a URL or a data URI). */
  url: string;
  /** Text for screen readers and channels without images. */
  alt?: string;
  /** What tapping the image does. */
  tap?: CardAction;
}

/** Builds card images. */
export const CardImage = {
  /** An image at `url`. */
  create(url: string, options: { alt?: string; tap?: CardAction } = {}): CardImage {
    return clean({ url, alt: options.alt, tap: options.tap });
  },
};

/** The content of a hero or thumbnail card (Bot Framework field names). */
export interface HeroCardContent {
  title?: string;
  subtitle?: string;
  text?: string;
  images?: CardImage[];
  buttons?: CardAction[];
  /** What tapping the card does. */
  tap?: CardAction;
}

/** One line of a receipt. */
export interface ReceiptItem {
  title?: string;
  subtitle?: string;
  text?: string;
  image?: CardImage;
  /** The price as shown, e.g. `'$22.00'`. */
  price?: string;
  /** The quantity as shown, e.g. `'2'`. */
  quantity?: string;
  tap?: CardAction;
}

/** A key/value line of a receipt (`Order Number: 1234`). */
export interface Fact {
  key: string;
  value: string;
}

/** The content of a receipt card (Bot Framework field names). */
export interface ReceiptCardContent {
  title?: string;
  facts?: Fact[];
  items?: ReceiptItem[];
  tax?: string;
  vat?: string;
  total?: string;
  tap?: CardAction;
  buttons?: CardAction[];
}

/** Anything that turns into an attachment, such as a card builder. */
export interface AttachmentSource {
  toAttachment(): Attachment;
}

/** Anything that turns into a message, such as a {@link Message} builder. */
export interface MessageSource {
  toMessage(): OutgoingMessage;
}

/** What `send` and the other replying methods take: text (a template when arguments follow), a message, or a builder. */
export type MessageLike = string | OutgoingMessage | MessageSource;

const text = z.string().optional();
const cardImageSchema = z.object({
  url: z.string().min(1, 'must be a non-empty URL'),
  alt: text,
  tap: cardActionSchema.optional(),
});

/** Checks the content of hero and thumbnail cards. */
export const heroCardSchema = z.object({
  title: text,
  subtitle: text,
  text,
  images: z.array(cardImageSchema).optional(),
  buttons: z.array(cardActionSchema).optional(),
  tap: cardActionSchema.optional(),
});

/** Checks the content of receipt cards. */
export const receiptCardSchema = z.object({
  title: text,
  facts: z.array(z.object({ key: z.string(), value: z.string() })).optional(),
  items: z
    .array(
      z.object({
        title: text,
        subtitle: text,
        text,
        image: cardImageSchema.optional(),
        price: text,
        quantity: text,
        tap: cardActionSchema.optional(),
      }),
    )
    .optional(),
  tax: text,
  vat: text,
  total: text,
  tap: cardActionSchema.optional(),
  buttons: z.array(cardActionSchema).optional(),
});

const contentSchemas: Record<string, z.ZodType> = {
  [CardContentType.hero]: heroCardSchema,
  [CardContentType.thumbnail]: heroCardSchema,
  [CardContentType.receipt]: receiptCardSchema,
};

/**
 * Builds a hero card (a large image, text and buttons).
 * @example
 * new HeroCard().title('Space Needle').images(['https://example.com/needle.jpg']).buttons([CardAction.openUrl(url, 'Wikipedia')])
 */
export class HeroCard implements AttachmentSource {
  /** The content built so far. */
  protected readonly content: HeroCardContent = {};
  /** The attachment's content type. */
  protected readonly contentType: string = CardContentType.hero;

  /** The card's title. */
  title(value: string): this {
    this.content.title = value;
    return this;
  }

  /** The line under the title. */
  subtitle(value: string): this {
    this.content.subtitle = value;
    return this;
  }

  /** The card's text (see the message's `textFormat`). */
  text(value: string): this {
    this.content.text = value;
    return this;
  }

  /** The card's images: URLs or {@link CardImage}s. */
  images(list: readonly (CardImage | string)[]): this {
    this.content.images = list.map(toImage);
    return this;
  }

  /** The card's buttons. */
  buttons(list: readonly CardAction[]): this {
    this.content.buttons = [...list];
    return this;
  }

  /** What tapping the card does. */
  tap(value: CardAction): this {
    this.content.tap = value;
    return this;
  }

  /**
   * The card as an attachment (a plain JSON copy).
   * @throws PalaverError `INVALID_MESSAGE` naming the field that is wrong.
   */
  toAttachment(): Attachment {
    return toCardAttachment(this.contentType, this.content);
  }
}

/** Builds a thumbnail card: a hero card whose image is shown small where the channel makes the difference. */
export class ThumbnailCard extends HeroCard {
  protected override readonly contentType: string = CardContentType.thumbnail;
}

/** A receipt line as the builder takes it: the image may be a URL and the quantity a number. */
export type ReceiptItemInput = Omit<ReceiptItem, 'image' | 'quantity'> & {
  image?: CardImage | string;
  quantity?: string | number;
};

/**
 * Builds a receipt card.
 * @example
 * new ReceiptCard().title('Order 1234').items([{ title: 'Space Needle', price: '$22.00' }]).tax('$4.40').total('$26.40')
 */
export class ReceiptCard implements AttachmentSource {
  /** The content built so far. */
  protected readonly content: ReceiptCardContent = {};

  /** The receipt's title (the recipient's name, say). */
  title(value: string): this {
    this.content.title = value;
    return this;
  }

  /** The lines of the receipt. */
  items(list: readonly ReceiptItemInput[]): this {
    this.content.items = list.map((item) =>
      clean({
        ...item,
        image: item.image === undefined ? undefined : toImage(item.image),
        quantity: item.quantity === undefined ? undefined : String(item.quantity),
      }),
    );
    return this;
  }

  /** Key/value lines such as the order number and the payment method. */
  facts(list: readonly Fact[]): this {
    this.content.facts = list.map((fact) => ({ key: fact.key, value: fact.value }));
    return this;
  }

  /** The tax, as shown. */
  tax(value: string): this {
    this.content.tax = value;
    return this;
  }

  /** The VAT, as shown. */
  vat(value: string): this {
    this.content.vat = value;
    return this;
  }

  /** The total, as shown. */
  total(value: string): this {
    this.content.total = value;
    return this;
  }

  /** What tapping the receipt does. */
  tap(value: CardAction): this {
    this.content.tap = value;
    return this;
  }

  /** Buttons under the receipt. */
  buttons(list: readonly CardAction[]): this {
    this.content.buttons = [...list];
    return this;
  }

  /**
   * The receipt as an attachment (a plain JSON copy).
   * @throws PalaverError `INVALID_MESSAGE` naming the field that is wrong.
   */
  toAttachment(): Attachment {
    return toCardAttachment(CardContentType.receipt, this.content);
  }
}

const IMAGE_TYPES: Record<string, string> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  svg: 'image/svg+xml',
  bmp: 'image/bmp',
};

/**
 * An image attachment. The content type comes from the URL's extension (`.jpg` → `image/jpeg`) unless given.
 * @throws PalaverError `INVALID_ARGUMENT` when the URL is empty or its type cannot be told and none is given.
 */
export function imageAttachment(
  url: string,
  options: { contentType?: string; name?: string; thumbnailUrl?: string } = {},
): Attachment {
  if (typeof url !== 'string' || url.length === 0) {
    throw new PalaverError(
      'INVALID_ARGUMENT',
      `imageAttachment expects the image's URL as a non-empty string, got ${JSON.stringify(url)}.`,
    );
  }
  const extension = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(url)?.[1]?.toLowerCase();
  const contentType = options.contentType ?? (extension === undefined ? undefined : IMAGE_TYPES[extension]);
  if (contentType === undefined) {
    throw new PalaverError(
      'INVALID_ARGUMENT',
      `imageAttachment cannot tell the image type of ${JSON.stringify(url)}; pass { contentType: 'image/png' } or the like.`,
    );
  }
  return clean({ contentType, contentUrl: url, name: options.name, thumbnailUrl: options.thumbnailUrl });
}

/**
 * Builds a message: text, attachments and cards, suggested actions, and channel-native payloads (`sourceEvent`).
 * `session.send()`, `endDialog()`, `endConversation()`, the prompts and `manager.send()` take it as it is.
 * @example
 * session.send(new Message().text('Here you go, %s:', name).addAttachment(new HeroCard().title('Space Needle')));
 */
export class Message implements MessageSource {
  private readonly data: OutgoingMessage = { type: 'message' };

  /**
   * The message's text; with arguments it is a sprintf template, as in `session.send()`.
   * @throws PalaverError `INVALID_TEMPLATE` when the template and its arguments do not fit.
   */
  text(template: string, ...args: unknown[]): this {
    this.data.text = formatText(template, args);
    return this;
  }

  /** How the text is to be read. @default the channel's default (usually plain or markdown) */
  textFormat(format: TextFormat): this {
    this.data.textFormat = format;
    return this;
  }

  /** Sets the attachments (images, files, cards or card builders), replacing any added before. */
  attachments(list: readonly (Attachment | AttachmentSource)[]): this {
    this.data.attachments = list.map(toAttachment);
    return this;
  }

  /** Adds one attachment after those already there. */
  addAttachment(attachment: Attachment | AttachmentSource): this {
    (this.data.attachments ??= []).push(toAttachment(attachment));
    return this;
  }

  /** Shows several attachments as a list (the default) or a carousel. */
  attachmentLayout(layout: AttachmentLayout): this {
    this.data.attachmentLayout = layout;
    return this;
  }

  /** Buttons shown with the message until the user answers; a string is an `imBack` of that text. */
  suggestedActions(actions: readonly (CardAction | string)[]): this {
    this.data.suggestedActions = actions.map((a) => (typeof a === 'string' ? CardAction.imBack(a) : a));
    return this;
  }

  /**
   * Channel-native payloads, by channel id (`{ facebook: { attachment: ... } }`), for what the neutral shape cannot say.
   * A `deliver` function or an adapter sends the payload of its channel as it is.
   */
  sourceEvent(payloads: Record<string, JsonObject>): this {
    this.data.sourceEvent = payloads;
    return this;
  }

  /**
   * The message as plain JSON, checked against the message schema and the card schemas.
   * @throws PalaverError `INVALID_MESSAGE` naming the field that is wrong.
   */
  toMessage(): OutgoingMessage {
    const parsed = parseOrThrow(outgoingMessageSchema, this.data, 'INVALID_MESSAGE', 'Message');
    checkCards(parsed);
    return JSON.parse(JSON.stringify(parsed)) as OutgoingMessage;
  }
}

/** True for a message builder (anything with `toMessage()`). */
export function isMessageSource(value: unknown): value is MessageSource {
  return typeof value === 'object' && value !== null && typeof (value as MessageSource).toMessage === 'function';
}

/**
 * Checks the content of every card attachment whose content type palaver knows (hero, thumbnail, receipt).
 * Other attachments pass as they are.
 * @throws PalaverError `INVALID_MESSAGE` naming the attachment and the field.
 */
export function checkCards(message: OutgoingMessage): void {
  const attachments = message.attachments;
  if (attachments === undefined) return;
  for (let i = 0; i < attachments.length; i++) {
    const attachment = attachments[i]!;
    // An own-property lookup: a content type such as `constructor` must not find Object.prototype's.
    const schema = Object.hasOwn(contentSchemas, attachment.contentType)
      ? contentSchemas[attachment.contentType]
      : undefined;
    if (schema === undefined) continue;
    const result = schema.safeParse(attachment.content);
    if (!result.success) {
      throw new PalaverError(
        'INVALID_MESSAGE',
        `Invalid ${attachment.contentType} card in \`attachments.${i}.content\`: ${formatIssues(result.error)}`,
        {
          cause: result.error,
        },
      );
    }
  }
}

function toCardAttachment(contentType: string, content: object): Attachment {
  const attachment: Attachment = { contentType, content: JSON.parse(JSON.stringify(content)) as JsonObject };
  checkCards({ attachments: [attachment] });
  return attachment;
}

function toAttachment(attachment: Attachment | AttachmentSource): Attachment {
  if (typeof (attachment as AttachmentSource).toAttachment === 'function')
    return (attachment as AttachmentSource).toAttachment();
  return attachment as Attachment;
}

function toImage(image: CardImage | string): CardImage {
  return typeof image === 'string' ? { url: image } : clean({ url: image.url, alt: image.alt, tap: image.tap });
}

function action(type: CardAction['type'], value: string, title: string | undefined): CardAction {
  return title === undefined ? { type, value } : { type, title, value };
}

/** Drops `undefined` fields, so what is built is the JSON it will be stored and sent as. */
function clean<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = v;
  return out as T;
}
