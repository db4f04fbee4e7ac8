import { checkCards, isMessageSource, type MessageLike } from './cards';
import { describe, PalaverError } from './errors';
import { EntityGuard, type EntityCheck } from './entity-check';
import { formatText } from './format';
import type { Ended } from './dialogs/typed';
import type { TemplateArgs } from './template';
import { HOST, ResumeReason, type DialogAction, type DialogHostInternals, type DialogInstance, type DialogResult, type DialogSession } from './dialogs/dialog';
import type { DialogRegistry } from './dialogs/registry';
import { findFromTop } from './dialogs/stack';
import { messageSchema, parseOrThrow, outgoingMessageSchema, setOwn, type SessionStateRecord } from './schema';
import type { Address, IncomingMessage, JsonObject, OutgoingMessage, SessionInfo } from './types';
import { plainMessage, plainOutgoing } from './validate';

/** What `newSession` carries into the fresh session. */
export interface NewSessionOptions<E extends JsonObject = JsonObject> {
  /** Entities to carry: names (their current values are copied) or values. */
  carry?: readonly (keyof E & string)[] | Partial<E>;
  /** Handle this message in the new session instead of the current one. */
  message?: Omit<IncomingMessage, 'address'> & { address?: Address };
}

/** A lifecycle request made during a turn; the manager carries it out when the dialogs are done. */
export type LifecycleRequest<E extends JsonObject = JsonObject> =
  | { kind: 'endSession' }
  | { kind: 'newSession'; options: NewSessionOptions<E> }
  | { kind: 'refresh' };

/** What a turn's session needs from the manager. */
export interface TurnHost {
  readonly key: string;
  readonly registry: DialogRegistry;
  readonly defaultTimeout: number;
  readonly botId: string | undefined;
  readonly version: string | undefined;
  readonly defaultLocale: string | undefined;
  /** True while re-handling a message after `newSession` (the loop guard). */
  readonly rehandled: boolean;
  trace: ((line: string) => void) | undefined;
  /**
   * `sendBatch()`: commits the state so far, then hands `replies` to the outbox. Resolves once committed and handed over,
   * to the promise of their delivery.
   */
  checkpoint(session: Session<any, any, any, any>, replies: OutgoingMessage[]): Promise<{ delivered: Promise<void> }>;
  /** Sends now through the ordered outbox, without saving (typing, or replies after the turn ended); resolves when delivered. */
  sendAfterTurn(address: Address, messages: OutgoingMessage[]): Promise<void>;
  /** Checks an entity value when it is set (declared entity schemas); absent when none are declared. */
  readonly checkEntity?: EntityCheck | undefined;
}

/**
 * The per-turn handle a dialog gets: the message, the data scopes, and the send, dialog and lifecycle operations.
 * Stack operations take effect when the calling step returns; one step may ask for one of them.
 */
export class Session<
  E extends JsonObject = JsonObject,
  U extends JsonObject = JsonObject,
  C extends JsonObject = JsonObject,
  P extends JsonObject = JsonObject,
