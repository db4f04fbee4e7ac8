import type { z } from 'zod';
import type { Nlp } from './recognizers';
import type { addressSchema, attachmentSchema, cardActionSchema, messageSchema, outgoingMessageSchema } from './schema';

/** Where a message came from and where replies go. */
export type Address = z.infer<typeof addressSchema>;
/** An incoming message (`type: 'message'`, the default) or event (`type: 'event'`). */
export type IncomingMessage = z.infer<typeof messageSchema>;
/** A reply in palaver's channel-neutral shape. */
export type OutgoingMessage = z.infer<typeof outgoingMessageSchema>;
/** A file, image or card. */
export type Attachment = z.infer<typeof attachmentSchema>;
/** A card button. */
export type CardAction = z.infer<typeof cardActionSchema>;

/** A JSON object: what every data scope holds. */
export type JsonObject = Record<string, unknown>;

/** A value or a promise of it. */
export type Awaitable<T> = T | PromiseLike<T>;

/** True for a promise or any other thenable (what an async step returns). @internal */
export function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';
}

/**
 * Why a session ended.
 * - `timeout`: it was idle longer than its timeout.
 * - `endSession`: the bot ended it (`session.endSession()`, `manager.endSession()`).
 * - `newSession`: `session.newSession()` replaced it with a fresh one.
 * - `refresh`: `session.refresh()` cleared everything.
 * - `evicted`: the store dropped it to stay within its bound (`MemoryStore.maxSessions`).
 * - `shutdown`: `manager.close()` ended it.
 */
export type EndReason = 'timeout' | 'endSession' | 'newSession' | 'refresh' | 'evicted' | 'shutdown';

/**
 * How idle sessions close.
 * - `proactive`: a scheduler ends them when their deadline passes (and may send `closeMessage`).
 * - `lazy`: nothing runs while the user is away; the next message ends the old session and starts a new one.
 */
export type ClosePolicy = 'proactive' | 'lazy';

/** Where the user is in the bot: the dialog on top of the stack (`name`, `id`, `type`). */
export interface DialogState {
  /** The dialog's display name (its id unless registered with a `name`). */
  readonly name: string;
  /** The dialog's registered id. */
  readonly id: string;
  /** `waterfall`, `function` or `prompt`. */
  readonly type: string;
}

/** Read-only metadata of a session, current as of the moment it is read. */
export interface SessionInfo {
  /** A fresh unique id per session. */
  readonly id: string;
  /** The session key (see the `sessionKey` option). */
  readonly key: string;
  /** The `botId` option. */
  readonly botId: string | undefined;
  /** The `version` option (e.g. `'DRAFT'`, `'1.4.0'`). */
  readonly version: string | undefined;
  /** The channel of the session's address. */
  readonly channel: string;
  /** The user, as the address names them. */
  readonly user: Address['user'];
  /** The user's locale: the latest message's, else the `locale` option. */
  readonly locale: string | undefined;
  /** When the session started (ms since the epoch). */
  readonly startedAt: number;
  /** When the user (or the bot, for a bot-initiated session) was last active. */
  readonly lastActiveAt: number;
  /** Turns handled in this session. */
  readonly turnCount: number;
  /** False for a bot-initiated session until the user writes. */
  readonly interactive: boolean;
  /** True when a message of the session was flagged as the bot developer's own. */
  readonly developer: boolean;
  /** The inactivity timeout in force for this session (ms). */
  readonly timeout: number;
  /** The dialog on top of the stack, if any. */
  readonly currentDialogState: DialogState | undefined;
  /** The dialog that was on top before the current one. */
  readonly previousDialogState: DialogState | undefined;
  /**
   * What the recognizers found in the turn's message (see `bot.recognizer()`); `undefined` without recognizers, for an
   * event, and outside a message turn (it is not saved: each message is recognized afresh).
   */
  readonly nlp: Nlp | undefined;
  /** The user's language: the one a recognizer detected in this session, else the language of `locale` (`en` for `en-US`). */
  readonly preferredLanguage: string | undefined;
  /** The intent the current task began with: set when a trigger or action matched by intent begins a dialog. */
  readonly taskIntent: string | undefined;
}
