// Messages merged by type-ahead coalescing (`manager/coalesce.ts`): the merged message a turn handles, and the
// originals it was made of (for `session.messages` and the transcript).
import type { Attachment, IncomingMessage } from './types';

/** The messages a merged message was made of, with their arrival times. */
export interface Merged {
  readonly messages: readonly IncomingMessage[];
  readonly arrivals: readonly number[];
}

const mergedMessages = new WeakMap<IncomingMessage, Merged>();

/** The originals of `message` when coalescing merged it from several; `undefined` for a message as it came. */
export function mergedOf(message: IncomingMessage | undefined): Merged | undefined {
  return message === undefined ? undefined : mergedMessages.get(message);
}

/** The user messages a state counts (`msgs[0]`, for the session summary): a merged turn counts each original. */
export function countMerged(msgs: [number, number] | undefined, message: IncomingMessage): void {
  const merged = mergedMessages.get(message);
  if (merged !== undefined && msgs !== undefined) msgs[0] += merged.messages.length - 1;
}

/**
 * One message of several: texts joined by a newline, attachments concatenated, everything else (address, id,
 * timestamp, locale) the last message's. A single message is returned as it is.
 */
export function merge(messages: readonly IncomingMessage[], arrivals: readonly number[]): IncomingMessage {
  if (messages.length === 1) return messages[0]!;
  const merged: IncomingMessage = { ...messages[messages.length - 1]! };
  const texts: string[] = [];
  let attachments: Attachment[] | undefined;
  for (const message of messages) {
    if (message.text !== undefined) texts.push(message.text);
    if (message.attachments !== undefined) (attachments ??= []).push(...message.attachments);
  }
  if (texts.length > 0) merged.text = texts.join('\n');
  else delete merged.text;
  if (attachments !== undefined) merged.attachments = attachments;
  else delete merged.attachments;
  mergedMessages.set(merged, { messages: [...messages], arrivals: [...arrivals] });
  return merged;
}
