// The machinery every unit of work runs on: transact() (open → work → commit → outbox → events, one retry policy, one
// CONFLICT), the per-session Turn that a Session reports to, sendBatch checkpoints, and the end of a session (its hook,
// the kept entities, its event). The kinds of unit of work themselves are in units.ts.
import { encodeState } from '../codec';
import { PalaverError } from '../errors';
import type { DialogInstance } from '../dialogs/dialog';
import type { DialogRegistry } from '../dialogs/registry';
import type { RunnerHooks } from '../dialogs/runner';
import { History } from '../history';
import { laneKey } from '../keys';
import type { IdleLadder } from '../nudge';
import type { Outbox } from '../outbox';
import { Recognizers, type Nlp } from '../recognizers';
import type { Retention } from '../retention';
import type { Telemetry, UnitProbe } from '../telemetry';
import { setOwn, type SessionStateRecord } from '../schema';
import { Session } from '../session';
import type { LifecycleRequest, SessionServices, TurnContext } from '../turn-context';
import { summarize, type StatsCounter } from '../stats';
import { SESSION_PREFIX } from '../stores/store';
import type { DialogAction } from '../dialogs/dialog';
import {
  isThenable,
  type Address,
  type EndReason,
  type IncomingMessage,
  type JsonObject,
  type OutgoingMessage,
} from '../types';
import type { Reporter, SessionManagerEvents } from './events';
import type { TurnGate } from './gate';
import { applyScopeChanges, scopeChanges, snapshotScope, type Kept, type ScopeChanges } from './lifecycle';
import type { Settings } from './options';
import type { Changes, Expected, Opened, Records } from './records';
import { Bags } from './bags';

/** How many recent session ends are remembered so that no end hook runs twice. */
const END_HOOK_MEMORY = 10_000;

type AnySession = Session<any, any, any, any>;

/** One attempt of a unit of work: what it read, and what it will save, send and announce once the commit holds. */
export class Unit {
  /** Run in order once the commit holds (events, counters). */
  readonly events: (() => void)[] = [];
  /** Replies of every session of the attempt, in order; handed to the outbox once the commit holds. */
  readonly replies: OutgoingMessage[] = [];
  /** Deliver the replies without the batching delay. */
  flush = false;
  /** Where the replies go. */
  address: Address | undefined;
  /** What the commit writes (with the data scopes its sessions used); `undefined`: nothing to save. */
  state: SessionStateRecord | undefined;
  bags: Bags | undefined;
  /** A message turn: when its message came (counted in `stats()` once the commit holds). */
  receivedAt: number | undefined;
  /** Thrown to the caller once the commit holds (the new state is saved, but the work it asked for failed). */
  failure: PalaverError | undefined;
  /** Trace prefix of the replies' batch. */
  label = '';
  /** The unit of work's telemetry (the `telemetry` option), else undefined. */
  probe: UnitProbe | undefined;
  /** A message turn: what the recognizers found in its message. */
  nlp: Nlp | undefined;
  /** A `sendBatch()` of this attempt committed and sent replies: a re-run would send them again. */
  checkpointed = false;

  constructor(
    readonly key: string,
    readonly opened: Opened,
    readonly expected: Expected,
  ) {}

  /** `userData` to commit: `undefined` when no session used it (the record stays as read). */
  get userData(): JsonObject | undefined {
    return this.bags?.changedUserData;
  }

  /** `conversationData` to commit: `undefined` when no session used it. */
  get conversationData(): JsonObject | undefined {
    return this.bags?.changedConversationData;
  }

  /** Saves `state` and the data scopes of `turn`'s session when the work is done; the replies go to `address`. */
  save(state: SessionStateRecord, turn: Turn, address: Address): void {
    // No dialog left on the stack: the task an intent began is over.
    if (state.taskIntent !== undefined && state.stack.length === 0) delete state.taskIntent;
    this.state = state;
    this.bags = turn.bags;
    this.address = address;
  }
}

