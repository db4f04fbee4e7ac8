// palaver/grammy: run a palaver bot on Telegram through grammY. Only types come from grammy: it is an optional peer.
import type { Api, Context, MiddlewareFn } from 'grammy';
import type { InlineKeyboardButton, InlineKeyboardMarkup } from 'grammy/types';
import type { SessionManager } from '../manager';
import type { DeliverFn } from '../outbox';
import type { Address, Attachment, CardAction, IncomingMessage, OutgoingMessage } from '../types';
import { compact, decodeDialogAction, encodeDialogAction, pressMessage, type CardContent } from './shared';

/** The part of a {@link SessionManager} the middleware uses. */
export type GrammyTurnRunner = Pick<SessionManager<any, any, any, any>, 'receive'>;

/** Options of {@link GrammyAdapter}. */
export interface GrammyAdapterOptions {
  /** The `channelId` of the addresses the middleware builds. @default 'telegram' */
  channelId?: string;
  /** How many button values too long for Telegram's 64-byte `callback_data` are remembered. @default 10_000 */
  maxLongValues?: number;
  /**
   * What becomes of bot commands (a message that starts with `/start`, `/help`, ...): `'next'` hands them to the next
   * middleware, so that `bot.command()` handlers registered after palaver's see them; `'palaver'` runs a palaver turn
   * for them, as for any text. @default 'next'
   */
  commands?: 'next' | 'palaver';
}

/** One Bot API call that delivers (part of) a palaver message. */
export type TelegramCall =
  | { method: 'sendMessage'; text: string; other: Record<string, unknown> }
  | { method: 'sendPhoto'; photo: string; other: Record<string, unknown> }
  | { method: 'sendDocument'; document: string; other: Record<string, unknown> }
  | { method: 'sendChatAction'; action: 'typing' };

/** Telegram-specific fields of a palaver address (kept in `address.conversation`). */
export interface TelegramConversation {
  id: string;
  isGroup?: boolean;
  /** The forum topic the message came from; replies go to the same topic. */
  threadId?: number;
}

const HERO = 'application/vnd.microsoft.card.hero';
const THUMBNAIL = 'application/vnd.microsoft.card.thumbnail';
const RECEIPT = 'application/vnd.microsoft.card.receipt';
/** Marks the callback data of palaver's buttons, so that other inline keyboards of the bot are left alone. */
const PREFIX = 'pv:';
/** Callback data that names a remembered long value. */
const LONG_PREFIX = 'pv#';
const MAX_CALLBACK_BYTES = 64;
const MAX_CAPTION = 1024;

/**
 * Connects palaver to a grammY bot: {@link GrammyAdapter.middleware} turns each text message (or caption, or press on
 * one of palaver's inline buttons) into a palaver message and runs its turn; {@link GrammyAdapter.deliver} sends the
 * batches through the Bot API: text with `sendMessage`, images with `sendPhoto`, other files with `sendDocument`,
 * hero/thumbnail/receipt cards as a photo or an HTML message, suggested actions and card buttons as inline keyboards,
 * and typing with `sendChatAction`.
 * @example
 * const bot = new Bot(process.env.BOT_TOKEN!);
 * const telegram = new GrammyAdapter(bot.api);
 * const manager = new SessionManager({ deliver: telegram.deliver });
 * bot.use(telegram.middleware(manager));
 * bot.start();
 */
export class GrammyAdapter {
  private readonly channelId: string;
  private readonly maxLongValues: number;
  private readonly commands: 'next' | 'palaver';
  private readonly longValues = new Map<string, string>();
  private readonly longIds = new Map<string, string>();
  private nextLongId = 0;
  // Messages of a batch that are already out: a retried batch does not send them twice.
  private readonly sent = new WeakSet<OutgoingMessage>();

  /** @param api the bot's `bot.api`: batches go out through it (and through its transformers). */
  constructor(
    private readonly api: Api,
    options: GrammyAdapterOptions = {},
  ) {
    this.channelId = options.channelId ?? 'telegram';
    this.maxLongValues = options.maxLongValues ?? 10_000;
    this.commands = options.commands ?? 'next';
  }

  /**
   * grammY middleware that runs a palaver turn for every text message, caption, and press on a palaver button; other
   * updates, and bot commands unless the `commands` option is `'palaver'`, go on to the next middleware. It answers the
   * button's callback query, and resolves once the turn is saved.
   */
  middleware<C extends Context>(manager: GrammyTurnRunner): MiddlewareFn<C> {
    return async (ctx, next) => {
      const message = this.toMessage(ctx);
      if (message === undefined) return next();
      if (ctx.callbackQuery !== undefined) {
        // An expired query cannot be answered any more (Telegram says 400); the press still counts.
        await ctx.answerCallbackQuery().catch(() => undefined);
      }
      await manager.receive(message);
    };
  }

