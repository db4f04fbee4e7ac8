// palaver/botbuilder: run palaver inside a Bot Framework (botbuilder v4) bot. Only types come from botbuilder: it is
// an optional peer, and the adapter works with any BotAdapter (CloudAdapter, TestAdapter...).
import type { Activity, Attachment as BotAttachment, BotAdapter, ConversationReference, TurnContext } from 'botbuilder';
import type { SessionManager, TurnResult } from '../manager';
import type { DeliverFn } from '../outbox';
import type { Address, Attachment, CardAction, IncomingMessage, OutgoingMessage } from '../types';
import { compact, decodeDialogAction, DeliveryTracker, encodeDialogAction, laneOf, pressMessage } from './shared';

/** The part of a {@link SessionManager} the adapter uses. */
export type BotbuilderTurnRunner = Pick<SessionManager<any, any, any, any>, 'receive'> &
  Partial<Pick<SessionManager<any, any, any, any>, 'typing'>>;

/** Runs `logic` in a turn of the conversation `reference` names (a proactive turn). */
export type ContinueConversation = (
  reference: Partial<ConversationReference>,
  logic: (context: TurnContext) => Promise<void>,
) => Promise<void>;

/** Options of {@link BotbuilderAdapter}. */
export interface BotbuilderAdapterOptions {
  /** The botbuilder adapter the bot runs on (a `CloudAdapter` in production); proactive batches go through it. */
  adapter: BotAdapter;
  /** The bot's Microsoft App ID, for `continueConversationAsync`. @default '' (the Emulator, no authentication) */
  appId?: string;
  /**
   * Makes {@link BotbuilderAdapter.run} wait until the turn's replies have been sent, so that they leave through the
   * turn's own context (within the channel's request) instead of a proactive turn. The wait lasts the manager's
   * `autoBatchDelay`: keep that short (or 0) when this is on. @default true
   */
  awaitReplies?: boolean;
  /** How a proactive turn is started. @default `adapter.continueConversationAsync(appId, reference, logic)` */
  continueConversation?: ContinueConversation;
}

/**
 * Runs palaver inside a botbuilder v4 bot. Call {@link BotbuilderAdapter.run} from the bot's turn handler (or an
 * `ActivityHandler`'s `onMessage`/`onEvent`) and give {@link BotbuilderAdapter.deliver} to the manager. Batches are
 * sent with `sendActivities`: through the live turn context while the turn runs, else through `continueConversation`
 * with the conversation reference kept in the palaver address (`channelId`, `serviceUrl`, `user`, `bot`,
 * `conversation`). Cards are Bot Framework attachments already and go out as they are; suggested actions become the
 * activity's `suggestedActions`; typing messages become typing activities.
 * @example
 * const adapter = new CloudAdapter(auth);
 * const bf = new BotbuilderAdapter({ adapter, appId: process.env.MicrosoftAppId });
 * const manager = new SessionManager({ deliver: bf.deliver, autoBatchDelay: 0 });
 * server.post('/api/messages', (req, res) => adapter.process(req, res, (context) => bf.run(context, manager)));
 */
export class BotbuilderAdapter {
  private readonly live = new Map<string, TurnContext[]>();
  private readonly tracker = new DeliveryTracker();
  private readonly continueConversation: ContinueConversation;
  private readonly awaitReplies: boolean;

  constructor(options: BotbuilderAdapterOptions) {
    this.awaitReplies = options.awaitReplies ?? true;
    const appId = options.appId ?? '';
    this.continueConversation =
      options.continueConversation ??
      ((reference, logic) => options.adapter.continueConversationAsync(appId, reference, logic));
  }

  /**
   * Runs the palaver turn of the context's activity (a message or an event); a typing activity goes to
   * `manager.typing` (see the `coalesce` option); other activity types are left alone. Both resolve to `undefined`.
   * Resolves once the turn is saved and, with `awaitReplies`, its replies are sent.
   */
  async run(context: TurnContext, manager: BotbuilderTurnRunner): Promise<TurnResult | undefined> {
    if (context.activity.type === 'typing') {
      // With coalescing on, a typing user keeps the messages waiting to be merged open (manager.typing).
      const address = this.toAddress(context.activity);
      if (address !== undefined) manager.typing?.(address);
      return undefined;
    }
    const message = this.toMessage(context.activity);
    if (message === undefined) return undefined;
    const key = laneOf(message.address);
    const contexts = this.live.get(key) ?? [];
    contexts.push(context);
    this.live.set(key, contexts);
    try {
      const result = await manager.receive(message);
      if (this.awaitReplies) await this.tracker.wait(result.replies);
      return result;
    } finally {
      contexts.splice(contexts.indexOf(context), 1);
      if (contexts.length === 0 && this.live.get(key) === contexts) this.live.delete(key);
    }
  }

