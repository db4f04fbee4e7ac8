/**
 * Stable error codes. Each names one kind of failure; match on `code`, never on the message.
 *
 * - `INVALID_OPTIONS`: a constructor or method option is missing or has the wrong shape.
 * - `INVALID_MESSAGE`: an incoming or outgoing message does not match the message schema.
 * - `INVALID_ADDRESS`: an address lacks `channelId`, `user.id` or `conversation.id`.
 * - `INVALID_ARGUMENT`: a method argument is out of range (e.g. a negative timeout).
 * - `INVALID_TEMPLATE`: a `send` template and its arguments do not fit together.
 * - `DIALOG_NOT_FOUND`: a dialog id was used that was never registered.
 * - `DIALOG_EXISTS`: a dialog id was registered twice.
 * - `DIALOG_ACTION_CONFLICT`: one step asked for two stack operations (e.g. `endDialog` then `beginDialog`).
 * - `ACTION_EXISTS`: a global action (or a dialog's trigger, named after its dialog) was registered twice under one name.
 * - `NEXT_CALLED_TWICE`: a middleware called `next()` more than once in one turn.
 * - `DIALOG_LOOP`: a turn ran more dialog operations than `maxDialogOperations` without waiting for the user.
 * - `NEW_SESSION_LOOP`: `newSession()` was called again while re-handling a message that already started one.
 * - `TURN_ENDED`: a state-changing session method was called after its turn had finished.
 * - `TURN_QUEUE_FULL`: too many turns are waiting for one session key (`maxQueuedTurns`).
 * - `STATE_TOO_LARGE`: the serialized session state exceeds `maxStateBytes`.
 * - `MESSAGE_TOO_LARGE`: a message exceeds `maxMessageBytes`.
 * - `CONFLICT`: the store kept changing under a turn; it was retried `maxCommitRetries` times.
 * - `STORE_UNAVAILABLE`: the store failed or did not answer; nothing of the turn was saved.
 * - `COMMIT_UNKNOWN`: the store took a commit but its answer was lost (a timeout, a dropped connection): the turn may or
 *   may not have been saved. Its replies were not sent. Read the state again before acting on it.
 * - `LEASE_TIMEOUT`: another process held the session's turn lease for longer than `leaseWait` (shared stores only).
 * - `CORRUPT_STATE`: stored state could not be parsed or does not match the schema.
 * - `DELIVERY_FAILED`: `deliver` kept failing for a batch; the error carries the undelivered messages.
 * - `HOOK_FAILED`: `onSessionStart`, `onSessionEnd`, `continueIf` or an event listener threw.
 * - `DIALOG_FAILED`: a dialog or waterfall step threw; the conversation was ended and the user told.
 * - `CLOSED`: the manager was closed; it takes no more turns.
 * - `MISSING_DEPENDENCY`: a feature needs an optional package that is not installed (the message names the command).
 * - `RECOGNIZER_FAILED`: a recognizer threw, returned something that is not a result, or exceeded `recognizerTimeout`;
 *   the turn went on without it.
 */
export type PalaverErrorCode =
  | 'INVALID_OPTIONS'
  | 'INVALID_MESSAGE'
  | 'INVALID_ADDRESS'
  | 'INVALID_ARGUMENT'
  | 'INVALID_TEMPLATE'
  | 'DIALOG_NOT_FOUND'
  | 'DIALOG_EXISTS'
  | 'DIALOG_ACTION_CONFLICT'
  | 'ACTION_EXISTS'
  | 'NEXT_CALLED_TWICE'
  | 'DIALOG_LOOP'
  | 'NEW_SESSION_LOOP'
  | 'TURN_ENDED'
  | 'TURN_QUEUE_FULL'
  | 'STATE_TOO_LARGE'
  | 'MESSAGE_TOO_LARGE'
  | 'CONFLICT'
  | 'STORE_UNAVAILABLE'
  | 'COMMIT_UNKNOWN'
  | 'LEASE_TIMEOUT'
  | 'CORRUPT_STATE'
  | 'DELIVERY_FAILED'
  | 'HOOK_FAILED'
  | 'DIALOG_FAILED'
  | 'CLOSED'
  | 'MISSING_DEPENDENCY'
  | 'RECOGNIZER_FAILED';

/** The one error class palaver throws; `code` is stable, `cause` keeps the underlying error. */
export class PalaverError extends Error {
  constructor(
    readonly code: PalaverErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'PalaverError';
  }

  /**
   * `cause` as a PalaverError: itself when it is one, else a new error of `code` saying what was being done.
   * @example PalaverError.from(thrown, 'HOOK_FAILED', 'onSessionEnd') // "onSessionEnd threw: boom"
   */
  static from(cause: unknown, code: PalaverErrorCode, doing: string): PalaverError {
    if (cause instanceof PalaverError) return cause;
    return new PalaverError(code, `${doing} threw: ${errorText(cause)}`, { cause });
  }
}

/** The message of anything thrown: an Error's message, else the value as text. */
export function errorText(thrown: unknown): string {
  return (thrown as Error | undefined)?.message ?? String(thrown);
}

/** Raised when `deliver` kept failing: `messages` are the replies that did not reach `address`. */
export class DeliveryError extends PalaverError {
  constructor(
    message: string,
    readonly address: unknown,
    readonly messages: readonly unknown[],
    options?: { cause?: unknown },
  ) {
    super('DELIVERY_FAILED', message, options);
    this.name = 'DeliveryError';
  }
}

/** Describes a value for an error message: `-5 (number)`, `"x" (string)`, `undefined`. */
export function describe(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (value === null) return 'null';
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return `an array of ${value.length}`;
  if (typeof value === 'object') return 'an object';
  const text =
    typeof value === 'string' ? JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value) : String(value);
  return `${text} (${typeof value})`;
}
