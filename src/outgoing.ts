// What `send` takes, made into a reply in palaver's channel-neutral shape.
import { checkCards, isMessageSource, type MessageLike } from './cards';
import { formatText } from './format';
import { outgoingMessageSchema, parseOrThrow } from './schema';
import type { OutgoingMessage } from './types';
import { plainOutgoing } from './validate';

/**
 * Turns what `send` takes into a reply: text (a template when `args` are given), a message object, or a builder.
 * Shared by `session.send` and `manager.send`.
 * @throws PalaverError `INVALID_TEMPLATE`, `INVALID_MESSAGE`.
 */
export function toOutgoing(message: MessageLike, args: readonly unknown[]): OutgoingMessage {
  if (typeof message === 'string') return { type: 'message', text: formatText(message, args) };
  const plain = isMessageSource(message) ? message.toMessage() : message;
  const simple = plainOutgoing(plain);
  const parsed = simple ?? parseOrThrow(outgoingMessageSchema, plain, 'INVALID_MESSAGE', 'message passed to send()');
  if (simple === undefined) checkCards(parsed);
  if (parsed.type === undefined) parsed.type = 'message';
  if (typeof parsed.text === 'string' && args.length > 0) parsed.text = formatText(parsed.text, args);
  return parsed;
}