  /** The `deliver` function to give the {@link SessionManager}. */
  readonly deliver: DeliverFn = async (address, messages) => {
    const activities = messages.map((message) => this.toActivity(message, address));
    const contexts = this.live.get(laneOf(address));
    const context = contexts?.[contexts.length - 1];
    try {
      if (context !== undefined) await context.sendActivities(activities);
      else
        await this.continueConversation(
          this.toReference(address),
          async (proactive) => void (await proactive.sendActivities(activities)),
        );
    } finally {
      // Sent or failed, a waiting turn stops waiting: a retry goes out proactively.
      this.tracker.settle(messages);
    }
  };

  /** The palaver address of an activity: its channel, user, conversation and bot, and the `serviceUrl` to reply to. */
  toAddress(activity: Partial<Activity>): Address | undefined {
    const { channelId, from, conversation, recipient } = activity;
    if (!channelId || !from?.id || !conversation?.id) return undefined;
    const address: Address = {
      channelId,
      user: compact({ ...from }) as Address['user'],
      conversation: compact({ ...conversation }) as Address['conversation'],
    };
    if (recipient?.id) address.bot = compact({ ...recipient }) as NonNullable<Address['bot']>;
    if (activity.serviceUrl) address.serviceUrl = activity.serviceUrl;
    return address;
  }

  /** The palaver message of a message or event activity; `undefined` for other activity types. */
  toMessage(activity: Partial<Activity>): IncomingMessage | undefined {
    if (activity.type !== 'message' && activity.type !== 'event') return undefined;
    const address = this.toAddress(activity);
    if (address === undefined) return undefined;
    const channelData = activity.channelData as unknown;
    const timestamp = activity.timestamp === undefined ? undefined : new Date(activity.timestamp).getTime();
    const message = compact({
      address,
      type: activity.type === 'event' ? 'event' : undefined,
      text: activity.text,
      name: activity.name,
      value: activity.value,
      attachments: activity.attachments?.filter((a) => a.contentType).map((a) => compact({ ...a }) as Attachment),
      locale: activity.locale,
      id: activity.id,
      timestamp: Number.isFinite(timestamp) ? timestamp : undefined,
      sourceEvent: isPlainObject(channelData) ? channelData : undefined,
    } satisfies Partial<IncomingMessage>) as IncomingMessage;
    // A dialogAction button went out as a postBack; its value comes back as the text.
    const press = activity.type === 'message' ? decodeDialogAction(activity.text) : undefined;
    return press === undefined ? message : pressMessage(message, press);
  }

  /** The Bot Framework activity of a palaver message; `sourceEvent` becomes `channelData`. */
  toActivity(message: OutgoingMessage, address: Address): Partial<Activity> {
    if (message.type === 'typing') return { type: 'typing' };
    if (message.type === 'event')
      return compact({ type: 'event', name: message.name, value: message.value, channelData: message.sourceEvent });
    const actions = message.suggestedActions;
    return compact({
      type: 'message',
      text: message.text,
      textFormat: message.textFormat,
      attachments: message.attachments?.map(
        (attachment) => compact({ ...attachment, content: withBotActions(attachment.content) }) as BotAttachment,
      ),
      attachmentLayout: message.attachmentLayout,
      suggestedActions: actions?.length
        ? {
            to: [address.user.id],
            actions: actions.map((action) => ({ ...botAction(action), title: action.title ?? action.value })),
          }
        : undefined,
      inputHint: message.inputHint,
      locale: message.locale,
      value: message.value,
      channelData: message.sourceEvent,
    });
  }

  /** The conversation reference kept in a palaver address (what `continueConversation` needs). */
  toReference(address: Address): Partial<ConversationReference> {
    return compact({
      channelId: address.channelId,
      serviceUrl: typeof address.serviceUrl === 'string' ? address.serviceUrl : undefined,
      user: address.user,
      bot: address.bot,
      conversation: address.conversation,
    }) as unknown as Partial<ConversationReference>;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A palaver card action as the Bot Framework knows it: a `dialogAction` becomes a postBack of its encoded value. */
function botAction(action: CardAction): { type: string; title?: string; value: string } {
  if (action.type !== 'dialogAction') return compact({ type: action.type, title: action.title, value: action.value });
  return compact({ type: 'postBack', title: action.title ?? action.value, value: encodeDialogAction(action) });
}

/** A card's content with its `dialogAction` buttons and taps (the card's and its images') mapped by {@link botAction}. */
function withBotActions(content: unknown): unknown {
  if (!isPlainObject(content)) return content;
  const card = content as { buttons?: unknown; tap?: unknown; images?: unknown };
  const mapped: Record<string, unknown> = { ...content };
  if (Array.isArray(card.buttons))
    mapped.buttons = card.buttons.map((button) => (isCardAction(button) ? botAction(button) : button));
  if (isCardAction(card.tap)) mapped.tap = botAction(card.tap);
  if (Array.isArray(card.images))
    mapped.images = card.images.map((image) =>
      isPlainObject(image) && isCardAction(image.tap) ? { ...image, tap: botAction(image.tap) } : image,
    );
  return mapped;
}

function isCardAction(value: unknown): value is CardAction {
  return isPlainObject(value) && typeof value.type === 'string' && typeof value.value === 'string';
}
