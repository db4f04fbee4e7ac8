// The kinds of unit of work, each run by Engine.transact(): a message turn, a bot-initiated start, an explicit end, an
// expiry (or the nudge its deadline stands for), an interjection (`manager.beginDialog`), and an eviction (no store
// write: the store dropped the session already).
import { decodeState, encodeState } from '../codec';
import { HOST } from '../dialogs/dialog';
import { dispatch, DONE, drain } from '../dialogs/runner';
import { PalaverError } from '../errors';
import { countMerged } from '../merged';
import type { IdleStep } from '../nudge';
import { toOutgoing } from '../outgoing';
import type { SessionStateRecord } from '../schema';
import type { ExpiryClaim, StoredRecord } from '../stores/store';
import {
  isThenable,
  type Address,
  type IncomingMessage,
  type JsonObject,
  type OutgoingMessage,
  type SessionInfo,
} from '../types';
import { carry, dormantState, dropExpiredEntities, freshState, isExpired, isLive, keptOf, touch } from './lifecycle';
import { Bags } from './bags';
import type { Engine, Turn, Unit } from './turns';
import { recognitionOf, type TurnRecognition } from './recognition';
import type { EarlyRecognition } from '../recognizers';

/** What `receive` resolves to once the turn is saved. */
export interface TurnResult {
  /** The session as of the end of the turn. */
  session: SessionInfo;
  /**
   * The replies of the turn, in order (they are delivered through `deliver`, not by you). They are the very objects
   * that `deliver` later receives: the adapters (palaver/http, palaver/botbuilder, palaver/console) rely on that.
   */
  replies: OutgoingMessage[];
  /** Set when a dialog threw: the user got `dialogErrorMessage` and the conversation was ended. */
  error?: PalaverError;
  /** With `coalesce`: how many messages were merged into this turn, when more than one (each `receive` of them gets this result). */
  merged?: number;
}

/** A message turn: find or start the session, run the dialogs, carry out what they asked for. */
export async function messageTurn(
  engine: Engine,
  unit: Unit,
  message: IncomingMessage,
  receivedAt: number,
  early?: EarlyRecognition,
): Promise<TurnResult> {
  const recognition = recognitionOf(engine.recognizers, unit, message, early);
  const finding = findSession(engine, unit, message, receivedAt, recognition);
  const found = isThenable(finding) ? await finding : finding;
  let { state, starting, storedText, bags } = found;
  let rehandled = false;
  let current = message;
  let error: PalaverError | undefined;
  let turn: Turn;
  for (;;) {
    turn = engine.session(unit.key, unit, state, current, bags, rehandled);
    const announce = starting;
    if (starting) {
      turn.announcing = true;
      await engine.startSession(turn);
      starting = false;
    }
    if (recognition !== undefined) await recognition.inTurn(turn, current);
    // While the state is still what the store holds, the stored text serves as the copy to roll back to.
    const pristine = !announce && storedText !== undefined ? storedText : encodeState(state, unit.key);
    storedText = undefined;
    mark(engine, state, current, receivedAt, rehandled && current === message);
    // After touch: the event shows the session with the message that started it (interactive, turnCount 1).
    if (announce && turn.announcing) engine.announce(turn, unit.events);
    turn.announcing = false;
    try {
      const { settings } = engine;
      const running = dispatch(turn.session, engine.registry, settings.rootDialog, settings.maxDialogOperations, turn);
      if (running !== DONE) await running;
    } catch (thrown) {
      const failed = (error = PalaverError.from(thrown, 'DIALOG_FAILED', 'a dialog'));
      // Reported once the turn is saved: an attempt that loses a race reports nothing.
      unit.events.push(() => engine.reporter.report(failed));
      ({ turn, state } = rollBack(engine, unit, turn, pristine, current, receivedAt, rehandled));
      break;
    }
    turn.collect(unit.replies);
    unit.flush ||= turn.flush;
    const request = turn.lifecycle;
    if (request === undefined) {
      turn.close();
      break;
    }
    // The session stays open through onSessionEnd, so that what the hook sends joins this turn's replies.
    if (request.kind === 'endSession') {
      const ended = await engine.closeSession(turn, 'endSession', receivedAt, unit.events);
      turn.close(unit.replies);
      state = dormantState(state, ended);
      break;
    }
    const reason = request.kind === 'refresh' ? 'refresh' : 'newSession';
    const ended = await engine.closeSession(turn, reason, receivedAt, unit.events);
    turn.close(unit.replies);
    bags = bags.carry();
    const kept =
      request.kind === 'refresh'
        ? engine.retention === undefined
          ? undefined
          : ended
        : carry(state.entities, ended, request.options);
    state = freshState(current.address, receivedAt, kept);
    starting = true;
    if (request.kind === 'refresh') {
      turn = engine.session(unit.key, unit, state, current, bags, rehandled);
      await engine.startSession(turn);
      turn.close(unit.replies);
      engine.announce(turn, unit.events);
      break;
    }
    rehandled = true;
    const next = request.options.message;
    if (next) current = { ...next, address: next.address ?? current.address } as IncomingMessage;
  }
  return saveTurn(engine, unit, turn, state, message, receivedAt, error);
}

