// Events, hooks and the error policy of the engine.
//
// The rule: every failure reaches the bot developer exactly once. When a promise the caller awaits rejects with it
// (receive, startSession, endSession, beginDialog, sendBatch, send), that rejection is the report: it is not emitted
// too. A failure that no promise rejects with (a hook or listener that threw, a corrupt record the turn replaced, a
// dialog that threw while its turn still resolved, the sweeper, an eviction, a delivery) is emitted as an `error`
// event; with no `error` listener it is printed, never dropped. DELIVERY_FAILED is always emitted: one batch carries
// the replies of several turns, and most of them nobody awaits.
import type { EventEmitter } from 'eventemitter3';
import { errorText, PalaverError, type PalaverErrorCode } from '../errors';
import type { SessionSummary } from '../stats';
import type {
  Address,
  Awaitable,
  EndReason,
  IncomingMessage,
  JsonObject,
  OutgoingMessage,
  SessionInfo,
} from '../types';
import { isThenable } from '../types';

/** The event map of {@link SessionManager}. Listener errors are caught and reported as `error` events. */
export interface SessionManagerEvents {
  /** A session started (emitted once its first turn is saved). */
  sessionStart: (event: { session: SessionInfo; address: Address }) => void;
  /** A session ended; `kept` are the entities carried into the next one. */
  sessionEnd: (event: {
    session: SessionInfo;
    reason: EndReason;
    entities: JsonObject;
    kept: string[];
    summary: SessionSummary;
  }) => void;
  /** A batch of replies was handed to `deliver` (once per batch, retries aside). */
  batch: (event: { address: Address; messages: OutgoingMessage[] }) => void;
  /** A turn was saved. */
  turn: (event: { session: SessionInfo; message: IncomingMessage; replies: OutgoingMessage[] }) => void;
  /**
   * A failure that no promise of yours rejects with: a hook, a listener, a delivery, the expiry sweeper, a corrupt
   * record, a dialog that threw (its turn resolves with `error` set).
   */
  error: (error: PalaverError) => void;
}

type Notified = 'sessionStart' | 'sessionEnd' | 'turn' | 'batch';
type Payload<K extends keyof SessionManagerEvents> = Parameters<SessionManagerEvents[K]>[0];

/** Emits the manager's events safely: a listener that throws (or rejects) is reported, never breaks the emitter. */
export class Reporter {
  constructor(private readonly emitter: EventEmitter<SessionManagerEvents>) {}

  /** Emits `error`; with no listener, prints it (an error is never dropped silently). */
  report(error: PalaverError): void {
    const emitter = this.emitter;
    if (emitter.listenerCount('error') === 0) {
      console.error(`[palaver] ${error.code}: ${error.message}`);
      return;
    }
    const failed = (thrown: unknown) => console.error('[palaver] an "error" listener threw:', thrown);
    for (const listener of emitter.listeners('error')) {
      try {
        const result: unknown = (listener as (e: PalaverError) => unknown).call(emitter, error);
        if (isThenable(result)) result.then(undefined, failed);
      } catch (thrown) {
        failed(thrown);
      }
    }
  }

  /** Reports `cause` as a PalaverError (see {@link PalaverError.from}). */
  fail(cause: unknown, code: PalaverErrorCode, doing: string): void {
    this.report(PalaverError.from(cause, code, doing));
  }

  /** True when someone listens to `name` (so that payloads nobody reads are never built). */
  wants(name: Notified): boolean {
    return this.emitter.listenerCount(name) > 0;
  }

  notify<K extends Notified>(name: K, payload: Payload<K>): void {
    const emitter = this.emitter;
    for (const listener of emitter.listeners(name)) {
      const failed = (error: unknown) => this.report(hookError(`A "${name}" listener`, error));
      try {
        // An async listener's rejection is reported too: left alone, it would be an unhandled rejection.
        const result: unknown = (listener as (p: Payload<K>) => unknown).call(emitter, payload);
        if (isThenable(result)) result.then(undefined, failed);
      } catch (error) {
        failed(error);
      }
    }
  }

  /** Runs a user hook; a throw is reported (HOOK_FAILED) and `fallback` is used instead. */
  async hook<T>(name: string, run: () => Awaitable<T>, fallback: T): Promise<T> {
    try {
      const result = run();
      return isThenable(result) ? await result : result;
    } catch (error) {
      this.report(hookError(name, error));
      return fallback;
    }
  }
}

/** A hook or listener failed: always HOOK_FAILED, whatever it threw (its error is the cause). */
function hookError(what: string, cause: unknown): PalaverError {
  return new PalaverError('HOOK_FAILED', `${what} threw: ${errorText(cause)}`, { cause });
}