/** The engine's own side of a Session: what it asks for, and what the engine reads back. */
export class Turn implements TurnContext, RunnerHooks {
  readonly replies: OutgoingMessage[] = [];
  /** Replies of a `sendBatch()` whose save failed: they go out with the next save that holds, ahead of the rest. */
  unsaved: OutgoingMessage[] | undefined;
  flush = false;
  lifecycle: LifecycleRequest<any> | undefined;
  closed = false;
  saved: TurnContext['saved'];
  action: DialogAction | undefined;
  saving: Promise<unknown> | undefined;
  /** A new session whose `sessionStart` is not queued yet (a checkpoint that saves it queues it). */
  announcing = false;
  readonly trace: ((line: string) => void) | undefined;
  session!: AnySession;

  constructor(
    private readonly engine: Engine,
    readonly key: string,
    readonly state: SessionStateRecord,
    readonly rehandled: boolean,
    readonly unit: Unit | undefined,
    readonly bags: Bags,
  ) {
    const line = engine.services.traceLine;
    this.trace = line === undefined ? undefined : (text: string) => line(engine.tracePrefix(state) + text);
  }

  get services(): SessionServices {
    return this.engine.services;
  }

  get nlp(): Nlp | undefined {
    return this.unit?.nlp;
  }

  checkpoint(session: AnySession, replies: OutgoingMessage[]): Promise<{ delivered: Promise<void> }> {
    return this.engine.checkpoint(this, session, replies);
  }

  sendAfterTurn(address: Address, messages: OutgoingMessage[]): Promise<void> {
    return this.engine.outbox.send(laneKey(address), address, messages, this.engine.label(this.state));
  }

  endConversation(): void {
    this.state.privateConversationData = {};
  }

  topChanged(previous: DialogInstance | undefined): void {
    if (previous !== undefined)
      this.state.previousDialogState = { ...this.engine.services.registry.state(previous.id) };
  }

  /** Ends the turn: its session takes no more operations; its replies move to `into`. */
  close(into?: OutgoingMessage[]): void {
    this.closed = true;
    if (into !== undefined) this.collect(into);
  }

  /** Moves the replies queued so far to `into`. */
  collect(into: OutgoingMessage[]): void {
    const unsaved = this.unsaved;
    if (unsaved !== undefined) {
      this.unsaved = undefined;
      this.engine.history?.replies(this.state, unsaved);
      for (const reply of unsaved) into.push(reply);
    }
    const replies = this.replies;
    if (replies.length === 0) return;
    // Collected replies go out with the commit: from now on they are part of the transcript.
    this.engine.history?.replies(this.state, replies);
    for (const reply of replies) into.push(reply);
    replies.length = 0;
  }
}

/** What an `onSessionEnd` run did, replayed when its unit of work is re-run. */
interface EndHookRun {
  returned: unknown;
  replies: OutgoingMessage[];
  userData?: ScopeChanges;
  conversationData?: ScopeChanges;
}

export class Engine {
  readonly services: SessionServices;
  /** `bot.recognizer(...)`: what the user means, found once per message turn. */
  readonly recognizers: Recognizers;
  /** Idle nudges and per-dialog timeouts: built only when the `nudge` option or a dialog's idle options ask for them. */
  idle: IdleLadder | undefined;
  /** Spans and metrics: set by the manager when the `telemetry` option asks for them. */
  telemetry: Telemetry | undefined;
  /** The session transcript: only with the `history` option. */
  readonly history: History | undefined;
  readonly #endHookRuns = new Map<string, EndHookRun>();
  /** With `coalesce`: submits the open batch of a key ahead of another unit of work of it. */
  seal: ((key: string) => void) | undefined;

  constructor(
    readonly settings: Settings,
    readonly reporter: Reporter,
    readonly registry: DialogRegistry,
    readonly records: Records,
    readonly gate: TurnGate,
    readonly outbox: Outbox,
    readonly counters: StatsCounter,
    readonly retention: Retention | undefined,
    idle: IdleLadder | undefined,
  ) {
    this.idle = idle;
    this.recognizers = new Recognizers(settings, (error) => reporter.report(error));
    this.history = settings.history === undefined ? undefined : new History(settings.history);
    this.services = {
      registry,
      botId: settings.botId,
      version: settings.version,
      defaultLocale: settings.locale,
      timeoutOf: (state) => this.timeoutOf(state),
      traceLine: settings.trace,
      checkEntity: retention?.checkEntity,
    };
  }

