import { EventEmitter } from 'eventemitter3';
import type { MessageLike } from './cards';
import { registerPrompts } from './dialogs/prompts';
import type { ActionOptions, Middleware } from './dialogs/actions';
import { DialogRegistry } from './dialogs/registry';
import type { Dialog, DialogHandler, DialogResult, WaterfallStep } from './dialogs/dialog';
import type { Waterfall } from './dialogs/typed';
import type { TemplateArgs } from './template';
import { describe, PalaverError } from './errors';
import { sessionKeyOf } from './keys';
import { Reporter, type SessionManagerEvents } from './manager/events';
import { TurnGate } from './manager/gate';
import { resolveSettings, type SessionManagerOptions, type Settings } from './manager/options';
import { Records } from './manager/records';
import { Sweeper } from './manager/expiry';
import { registerDialog, type DialogOptions } from './manager/dialogs';
import { Engine } from './manager/turns';
import { Coalescer, isMergeable, messageTurns } from './manager/coalesce';
import { exportUser, forgetUser, type ForgetResult, type UserExport, type UserRef } from './manager/privacy';
import { endUnit, evictedUnit, interjectUnit, messageTurn, startUnit, type TurnResult } from './manager/units';
import { IdleLadder } from './nudge';
import { Outbox } from './outbox';
import { Retention, type EntitySpecs } from './retention';
import { addressSchema, messageSchema, parseOrThrow } from './schema';
import { toOutgoing } from './outgoing';
import type { Session } from './session';
import { StatsCounter, type ManagerStats } from './stats';
import { Telemetry } from './telemetry';
import { SESSION_PREFIX, type SessionStore } from './stores/store';
import type { Address, EndReason, IncomingMessage, JsonObject, OutgoingMessage, SessionInfo } from './types';
import { checkMessageSize, plainMessage } from './validate';
import type { EarlyRecognition, Recognizer, RecognizerOptions } from './recognizers';
import { isThenable } from './types';

export type { SessionManagerOptions } from './manager/options';
export type { SessionManagerEvents } from './manager/events';
export type { TurnResult } from './manager/units';
export type { DialogOptions } from './manager/dialogs';
export type { ForgetResult, UserExport, UserRef } from './manager/privacy';

const END_REASONS: readonly EndReason[] = ['timeout', 'endSession', 'newSession', 'refresh', 'evicted', 'shutdown'];

/**
 * Owns sessions: finds or starts the session of each incoming message, runs the dialogs, saves, and delivers replies.
 * Turns of one session key run one at a time; idle sessions close on their own.
 *
 * Each public method checks its arguments, then runs one unit of work (see `docs/architecture.md`).
 * @example
 * const bot = new SessionManager({ deliver: async (address, messages) => channel.post(address, messages) });
 * bot.dialog('/', (session) => session.send('You said: %s', session.message?.text));
 * await bot.receive({ address, text: 'hi' });
 */
export class SessionManager<
  E extends object = JsonObject,
  U extends object = JsonObject,
  C extends object = JsonObject,
  P extends object = JsonObject,