  /** The palaver address of the update's chat and sender, or `undefined` when the update has no chat or sender. */
  toAddress(ctx: Context): Address | undefined {
    const chat = ctx.chat;
    const from = ctx.from;
    if (chat === undefined || from === undefined) return undefined;
    const name = [from.first_name, from.last_name].filter(Boolean).join(' ') || from.username;
    const msg = ctx.msg;
    const threadId =
      msg !== undefined && 'is_topic_message' in msg && msg.is_topic_message ? msg.message_thread_id : undefined;
    const address: Address = {
      channelId: this.channelId,
      user: compact({ id: String(from.id), name, username: from.username }),
      conversation: compact({ id: String(chat.id), isGroup: chat.type !== 'private', threadId }),
    };
    const me = ctx.me as { id: number; username?: string } | undefined;
    if (me !== undefined) address.bot = compact({ id: String(me.id), name: me.username });
    return address;
  }

  /** The palaver message of an update, or `undefined` for updates palaver does not handle (bot commands, by default). */
  toMessage(ctx: Context): IncomingMessage | undefined {
    const address = this.toAddress(ctx);
    if (address === undefined) return undefined;
    const query = ctx.callbackQuery;
    if (query !== undefined) {
      const data = query.data;
      if (data === undefined || !(data.startsWith(PREFIX) || data.startsWith(LONG_PREFIX))) return undefined;
      const text = this.decode(data, query.message as { reply_markup?: InlineKeyboardMarkup } | undefined);
      if (text === undefined) return undefined;
      const message = compact({
        address,
        text,
        locale: query.from.language_code,
        sourceEvent: ctx.update as unknown as Record<string, unknown>,
      });
      const press = decodeDialogAction(text);
      return press === undefined ? message : pressMessage(message, press);
    }
    const msg = ctx.message;
    const text = msg?.text ?? msg?.caption;
    if (msg === undefined || text === undefined) return undefined;
    // Telegram marks a command as a bot_command entity at the start of the text.
    const entities = msg.text !== undefined ? msg.entities : msg.caption_entities;
    if (this.commands === 'next' && entities?.some((e) => e.type === 'bot_command' && e.offset === 0)) return undefined;
    return compact({
      address,
      text,
      id: String(msg.message_id),
      timestamp: msg.date * 1000,
      locale: msg.from?.language_code,
      sourceEvent: ctx.update as unknown as Record<string, unknown>,
    });
  }

  /** The `deliver` function to give the {@link SessionManager}: sends each batch through the Bot API, in order. */
  readonly deliver: DeliverFn = async (address, messages) => {
    const conversation = address.conversation as TelegramConversation;
    const chatId = /^-?\d+$/.test(conversation.id) ? Number(conversation.id) : conversation.id;
    const thread = typeof conversation.threadId === 'number' ? { message_thread_id: conversation.threadId } : {};
    for (const message of messages) {
      if (this.sent.has(message)) continue;
      for (const call of this.toCalls(message)) {
        switch (call.method) {
          case 'sendChatAction':
            await this.api.sendChatAction(chatId, call.action, thread);
            break;
          case 'sendMessage':
            await this.api.sendMessage(chatId, call.text, { ...thread, ...call.other });
            break;
          case 'sendPhoto':
            await this.api.sendPhoto(chatId, call.photo, { ...thread, ...call.other });
            break;
          case 'sendDocument':
            await this.api.sendDocument(chatId, call.document, { ...thread, ...call.other });
            break;
        }
      }
      this.sent.add(message);
    }
  };

  /**
   * The Bot API calls that deliver `message`: its text, then each attachment; suggested actions become an inline
   * keyboard on the last call. `sourceEvent.telegram` is merged into the text's options (e.g. `{ parse_mode }`).
   */
  toCalls(message: OutgoingMessage): TelegramCall[] {
    if (message.type === 'typing') return [{ method: 'sendChatAction', action: 'typing' }];
    if (message.type === 'event') return [];
    const calls: TelegramCall[] = [];
    if (message.text) {
      const other: Record<string, unknown> = {};
      if (message.textFormat === 'xml') other.parse_mode = 'HTML';
      const telegram = message.sourceEvent?.telegram;
      if (typeof telegram === 'object' && telegram !== null) Object.assign(other, telegram);
      calls.push({ method: 'sendMessage', text: message.text, other });
    }
    for (const attachment of message.attachments ?? []) calls.push(...this.attachmentCalls(attachment));
    const suggested = message.suggestedActions ?? [];
    if (suggested.length > 0) {
      const last = calls[calls.length - 1];
      const rows = this.keyboard(suggested);
      if (last === undefined || last.method === 'sendChatAction')
        calls.push({ method: 'sendMessage', text: '…', other: { reply_markup: { inline_keyboard: rows } } });
      else {
        const existing = (last.other.reply_markup as InlineKeyboardMarkup | undefined)?.inline_keyboard ?? [];
        last.other.reply_markup = { inline_keyboard: [...existing, ...rows] };
      }
    }
    return calls;
  }