/** The end of a message turn: what it saves, its `turn` event, and what `receive` resolves to. */
function saveTurn(
  engine: Engine,
  unit: Unit,
  turn: Turn,
  state: SessionStateRecord,
  message: IncomingMessage,
  receivedAt: number,
  error: PalaverError | undefined,
): TurnResult {
  const session = turn.session;
  unit.save(state, turn, message.address);
  unit.label = engine.label(state);
  const info = session.info;
  const replies = unit.replies;
  unit.receivedAt = receivedAt;
  if (engine.reporter.wants('turn'))
    unit.events.push(() => engine.reporter.notify('turn', { session: info, message, replies }));
  return error === undefined ? { session: info, replies } : { session: info, replies, error };
}

/** Marks the turn's activity on the state, and its message in the transcript (`again`: see `History.user`). */
function mark(engine: Engine, state: SessionStateRecord, message: IncomingMessage, at: number, again: boolean): void {
  touch(state, message, at);
  if (engine.settings.coalesce !== undefined) countMerged(state.msgs, message);
  engine.history?.user(state, message, at, again);
}

/** Where a message turn starts: its session's state, whether that session is new, and the turn's data scopes. */
interface Found {
  state: SessionStateRecord;
  starting: boolean;
  /** The stored text of `state` while it is an exact copy of it (the copy a failed turn rolls back to). */
  storedText: string | undefined;
  bags: Bags;
}

/**
 * The session a message lands in: the live one, or a fresh one (ending an expired one first, unless `continueIf`
 * keeps it). Synchronous unless an expired session must end (its hooks may wait).
 */
function findSession(
  engine: Engine,
  unit: Unit,
  message: IncomingMessage,
  receivedAt: number,
  recognition: TurnRecognition | undefined,
): Found | Promise<Found> {
  const key = unit.key;
  const bags = engine.bags(unit);
  const state = engine.records.decodeSession(unit.opened.session, key);
  // Entities whose TTL ran out go first, also from a dormant key. (With declared entities, reading may have migrated
  // them: then the stored text is no copy of the state.)
  const storedText =
    state !== undefined && !dropExpiredEntities(state, receivedAt) && engine.retention === undefined
      ? unit.opened.session!.data
      : undefined;
  if (isLive(state) && isExpired(state, engine.timeoutOf(state), receivedAt))
    return endExpired(engine, unit, state, message, receivedAt, recognition, bags);
  if (isLive(state)) return { state, starting: false, storedText, bags };
  return { state: freshState(message.address, receivedAt, keptOf(state)), starting: true, storedText, bags };
}

