// The session transcript (the `history` option): the last messages of the session both ways, kept in the session state
// and saved with it. A user's message joins it as its turn starts; a reply joins it when it is handed to the outbox
// with a commit (at the end of its turn, or by `sendBatch()`), so a turn that fails records none of its replies.
import { mergedOf } from './merged';
import type { SessionStateRecord } from './schema';
import type { Attachment, HistoryEntry, IncomingMessage, OutgoingMessage } from './types';

/** The `history` option with its defaults applied. */
export interface HistorySettings {
  readonly max: number;
  readonly maxChars: number | undefined;
  readonly keep: boolean;
}

function endsWith(history: readonly HistoryEntry[] | undefined, message: IncomingMessage, at: number): boolean {
  const last = history?.[history.length - 1];
  const tail = mergedOf(message)?.messages.at(-1) ?? message;
  return last !== undefined && last.role === 'user' && last.at === at && last.text === (tail.text ?? '');
}

export class History {
  constructor(readonly settings: HistorySettings) {}

  /**
   * Appends the user's message (each original of a merged one) as its turn starts. `again`: the same message handled
   * again in the session `newSession()` started; a kept transcript that still ends with it is left as it is.
   */
  user(state: SessionStateRecord, message: IncomingMessage, at: number, again: boolean): void {
    if (again && endsWith(state.history, message, at)) return;
    const merged = mergedOf(message);
    if (merged === undefined) {
      this.#append(state, 'user', message, at);
    } else {
      for (let i = 0; i < merged.messages.length; i++)
        this.#append(state, 'user', merged.messages[i]!, merged.arrivals[i]!);
    }
    this.#trim(state);
  }

  /** Appends the replies a commit hands to the outbox (typing indicators and events are left out). */
  replies(state: SessionStateRecord, replies: readonly OutgoingMessage[]): void {
    if (replies.length === 0) return;
    const at = Date.now();
    for (const reply of replies) if ((reply.type ?? 'message') === 'message') this.#append(state, 'bot', reply, at);
    this.#trim(state);
  }

  #append(
    state: SessionStateRecord,
    role: HistoryEntry['role'],
    message: { type?: string | undefined; text?: string | undefined; attachments?: Attachment[] | undefined },
    at: number,
  ): void {
    if ((message.type ?? 'message') !== 'message') return;
    const { text, attachments } = message;
    const some = attachments !== undefined && attachments.length > 0;
    if (text === undefined && !some) return;
    const entry: HistoryEntry = { role, text: text ?? '', at };
    if (some) entry.attachments = attachments;
    (state.history ??= []).push(entry);
  }

  /** Drops the oldest entries past `max`, then past `maxChars` of text (the newest entry always stays). */
  #trim(state: SessionStateRecord): void {
    const history = state.history;
    if (history === undefined || history.length === 0) return;
    const { max, maxChars } = this.settings;
    if (history.length > max) history.splice(0, history.length - max);
    if (maxChars === undefined) return;
    let first = history.length - 1;
    let chars = history[first]!.text.length;
    while (first > 0 && chars + history[first - 1]!.text.length <= maxChars) chars += history[--first]!.text.length;
    if (first > 0) history.splice(0, first);
  }
}
