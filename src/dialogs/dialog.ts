import type { MessageLike } from '../cards';
import type { Nlp } from '../recognizers';
import type { Awaitable, IncomingMessage, JsonObject } from '../types';

/** Why a dialog got control back. */
export const ResumeReason = {
  /** The child dialog finished normally (a prompt got a valid answer). */
  completed: 'completed',
  /** The child was canceled (`cancelDialog`) or a prompt ran out of retries. */
  notCompleted: 'notCompleted',
  /** The user canceled. */
  canceled: 'canceled',
  /** The user asked to go back a step. */
  back: 'back',
  /** The user asked to skip ahead. */
  forward: 'forward',
  /** The dialog should ask its question again (it was interrupted). */
  reprompt: 'reprompt',
} as const;
export type ResumeReason = (typeof ResumeReason)[keyof typeof ResumeReason];

/** What a dialog returns to its caller, and what a waterfall step receives from the previous step. */
export interface DialogResult<R = unknown> {
  resumed: ResumeReason;
  response?: R;
  error?: Error;
  /** The id of the dialog that returned this result. */
  childId?: string;
  [key: string]: unknown;
}

/** A stack operation a step asked for; the runner carries it out once the step has returned. */
export type DialogAction =
  | { readonly kind: 'begin'; readonly id: string; readonly args: unknown; readonly interrupt?: boolean }
  | { readonly kind: 'end'; readonly result: DialogResult }
  | { readonly kind: 'replace'; readonly id: string; readonly args: unknown }
  | {
      readonly kind: 'cancel';
      readonly index: number;
      readonly replaceWithId?: string | undefined;
      readonly replaceWithArgs?: unknown;
    }
  | { readonly kind: 'endConversation' }
  | { readonly kind: 'discard'; readonly all: boolean }
  | { readonly kind: 'next'; readonly result: DialogResult }
  | { readonly kind: 'fail'; readonly error: unknown };

/** One dialog on the stack, as stored. */
export interface DialogInstance {
  id: string;
  data: JsonObject;
  step?: number;
  /** It interrupted the dialog under it (`manager.beginDialog(..., { interrupt: true })`): that one re-prompts when it ends. */
  interrupt?: true;
}

/** Internal access the dialog runtime needs to a session; not part of the public surface. */
export const HOST: unique symbol = Symbol('palaver.dialogHost');

/** What dialogs and prompts may do with the session beyond its public methods. */
export interface DialogHostInternals {
  /** The live stack (bottom first). */
  readonly stack: DialogInstance[];
  /** Records the step's stack operation; a second one in the same step is a DIALOG_ACTION_CONFLICT. */
  record(action: DialogAction): void;
  /** True when the running step has already asked for a stack operation. */
  hasAction(): boolean;
  /** Removes and returns the recorded operation. */
  take(): DialogAction | undefined;
  /** Asks the outbox to deliver this turn's replies without the batching delay. */
  requestFlush(): void;
  /** Writes a trace line (prefixed with the stack depth and the top dialog); `undefined` when tracing is off. */
  readonly trace: ((line: string) => void) | undefined;
  /** The session's locale (the message's, else the manager's), without building `session.info`. */
  readonly locale: string | undefined;
  /** The `sendBatch` saves still running (never rejects), or `undefined`; the turn waits for them before it commits. */
  saving(): Promise<unknown> | undefined;
  /** A trigger or action matched by `intent` began a dialog: the session's current task began with that intent. */
  beganTask(intent: string): void;
}

/** The part of a session that built-in dialogs use. `Session` implements it. */
export interface DialogSession {
  readonly message: IncomingMessage | undefined;
  /**
   * The session's metadata (a dialog may read the user's locale here; built-in prompts use `[HOST].locale`), and what
   * the recognizers found (intent matchers read it).
   */
  readonly info: { readonly locale: string | undefined; readonly nlp?: Nlp | undefined };
  dialogData: JsonObject;
  send(message: MessageLike, ...args: unknown[]): this;
  beginDialog(id: string, args?: unknown): this;
  endDialogWithResult(result?: Partial<DialogResult>): this;
  readonly [HOST]: DialogHostInternals;
}

/**
 * A dialog: what runs when it is begun, when a message arrives while it is on top, and when a dialog it began returns.
 * `manager.dialog()` turns a waterfall (an array of steps) or a single handler into one.
 */
export interface Dialog<S extends DialogSession = DialogSession> {
  /** `waterfall`, `function` or `prompt`: reported in `currentDialogState.type`. */
  readonly type: string;
  begin(session: S, args: unknown): Awaitable<unknown>;
  reply(session: S): Awaitable<unknown>;
  resume(session: S, result: DialogResult): Awaitable<unknown>;
  /** Asks the dialog's question again (after an interruption); optional. */
  reprompt?(session: S): Awaitable<unknown>;
}

/**
 * A waterfall step: gets the begin args (first step) or the previous step's result, and `next` to skip ahead.
 * Steps written in the array literal passed to `manager.dialog()` are typed one by one (a prompt's answer reaches the
 * next step); a step typed as `WaterfallStep` gets `unknown` and narrows it.
 */
export type WaterfallStep<S = DialogSession> = (
  session: S,
  result: unknown,
  next: (result?: Partial<DialogResult> & JsonObject) => void,
) => Awaitable<unknown>;

/**
 * A dialog as a single function: called with the args when begun, then for every message and every child's result.
 * Its second parameter is `unknown` unless the handler annotates it.
 */
export type DialogHandler<S = DialogSession, A = unknown> = (session: S, argsOrResult: A) => Awaitable<unknown>;

// The session method that records each dialog operation, for error messages.
export const METHOD_OF_ACTION: Readonly<Record<DialogAction['kind'], string>> = {
  begin: 'beginDialog',
  replace: 'replaceDialog',
  end: 'endDialogWithResult',
  cancel: 'cancelDialog',
  endConversation: 'endConversation',
  discard: 'discard',
  next: 'next',
  fail: 'error',
};