/** A message came after its session's timeout: the session ends and a fresh one starts, unless `continueIf` keeps it. */
async function endExpired(
  engine: Engine,
  unit: Unit,
  state: SessionStateRecord,
  message: IncomingMessage,
  receivedAt: number,
  recognition: TurnRecognition | undefined,
  bags: Bags,
): Promise<Found> {
  const { settings } = engine;
  const old = engine.session(unit.key, unit, state, message, bags);
  const continueIf = settings.continueIf;
  // The intent may decide: recognizers that need the session see the expired one.
  if (recognition !== undefined && continueIf !== undefined && !settings.proactive)
    await recognition.complete(old.session);
  const keep =
    !settings.proactive && continueIf !== undefined
      ? await engine.reporter.hook('continueIf', () => continueIf(old.session, message), false)
      : false;
  if (keep) return { state, starting: false, storedText: undefined, bags };
  const ended = await engine.closeSession(old, 'timeout', receivedAt, unit.events);
  old.collect(unit.replies);
  return {
    state: freshState(message.address, receivedAt, ended),
    starting: true,
    storedText: undefined,
    bags: bags.carry(),
  };
}

/**
 * A dialog threw: nothing the failed turn did is kept. Back to the state before it (or to what its last sendBatch()
 * saved), the conversation ended, and the user told.
 */
function rollBack(
  engine: Engine,
  unit: Unit,
  failed: Turn,
  pristine: string,
  message: IncomingMessage,
  receivedAt: number,
  rehandled: boolean,
): { turn: Turn; state: SessionStateRecord } {
  failed.close();
  const saved = failed.saved;
  const state = decodeState(saved?.state ?? pristine, unit.key);
  if (saved === undefined) mark(engine, state, message, receivedAt, rehandled);
  state.stack = [];
  state.privateConversationData = {};
  // Both scopes are written back: as the last checkpoint saved them, else as read (undoing what the turn changed,
  // an earlier checkpoint's changes included; a corrupt record is reported and starts empty, as on any use).
  const bags = engine.bags(unit).restored();
  if (saved?.userData !== undefined) bags.userData = JSON.parse(saved.userData) as JsonObject;
  if (saved?.conversationData !== undefined) bags.conversationData = JSON.parse(saved.conversationData) as JsonObject;
  const turn = engine.session(unit.key, unit, state, message, bags, rehandled);
  turn.close();
  const configured = engine.settings.dialogErrorMessage;
  const sorry =
    configured === undefined
      ? { type: 'message' as const, text: engine.settings.texts.for(turn.session.info.locale).dialogError }
      : configured;
  if (sorry !== null) {
    unit.replies.push(sorry);
    engine.history?.replies(state, [sorry]);
  }
  unit.flush = true;
  return { turn, state };
}

/** A bot-initiated start (`startSession`); an active session is left as it is. */
export async function startUnit(
  engine: Engine,
  unit: Unit,
  address: Address,
  options: { dialogId?: string; args?: unknown },
): Promise<SessionInfo> {
  const key = unit.key;
  const now = Date.now();
  const bags = engine.bags(unit);
  let state = engine.records.decodeSession(unit.opened.session, key);
  if (state !== undefined) dropExpiredEntities(state, now);
  if (isLive(state) && !isExpired(state, engine.timeoutOf(state), now))
    return engine.session(key, unit, state, undefined, bags).session.info;
  if (isLive(state)) {
    const old = engine.session(key, unit, state, undefined, bags);
    const ended = await engine.closeSession(old, 'timeout', now, unit.events);
    old.collect(unit.replies);
    state = freshState(address, now, ended);
  } else {
    state = freshState(address, now, keptOf(state));
  }
  const turn = engine.session(key, unit, state, undefined, bags);
  const session = turn.session;
  await engine.startSession(turn);
  engine.announce(turn, unit.events);
  // The dialog startSession() names wins over one onSessionStart began; without one, the hook's begin stands.
  // (Other operations of the hook have nothing to act on in a new session.)
  const pending = session[HOST].take();
  if (options.dialogId !== undefined) session.beginDialog(options.dialogId, options.args);
  else if (pending?.kind === 'begin' || pending?.kind === 'replace') session[HOST].record(pending);
  if (turn.action !== undefined) {
    const pristine = encodeState(state, key);
    try {
      await drain(session, engine.registry, engine.settings.maxDialogOperations, turn);
    } catch (thrown) {
      const what =
        options.dialogId !== undefined
          ? `the dialog "${options.dialogId}" begun by startSession()`
          : 'the dialog onSessionStart began';
      unit.failure = PalaverError.from(thrown, 'DIALOG_FAILED', what);
      // As in a turn: the new session (and the end of an expired one) is saved, so its hooks never run twice;
      // nothing the failed dialog did is kept.
      state = decodeState(pristine, key);
      const read = engine.bags(unit);
      session.userData = read.userData;
      session.conversationData = read.conversationData;
      turn.replies.length = 0;
    }
  }
  turn.close(unit.replies);
  unit.flush = turn.flush;
  unit.save(state, turn, address);
  return session.info;
}

