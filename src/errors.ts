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
 * - `DIALOG_LOOP`: a turn ran more dialog operations than `maxDialogOperations` without waiting for the user.
 * - `NEW_SESSION_LOOP`: `newSession()` was called again while re-handling a message that already started one.
 * - `TURN_ENDED`: a state-changing session method was called after its turn had finished.
 * - `TURN_QUEUE_FULL`: too many turns are waiting for one session key (`maxQueuedTurns`).
 * - `STATE_TOO_LARGE`: the serialized session state exceeds `maxStateBytes`.
 * - `MESSAGE_TOO_LARGE`: a message exceeds `maxMessageBytes`.
 * - `CONFLICT`: the store kept changing under a turn; it was retried `maxCommitRetries` times.
 * - `STORE_UNAVAILABLE`: the store failed or did not answer.
 * - `LEASE_TIMEOUT`: another process held the session's turn lease for longer than `leaseWait` (shared stores only).
 * - `CORRUPT_STATE`: stored state could not be parsed or does not match the schema.
 * - `DELIVERY_FAILED`: `deliver` kept failing for a batch; the error carries the undelivered messages.
 * - `HOOK_FAILED`: `onSessionStart`, `onSessionEnd`, `continueIf` or an event listener threw.
 * - `DIALOG_FAILED`: a dialog or waterfall step threw; the conversation was ended and the user told.
 * - `CLOSED`: the manager was closed; it takes no more turns.
 * - `MISSING_DEPENDENCY`: a feature needs an optional package that is not installed (the message names the command).
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
  | 'DIALOG_LOOP'
  | 'NEW_SESSION_LOOP'
  | 'TURN_ENDED'
  | 'TURN_QUEUE_FULL'
  | 'STATE_TOO_LARGE'
  | 'MESSAGE_TOO_LARGE'
  | 'CONFLICT'
  | 'STORE_UNAVAILABLE'
  | 'LEASE_TIMEOUT'
  | 'CORRUPT_STATE'
  | 'DELIVERY_FAILED'
  | 'HOOK_FAILED'
  | 'DIALOG_FAILED'
  | 'CLOSED'
  | 'MISSING_DEPENDENCY';

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
  const text = typeof value === 'string' ? JSON.stringify(value.length > 40 ? value.slice(0, 40) + '…' : value) : String(value);
  return `${text} (${typeof value})`;
}
