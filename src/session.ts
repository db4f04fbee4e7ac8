import type { MessageLike } from './cards';
import { toOutgoing } from './outgoing';
import { describe, PalaverError } from './errors';
import { EntityGuard } from './entity-check';
import type { Ended } from './dialogs/typed';
import type { TemplateArgs } from './template';
import {
  HOST,
  ResumeReason,
  type DialogAction,
  type DialogHostInternals,
  type DialogInstance,
  type DialogResult,
  type DialogSession,
  METHOD_OF_ACTION,
} from './dialogs/dialog';
import { findFromTop } from './dialogs/stack';
import { messageSchema, parseOrThrow, setOwn, type SessionStateRecord } from './schema';
import type { Address, HistoryEntry, IncomingMessage, JsonObject, OutgoingMessage, SessionInfo } from './types';
import { plainMessage } from './validate';
import { languageOf } from './recognizers';
import { mergedOf } from './merged';
import type { DataScopes, LifecycleRequest, TurnContext } from './turn-context';

/** What `newSession` carries into the fresh session. */
export interface NewSessionOptions<E extends object = JsonObject> {
  /** Entities to carry: names (their current values are copied) or values. */
  carry?: readonly (keyof E & string)[] | Partial<E>;
  /** Handle this message in the new session instead of the current one. */
  message?: Omit<IncomingMessage, 'address'> & { address?: Address };
}

/**
 * The per-turn handle a dialog gets: the message, the data scopes, and the send, dialog and lifecycle operations.
 * Stack operations take effect when the calling step returns; one step may ask for one of them.
 */
export class Session<
  E extends object = JsonObject,
  U extends object = JsonObject,
  C extends object = JsonObject,
  P extends object = JsonObject,