/** An explicit end from outside a turn (`manager.endSession`, shutdown); false when no session was live. */
export async function endUnit(
  engine: Engine,
  unit: Unit,
  reason: 'endSession' | 'shutdown' | string,
): Promise<boolean> {
  const state = engine.records.decodeSession(unit.opened.session, unit.key);
  if (!isLive(state)) return false;
  const turn = engine.session(unit.key, unit, state, undefined, engine.bags(unit));
  const ended = await engine.closeSession(turn, reason as 'endSession', Date.now(), unit.events);
  turn.close(unit.replies);
  unit.flush = true;
  unit.save(dormantState(state, ended), turn, state.address);
  return true;
}

/** What {@link expireUnit} answers for a lazy session whose idle time ran out, when an automatic sweep claimed it. */
export const LAPSED = 'lapsed';

/**
 * Ends a session the sweeper claimed, unless a unit of work touched it since the claim; true when it ended it.
 * Lazy policy: only an `explicit` sweep (`sweepExpired()`) ends it, without `closeMessage`; an automatic one (run for
 * the nudges) answers {@link LAPSED} and leaves it to the next message.
 */
export async function expireUnit(
  engine: Engine,
  unit: Unit,
  claim: ExpiryClaim,
  at: number | undefined,
  explicit = true,
): Promise<boolean | typeof LAPSED> {
  const record = unit.opened.session;
  if (record === undefined || record.version !== claim.version) return false;
  const state = engine.records.decodeSession(record, unit.key);
  if (!isLive(state)) return false;
  const now = at ?? Date.now();
  const { proactive } = engine.settings;
  const turn = engine.session(unit.key, unit, state, undefined, engine.bags(unit));
  if (engine.idle !== undefined) {
    // The deadline may stand for a nudge rather than the close.
    const step = engine.idle.step(state, now);
    if (step.kind === 'lapsed' && !explicit) return LAPSED;
    if (step.kind !== 'close' && step.kind !== 'lapsed') return nudgeStep(engine, unit, turn, step);
  } else if (!proactive) {
    if (!explicit) return LAPSED;
    // The store's clock ran ahead of this one: file the deadline again.
    if (!isExpired(state, engine.timeoutOf(state), now)) return nudgeStep(engine, unit, turn, { kind: 'wait' });
  }
  const ended = await engine.closeSession(turn, 'timeout', now, unit.events);
  turn.close(unit.replies);
  const farewell = proactive ? await closeMessageOf(engine, turn) : undefined;
  if (farewell !== undefined) unit.replies.push(farewell);
  unit.flush = true;
  unit.save(dormantState(state, ended), turn, state.address);
  return true;
}