> implements DialogSession
{
  /** Data about the user, kept across sessions and conversations. */
  userData: U;
  /** Data shared by everyone in the conversation. */
  conversationData: C;

  /** @internal */ replies: OutgoingMessage[] = [];
  /** @internal */ flush = false;
  /** @internal */ lifecycle: LifecycleRequest<E> | undefined;
  /** @internal */ closed = false;
  /** @internal */ previousDialog: string | undefined;
  /** @internal What the last `sendBatch` committed (JSON), so that a later failure in the turn rolls back to it. */
  saved: { state: string; userData: string; conversationData: string } | undefined;
  private action: DialogAction | undefined;
  /** The `sendBatch` checkpoints still committing, chained so that they commit one after another. */
  private saving: Promise<unknown> | undefined;

  /** @internal */
  readonly [HOST]: DialogHostInternals;
  #entityGuard: EntityGuard | undefined;

  /** @internal */
  constructor(
    /** @internal */ readonly state: SessionStateRecord,
    /** The message this turn handles; `undefined` when the bot acts on its own (a timeout, `startSession`). */
    readonly message: IncomingMessage | undefined,
    userData: U,
    conversationData: C,
    /** @internal */ readonly host: TurnHost,
  ) {
    this.userData = userData;
    this.conversationData = conversationData;
    this[HOST] = new Internals(this);
  }

  /** Where replies go: the message's address, or the session's saved address. */
  get address(): Address {
    return this.message?.address ?? this.state.address;
  }

  /**
   * Named values collected in this session; cleared when it ends except those kept. Each may be unset, hence `Partial`.
   * With entity schemas declared (the `entities` option), setting a value that fails its schema throws `INVALID_ARGUMENT`.
   */
  get entities(): Partial<E> {
    const check = this.host.checkEntity;
    if (check === undefined) return this.state.entities as Partial<E>;
    return (this.#entityGuard ??= new EntityGuard(check)).wrap(this.state.entities) as Partial<E>;
  }
  set entities(value: Partial<E>) {
    const check = this.host.checkEntity;
    if (check !== undefined) (this.#entityGuard ??= new EntityGuard(check)).checkAll(value);
    this.state.entities = value;
  }

  /** Data about this user in this conversation; cleared by `endConversation`. */
  get privateConversationData(): P {
    return this.state.privateConversationData as P;
  }
  set privateConversationData(value: P) {
    this.state.privateConversationData = value;
  }

  /** Data of the dialog on top of the stack; gone when that dialog ends. */
  get dialogData(): JsonObject {
    const stack = this.state.stack;
    return stack[stack.length - 1]?.data ?? {};
  }
  set dialogData(value: JsonObject) {
    const top = this.state.stack[this.state.stack.length - 1];
    if (top !== undefined) top.data = value;
  }

  /** The inactivity timeout of this session (ms); set it to override the manager's for this session. */
  get timeout(): number {
    return this.state.timeout ?? this.host.defaultTimeout;
  }
  set timeout(ms: number) {
    this.assertOpen('timeout');
    if (!(typeof ms === 'number' && Number.isFinite(ms) && ms > 0)) {
      throw new PalaverError('INVALID_ARGUMENT', `Expected \`session.timeout\` to be a positive number of milliseconds, got ${describe(ms)}.`);
    }
    this.state.timeout = ms;
  }

  /** Metadata of the session, as of now. */
  get info(): SessionInfo {
    const state = this.state;
    const host = this.host;
    const top = state.stack[state.stack.length - 1];
    return {
      id: state.id ?? '',
      key: host.key,
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
    if (this.closed) {
      this.host.sendAfterTurn(this.address, [outgoing]).catch(() => undefined); // a failure is reported as an `error` event
      return this;
    }
    this.host.trace?.('session.send()');
    this.replies.push(outgoing);
    const msgs = this.state.msgs; // counted for the session summary
    if (msgs === undefined) this.state.msgs = [0, 1];
    else msgs[1]++;
    return this;
  }

  /**
   * Shows a typing indicator (`{ type: 'typing' }`). With no reply waiting it goes out at once (it changes no state);
   * after replies of this turn it goes out behind them, through `sendBatch()`, so the order stays as written.
   * Channels keep the indicator a few seconds: call it again during long work.
   */
  sendTyping(): this {
    this.host.trace?.('session.sendTyping()');
    const typing: OutgoingMessage = { type: 'typing' };
    if (this.closed || this.replies.length === 0) {
      this.host.sendAfterTurn(this.address, [typing]).catch(() => undefined); // a failure is reported as an `error` event
    } else {
      this.replies.push(typing);
      void this.sendBatch();
    }
    return this;
  }

  /**
   * Saves the state so far, then delivers the replies so far, ahead of the rest of the turn. Resolves once they are
   * delivered; rejects with a `DeliveryError` (code `DELIVERY_FAILED`, also emitted as an `error` event) when delivery
   * kept failing, or with the store's error when saving failed. `done`, if given, is called the same way (v3's callback).
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
    if (this.closed) {
      delivered = this.host.sendAfterTurn(this.address, []);
    } else {
      const replies = this.replies.splice(0);
      const checkpoint = () => this.host.checkpoint(this, replies);
      const previous = this.saving;
      const saved = previous === undefined ? checkpoint() : previous.then(checkpoint);
      const saving = saved.catch(() => undefined);
      this.saving = saving;
      void saving.then(() => {
        if (this.saving === saving) this.saving = undefined;
      });
      delivered = saved.then((result) => result.delivered);
    }
    // The caller may not await it (v3 code rarely did): that must not be an unhandled rejection.
    delivered.catch(() => undefined);
    if (done) delivered.then(() => done(), (error: Error) => done(error));
    return delivered;
  }

  /** Begins the dialog `id` on top of the stack; the current dialog resumes with its result when it ends. */
  beginDialog(id: string, args?: unknown): this {
    this.host.registry.check(id);
    this.record({ kind: 'begin', id, args });
    return this;
  }

  /** Replaces the current dialog with `id`; the stack does not grow, and the caller resumes when the new one ends. */
  replaceDialog(id: string, args?: unknown): Ended<this> {
    this.host.registry.check(id);
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
    const stack = this.state.stack;
    let index: number;
    if (typeof idOrIndex === 'number') {
      if (!Number.isInteger(idOrIndex) || idOrIndex < 0 || idOrIndex >= stack.length) {
        throw new PalaverError('INVALID_ARGUMENT', `cancelDialog: index ${describe(idOrIndex)} is not on the stack (it holds ${stack.length} dialog${stack.length === 1 ? '' : 's'}).`);
      }
      index = idOrIndex;
    } else {
      index = findFromTop(stack, idOrIndex);
      if (index < 0) {
        throw new PalaverError('INVALID_ARGUMENT', `cancelDialog: no dialog "${String(idOrIndex)}" is on the stack (${stack.map((d) => d.id).join(' > ') || 'empty'}).`);
      }
    }
    if (replaceWithId !== undefined) this.host.registry.check(replaceWithId);
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
    this.flush = true;
    return this as Ended<this>;
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
    if (this.host.rehandled) {
      throw new PalaverError(
        'NEW_SESSION_LOOP',
        'newSession() was called while re-handling a message that already started a new session; this would loop forever. ' +
          'Change the message (options.message) or the condition that calls newSession().',
      );
    }
    if (typeof options !== 'object' || options === null) {
      throw new PalaverError('INVALID_ARGUMENT', `Expected newSession() options as an object, got ${describe(options)}.`);
    }
    const check = this.host.checkEntity;
    if (check !== undefined && typeof options.carry === 'object' && options.carry !== null && !Array.isArray(options.carry)) {
      (this.#entityGuard ??= new EntityGuard(check)).checkAll(options.carry as JsonObject);
    }
    let checked = options;
    if (options.message !== undefined) {
      // Checked now, as receive() checks a message: the dialog that asked gets the error, not the next turn.
      const full = { ...options.message, address: options.message.address ?? this.address };
      const message = plainMessage(full) ?? parseOrThrow(messageSchema, full, 'INVALID_MESSAGE', 'message passed to newSession()');
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
    this.host.checkEntity?.(name, value);
    setOwn(this.state.entities, name, value);
    if (options.ttl !== undefined) {
      if (!(typeof options.ttl === 'number' && options.ttl > 0 && Number.isFinite(options.ttl))) {
        throw new PalaverError('INVALID_ARGUMENT', `Expected \`ttl\` to be a positive number of milliseconds, got ${describe(options.ttl)}.`);
      }
      setOwn((this.state.entityExpiry ??= {}), name, Date.now() + options.ttl);
    } else if (this.state.entityExpiry !== undefined) {
      delete this.state.entityExpiry[name];
    }
    return this;
  }

  private record(action: DialogAction): void {
    this.assertOpen(action.kind);
    if (this.action !== undefined) {
      throw new PalaverError(
        'DIALOG_ACTION_CONFLICT',
        `A step asked for two dialog operations (${this.action.kind} then ${action.kind}); end each step with one of ` +
          'beginDialog, endDialog, endDialogWithResult, replaceDialog, cancelDialog, endConversation, discard or next().',
      );
    }
    this.action = action;
  }

  private requestLifecycle(request: LifecycleRequest<E>): void {
    this.assertOpen(request.kind);
    if (this.lifecycle !== undefined && this.lifecycle.kind !== request.kind) {
      throw new PalaverError('DIALOG_ACTION_CONFLICT', `This turn already asked for ${this.lifecycle.kind}(); it cannot also ${request.kind}().`);
    }
    this.lifecycle = request;
  }

  private assertOpen(operation: string): void {
    if (this.closed) {
      throw new PalaverError(
        'TURN_ENDED',
        `session.${operation}() was called after its turn had finished. Await your async work inside the step, ` +
          'or keep session.address and use manager.send() later.',
      );
    }
  }
}

/**
 * Turns what `send` takes into a reply: text (a template when `args` are given), a message object, or a builder.
 * @internal shared with `manager.send`
 * @throws PalaverError `INVALID_TEMPLATE`, `INVALID_MESSAGE`.
 */
export function toOutgoing(message: MessageLike, args: readonly unknown[]): OutgoingMessage {
  if (typeof message === 'string') return { type: 'message', text: formatText(message, args) };
  const plain = isMessageSource(message) ? message.toMessage() : message;
  const simple = plainOutgoing(plain);
  const parsed = simple ?? parseOrThrow(outgoingMessageSchema, plain, 'INVALID_MESSAGE', 'message passed to send()');
  if (simple === undefined) checkCards(parsed);
  if (parsed.type === undefined) parsed.type = 'message';
  if (typeof parsed.text === 'string' && args.length > 0) parsed.text = formatText(parsed.text, args);
  return parsed;
}

/** What the dialog runner and the built-in dialogs reach through `session[HOST]`: one object per session, no closures. */
class Internals implements DialogHostInternals {
  constructor(private readonly session: Session<any, any, any, any>) {}

  get stack(): DialogInstance[] {
    return this.session.state.stack as DialogInstance[];
  }

  record(action: DialogAction): void {
    this.session['record'](action);
  }

  hasAction(): boolean {
    return this.session['action'] !== undefined;
  }

  take(): DialogAction | undefined {
    const session = this.session;
    const action = session['action'];
    session['action'] = undefined;
    // After newSession or refresh the old session is over: nothing more runs in it.
    if (session.lifecycle !== undefined && session.lifecycle.kind !== 'endSession') return undefined;
    return action;
  }

  requestFlush(): void {
    this.session.flush = true;
  }

  get trace(): ((line: string) => void) | undefined {
    return this.session.host.trace;
  }

  saving(): Promise<unknown> | undefined {
    return this.session['saving'];
  }
}
