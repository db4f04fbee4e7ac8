// Helpers the adapters share. Type-only imports from the core: each adapter is its own bundle entry, and a runtime
// import would give every entry its own copy of the core's classes.
import type { DialogActionValue } from '../dialogs/actions';
import type { Address, CardAction, IncomingMessage, OutgoingMessage } from '../types';

/** What the adapters read from a card attachment's `content` to draw it (hero, thumbnail or receipt). */
export type CardContent = {
  title?: string;
  subtitle?: string;
  text?: string;
  images?: { url?: string; alt?: string }[];
  buttons?: CardAction[];
  items?: { title?: string; price?: string; quantity?: string | number }[];
  facts?: { key?: string; value?: string }[];
  tax?: string;
  total?: string;
};

/** One key per (channel, conversation, user): the outbox delivers each such lane in order. */
export function laneOf(address: Address): string {
  return JSON.stringify([address.channelId, address.conversation.id, address.user.id]);
}

/**
 * Remembers which replies have been through `deliver`, so that a turn handler can wait for the replies of its turn.
 * Replies are tracked by identity: the manager hands `deliver` the same objects that `receive` resolves with.
 */
export class DeliveryTracker {
  private readonly settled = new WeakSet<OutgoingMessage>();
  private waiters: { pending: Set<OutgoingMessage>; resolve: () => void }[] = [];

  /** Marks `messages` as delivered (or failed: either way, no longer waited for). */
  settle(messages: readonly OutgoingMessage[]): void {
    for (const message of messages) this.settled.add(message);
    if (this.waiters.length === 0) return;
    this.waiters = this.waiters.filter((waiter) => {
      for (const message of messages) waiter.pending.delete(message);
      if (waiter.pending.size > 0) return true;
      waiter.resolve();
      return false;
    });
  }

  /** True once `message` went through `settle`. */
  has(message: OutgoingMessage): boolean {
    return this.settled.has(message);
  }

  /** Resolves once every one of `messages` has been settled. */
  wait(messages: readonly OutgoingMessage[]): Promise<void> {
    const pending = new Set(messages.filter((message) => !this.settled.has(message)));
    if (pending.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ pending, resolve }));
  }
}

/** Copies `value` without its `undefined` and `null` fields (palaver's schemas want absent, not null). */
export function compact<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) if (field !== undefined && field !== null) out[key] = field;
  return out as T;
}

/** The text of an error, for messages. */
export function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Marks a `dialogAction` button's value on channels that carry a button's value as text (Telegram, Bot Framework postBack). */
const DIALOG_ACTION_PREFIX = 'action?';

/** The text a channel carries for a `dialogAction` button: `action?["name",data]` (short enough for Telegram's 64 bytes in most cases). */
export function encodeDialogAction(action: CardAction): string {
  return (
    DIALOG_ACTION_PREFIX + JSON.stringify(action.data === undefined ? [action.value] : [action.value, action.data])
  );
}

/** The press a button's text stands for (see {@link encodeDialogAction}), or `undefined` for any other text. */
export function decodeDialogAction(text: string | undefined): DialogActionValue | undefined {
  if (text === undefined || !text.startsWith(DIALOG_ACTION_PREFIX)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.slice(DIALOG_ACTION_PREFIX.length));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || typeof parsed[0] !== 'string' || parsed.length > 2) return undefined;
  return parsed.length === 2 ? { dialogAction: parsed[0], data: parsed[1] as unknown } : { dialogAction: parsed[0] };
}

/** `message` as a press of the button `press`: its `value` names the action; the text is dropped (it was the encoding). */
export function pressMessage<M extends Partial<IncomingMessage>>(message: M, press: DialogActionValue): M {
  const { text: _text, ...rest } = message;
  return { ...rest, value: press } as M;
}