/** The `closeMessage` of a session the scheduler closes; a function's failure or bad answer is reported, not sent. */
async function closeMessageOf(engine: Engine, turn: Turn): Promise<OutgoingMessage | undefined> {
  const option = engine.settings.closeMessage;
  if (typeof option !== 'function') return option;
  const said = await engine.reporter.hook('closeMessage', () => option(turn.session), undefined);
  if (said === undefined) return undefined;
  try {
    return toOutgoing(said, []);
  } catch (error) {
    engine.reporter.fail(error, 'INVALID_MESSAGE', 'the closeMessage function');
    return undefined;
  }
}

/** A claimed idle deadline that is not the close: sends the nudge it stands for, or sets the next deadline again. */
async function nudgeStep(engine: Engine, unit: Unit, turn: Turn, step: IdleStep): Promise<boolean> {
  if (step.kind === 'lapsed' || step.kind === 'close') return false;
  const state = turn.state;
  if (step.kind === 'nudge') {
    state.nudges = { at: state.lastActiveAt, count: step.count };
    const { message } = step.nudge;
    const said =
      typeof message === 'function'
        ? await engine.reporter.hook('nudge.message', () => message(turn.session, step.count), undefined)
        : message;
    try {
      if (said !== undefined) turn.session.send(said);
    } catch (error) {
      engine.reporter.fail(error, 'INVALID_MESSAGE', 'the nudge message');
    }
  }
  turn.close(unit.replies);
  unit.flush = true;
  unit.save(state, turn, state.address);
  return false;
}

/**
 * `beginDialog` from outside a turn: on top of the live session's stack (`interrupt`) or in place of it. `undefined`
 * when no session is live (the caller starts one instead).
 */
export async function interjectUnit(
  engine: Engine,
  unit: Unit,
  address: Address,
  dialogId: string,
  args: unknown,
  interrupt: boolean,
): Promise<SessionInfo | undefined> {
  const now = Date.now();
  const state = engine.records.decodeSession(unit.opened.session, unit.key);
  if (!isLive(state) || isExpired(state, engine.timeoutOf(state), now)) return undefined;
  dropExpiredEntities(state, now);
  const pristine = encodeState(state, unit.key);
  const turn = engine.session(unit.key, unit, state, undefined, engine.bags(unit));
  // The bot spoke: the user gets a whole idle time to answer.
  state.lastActiveAt = now;
  const top = state.stack[state.stack.length - 1];
  if (!interrupt && top !== undefined) {
    state.stack.length = 0;
    turn.topChanged(top);
  }
  turn.session[HOST].record({ kind: 'begin', id: dialogId, args, interrupt });
  try {
    await drain(turn.session, engine.registry, engine.settings.maxDialogOperations, turn);
  } catch (thrown) {
    const failure = PalaverError.from(thrown, 'DIALOG_FAILED', `the dialog "${dialogId}" begun by beginDialog()`);
    turn.close();
    if (turn.saved === undefined) throw failure;
    // Its sendBatch() saved part of it: save the session as it was before the dialog, then fail.
    const scopes = engine.bags(unit).restored(); // written back as read: undoes what the checkpoint saved of them
    const before = engine.session(unit.key, unit, decodeState(pristine, unit.key), undefined, scopes);
    before.close();
    unit.failure = failure;
    unit.save(before.state, before, address);
    return before.session.info;
  }
  turn.close(unit.replies);
  unit.flush = turn.flush;
  unit.save(state, turn, address);
  return turn.session.info;
}

/** The store dropped a session to stay within its bound: its end hook runs (reason `evicted`); nothing is saved. */
export async function evictedUnit(engine: Engine, key: string, record: StoredRecord): Promise<void> {
  const state = engine.records.decodeSession(record, key);
  if (!isLive(state)) return;
  const events: (() => void)[] = [];
  const turn = engine.session(key, undefined, state, undefined, Bags.of({}, {}));
  await engine.closeSession(turn, 'evicted', Date.now(), events);
  turn.close();
  for (const emit of events) emit();
}