  private attachmentCalls(attachment: Attachment): TelegramCall[] {
    const type = attachment.contentType;
    const card = (
      typeof attachment.content === 'object' && attachment.content !== null ? attachment.content : {}
    ) as CardContent;
    if (type === HERO || type === THUMBNAIL || type === RECEIPT) {
      const html = type === RECEIPT ? receiptHtml(card) : heroHtml(card);
      const markup = card.buttons?.length ? { reply_markup: { inline_keyboard: this.keyboard(card.buttons) } } : {};
      const image = type === RECEIPT ? undefined : card.images?.[0]?.url;
      if (image !== undefined && html.length <= MAX_CAPTION) {
        return [
          {
            method: 'sendPhoto',
            photo: image,
            other: compact({ caption: html || undefined, parse_mode: html ? 'HTML' : undefined, ...markup }),
          },
        ];
      }
      const calls: TelegramCall[] = [];
      if (image !== undefined) calls.push({ method: 'sendPhoto', photo: image, other: {} });
      if (html || markup.reply_markup)
        calls.push({ method: 'sendMessage', text: html || '…', other: { parse_mode: 'HTML', ...markup } });
      return calls;
    }
    if (attachment.contentUrl !== undefined) {
      const other = compact({ caption: attachment.name });
      return type.startsWith('image/')
        ? [{ method: 'sendPhoto', photo: attachment.contentUrl, other }]
        : [{ method: 'sendDocument', document: attachment.contentUrl, other }];
    }
    // A card type Telegram has no form for: its text, if it has any.
    const text = [card.title, card.text].filter(Boolean).join('\n');
    return text ? [{ method: 'sendMessage', text, other: {} }] : [];
  }

  private keyboard(actions: readonly CardAction[]): InlineKeyboardButton[][] {
    return actions.map((action) => {
      const text = action.title ?? action.value;
      if (action.type === 'openUrl') return [{ text, url: action.value }];
      return [
        {
          text,
          callback_data: this.encode(action.type === 'dialogAction' ? encodeDialogAction(action) : action.value),
        },
      ];
    });
  }

  /** `pv:value` when it fits Telegram's 64 bytes; else `pv#id` for a remembered value. */
  private encode(value: string): string {
    const data = PREFIX + value;
    if (Buffer.byteLength(data) <= MAX_CALLBACK_BYTES) return data;
    let id = this.longIds.get(value);
    if (id === undefined) {
      id = (this.nextLongId++).toString(36);
      this.longIds.set(value, id);
      this.longValues.set(id, value);
      if (this.longValues.size > this.maxLongValues) {
        const [oldestId, oldestValue] = this.longValues.entries().next().value as [string, string];
        this.longValues.delete(oldestId);
        this.longIds.delete(oldestValue);
      }
    }
    return LONG_PREFIX + id;
  }

  private decode(data: string, message: { reply_markup?: InlineKeyboardMarkup } | undefined): string | undefined {
    if (data.startsWith(PREFIX)) return data.slice(PREFIX.length);
    const value = this.longValues.get(data.slice(LONG_PREFIX.length));
    if (value !== undefined) return value;
    // Forgotten (a restart, or more long values than maxLongValues): the button's label is the best guess.
    for (const row of message?.reply_markup?.inline_keyboard ?? []) {
      for (const button of row) if ('callback_data' in button && button.callback_data === data) return button.text;
    }
    return undefined;
  }
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function heroHtml(card: CardContent): string {
  const lines: string[] = [];
  if (card.title) lines.push(`<b>${escapeHtml(card.title)}</b>`);
  if (card.subtitle) lines.push(`<i>${escapeHtml(card.subtitle)}</i>`);
  if (card.text) lines.push(escapeHtml(card.text));
  return lines.join('\n');
}

function receiptHtml(card: CardContent): string {
  const lines: string[] = [];
  if (card.title) lines.push(`<b>${escapeHtml(card.title)}</b>`, '');
  for (const item of card.items ?? []) {
    const quantity = item.quantity === undefined ? '' : ` × ${item.quantity}`;
    lines.push(`${escapeHtml(item.title ?? '')}${escapeHtml(quantity)} — ${escapeHtml(item.price ?? '')}`);
  }
  if (card.facts?.length) {
    lines.push('');
    for (const fact of card.facts) lines.push(`${escapeHtml(fact.key ?? '')}: ${escapeHtml(fact.value ?? '')}`);
  }
  if (card.tax !== undefined || card.total !== undefined) lines.push('');
  if (card.tax !== undefined) lines.push(`Tax: ${escapeHtml(card.tax)}`);
  if (card.total !== undefined) lines.push(`<b>Total: ${escapeHtml(card.total)}</b>`);
  return lines.join('\n');
}