> extends EventEmitter<SessionManagerEvents> {
  /** The store sessions live in. */
  readonly store: SessionStore;
  readonly #settings: Settings;
  readonly #registry: DialogRegistry = new DialogRegistry();
  readonly #reporter: Reporter;
  readonly #outbox: Outbox;
  readonly #gate: TurnGate;
  readonly #engine: Engine;
  readonly #sweeper: Sweeper;
  readonly #counters = new StatsCounter();
  readonly #coalescer: Coalescer | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;

  /** @throws PalaverError `INVALID_OPTIONS` naming the option that is wrong. */
  constructor(options: SessionManagerOptions<E, U, C, P>) {
    super();
    const settings = resolveSettings(options);
    this.#settings = settings;
    this.store = settings.store;
    const reporter = (this.#reporter = new Reporter(this));
    const telemetry =
      settings.telemetry === undefined
        ? undefined
        : new Telemetry(settings.telemetry, () => this.#counters.snapshot(Date.now()));
    this.#outbox = new Outbox({
      deliver: telemetry === undefined ? settings.deliver : telemetry.deliver(settings.deliver),
      delay: settings.autoBatchDelay,
      retry: settings.deliveryRetry,
      onError: (error) => {
        telemetry?.deliveryFailed();
        reporter.report(error);
      },
      trace: settings.trace,
      observe: (address, messages) => {
        if (reporter.wants('batch')) reporter.notify('batch', { address, messages });
      },
    });
    const retention =
      settings.entities === undefined && settings.migrations === undefined
        ? undefined
        : new Retention(settings.entities as EntitySpecs, settings.migrations);
    const records = new Records(
      settings,
      reporter,
      retention,
      (state) => this.#engine.wakeAt(state),
      (at) => this.#sweeper.wake(at),
    );
    this.#gate = new TurnGate(settings, records);
    const idle =
      settings.nudge === undefined ? undefined : new IdleLadder(settings.nudge, settings.timeout, settings.proactive);
    this.#engine = new Engine(
      settings,
      reporter,
      this.#registry,
      records,
      this.#gate,
      this.#outbox,
      this.#counters,
      retention,
      idle,
    );
    this.#engine.telemetry = telemetry;
    this.#sweeper = new Sweeper(this.#engine);
    if (settings.coalesce !== undefined)
      this.#coalescer = new Coalescer(settings.coalesce, messageTurns(this.#gate, this.#engine));
    if (this.#coalescer !== undefined) this.#engine.seal = (key) => this.#coalescer!.seal(key);
    this.store.listen?.({ evicted: (key, record) => this.#onEvicted(key, record) });
    registerPrompts(this.#registry, settings.texts);
    // A shared store may hold sessions that other (or earlier) processes left due: sweep from the start.
    this.#sweeper.rearm();
  }

  /**
   * Registers a dialog: a waterfall (an array of steps), a single handler function, or a {@link Dialog} object.
   * A waterfall written as an array literal is typed step by step: a step that returns a prompt gives the next step
   * a `PromptResult` of the prompt's answer; otherwise the next step gets `DialogResult<unknown>`.
   * `triggerAction` begins it from anywhere in the conversation; `actions` are named actions in force while it is on
   * the stack (see `docs/guides/actions.md`).
   * @throws PalaverError `DIALOG_EXISTS` when the id is taken; `ACTION_EXISTS` when a global action has the id's name;
   * `INVALID_OPTIONS` for a bad action; `INVALID_ARGUMENT` for anything else.
   */
  // Twelve typed steps; prettier would give each type parameter a line of its own.
  // prettier-ignore
  dialog<A, O1, I2 = DialogResult, O2 = unknown, I3 = DialogResult, O3 = unknown, I4 = DialogResult, O4 = unknown,
    I5 = DialogResult, O5 = unknown, I6 = DialogResult, O6 = unknown, I7 = DialogResult, O7 = unknown, I8 = DialogResult,
    O8 = unknown, I9 = DialogResult, O9 = unknown, I10 = DialogResult, O10 = unknown, I11 = DialogResult, O11 = unknown,
    I12 = DialogResult, O12 = unknown>(
    id: string,
    steps: Waterfall<Session<E, U, C, P>, A, O1, I2, O2, I3, O3, I4, O4, I5, O5, I6, O6, I7, O7, I8, O8, I9, O9, I10, O10,
      I11, O11, I12, O12>,
    options?: DialogOptions<Session<E, U, C, P>>,
  ): this;
  dialog<A = unknown>(
    id: string,
    dialog:
      | readonly WaterfallStep<Session<E, U, C, P>>[]
      | DialogHandler<Session<E, U, C, P>, A>
      | Dialog<Session<E, U, C, P>>,
    options?: DialogOptions<Session<E, U, C, P>>,
  ): this;
  dialog(
    id: string,
    dialog: readonly unknown[] | DialogHandler<Session<E, U, C, P>, any> | Dialog<Session<E, U, C, P>>,
    options: DialogOptions<Session<E, U, C, P>> = {},
  ): this {
    registerDialog(this.#registry, this.#engine, id, dialog, options);
    return this;
  }

  /**
   * Adds middleware: it runs in every message turn (events too), in the order added, before the actions and the
   * dialogs, onion-style. It may send, change data (saved with the turn), or skip the actions and dialogs by not
   * calling `next()`. A throwing middleware fails the turn as a throwing step does.
   * @throws PalaverError `INVALID_ARGUMENT` when `middleware` is not a function.
   * @example
   * bot.use(async (session, next) => {
   *   if (session.message?.text === 'ping') return session.send('pong');
   *   await next();
   * });
   */
  use(middleware: Middleware<Session<E, U, C, P>>): this {
    this.#registry.routes.use(middleware);
    return this;
  }

  /**
   * Adds a recognizer: an NLU engine, an LLM call or a {@link RegExpRecognizer} that says what the user means. Every
   * message is recognized once, before the middleware; the result is `session.info.nlp` and triggers `matches:
   * { intent }`. A recognizer that needs no session (the default) runs as the message comes in, before the turn waits
   * for the session; `{ needsSession: true }` runs it inside the turn, with the session. See `recognizeOrder`.
   * @throws PalaverError `INVALID_ARGUMENT` when `recognizer` is neither a function nor an object with `recognize`.
   * @example
   * bot.recognizer(new RegExpRecognizer('Greeting', /^(hi|hello|hey)\b/i));
   * bot.recognizer(async (message) => {
   *   const r = await nlu.parse(message.text);
   *   return { intent: r.intent, score: r.confidence, entities: r.entities };
   * });
   */
  recognizer(recognizer: Recognizer<Session<E, U, C, P>>, options?: RecognizerOptions): this {
    this.#engine.recognizers.add(recognizer, options);
    return this;
  }

  /**
   * Registers a global named action: what `matches` triggers from anywhere in the conversation (after the scoped
   * actions of the dialogs on the stack), and what a `CardAction.dialogAction(name)` button triggers.
   * @throws PalaverError `ACTION_EXISTS` when the name is taken; `INVALID_OPTIONS` for bad options.
   * @example
   * bot.action('goodbye', { matches: /^(bye|goodbye)$/i, endConversation: 'Goodbye!' });
   */
  action(name: string, options: ActionOptions<Session<E, U, C, P>>): this {
    this.#registry.routes.action(name, options);
    return this;
  }

  /**
   * Runs one turn for `message`: finds or starts its session, runs the dialogs, saves. Resolves once the state is saved
   * (it never waits for the batching delay or for delivery). With `coalesce`, a message first waits for the messages
   * that follow it within the window, and resolves with the result of the turn it was merged into.
   * @throws PalaverError `INVALID_MESSAGE`, `MESSAGE_TOO_LARGE`, `TURN_QUEUE_FULL`, `STORE_UNAVAILABLE`, `COMMIT_UNKNOWN`,
   * `LEASE_TIMEOUT`, `CONFLICT`, `STATE_TOO_LARGE`, `CLOSED`.
   */
  receive(message: IncomingMessage): Promise<TurnResult> {
    // Not an async function: a turn of synchronous dialogs on MemoryStore then costs no promise but the one returned.
    if (this.#closed) return Promise.reject(closedError());
    let parsed: IncomingMessage;
    let key: string;
    try {
      parsed =
        plainMessage(message) ?? parseOrThrow(messageSchema, message, 'INVALID_MESSAGE', 'message passed to receive()');
      checkMessageSize(parsed, this.#settings.maxMessageBytes);
      key = this.keyOf(parsed.address);
    } catch (error) {
      return Promise.reject(error);
    }
    const receivedAt = Date.now();
    const coalescer = this.#coalescer;
    if (coalescer !== undefined) {
      if (isMergeable(parsed)) return coalescer.add(key, parsed, receivedAt);
      coalescer.seal(key);
    }
    const engine = this.#engine;
    // Recognizers that need no session run now, before the turn waits for the key's queue and lease.
    const early = engine.recognizers.active ? engine.recognizers.begin(parsed) : undefined;
    const turn = (found?: EarlyRecognition) =>
      engine.transact(key, parsed.address, 'its turn', (unit) => messageTurn(engine, unit, parsed, receivedAt, found));
    return this.#gate.run(
      key,
      isThenable(early) ? () => early.then(turn) : early === undefined ? turn : () => turn(early),
    );
  }

  /**
   * Tells palaver that the user at `address` is typing (an adapter reports the channel's typing indicator). With
   * `coalesce`, messages of the address's session key still waiting for their window then wait `window` ms from now,
   * so that the message being typed joins them; otherwise it does nothing.
   * @throws PalaverError `INVALID_ADDRESS` for something that is not an address.
   */
  typing(address: Address): void {
    const parsed = parseOrThrow(addressSchema, address, 'INVALID_ADDRESS', 'address passed to typing()');
    if (this.#coalescer !== undefined && !this.#closed) this.#coalescer.extend(this.keyOf(parsed));
  }

  /**
   * Sends a proactive message to `address` outside any turn, through the same ordered outbox.
   * Resolves once delivered; rejects with a `DeliveryError` when delivery kept failing.
   */
  async send<T extends MessageLike>(address: Address, message: T, ...args: TemplateArgs<T>): Promise<void> {
    const parsed = parseOrThrow(addressSchema, address, 'INVALID_ADDRESS', 'address passed to send()');
    const outgoing: OutgoingMessage = toOutgoing(message, args);
    return this.#outbox.send(this.#engine.laneOf(this.keyOf(parsed), parsed), parsed, [outgoing]);
  }

  /**
   * Starts a bot-initiated session for `address` (non-interactive until the user writes), running `onSessionStart` and,
   * if given, beginning `dialogId`. An active session is left as it is.
   */
  async startSession(address: Address, options: { dialogId?: string; args?: unknown } = {}): Promise<SessionInfo> {
    this.#assertOpen();
    const parsed = parseOrThrow(addressSchema, address, 'INVALID_ADDRESS', 'address passed to startSession()');
    const key = this.keyOf(parsed);
    if (typeof options !== 'object' || options === null) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `Expected startSession() options as an object, got ${describe(options)}.`,
      );
    }
    if (options.dialogId !== undefined) this.#registry.check(options.dialogId);
    this.#coalescer?.seal(key);
    const engine = this.#engine;
    return this.#gate.run(key, () =>
      engine.transact(key, parsed, 'startSession()', (unit) => startUnit(engine, unit, parsed, options)),
    );
  }

  /**
   * Ends the session of an address (or session key) from outside a turn. Resolves to false when no session was active.
   */
  async endSession(addressOrKey: Address | string, reason: EndReason = 'endSession'): Promise<boolean> {
    if (!END_REASONS.includes(reason)) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `Expected \`reason\` to be one of ${END_REASONS.join(', ')}, got ${describe(reason)}.`,
      );
    }
    // A key as keyOf() and session.info.key give it, or as the sessionKey option returned it.
    const key =
      typeof addressOrKey === 'string'
        ? addressOrKey.startsWith(SESSION_PREFIX)
          ? addressOrKey
          : SESSION_PREFIX + addressOrKey
        : this.keyOf(parseOrThrow(addressSchema, addressOrKey, 'INVALID_ADDRESS', 'address passed to endSession()'));
    return this.#end(key, reason);
  }

  /**
   * The session key of an address (see the `sessionKey` option).
   * @throws PalaverError `INVALID_ADDRESS` for something that is not an address.
   */
  keyOf(address: Address): string {
    return sessionKeyOf(address, this.#settings.sessionKey);
  }

  /**
   * Looks for sessions whose idle time ran out and ends them (reason `timeout`), under either close policy. With the
   * `proactive` policy the scheduler calls this by itself; call it from a cron job or a serverless timer when no process
   * stays up, or, with the `lazy` policy, to collect the sessions of users who never came back (no `closeMessage` is
   * sent then). Resolves to the number of sessions ended.
   * @throws PalaverError `INVALID_ARGUMENT` for a `now` that is not a finite number; `STORE_UNAVAILABLE`.
   */
  sweepExpired(now?: number): Promise<number> {
    return this.#sweeper.sweepExpired(now);
  }

  /**
   * Stops taking turns, lets running ones finish, ends (or persists) live sessions as `shutdown` says, delivers every
   * pending reply, and clears every timer.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /**
   * Begins `dialogId` for the user at `address` from outside a turn (a reminder, an alert), in a turn of its own that
   * waits for the user's turns in progress. With no live session, one starts (bot-initiated, as `startSession` does).
   * By default the dialog replaces the user's dialog stack; with `interrupt: true` it goes on top, and when it ends
   * the interrupted dialog asks its question again (its `reprompt`: prompts re-ask) and the user carries on where they were.
   * Resolves once saved; the replies go out through the outbox.
   * @throws PalaverError `INVALID_ADDRESS`, `DIALOG_NOT_FOUND`, `INVALID_ARGUMENT`, `DIALOG_FAILED` (nothing the dialog did is kept), `CLOSED`.
   * @example
   * await bot.beginDialog(address, '/reminder', { text: 'Your table is booked for 8pm' }, { interrupt: true });
   */
  async beginDialog(
    address: Address,
    dialogId: string,
    args?: unknown,
    options: { interrupt?: boolean } = {},
  ): Promise<SessionInfo> {
    this.#assertOpen();
    const parsed = parseOrThrow(addressSchema, address, 'INVALID_ADDRESS', 'address passed to beginDialog()');
    const key = this.keyOf(parsed);
    this.#registry.check(dialogId);
    if (typeof options !== 'object' || options === null) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `Expected beginDialog() options as an object, got ${describe(options)}.`,
      );
    }
    this.#coalescer?.seal(key);
    const engine = this.#engine;
    const interrupt = options.interrupt === true;
    return this.#gate.run(key, async () => {
      const info = await engine.transact(key, parsed, 'beginDialog()', (unit) =>
        interjectUnit(engine, unit, parsed, dialogId, args, interrupt),
      );
      if (info !== undefined) return info;
      return engine.transact(key, parsed, 'beginDialog()', (unit) =>
        startUnit(engine, unit, parsed, { dialogId, args }),
      );
    });
  }

  /** Counters this process keeps as it goes (no store access): live sessions, turns per second, ends by reason, turns. */
  stats(): ManagerStats {
    return this.#counters.snapshot(Date.now());
  }

  /**
   * Forgets a user: deletes every session of theirs in every conversation (with its deadline and expiry claim), their
   * `userData`, the `conversationData` of their one-to-one conversations (a group's is kept), the quarantined copies of
   * those records, and the replies to them still waiting in this process's outbox. Each session is deleted under its
   * turn lease, after the turns in flight; a message that comes later starts afresh. Resolves to what it deleted.
   * See `docs/operations/privacy.md`.
   * @throws PalaverError `INVALID_ARGUMENT` for something that names no user; `NOT_SUPPORTED` for a store without
   * `userKeys` and `forget`; `LEASE_TIMEOUT`, `STORE_UNAVAILABLE` (call it again: what is deleted stays deleted).
   * @example
   * await bot.forgetUser({ channelId: 'telegram', userId: '42' }); // { sessions: 2, userData: 1, ... }
   */
  async forgetUser(user: UserRef): Promise<ForgetResult> {
    const ref = user as { channelId?: string; userId?: string; user?: { id?: string } };
    const id = ref?.userId ?? ref?.user?.id;
    await this.#coalescer?.settleWhere((m) => m.address.channelId === ref?.channelId && m.address.user.id === id);
    return forgetUser(this.#engine, user);
  }

  /**
   * Every record palaver holds about a user, decoded, as one JSON object: their sessions in every conversation,
   * `userData`, the `conversationData` of their one-to-one conversations, and quarantined copies.
   * @throws PalaverError `INVALID_ARGUMENT`, `NOT_SUPPORTED`, `STORE_UNAVAILABLE` as `forgetUser`.
   * @example
   * const data = await bot.exportUser(address);
   * res.json(data);
   */
  exportUser(user: UserRef): Promise<UserExport> {
    return exportUser(this.#engine, user);
  }

  /**
   * Delivers every reply still waiting for its batching delay now; resolves once they (and the batches before them) are
   * delivered. A serverless handler calls it before it returns.
   */
  flush(): Promise<void> {
    return this.#outbox.flushAll();
  }

  #end(key: string, reason: EndReason): Promise<boolean> {
    this.#coalescer?.seal(key);
    const engine = this.#engine;
    return this.#gate.run(key, () =>
      engine.transact(key, undefined, 'endSession()', (unit) => endUnit(engine, unit, reason)),
    );
  }

  #onEvicted(key: string, record: Parameters<typeof evictedUnit>[2]): void {
    if (!key.startsWith(SESSION_PREFIX)) return;
    // The store calls this from inside another key's commit: finish that first.
    void Promise.resolve()
      .then(() => evictedUnit(this.#engine, key, record))
      .catch((error: unknown) => this.#reporter.fail(error, 'HOOK_FAILED', 'ending an evicted session'));
  }

  #assertOpen(): void {
    if (this.#closed) throw closedError();
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    this.#coalescer?.flushAll();
    await this.#gate.idle();
    const keys = (this.store as { sessionKeys?: () => Iterable<string> }).sessionKeys?.();
    if (this.#settings.shutdown === 'end' && keys !== undefined) {
      for (const key of [...keys]) {
        await this.#end(key, 'shutdown').catch((error: unknown) =>
          this.#reporter.fail(error, 'STORE_UNAVAILABLE', 'ending a session at shutdown'),
        );
      }
    }
    this.#sweeper.stop();
    this.#gate.stop();
    await this.#outbox.flushAll();
    this.#outbox.stop();
    this.#engine.telemetry?.stop();
    await this.store.close?.();
  }
}

function closedError(): PalaverError {
  return new PalaverError('CLOSED', 'The SessionManager is closed; create a new one to take more turns.');
}