  /**
   * Runs `work` as one unit of work on `key`: open (lease and records) → work → commit (compare-and-set, lease given
   * up) → replies to the outbox → events. A lost race runs the work again on fresh records, up to `maxCommitRetries`
   * times, then fails with CONFLICT. Call it inside `gate.run(key, ...)`.
   */
  transact<T>(
    key: string,
    address: Address | undefined,
    doing: string,
    work: (unit: Unit) => T | Promise<T>,
  ): Promise<T> {
    const telemetry = this.telemetry;
    if (telemetry === undefined) return this.#transact(key, address, doing, work, undefined);
    return telemetry.unit(doing, key, (probe) => this.#transact(key, address, doing, work, probe));
  }

  async #transact<T>(
    key: string,
    address: Address | undefined,
    doing: string,
    work: (unit: Unit) => T | Promise<T>,
    probe: UnitProbe | undefined,
  ): Promise<T> {
    const { gate, records } = this;
    for (let attempt = 0; ; attempt++) {
      const pending =
        probe === undefined ? gate.open(key, address) : probe.store('open', () => gate.open(key, address));
      const opened = isThenable(pending) ? await pending : pending;
      const unit = new Unit(key, opened, records.expect(opened));
      unit.probe = probe;
      const running = work(unit);
      const result = isThenable(running) ? await running : running;
      if (unit.state === undefined) {
        probe?.done(unit, result);
        return result;
      }
      const release = gate.releaseOf(key);
      const committing =
        probe === undefined
          ? records.commit(key, unit as Changes, unit.expected, release)
          : probe.store('commit', () => records.commit(key, unit as Changes, unit.expected, release));
      if (isThenable(committing) ? await committing : committing) {
        if (release !== undefined) gate.released(key);
        if (unit.receivedAt !== undefined) this.counters.turn(unit.receivedAt);
        probe?.done(unit, result);
        if (unit.address !== undefined)
          this.outbox.enqueue(this.laneOf(key, unit.address), unit.address, unit.replies, unit.flush, unit.label);
        for (const emit of unit.events) emit();
        if (unit.failure !== undefined) throw unit.failure;
        return result;
      }
      if (unit.checkpointed) {
        throw new PalaverError(
          'CONFLICT',
          `Session "${key}" changed after sendBatch() saved part of ${doing}; what came after it was not saved or ` +
            'sent (it is not re-run: the replies already sent would go out twice).',
        );
      }
      if (attempt >= this.settings.maxCommitRetries) {
        throw new PalaverError(
          'CONFLICT',
          `Session "${key}" kept changing during ${doing}; gave up after ${attempt + 1} attempts.`,
        );
      }
    }
  }

  /** A Session of `key` for one unit of work (without `unit`: an end that saves nothing, an eviction). */
  session(
    key: string,
    unit: Unit | undefined,
    state: SessionStateRecord,
    message: IncomingMessage | undefined,
    bags: Bags,
    rehandled = false,
  ): Turn {
    const turn = new Turn(this, key, state, rehandled, unit, bags);
    turn.session = new Session(state, message, bags, turn);
    return turn;
  }

  /** The userData and conversationData records `unit` read, decoded when a session first uses them (afresh per call). */
  bags(unit: Unit): Bags {
    const opened = unit.opened;
    return new Bags(this.records, unit.key, opened.user, opened.conversation);
  }

