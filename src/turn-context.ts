// What a Session asks of the engine and what the engine reads back: the contract between a session and the unit of
// work it runs in (engine-facing; bot code never sees it).
import type { DialogAction, DialogInstance } from './dialogs/dialog';
import type { DialogRegistry } from './dialogs/registry';
import type { EntityCheck } from './entity-check';
import type { Nlp } from './recognizers';
import type { SessionStateRecord } from './schema';
import type { NewSessionOptions, Session } from './session';
import type { Address, JsonObject, OutgoingMessage } from './types';

/** The shared data scopes a session reads and sets (the engine may decode them only when first read). */
export interface DataScopes {
  userData: JsonObject;
  conversationData: JsonObject;
}

/** A lifecycle request made during a turn; the manager carries it out when the dialogs are done. */
export type LifecycleRequest<E extends object = JsonObject> =
  { kind: 'endSession' } | { kind: 'newSession'; options: NewSessionOptions<E> } | { kind: 'refresh' };

/** What a session asks of the manager, the same for every turn (engine-facing; not for bot code). */
export interface SessionServices {
  readonly registry: DialogRegistry;
  readonly botId: string | undefined;
  readonly version: string | undefined;
  readonly defaultLocale: string | undefined;
  /** The timeout a session has unless it sets its own: the manager's, or the innermost dialog's that declares one. */
  timeoutOf(state: SessionStateRecord): number;
  /** The trace sink; `undefined` when tracing is off. */
  readonly traceLine: ((line: string) => void) | undefined;
  /** Checks an entity value when it is set (declared entity schemas); absent when none are declared. */
  readonly checkEntity?: EntityCheck | undefined;
}

/**
 * The unit of work a session runs in: what the session may ask of it, and the bookkeeping the engine reads back when
 * the dialogs are done (one object per session, owned by the engine; not for bot code).
 */
export interface TurnContext {
  readonly key: string;
  readonly services: SessionServices;
  /** True while re-handling a message after `newSession` (the loop guard). */
  readonly rehandled: boolean;
  /** Replies queued by `send`, in order, until the engine collects them. */
  readonly replies: OutgoingMessage[];
  /** Deliver this turn's replies without the batching delay. */
  flush: boolean;
  /** `endSession`, `newSession` or `refresh`, asked for during the turn. */
  lifecycle: LifecycleRequest<any> | undefined;
  /** The turn is over: state-changing calls throw TURN_ENDED, `send` goes out at once. */
  closed: boolean;
  /** What the last `sendBatch` committed (JSON), so that a later failure in the turn rolls back to it. */
  saved: { state: string; userData: string | undefined; conversationData: string | undefined } | undefined;
  /** The stack operation the running step asked for. */
  action: DialogAction | undefined;
  /** The `sendBatch` checkpoints still committing, chained so that they commit one after another. */
  saving: Promise<unknown> | undefined;
  /**
   * `sendBatch()`: commits the state so far, then hands `replies` to the outbox. Resolves once committed and handed over,
   * to the promise of their delivery.
   */
  checkpoint(session: Session<any, any, any, any>, replies: OutgoingMessage[]): Promise<{ delivered: Promise<void> }>;
  /** Sends now through the ordered outbox, without saving (typing, or replies after the turn ended); resolves when delivered. */
  sendAfterTurn(address: Address, messages: OutgoingMessage[]): Promise<void>;
  /** The runner's hooks: the stack was cleared by `endConversation`, the top dialog changed. */
  endConversation(): void;
  topChanged(previous: DialogInstance | undefined): void;
  /** Writes a trace line for this session; `undefined` when tracing is off. */
  readonly trace: ((line: string) => void) | undefined;
  readonly nlp: Nlp | undefined; // what the recognizers found in the turn's message
}