> implements DialogSession {
  /** Data about the user, kept across sessions and conversations. */
  get userData(): U {
    return this.#scopes.userData as U;
  }
  set userData(value: U) {
    this.#scopes.userData = value as JsonObject;
  }
  /** Data shared by everyone in the conversation. */
  get conversationData(): C {
    return this.#scopes.conversationData as C;
  }
  set conversationData(value: C) {
    this.#scopes.conversationData = value as JsonObject;
  }

  /** The message this turn handles; `undefined` when the bot acts on its own (a timeout, `startSession`). */
  readonly message: IncomingMessage | undefined;
  /** With `coalesce`: the messages merged into `message`, oldest first; otherwise `message` alone (or none). */
  get messages(): readonly IncomingMessage[] {
    return mergedOf(this.message)?.messages ?? (this.message === undefined ? [] : [this.message]);
  }
  /** With `history`: the session's last messages both ways, oldest first, ending with the one being handled (a copy). */
  get history(): HistoryEntry[] {
    return this.#state.history?.slice() ?? [];
  }
  readonly #state: SessionStateRecord;
  readonly #turn: TurnContext;
  readonly #scopes: DataScopes;

  /** What the dialog runtime (the runner, prompts, your own `Dialog` objects) may do to this session. */
  readonly [HOST]: DialogHostInternals;
  #entityGuard: EntityGuard | undefined;

  /** @internal Sessions are made by the manager, one per unit of work. */
  constructor(state: SessionStateRecord, message: IncomingMessage | undefined, scopes: DataScopes, turn: TurnContext) {
    this.#state = state;
    this.message = message;
    this.#scopes = scopes;
    this.#turn = turn;
    this[HOST] = new Internals(turn, state);
  }

  /** Where replies go: the message's address, or the session's saved address. */
  get address(): Address {
    return this.message?.address ?? this.#state.address;
  }

  /**
   * Named values collected in this session; cleared when it ends except those kept. Each may be unset, hence `Partial`.
   * With entity schemas declared (the `entities` option), setting a value that fails its schema throws `INVALID_ARGUMENT`.
   */
  get entities(): Partial<E> {
    const check = this.#turn.services.checkEntity;
    if (check === undefined) return this.#state.entities as Partial<E>;
    return (this.#entityGuard ??= new EntityGuard(check)).wrap(this.#state.entities) as Partial<E>;
  }
  set entities(value: Partial<E>) {
    const check = this.#turn.services.checkEntity;
    if (check !== undefined) (this.#entityGuard ??= new EntityGuard(check)).checkAll(value);
    this.#state.entities = value;
  }

  /** Data about this user in this conversation; cleared by `endConversation`. */
  get privateConversationData(): P {
    return this.#state.privateConversationData as P;
  }
  set privateConversationData(value: P) {
    this.#state.privateConversationData = value as JsonObject;
  }

  /** Data of the dialog on top of the stack; gone when that dialog ends. */
  get dialogData(): JsonObject {
    const stack = this.#state.stack;
    return stack[stack.length - 1]?.data ?? {};
  }
  set dialogData(value: JsonObject) {
    const top = this.#state.stack[this.#state.stack.length - 1];
    if (top !== undefined) top.data = value;
  }

  /** The inactivity timeout of this session (ms); set it to override the manager's for this session. */
  get timeout(): number {
    return this.#state.timeout ?? this.#turn.services.timeoutOf(this.#state);
  }
  set timeout(ms: number) {
    this.assertOpen('timeout');
    if (!(typeof ms === 'number' && Number.isFinite(ms) && ms > 0)) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `Expected \`session.timeout\` to be a positive number of milliseconds, got ${describe(ms)}.`,
      );
    }
    this.#state.timeout = ms;
  }

  /** Metadata of the session, as of now. */
  get info(): SessionInfo {
    const state = this.#state;
    const turn = this.#turn;
    const host = turn.services;
    const top = state.stack[state.stack.length - 1];
    return {
      id: state.id ?? '',
      key: turn.key,
      botId: host.botId,
      version: host.version,
      channel: state.address.channelId,
      user: state.address.user,
      locale: state.locale ?? host.defaultLocale,
      startedAt: state.startedAt ?? state.lastActiveAt,
      lastActiveAt: state.lastActiveAt,
      turnCount: state.turnCount,
      interactive: state.interactive,
      developer: state.developer,
      timeout: this.timeout,
      currentDialogState: top === undefined ? undefined : host.registry.state(top.id),
      previousDialogState: state.previousDialogState,
      nlp: turn.nlp,
      preferredLanguage: state.preferredLanguage ?? languageOf(state.locale ?? host.defaultLocale),
      taskIntent: state.taskIntent,
    };
  }

  /**
   * Queues a reply: text, a message, or a {@link Message} builder. Text with arguments is a sprintf template
   * (`'Hello %s'`, `'%d items'`, `'Hi %(name)s'`); text alone is sent as it is, `%` and all.
   * Replies leave after the turn's state is saved, batched with the other replies of the turn. After the turn has
   * ended, `send` still works: the reply goes out at once (nothing is saved).
   * @throws PalaverError `INVALID_TEMPLATE` when the template and its arguments do not fit (a placeholder without an
   * argument, a named key the object lacks, an `undefined` argument); `INVALID_MESSAGE` for a bad message or card.
   * @example
   * session.send('Hello %s!', results.response);
   * session.send('Hello there %(name)s', session.userData);
   */
  send<T extends MessageLike>(message: T, ...args: TemplateArgs<T>): this {
    const outgoing = toOutgoing(message, args);
    const turn = this.#turn;
    if (turn.closed) {
      turn.sendAfterTurn(this.address, [outgoing]).catch(() => undefined); // a failure is reported as an `error` event
      return this;
    }
    turn.trace?.('session.send()');
    turn.replies.push(outgoing);
    const msgs = this.#state.msgs; // counted for the session summary
    if (msgs === undefined) this.#state.msgs = [0, 1];
    else msgs[1]++;
    return this;
  }

  /**
   * Shows a typing indicator (`{ type: 'typing' }`). With no reply waiting it goes out at once (it changes no state);
   * after replies of this turn it goes out behind them, through `sendBatch()`, so the order stays as written.
   * Channels keep the indicator a few seconds: call it again during long work.
   */
  sendTyping(): this {
    const turn = this.#turn;
    turn.trace?.('session.sendTyping()');
    const typing: OutgoingMessage = { type: 'typing' };
    if (turn.closed || turn.replies.length === 0) {
      turn.sendAfterTurn(this.address, [typing]).catch(() => undefined); // a failure is reported as an `error` event
    } else {
      turn.replies.push(typing);
      void this.sendBatch();
    }
    return this;
  }

  /**
   * Saves the state so far, then delivers the replies so far, ahead of the rest of the turn. Resolves once they are
   * delivered; rejects with a `DeliveryError` (code `DELIVERY_FAILED`, also emitted as an `error` event) when delivery
   * kept failing, or with the store's error when saving failed (its replies then stay in the turn and go out, first,
   * with the turn's next save that holds). `done`, if given, is called the same way (v3's callback).
   * Prompts and `endConversation` flush by themselves; call this for replies that must go out before slow work.
   * The turn does not end before the save is done, even when the promise is not awaited. After the turn has ended
   * there is nothing left to save: it resolves once what was sent since is delivered.
   * @example
   * session.send('Looking that up...');
   * await session.sendBatch();
   * const items = await lookup();
   */
  sendBatch(done?: (error?: Error) => void): Promise<void> {
    let delivered: Promise<void>;
    const turn = this.#turn;
    if (turn.closed) {
      delivered = turn.sendAfterTurn(this.address, []);
    } else {
      const replies = turn.replies.splice(0);
      const checkpoint = () => turn.checkpoint(this, replies);
      const previous = turn.saving;
      const saved = previous === undefined ? checkpoint() : previous.then(checkpoint);
      const saving = saved.catch(() => undefined);
      turn.saving = saving;
      void saving.then(() => {
        if (turn.saving === saving) turn.saving = undefined;
      });
      delivered = saved.then((result) => result.delivered);
    }
    // The caller may not await it (v3 code rarely did): that must not be an unhandled rejection.
    delivered.catch(() => undefined);
    if (done)
      delivered.then(
        () => done(),
        (error: Error) => done(error),
      );
    return delivered;
  }

  /** Begins the dialog `id` on top of the stack; the current dialog resumes with its result when it ends. */
  beginDialog(id: string, args?: unknown): this {
    this.#turn.services.registry.check(id);
    this.record({ kind: 'begin', id, args });
    return this;
  }

  /** Replaces the current dialog with `id`; the stack does not grow, and the caller resumes when the new one ends. */
  replaceDialog(id: string, args?: unknown): Ended<this> {
    this.#turn.services.registry.check(id);
    this.record({ kind: 'replace', id, args });
    return this as Ended<this>;
  }

  /** Ends the current dialog, optionally with a reply (a template when arguments follow); the caller resumes with `ResumeReason.completed`. */
  endDialog<T extends MessageLike>(message?: T, ...args: TemplateArgs<T>): Ended<this> {
    this.assertOpen('endDialog');
    if (message !== undefined) this.send(message, ...args);
    this.record({ kind: 'end', result: { resumed: ResumeReason.completed } });
    return this as Ended<this>;
  }

  /**
   * Ends the current dialog and returns `result` to its caller's next step; `resumed` defaults to `completed`.
   * @example
   * session.endDialogWithResult({ response: { name: 'joe smith', age: 37 } });
   */
  endDialogWithResult(result?: Partial<DialogResult>): Ended<this> {
    this.record({ kind: 'end', result: { ...result, resumed: result?.resumed ?? ResumeReason.completed } });
    return this as Ended<this>;
  }

  /**
   * Cancels a dialog and every dialog above it: by id (the topmost instance) or by stack index (0 is the bottom).
   * With `replaceWithId`, that dialog begins in its place; otherwise the caller resumes with `ResumeReason.notCompleted`.
   */
  cancelDialog(idOrIndex: string | number, replaceWithId?: string, replaceWithArgs?: unknown): this {
    this.assertOpen('cancelDialog');
    const stack = this.#state.stack;
    let index: number;
    if (typeof idOrIndex === 'number') {
      if (!Number.isInteger(idOrIndex) || idOrIndex < 0 || idOrIndex >= stack.length) {
        throw new PalaverError(
          'INVALID_ARGUMENT',
          `cancelDialog: index ${describe(idOrIndex)} is not on the stack (it holds ${stack.length} dialog${stack.length === 1 ? '' : 's'}).`,
        );
      }
      index = idOrIndex;
    } else {
      index = findFromTop(stack, idOrIndex);
      if (index < 0) {
        throw new PalaverError(
          'INVALID_ARGUMENT',
          `cancelDialog: no dialog "${String(idOrIndex)}" is on the stack (${stack.map((d) => d.id).join(' > ') || 'empty'}).`,
        );
      }
    }
    if (replaceWithId !== undefined) this.#turn.services.registry.check(replaceWithId);
    this.record({ kind: 'cancel', index, replaceWithId, replaceWithArgs });
    return this;
  }

  /**
   * Ends the conversation: clears the dialog stack and `privateConversationData`, and sends `message` (and every other
   * reply of the turn) without the batching delay. The session and its entities go on; the next message begins the root dialog.
   */
  endConversation<T extends MessageLike>(message?: T, ...args: TemplateArgs<T>): Ended<this> {
    this.assertOpen('endConversation');
    if (message !== undefined) this.send(message, ...args);
    this.record({ kind: 'endConversation' });
    this.#turn.flush = true;
    return this as Ended<this>;
  }

  /**
   * Reports a failure, as a step that throws `err` would: once the step returns, the turn fails (nothing it changed is
   * saved), the user gets `dialogErrorMessage`, the conversation ends, and the `error` event and the turn's result carry
   * a `DIALOG_FAILED` error whose `cause` is `err`. It takes the place of a stack operation the step asked for before.
   * @example
   * try {
   *   session.send('Found %d rooms.', (await lookup(city)).length);
   * } catch (err) {
   *   session.error(err as Error);
   * }
   */
  error(err: Error): this {
    this.assertOpen('error');
    this.#turn.action = { kind: 'fail', error: err };
    return this;
  }

  /** Clears the current dialog (`discard()`) or the whole stack (`discard({ all: true })`); the session and its data stay. */
  discard(options: { all?: boolean } = {}): this {
    this.record({ kind: 'discard', all: options.all === true });
    return this;
  }

  /** Ends the session once this turn is done (`onSessionEnd(session, 'endSession')`); the next message starts a new one. */
  endSession(): this {
    this.requestLifecycle({ kind: 'endSession' });
    return this;
  }

  /**
   * Ends this session now and handles the message again in a fresh one (JAICP's `newSession`), carrying the named entities.
   * @throws PalaverError `NEW_SESSION_LOOP` when called again while re-handling the same message.
   */
  newSession(options: NewSessionOptions<E> = {}): this {
    if (this.#turn.rehandled) {
      throw new PalaverError(
        'NEW_SESSION_LOOP',
        'newSession() was called while re-handling a message that already started a new session; this would loop forever. ' +
          'Change the message (options.message) or the condition that calls newSession().',
      );
    }
    if (typeof options !== 'object' || options === null) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `Expected newSession() options as an object, got ${describe(options)}.`,
      );
    }
    const check = this.#turn.services.checkEntity;
    if (
      check !== undefined &&
      typeof options.carry === 'object' &&
      options.carry !== null &&
      !Array.isArray(options.carry)
    ) {
      (this.#entityGuard ??= new EntityGuard(check)).checkAll(options.carry as JsonObject);
    }
    let checked = options;
    if (options.message !== undefined) {
      // Checked now, as receive() checks a message: the dialog that asked gets the error, not the next turn.
      const full = { ...options.message, address: options.message.address ?? this.address };
      const message =
        plainMessage(full) ?? parseOrThrow(messageSchema, full, 'INVALID_MESSAGE', 'message passed to newSession()');
      checked = { ...options, message };
    }
    this.requestLifecycle({ kind: 'newSession', options: checked });
    return this;
  }

  /** Clears everything of this session (entities, dialogs, private data) and starts a fresh session (`refresh`). */
  refresh(): this {
    this.requestLifecycle({ kind: 'refresh' });
    return this;
  }

  /** Sets an entity that outlives session ends until `ttl` ms from now (Kore's custom-TTL variables). */
  setEntity<K extends keyof E & string>(name: K, value: E[K], options: { ttl?: number } = {}): this {
    this.assertOpen('setEntity');
    this.#turn.services.checkEntity?.(name, value);
    setOwn(this.#state.entities, name, value);
    if (options.ttl !== undefined) {
      if (!(typeof options.ttl === 'number' && options.ttl > 0 && Number.isFinite(options.ttl))) {
        throw new PalaverError(
          'INVALID_ARGUMENT',
          `Expected \`ttl\` to be a positive number of milliseconds, got ${describe(options.ttl)}.`,
        );
      }
      setOwn((this.#state.entityExpiry ??= {}), name, Date.now() + options.ttl);
    } else if (this.#state.entityExpiry !== undefined) {
      delete this.#state.entityExpiry[name];
    }
    return this;
  }

  private record(action: DialogAction): void {
    recordAction(this.#turn, action);
  }

  private requestLifecycle(request: LifecycleRequest<E>): void {
    const turn = this.#turn;
    assertOpen(turn, request.kind);
    if (turn.lifecycle !== undefined && turn.lifecycle.kind !== request.kind) {
      throw new PalaverError(
        'DIALOG_ACTION_CONFLICT',
        `This turn already asked for ${turn.lifecycle.kind}(); it cannot also ${request.kind}().`,
      );
    }
    turn.lifecycle = request;
  }

  private assertOpen(operation: string): void {
    assertOpen(this.#turn, operation);
  }
}

function recordAction(turn: TurnContext, action: DialogAction): void {
  assertOpen(turn, METHOD_OF_ACTION[action.kind]);
  if (turn.action !== undefined) {
    throw new PalaverError(
      'DIALOG_ACTION_CONFLICT',
      `A step asked for two dialog operations (${METHOD_OF_ACTION[turn.action.kind]}() then ${METHOD_OF_ACTION[action.kind]}()); ` +
        'end each step with one of beginDialog, endDialog, endDialogWithResult, replaceDialog, cancelDialog, ' +
        'endConversation, discard or next().',
    );
  }
  turn.action = action;
}

function assertOpen(turn: TurnContext, operation: string): void {
  if (turn.closed) {
    throw new PalaverError(
      'TURN_ENDED',
      `session.${operation}() was called after its turn had finished. Await your async work inside the step, ` +
        'or keep session.address and use manager.send() later.',
    );
  }
}

/** What the dialog runner and the built-in dialogs reach through `session[HOST]`: one object per session, no closures. */
class Internals implements DialogHostInternals {
  constructor(
    private readonly turn: TurnContext,
    private readonly state: SessionStateRecord,
  ) {}

  get stack(): DialogInstance[] {
    return this.state.stack as DialogInstance[];
  }

  record(action: DialogAction): void {
    recordAction(this.turn, action);
  }

  hasAction(): boolean {
    return this.turn.action !== undefined;
  }

  take(): DialogAction | undefined {
    const turn = this.turn;
    const action = turn.action;
    turn.action = undefined;
    // After newSession or refresh the old session is over: nothing more runs in it.
    if (turn.lifecycle !== undefined && turn.lifecycle.kind !== 'endSession') return undefined;
    return action;
  }

  requestFlush(): void {
    this.turn.flush = true;
  }

  get trace(): ((line: string) => void) | undefined {
    return this.turn.trace;
  }

  get locale(): string | undefined {
    return this.state.locale ?? this.turn.services.defaultLocale;
  }

  saving(): Promise<unknown> | undefined {
    return this.turn.saving;
  }
  beganTask(intent: string): void {
    this.state.taskIntent = intent;
  }
}