  /** `sendBatch()`: save what the turn has so far, then hand the replies so far to the outbox (resolves to their delivery). */
  async checkpoint(turn: Turn, session: AnySession, replies: OutgoingMessage[]): Promise<{ delivered: Promise<void> }> {
    const unit = turn.unit;
    if (unit === undefined) {
      turn.replies.unshift(...replies); // not lost: they go out with the rest
      throw new PalaverError('TURN_ENDED', 'sendBatch() is only available inside a turn.');
    }
    const { state, bags } = turn;
    const userData = bags.changedUserData;
    const conversationData = bags.changedConversationData;
    const key = unit.key;
    const batch = turn.unsaved === undefined ? replies : turn.unsaved.concat(replies);
    turn.unsaved = undefined;
    const history = this.history;
    const transcript = history === undefined ? undefined : state.history?.slice();
    history?.replies(state, batch);
    // What is committed, as of now: the step may go on changing the state while the store works.
    const saved = {
      state: encodeState(state, key),
      // undefined: no session used the scope, so this commit does not write it (a rollback restores it as read).
      userData: userData === undefined ? undefined : JSON.stringify(userData),
      conversationData: conversationData === undefined ? undefined : JSON.stringify(conversationData),
    };
    const changes = { state, userData, conversationData };
    const probe = unit.probe;
    let ok: boolean;
    try {
      ok = await (probe === undefined
        ? this.records.commit(key, changes, unit.expected)
        : probe.store('checkpoint', () => this.records.commit(key, changes, unit.expected)));
    } catch (error) {
      turn.unsaved = batch;
      if (history !== undefined) state.history = transcript; // the replies were not sent
      throw error;
    }
    if (!ok) {
      turn.unsaved = batch;
      if (history !== undefined) state.history = transcript; // the replies were not sent
      throw new PalaverError(
        'CONFLICT',
        `sendBatch(): session "${key}" changed under this turn; its replies were not sent yet.`,
      );
    }
    turn.saved = saved;
    unit.checkpointed = true;
    // What the checkpoint saved is announced now: a CONFLICT later in the unit of work does not undo it.
    if (turn.announcing) {
      turn.announcing = false;
      this.announce(turn, unit.events);
    }
    for (const emit of unit.events.splice(0)) emit();
    const address = session.address;
    return { delivered: this.outbox.send(this.laneOf(key, address), address, batch, this.label(state)) };
  }

  /**
   * Ends the session of `turn`: runs `onSessionEnd` (once, even when the unit of work is re-run), decides what is kept,
   * and queues the `sessionEnd` event for after the commit.
   */
  async closeSession(turn: Turn, reason: EndReason, now: number, events: (() => void)[]): Promise<Kept> {
    const session = turn.session;
    const info = session.info;
    const state = turn.state;
    // A re-run after a lost store race (or an eviction while expiring) replays the hook's answer and replies.
    let run = state.id === undefined ? undefined : this.#endHookRuns.get(state.id);
    if (run === undefined) {
      const before = turn.replies.length;
      const hook = this.settings.onSessionEnd;
      const user = hook === undefined ? undefined : snapshotScope(session.userData);
      const conversation = hook === undefined ? undefined : snapshotScope(session.conversationData);
      const returned = await this.reporter.hook('onSessionEnd', () => hook?.(session, reason), undefined);
      if (turn.saving !== undefined) await turn.saving; // a sendBatch() the hook did not await commits first
      run = { returned, replies: turn.replies.slice(before) };
      // Kept so that a re-run (the hook is not run twice) applies the hook's changes to the data it reads afresh.
      if (user !== undefined) run.userData = scopeChanges(user, session.userData);
      if (conversation !== undefined) run.conversationData = scopeChanges(conversation, session.conversationData);
      if (state.id !== undefined) {
        this.#endHookRuns.set(state.id, run);
        if (this.#endHookRuns.size > END_HOOK_MEMORY) this.#endHookRuns.delete(this.#endHookRuns.keys().next().value!);
      }
    } else {
      for (const reply of run.replies) turn.replies.push(reply);
      if (run.userData !== undefined) applyScopeChanges(session.userData, run.userData);
      if (run.conversationData !== undefined) applyScopeChanges(session.conversationData, run.conversationData);
    }
    turn.unit?.probe?.ended(state.id, reason);
    const kept = this.#kept(state, reason, run.returned, now);
    const final = { ...state.entities };
    events.push(() => this.counters.end(reason));
    this.emitLater(events, 'sessionEnd', () => ({
      session: info,
      reason,
      entities: final,
      kept: Object.keys(kept.entities),
      summary: summarize(info, state, reason, now),
    }));
    return kept;
  }

  /** Runs `onSessionStart` for a new session. */
  async startSession(turn: Turn): Promise<void> {
    const hook = this.settings.onSessionStart;
    const session = turn.session;
    if (hook !== undefined) await this.reporter.hook('onSessionStart', () => hook(session), undefined);
    if (turn.saving !== undefined) await turn.saving; // a sendBatch() the hook did not await commits first
  }

  /** Queues `sessionStart`; its payload is read now (call it once the session shows the message that started it). */
  announce(turn: Turn, events: (() => void)[]): void {
    const session = turn.session;
    this.emitLater(events, 'sessionStart', () => ({ session: session.info, address: session.address }));
  }

  emitLater<K extends 'sessionStart' | 'sessionEnd'>(
    events: (() => void)[],
    name: K,
    payload: () => Parameters<SessionManagerEvents[K]>[0],
  ): void {
    if (name === 'sessionStart') events.push(this.counters.start);
    if (!this.reporter.wants(name)) return;
    const value = payload();
    events.push(() => this.reporter.notify(name, value));
  }

  /** The timeout before `session.timeout` applies: the manager's, or the innermost dialog's that declares one. */
  timeoutOf(state: SessionStateRecord): number {
    return this.idle === undefined ? this.settings.timeout : this.idle.baseTimeout(state.stack);
  }

  /**
   * The deadline an active session files in the store: its next nudge, else its close. Under the lazy policy the close
   * is filed too, for `sweepExpired()` to find; the automatic sweeper leaves it to the next message.
   */
  wakeAt(state: SessionStateRecord): number | undefined {
    if (this.idle !== undefined) return this.idle.next(state) ?? this.idle.closeAt(state);
    return state.lastActiveAt + (state.timeout ?? this.settings.timeout);
  }

  /** The outbox lane of a session: its default key without the prefix (no need to join the ids again), else the address's. */
  laneOf(key: string, address: Address): string {
    return this.settings.sessionKey === undefined ? key.slice(SESSION_PREFIX.length) : laneKey(address);
  }

  /** The trace label of a batch: the prefix of the session's top dialog, then `session.`. */
  label(state: SessionStateRecord): string {
    return this.settings.trace === undefined ? '' : this.tracePrefix(state) + 'session.';
  }

  /** A dot per dialog under the top one, then the top dialog's name (`..Prompts.text - `). */
  tracePrefix(state: SessionStateRecord): string {
    const stack = state.stack;
    const top = stack[stack.length - 1];
    return top === undefined ? '' : `${'.'.repeat(stack.length - 1)}${this.registry.state(top.id).name} - `;
  }

  /** The entities an ended session keeps: preserved, returned by the hook, kept by declaration, or with a TTL left. */
  #kept(state: SessionStateRecord, reason: EndReason, returned: unknown, now: number): Kept {
    const keep = new Set<string>();
    if (reason !== 'refresh') {
      for (const name of this.settings.preserve) keep.add(name);
      if (Array.isArray(returned)) for (const name of returned) if (typeof name === 'string') keep.add(name);
    }
    if (this.retention !== undefined) for (const name of this.retention.kept(reason)) keep.add(name);
    const history = reason !== 'refresh' && this.history?.settings.keep === true ? state.history : undefined;
    const entities: JsonObject = {};
    let entityExpiry: Record<string, number> | undefined;
    if (reason !== 'refresh' && state.entityExpiry !== undefined) {
      for (const [name, expiresAt] of Object.entries(state.entityExpiry)) {
        if (expiresAt > now && Object.hasOwn(state.entities, name)) {
          keep.add(name);
          setOwn((entityExpiry ??= {}), name, expiresAt);
        }
      }
    }
    for (const name of keep) if (Object.hasOwn(state.entities, name)) setOwn(entities, name, state.entities[name]);
    const kept: Kept = { entities, entityExpiry, entitiesVersion: state.entitiesVersion };
    if (history !== undefined) kept.history = history;
    return kept;
  }
}
