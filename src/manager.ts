import { EventEmitter } from 'eventemitter3';
import { z } from 'zod';
import type { MessageLike } from './cards';
import { describe, PalaverError, type DeliveryError } from './errors';
import { HOST, type Dialog, type DialogHandler, type DialogInstance, type DialogResult, type WaterfallStep } from './dialogs/dialog';
import type { Waterfall } from './dialogs/typed';
import { PromptDialog, PromptIds } from './dialogs/prompts';
import { DialogRegistry } from './dialogs/registry';
import { dispatch, DONE, drain, type RunnerHooks } from './dialogs/runner';
import { FunctionDialog, isThenable, WaterfallDialog } from './dialogs/waterfall';
import { formatText } from './format';
import { KeyQueue } from './key-queue';
import { defaultRetry, Outbox, type DeliverFn, type DeliveryRetryOptions } from './outbox';
import { Scheduler } from './scheduler';
import { dialogIdleSchema, IdleLadder, nudgeSchema, type IdleStep, type NudgeOptions } from './nudge';
import { entitiesOptionSchema, migrationsOptionSchema, Retention, type EntityMigrations, type EntitySpec, type EntitySpecs } from './retention';
import { StatsCounter, summarize, type ManagerStats, type SessionSummary } from './stats';
import { decodeState, encodeState, StateFormatError } from './codec';
import { plainMessage } from './validate';
import { defaultSessionKey, joinKey } from './keys';
import {
  addressSchema,
  formatIssues,
  messageSchema,
  outgoingMessageSchema,
  parseOrThrow,
  sessionStateSchema,
  setOwn,
  type SessionStateRecord,
} from './schema';
import { Session, toOutgoing, type NewSessionOptions, type TurnHost } from './session';
import type { TemplateArgs } from './template';
import { MemoryStore } from './stores/memory';
import {
  CONVERSATION_PREFIX,
  SESSION_PREFIX,
  USER_PREFIX,
  type CommitResult,
  type CommitWrite,
  type ExpectedRecord,
  type ExpiryClaim,
  type SessionStore,
  type StoredRecord,
} from './stores/store';
import type { Address, Awaitable, ClosePolicy, EndReason, IncomingMessage, JsonObject, OutgoingMessage, SessionInfo } from './types';

/** Options of {@link SessionManager}. `E`, `U`, `C`, `P` type the entities, userData, conversationData and privateConversationData. */
export interface SessionManagerOptions<
  E extends JsonObject = JsonObject,
  U extends JsonObject = JsonObject,
  C extends JsonObject = JsonObject,
  P extends JsonObject = JsonObject,
> {
  /** Hands a batch of replies to the channel. Required. */
  deliver: DeliverFn;
  /** Where sessions live. @default new MemoryStore() */
  store?: SessionStore;
  /** Inactivity timeout in ms; a session may override it (`session.timeout`). @default 1_800_000 (30 min) */
  timeout?: number;
  /** How idle sessions close. @default 'proactive' */
  closePolicy?: ClosePolicy;
  /** Lazy policy: return true to let an expired session continue with this message (Kore's "same intent continues"). */
  continueIf?: (session: Session<E, U, C, P>, message: IncomingMessage) => Awaitable<boolean>;
  /** Sent to the saved address when the proactive scheduler closes a session. */
  closeMessage?: string | OutgoingMessage;
  /** Replies wait this many ms after the last `send` and go out together; 0 sends at the end of the turn. @default 250 */
  autoBatchDelay?: number;
  /** Entity names kept across every session end. @default [] */
  preserve?: readonly (keyof E & string)[];
  /** Runs before the first turn of each session; may set entities. A dialog it begins is where a session started by a message or `startSession()` starts. */
  onSessionStart?: (session: Session<E, U, C, P>) => Awaitable<void>;
  /** Runs once per session, whatever ended it; may return the entity names to keep. */
  onSessionEnd?: (session: Session<E, U, C, P>, reason: EndReason) => Awaitable<void | readonly (keyof E & string)[]>;
  /** Said to the user when a dialog throws (the conversation is then ended). `null`: say nothing. @default "Oops. Something went wrong and we need to start over." */
  dialogErrorMessage?: string | OutgoingMessage | null;
  /** Maps an address to its session key. @default one session per user per conversation per channel */
  sessionKey?: (address: Address) => string;
  /** Reported in `session.info.botId`. */
  botId?: string;
  /** Reported in `session.info.version`. */
  version?: string;
  /** The locale when messages carry none. */
  locale?: string;
  /** The dialog begun when the stack is empty. @default '/' */
  rootDialog?: string;
  /** Keep `userData` per user. @default true */
  persistUserData?: boolean;
  /** Keep `conversationData` per conversation. @default true */
  persistConversationData?: boolean;
  /** Turns that may wait for one session key before new ones are rejected (TURN_QUEUE_FULL). @default 1000 */
  maxQueuedTurns?: number;
  /** Times a turn is re-run when the store reports a conflict. @default 3 */
  maxCommitRetries?: number;
  /** Dialog operations one turn may run without waiting for the user (catches begin/replace loops). @default 1000 */
  maxDialogOperations?: number;
  /** The largest serialized session state, userData or conversationData record, in characters (STATE_TOO_LARGE past it). @default 1_000_000 */
  maxStateBytes?: number;
  /** The largest incoming message `receive` takes, in bytes of its JSON (UTF-8); larger ones are rejected with MESSAGE_TOO_LARGE. @default 65_536 */
  maxMessageBytes?: number;
  /** Retries of a failing `deliver`. @default { retries: 3, minDelay: 200, maxDelay: 5000, factor: 2, timeout: 30000 } */
  deliveryRetry?: Partial<DeliveryRetryOptions>;
  /** For stores that cannot say when the next deadline is (Redis): how often to look for due sessions, in ms. @default 1000 */
  sweepInterval?: number;
  /** Stores with turn leases (Redis): how long a turn's lease lasts, in ms; it is renewed every third of that while the turn runs. @default 30_000 */
  leaseTtl?: number;
  /** Stores with turn leases: how long a turn waits for another process to give the session's lease up before it fails with `LEASE_TIMEOUT`, in ms. @default 10_000 */
  leaseWait?: number;
  /** What `close()` does with live sessions: end them (reason `shutdown`) or leave them in the store. @default 'end' for in-memory stores, 'persist' otherwise */
  shutdown?: 'end' | 'persist';
  /** Prints dialog and send activity (v3-style, dots for stack depth); a function receives the lines. Also on with `DEBUG=palaver`. @default false */
  trace?: boolean | ((line: string) => void);
  /**
   * "Are you still there?" nudges while a user is idle, then `closeMessage`, then the close; any message from the user
   * starts the ladder again. A dialog may set its own (`dialog(id, steps, { nudge, timeout })`). With the `lazy` policy the
   * nudges are still sent on time (the scheduler runs for them) and the close stays lazy.
   */
  nudge?: NudgeOptions<Session<E, U, C, P>>;
  /** Entities declared once: a zod schema (stored values are checked when loaded), a scope, a TTL, `keepOnReset`. */
  entities?: { [K in keyof E]?: EntitySpec<E[K]> };
  /** Upgrades of stored entities, grammY-style: `migrations[n]` turns version `n - 1` into `n`; the highest key is the current version. */
  migrations?: EntityMigrations;
}

/** The event map of {@link SessionManager}. Listener errors are caught and reported as `error` events. */
export interface SessionManagerEvents {
  /** A session started (emitted once its first turn is saved). */
  sessionStart: (event: { session: SessionInfo; address: Address }) => void;
  /** A session ended; `kept` are the entities carried into the next one. */
  sessionEnd: (event: { session: SessionInfo; reason: EndReason; entities: JsonObject; kept: string[]; summary: SessionSummary }) => void;
  /** A batch of replies was handed to `deliver` (once per batch, retries aside). */
  batch: (event: { address: Address; messages: OutgoingMessage[] }) => void;
  /** A turn was saved. */
  turn: (event: { session: SessionInfo; message: IncomingMessage; replies: OutgoingMessage[] }) => void;
  /** Something failed outside the caller's reach: a hook, a listener, a delivery, the scheduler, a dialog. */
  error: (error: PalaverError) => void;
}

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
}

/** The longest delay setTimeout keeps; past it Node fires after 1 ms, so a longer delay option is refused. */
const timerDelay = z.number().nonnegative().max(2 ** 31 - 1, 'must be at most 2147483647 ms (about 24.8 days), the longest delay a timer can wait');
const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { message: 'must be a function' });
const messageLike = z.union([z.string(), outgoingMessageSchema]);
const optionsSchema = z
  .object({
    deliver: fn,
    store: z.custom<SessionStore>(
      (v) => typeof v === 'object' && v !== null && ['get', 'commit', 'delete', 'claimDue'].every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
      { message: 'must implement the SessionStore contract (get, commit, delete, claimDue)' },
    ).optional(),
    timeout: z.number().int().positive().optional(),
    closePolicy: z.enum(['proactive', 'lazy']).optional(),
    continueIf: fn.optional(),
    closeMessage: messageLike.optional(),
    autoBatchDelay: timerDelay.int().optional(),
    preserve: z.array(z.string()).optional(),
    onSessionStart: fn.optional(),
    onSessionEnd: fn.optional(),
    dialogErrorMessage: messageLike.nullable().optional(),
    sessionKey: fn.optional(),
    botId: z.string().optional(),
    version: z.string().optional(),
    locale: z.string().optional(),
    rootDialog: z.string().min(1).optional(),
    persistUserData: z.boolean().optional(),
    persistConversationData: z.boolean().optional(),
    maxQueuedTurns: z.number().int().positive().optional(),
    maxCommitRetries: z.number().int().nonnegative().optional(),
    maxDialogOperations: z.number().int().positive().optional(),
    maxStateBytes: z.number().int().positive().optional(),
    maxMessageBytes: z.number().int().positive().optional(),
    deliveryRetry: z
      .object({
        retries: z.number().int().nonnegative(),
        minDelay: timerDelay,
        maxDelay: timerDelay,
        factor: z.number().positive(),
        timeout: timerDelay,
      })
      .partial()
      .strict()
      .optional(),
    sweepInterval: z.number().int().positive().optional(),
    leaseTtl: z.number().int().positive().optional(),
    leaseWait: z.number().int().nonnegative().optional(),
    shutdown: z.enum(['end', 'persist']).optional(),
    trace: z.union([z.boolean(), fn]).optional(),
    nudge: nudgeSchema.optional(),
    entities: entitiesOptionSchema.optional(),
    migrations: migrationsOptionSchema.optional(),
  })
  .strict();

const END_REASONS: readonly EndReason[] = ['timeout', 'endSession', 'newSession', 'refresh', 'evicted', 'shutdown'];
const DEFAULT_ERROR_MESSAGE = 'Oops. Something went wrong and we need to start over.';
const SWEEP_BATCH = 1000;
/** How many recent session ends are remembered so that no end hook runs twice. */
const END_HOOK_MEMORY = 10_000;

/** A loaded record and what the turn computed from it. */
interface Loaded {
  session: StoredRecord | undefined;
  user: StoredRecord | undefined;
  conversation: StoredRecord | undefined;
  userKey: string | undefined;
  conversationKey: string | undefined;
}

/** Expected versions of the records a turn writes; advanced by checkpoints (`sendBatch`). */
interface Expectations {
  userKey: string | undefined;
  conversationKey: string | undefined;
  session: ExpectedRecord;
  user: ExpectedRecord;
  userData: string | undefined;
  conversation: ExpectedRecord;
  conversationData: string | undefined;
  /** Names this turn attempt in its commits, so that a commit the store retries is not applied twice. */
  turnId: string;
}

/** A turn lease this process holds (stores with `acquire`). */
interface HeldLease {
  readonly token: string;
  readonly timer: ReturnType<typeof setInterval>;
  /** A renewal found the lease taken: the next attempt of the turn takes it again. */
  lost: boolean;
}

type AnySession = Session<any, any, any, any>;

/**
 * Owns sessions: finds or starts the session of each incoming message, runs the dialogs, saves, and delivers replies.
 * Turns of one session key run one at a time; idle sessions close on their own.
 * @example
 * const bot = new SessionManager({ deliver: async (address, messages) => channel.post(address, messages) });
 * bot.dialog('/', (session) => session.send('You said: %s', session.message?.text));
 * await bot.receive({ address, text: 'hi' });
 */
export class SessionManager<
  E extends JsonObject = JsonObject,
  U extends JsonObject = JsonObject,
  C extends JsonObject = JsonObject,
  P extends JsonObject = JsonObject,
> extends EventEmitter<SessionManagerEvents> {
  /** The store sessions live in. */
  readonly store: SessionStore;
  private readonly options: SessionManagerOptions<E, U, C, P>;
  private readonly registry: DialogRegistry = new DialogRegistry();
  private readonly queue: KeyQueue;
  private readonly outbox: Outbox;
  private readonly scheduler: Scheduler;
  private readonly timeout: number;
  private readonly proactive: boolean;
  private readonly rootDialog: string;
  private readonly persistUser: boolean;
  private readonly persistConversation: boolean;
  private readonly maxCommitRetries: number;
  private readonly maxDialogOperations: number;
  private readonly maxStateBytes: number;
  private readonly maxMessageBytes: number;
  private readonly preserve: readonly string[];
  private readonly dialogErrorMessage: OutgoingMessage | undefined;
  private readonly closeMessage: OutgoingMessage | undefined;
  private readonly traceLine: ((line: string) => void) | undefined;
  private readonly leases = new Map<string, HeldLease>();
  private readonly endHookRuns = new Map<string, { returned: unknown; replies: OutgoingMessage[] }>();
  private sweeping = false;
  private sweepFailing = false;
  private sweepAgain = false;
  /** Expiry claims whose session could not be ended (the store failed): the store has cleared their deadline, so the next sweeps retry them. */
  private readonly unfinished = new Map<string, ExpiryClaim>();
  private closing: Promise<void> | undefined;
  private closed = false;
  /** Idle nudges and per-dialog timeouts: built only when the `nudge` option or a dialog's idle options ask for them. */
  private idle: IdleLadder | undefined;
  /** Entity schemas, TTLs and migrations: built only when `entities` or `migrations` is set. */
  private readonly retention: Retention | undefined;
  private readonly counters = new StatsCounter();

  /** @throws PalaverError `INVALID_OPTIONS` naming the option that is wrong. */
  constructor(options: SessionManagerOptions<E, U, C, P>) {
    super();
    parseOrThrow(optionsSchema, options, 'INVALID_OPTIONS', 'SessionManager options');
    this.options = options;
    this.store = options.store ?? new MemoryStore();
    this.timeout = options.timeout ?? 30 * 60_000;
    this.proactive = (options.closePolicy ?? 'proactive') === 'proactive';
    this.rootDialog = options.rootDialog ?? '/';
    this.persistUser = options.persistUserData ?? true;
    this.persistConversation = options.persistConversationData ?? true;
    this.maxCommitRetries = options.maxCommitRetries ?? 3;
    this.maxDialogOperations = options.maxDialogOperations ?? 1000;
    this.maxStateBytes = options.maxStateBytes ?? 1_000_000;
    this.maxMessageBytes = options.maxMessageBytes ?? 65_536;
    this.preserve = options.preserve ?? [];
    this.dialogErrorMessage = options.dialogErrorMessage === null ? undefined : toMessage(options.dialogErrorMessage ?? DEFAULT_ERROR_MESSAGE);
    this.closeMessage = options.closeMessage === undefined ? undefined : toMessage(options.closeMessage);
    this.traceLine = traceSink(options.trace);
    this.queue = new KeyQueue(options.maxQueuedTurns ?? 1000);
    this.outbox = new Outbox({
      deliver: options.deliver,
      delay: options.autoBatchDelay ?? 250,
      retry: { ...defaultRetry, ...options.deliveryRetry },
      onError: (error: DeliveryError) => this.report(error),
      trace: this.traceLine,
      observe: (address, messages) => {
        if (this.listenerCount('batch') > 0) this.notify('batch', { address, messages });
      },
    });
    this.scheduler = new Scheduler(() => void this.sweep());
    this.store.listen?.({ evicted: (key, record) => this.onEvicted(key, record) });
    this.registry.add(PromptIds.text, new PromptDialog('text'), 'Prompts.text');
    this.registry.add(PromptIds.number, new PromptDialog('number'), 'Prompts.number');
    this.registry.add(PromptIds.confirm, new PromptDialog('confirm'), 'Prompts.confirm');
    this.registry.add(PromptIds.choice, new PromptDialog('choice'), 'Prompts.choice');
    // A shared store may hold sessions that other (or earlier) processes left due: sweep from the start.
    if (options.nudge !== undefined) this.idle = new IdleLadder(options.nudge, this.timeout, this.proactive);
    this.retention = options.entities === undefined && options.migrations === undefined ? undefined : new Retention(options.entities as EntitySpecs, options.migrations);
    this.rearm();
  }

  /**
   * Registers a dialog: a waterfall (an array of steps), a single handler function, or a {@link Dialog} object.
   * A waterfall written as an array literal is typed step by step: a step that returns a prompt gives the next step
   * a `PromptResult` of the prompt's answer; otherwise the next step gets `DialogResult<unknown>`.
   * @throws PalaverError `DIALOG_EXISTS` when the id is taken; `INVALID_ARGUMENT` for anything else.
   */
  dialog<A, O1, I2 = DialogResult, O2 = unknown, I3 = DialogResult, O3 = unknown, I4 = DialogResult, O4 = unknown, I5 = DialogResult, O5 = unknown, I6 = DialogResult, O6 = unknown, I7 = DialogResult, O7 = unknown, I8 = DialogResult, O8 = unknown, I9 = DialogResult, O9 = unknown, I10 = DialogResult, O10 = unknown, I11 = DialogResult, O11 = unknown, I12 = DialogResult, O12 = unknown>(
    id: string,
    steps: Waterfall<Session<E, U, C, P>, A, O1, I2, O2, I3, O3, I4, O4, I5, O5, I6, O6, I7, O7, I8, O8, I9, O9, I10, O10, I11, O11, I12, O12>,
    options?: { name?: string; timeout?: number; nudge?: NudgeOptions<Session<E, U, C, P>> | false },
  ): this;
  dialog<A = unknown>(
    id: string,
    dialog: readonly WaterfallStep<Session<E, U, C, P>>[] | DialogHandler<Session<E, U, C, P>, A> | Dialog<Session<E, U, C, P>>,
    options?: { name?: string; timeout?: number; nudge?: NudgeOptions<Session<E, U, C, P>> | false },
  ): this;
  dialog(
    id: string,
    dialog: readonly unknown[] | DialogHandler<Session<E, U, C, P>, any> | Dialog<Session<E, U, C, P>>,
    options: { name?: string; timeout?: number; nudge?: NudgeOptions<Session<E, U, C, P>> | false } = {},
  ): this {
    if (typeof id !== 'string' || id.length === 0) {
      throw new PalaverError('INVALID_ARGUMENT', `Expected a dialog id as a non-empty string, got ${describe(id)}.`);
    }
    let built: Dialog<any>;
    if (Array.isArray(dialog)) {
      if (dialog.length === 0 || !dialog.every((step) => typeof step === 'function')) {
        throw new PalaverError('INVALID_ARGUMENT', `Dialog "${id}": a waterfall is a non-empty array of step functions.`);
      }
      built = new WaterfallDialog(dialog as WaterfallStep<Session<E, U, C, P>>[]);
    } else if (typeof dialog === 'function') {
      built = new FunctionDialog(dialog);
    } else if (typeof dialog === 'object' && dialog !== null && typeof (dialog as Dialog).begin === 'function') {
      built = dialog as Dialog<Session<E, U, C, P>>;
    } else {
      throw new PalaverError('INVALID_ARGUMENT', `Dialog "${id}": expected an array of steps, a function or a Dialog, got ${describe(dialog)}.`);
    }
    const idle = options.timeout !== undefined || options.nudge !== undefined;
    if (idle) {
      // A nudge object is checked on its own first: inside the union with `false`, its errors would read "Invalid input".
      if (typeof options.nudge === 'object' && options.nudge !== null) parseOrThrow(nudgeSchema, options.nudge, 'INVALID_OPTIONS', `nudge of dialog "${id}"`);
      parseOrThrow(dialogIdleSchema, { timeout: options.timeout, nudge: options.nudge }, 'INVALID_OPTIONS', `idle options of dialog "${id}"`);
    }
    this.registry.add(id, built, options.name);
    if (idle) (this.idle ??= new IdleLadder(undefined, this.timeout, this.proactive)).setDialog(id, options);
    return this;
  }

  /**
   * Runs one turn for `message`: finds or starts its session, runs the dialogs, saves. Resolves once the state is saved
   * (it never waits for the batching delay or for delivery).
   * @throws PalaverError `INVALID_MESSAGE`, `MESSAGE_TOO_LARGE`, `TURN_QUEUE_FULL`, `STORE_UNAVAILABLE`, `LEASE_TIMEOUT`, `CONFLICT`, `STATE_TOO_LARGE`, `CLOSED`.
   */
  receive(message: IncomingMessage): Promise<TurnResult> {
    if (this.closed) return Promise.reject(closedError());
    let parsed: IncomingMessage;
    let key: string;
    try {
      parsed = plainMessage(message) ?? parseOrThrow(messageSchema, message, 'INVALID_MESSAGE', 'message passed to receive()');
      checkMessageSize(parsed, this.maxMessageBytes);
      key = this.keyOf(parsed.address);
    } catch (error) {
      return Promise.reject(error);
    }
    const receivedAt = Date.now();
    return this.exclusive(key, () => this.turn(key, parsed, receivedAt));
  }

  /**
   * Sends a proactive message to `address` outside any turn (the orderPizza pattern), through the same ordered outbox.
   * Resolves once delivered; rejects with a `DeliveryError` when delivery kept failing.
   */
  send<T extends MessageLike>(address: Address, message: T, ...args: TemplateArgs<T>): Promise<void> {
    let outgoing: OutgoingMessage;
    let parsedAddress: Address;
    try {
      parsedAddress = parseOrThrow(addressSchema, address, 'INVALID_ADDRESS', 'address passed to send()');
      outgoing = toOutgoing(message, args);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.outbox.send(laneKey(parsedAddress), parsedAddress, [outgoing]);
  }

  /**
   * Starts a bot-initiated session for `address` (non-interactive until the user writes), running `onSessionStart` and,
   * if given, beginning `dialogId`. An active session is left as it is.
   */
  startSession(address: Address, options: { dialogId?: string; args?: unknown } = {}): Promise<SessionInfo> {
    if (this.closed) return Promise.reject(closedError());
    let parsed: Address;
    let key: string;
    try {
      parsed = parseOrThrow(addressSchema, address, 'INVALID_ADDRESS', 'address passed to startSession()');
      key = this.keyOf(parsed);
      if (typeof options !== 'object' || options === null) throw new PalaverError('INVALID_ARGUMENT', `Expected startSession() options as an object, got ${describe(options)}.`);
      if (options.dialogId !== undefined) this.registry.check(options.dialogId);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.exclusive(key, () => this.start(key, parsed, options));
  }

  /**
   * Ends the session of an address (or session key) from outside a turn. Resolves to false when no session was active.
   */
  endSession(addressOrKey: Address | string, reason: EndReason = 'endSession'): Promise<boolean> {
    let key: string;
    try {
      if (!END_REASONS.includes(reason)) {
        throw new PalaverError('INVALID_ARGUMENT', `Expected \`reason\` to be one of ${END_REASONS.join(', ')}, got ${describe(reason)}.`);
      }
      // A key as keyOf() and session.info.key give it, or as the sessionKey option returned it.
      if (typeof addressOrKey === 'string') key = addressOrKey.startsWith(SESSION_PREFIX) ? addressOrKey : SESSION_PREFIX + addressOrKey;
      else key = this.keyOf(parseOrThrow(addressSchema, addressOrKey, 'INVALID_ADDRESS', 'address passed to endSession()'));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.exclusive(key, () => this.end(key, reason));
  }

  /**
   * The session key of an address (see the `sessionKey` option).
   * @throws PalaverError `INVALID_ADDRESS` for something that is not an address.
   */
  keyOf(address: Address): string {
    // Cheap: the turns pass addresses already parsed; only a caller's own value can fail here.
    if (typeof address?.channelId !== 'string' || typeof address.user?.id !== 'string' || typeof address.conversation?.id !== 'string') {
      parseOrThrow(addressSchema, address, 'INVALID_ADDRESS', 'address passed to keyOf()');
    }
    const custom = this.options.sessionKey;
    if (custom === undefined) return defaultSessionKey(address);
    let key: unknown;
    try {
      key = custom(address);
    } catch (error) {
      throw new PalaverError('INVALID_OPTIONS', `The sessionKey option threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    }
    if (typeof key !== 'string' || key.length === 0) {
      throw new PalaverError('INVALID_OPTIONS', `The sessionKey option must return a non-empty string, got ${describe(key)}.`);
    }
    return SESSION_PREFIX + key;
  }

  /**
   * Looks for due sessions now and ends them (`proactive` policy). The scheduler calls this by itself; call it from a
   * cron job or a serverless timer when no process stays up. Resolves to the number of sessions ended.
   */
  async sweepExpired(now?: number): Promise<number> {
    // NaN compares false with every deadline: a bad `now` would end every session.
    if (now !== undefined && !(typeof now === 'number' && Number.isFinite(now))) {
      throw new PalaverError('INVALID_ARGUMENT', `Expected \`now\` to be a time in ms since the epoch, got ${describe(now)}.`);
    }
    let ended = 0;
    let retried = [...this.unfinished.values()];
    for (;;) {
      const due = await this.store.claimDue(SWEEP_BATCH, now);
      const claims = retried.length === 0 ? due : [...retried, ...due];
      retried = [];
      if (claims.length === 0) return ended;
      const results = await Promise.all(claims.map((claim) => this.exclusive(claim.key, () => this.expire(claim, now)).then(
        (done) => {
          this.unfinished.delete(claim.key);
          return done;
        },
        (error) => {
          // Reported once per claim, and kept: a failed expiry is tried again, never dropped (the session would stay forever).
          if (!this.unfinished.has(claim.key)) this.report(asPalaverError(error, 'STORE_UNAVAILABLE', 'expiring a session'));
          this.unfinished.set(claim.key, claim);
          return false;
        },
      )));
      for (const result of results) if (result) ended++;
      if (due.length < SWEEP_BATCH) return ended;
    }
  }

  /**
   * Stops taking turns, lets running ones finish, ends (or persists) live sessions as `shutdown` says, delivers every
   * pending reply, and clears every timer.
   */
  close(): Promise<void> {
    this.closing ??= this.shutdown();
    return this.closing;
  }

  /**
   * Begins `dialogId` for the user at `address` from outside a turn (a reminder, an alert), in a turn of its own that
   * waits for the user's turns in progress. With no live session, one starts (bot-initiated, as `startSession` does).
   * By default the dialog replaces the user's dialog stack (v3); with `interrupt: true` it goes on top, and when it ends
   * the interrupted dialog asks its question again (its `reprompt`: prompts re-ask) and the user carries on where they were.
   * Resolves once saved; the replies go out through the outbox.
   * @throws PalaverError `INVALID_ADDRESS`, `DIALOG_NOT_FOUND`, `INVALID_ARGUMENT`, `DIALOG_FAILED` (nothing the dialog did is kept), `CLOSED`.
   * @example
   * await bot.beginDialog(address, '/reminder', { text: 'Your table is booked for 8pm' }, { interrupt: true });
   */
  beginDialog(address: Address, dialogId: string, args?: unknown, options: { interrupt?: boolean } = {}): Promise<SessionInfo> {
    if (this.closed) return Promise.reject(closedError());
    let parsed: Address;
    let key: string;
    try {
      parsed = parseOrThrow(addressSchema, address, 'INVALID_ADDRESS', 'address passed to beginDialog()');
      key = this.keyOf(parsed);
      this.registry.check(dialogId);
      if (typeof options !== 'object' || options === null) throw new PalaverError('INVALID_ARGUMENT', `Expected beginDialog() options as an object, got ${describe(options)}.`);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.exclusive(key, () => this.interject(key, parsed, dialogId, args, options.interrupt === true));
  }

  /** Counters this process keeps as it goes (no store access): live sessions, turns per second, ends by reason, turns. */
  stats(): ManagerStats {
    return this.counters.snapshot(Date.now());
  }

  /**
   * Delivers every reply still waiting for its batching delay now; resolves once they (and the batches before them) are
   * delivered. A serverless handler calls it before it returns.
   */
  flush(): Promise<void> {
    return this.outbox.flushAll();
  }

  // ---- turns -------------------------------------------------------------------------------------------------

  private async turn(key: string, message: IncomingMessage, receivedAt: number): Promise<TurnResult> {
    for (let attempt = 0; ; attempt++) {
      const pending = this.load(key, message.address);
      const loaded = isThenable(pending) ? await pending : pending;
      const outcome = await this.runTurn(key, message, receivedAt, loaded);
      if (outcome !== undefined) return outcome;
      if (attempt >= this.maxCommitRetries) {
        const error = new PalaverError('CONFLICT', `Session "${key}" kept changing while its turn ran; gave up after ${attempt + 1} attempts.`);
        this.report(error);
        throw error;
      }
    }
  }

  /** One attempt of a turn; `undefined` means the commit lost a race and the turn must run again. */
  private async runTurn(key: string, message: IncomingMessage, receivedAt: number, loaded: Loaded): Promise<TurnResult | undefined> {
    const events: (() => void)[] = [];
    const expect = expectations(loaded);
    const userData = this.decodeBag(loaded.user, key) as U;
    const conversationData = this.decodeBag(loaded.conversation, key) as C;
    let state = this.decodeSession(loaded.session, key);
    const replies: OutgoingMessage[] = [];
    let flush = false;

    // Find or start the session. Entities whose TTL ran out go first, also from a dormant key.
    // While the state is still what the store holds, the stored text serves as the copy to roll back to.
    // (Not with declared entities: reading may have migrated them.)
    let storedText = state !== undefined && !dropExpiredEntities(state, receivedAt) && this.retention === undefined ? loaded.session!.data : undefined;
    let starting = false;
    if (state !== undefined && state.id !== undefined && isExpired(state, this.timeoutOf(state), receivedAt)) {
      storedText = undefined;
      let keep = false;
      const old = this.newSession(key, state, message, userData, conversationData, false);
      if (!this.proactive && this.options.continueIf) {
        keep = await this.hook('continueIf', () => this.options.continueIf!(old, message), false);
      }
      if (!keep) {
        const ended = await this.endState(old, 'timeout', receivedAt, events);
        collect(old, replies);
        state = this.freshState(message.address, receivedAt, ended);
        starting = true;
      }
    }
    if (state === undefined || state.id === undefined) {
      state = this.freshState(message.address, receivedAt, state === undefined ? undefined : { entities: state.entities, entityExpiry: state.entityExpiry, entitiesVersion: state.entitiesVersion });
      starting = true;
    }

    let rehandled = false;
    let current = message;
    let error: PalaverError | undefined;
    let session: AnySession;
    for (;;) {
      session = this.newSession(key, state, current, userData, conversationData, rehandled, expect, events);
      const announce = starting;
      if (starting) {
        await this.hook('onSessionStart', () => this.options.onSessionStart?.(session), undefined);
        starting = false;
      }
      const pristine = !announce && storedText !== undefined ? storedText : encodeState(state, key);
      storedText = undefined;
      touch(state, current, receivedAt);
      // After touch: the event shows the session with the message that started it (interactive, turnCount 1).
      if (announce) this.emitLater(events, 'sessionStart', () => ({ session: session.info, address: session.address }));
      try {
        const running = dispatch(session, this.registry, this.rootDialog, this.maxDialogOperations, this.runnerHooks(session));
        if (running !== DONE) await running;
      } catch (thrown) {
        session.closed = true;
        error = asPalaverError(thrown, 'DIALOG_FAILED', 'a dialog');
        this.report(error);
        // Nothing the failed turn did is kept: back to the state before it (or to what its last sendBatch() saved),
        // then end the conversation.
        const saved = session.saved;
        state = decodeState(saved?.state ?? pristine, key);
        if (saved === undefined) touch(state, current, receivedAt);
        state.stack = [];
        state.privateConversationData = {};
        const savedUser = saved === undefined ? (this.decodeBag(loaded.user, key) as U) : (JSON.parse(saved.userData) as U);
        const savedConversation = saved === undefined ? (this.decodeBag(loaded.conversation, key) as C) : (JSON.parse(saved.conversationData) as C);
        session = this.newSession(key, state, current, savedUser, savedConversation, rehandled, expect, events);
        session.replies.length = 0;
        if (this.dialogErrorMessage) replies.push(this.dialogErrorMessage);
        flush = true;
        break;
      }
      collect(session, replies);
      flush ||= session.flush;
      const request = session.lifecycle;
      if (request === undefined) {
        session.closed = true;
        break;
      }
      // The session stays open through onSessionEnd, so that what the hook sends joins this turn's replies.
      if (request.kind === 'endSession') {
        const ended = await this.endState(session, 'endSession', receivedAt, events);
        session.closed = true;
        collect(session, replies);
        state = dormantState(state, ended);
        break;
      }
      const reason = request.kind === 'refresh' ? 'refresh' : 'newSession';
      const ended = await this.endState(session, reason, receivedAt, events);
      session.closed = true;
      collect(session, replies);
      state = this.freshState(current.address, receivedAt, reason === 'refresh' ? (this.retention === undefined ? undefined : ended) : carry(session, ended, request.kind === 'newSession' ? request.options : {}));
      starting = true;
      if (request.kind === 'refresh') {
        session = this.newSession(key, state, current, userData, conversationData, rehandled, expect, events);
        await this.hook('onSessionStart', () => this.options.onSessionStart?.(session), undefined);
        session.closed = true;
        collect(session, replies);
        const fresh = session;
        this.emitLater(events, 'sessionStart', () => ({ session: fresh.info, address: fresh.address }));
        break;
      }
      rehandled = true;
      const options = request.options;
      if (options.message) current = { ...options.message, address: options.message.address ?? current.address } as IncomingMessage;
    }

    const committing = this.commit(key, state, session.userData, session.conversationData, expect);
    if (!(typeof committing === 'boolean' ? committing : await committing)) return undefined;
    this.counters.turn(receivedAt);
    const address = message.address;
    // The lane is the default session key without its prefix: no need to join the ids again when that is the key.
    const lane = this.options.sessionKey === undefined ? key.slice(SESSION_PREFIX.length) : laneKey(address);
    this.outbox.enqueue(lane, address, replies, flush, this.traceLine && this.tracePrefix(session) + 'session.');
    const info = session.info;
    for (const emit of events) emit();
    if (this.listenerCount('turn') > 0) this.notify('turn', { session: info, message, replies });
    return error === undefined ? { session: info, replies } : { session: info, replies, error };
  }

  /** A bot-initiated start (`startSession`). */
  private async start(key: string, address: Address, options: { dialogId?: string; args?: unknown }): Promise<SessionInfo> {
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.load(key, address);
      const now = Date.now();
      const events: (() => void)[] = [];
      const expect = expectations(loaded);
      const userData = this.decodeBag(loaded.user, key) as U;
      const conversationData = this.decodeBag(loaded.conversation, key) as C;
      let state = this.decodeSession(loaded.session, key);
      const replies: OutgoingMessage[] = [];
      if (state !== undefined) dropExpiredEntities(state, now);
      if (state !== undefined && state.id !== undefined && !isExpired(state, this.timeoutOf(state), now)) {
        return this.newSession(key, state, undefined, userData, conversationData, false).info;
      }
      if (state !== undefined && state.id !== undefined) {
        const old = this.newSession(key, state, undefined, userData, conversationData, false);
        const ended = await this.endState(old, 'timeout', now, events);
        collect(old, replies);
        state = this.freshState(address, now, ended);
      } else {
        state = this.freshState(address, now, state === undefined ? undefined : { entities: state.entities, entityExpiry: state.entityExpiry, entitiesVersion: state.entitiesVersion });
      }
      const session = this.newSession(key, state, undefined, userData, conversationData, false, expect, events);
      await this.hook('onSessionStart', () => this.options.onSessionStart?.(session), undefined);
      this.emitLater(events, 'sessionStart', () => ({ session: session.info, address }));
      let failure: PalaverError | undefined;
      // The dialog startSession() names wins over one onSessionStart began; without one, the hook's begin stands.
      // (Other operations of the hook have nothing to act on in a new session.)
      const pending = session[HOST].take();
      if (options.dialogId !== undefined) session.beginDialog(options.dialogId, options.args);
      else if (pending?.kind === 'begin' || pending?.kind === 'replace') session[HOST].record(pending);
      if (session[HOST].hasAction()) {
        const pristine = encodeState(state, key);
        try {
          await drain(session, this.registry, this.maxDialogOperations, this.runnerHooks(session));
        } catch (thrown) {
          const what = options.dialogId !== undefined ? `the dialog "${options.dialogId}" begun by startSession()` : 'the dialog onSessionStart began';
          failure = asPalaverError(thrown, 'DIALOG_FAILED', what);
          // As in a turn: the new session (and the end of an expired one) is saved, so its hooks never run twice;
          // nothing the failed dialog did is kept.
          state = decodeState(pristine, key);
          session.userData = this.decodeBag(loaded.user, key) as U;
          session.conversationData = this.decodeBag(loaded.conversation, key) as C;
          session.replies.length = 0;
        }
      }
      session.closed = true;
      collect(session, replies);
      if (await this.commit(key, state, session.userData, session.conversationData, expect)) {
        this.outbox.enqueue(laneKey(address), address, replies, session.flush);
        for (const emit of events) emit();
        if (failure !== undefined) throw failure;
        return session.info;
      }
      if (attempt >= this.maxCommitRetries) throw new PalaverError('CONFLICT', `Session "${key}" kept changing during startSession().`);
    }
  }

  /** An explicit end from outside a turn (`manager.endSession`, shutdown). */
  private async end(key: string, reason: EndReason): Promise<boolean> {
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.load(key, undefined);
      const state = this.decodeSession(loaded.session, key);
      if (state === undefined || state.id === undefined) return false;
      const now = Date.now();
      const events: (() => void)[] = [];
      const expect = expectations(loaded);
      const session = this.newSession(key, state, undefined, this.decodeBag(loaded.user, key) as U, this.decodeBag(loaded.conversation, key) as C, false, expect, events);
      const ended = await this.endState(session, reason, now, events);
      session.closed = true;
      const replies: OutgoingMessage[] = [];
      collect(session, replies);
      if (await this.commit(key, dormantState(state, ended), session.userData, session.conversationData, expect)) {
        this.outbox.enqueue(laneKey(state.address), state.address, replies, true);
        for (const emit of events) emit();
        return true;
      }
      if (attempt >= this.maxCommitRetries) throw new PalaverError('CONFLICT', `Session "${key}" kept changing while it was being ended.`);
    }
  }

  /** Ends a session the scheduler claimed, unless a turn touched it since the claim. */
  private async expire(claim: ExpiryClaim, at?: number): Promise<boolean> {
    const key = claim.key;
    const loaded = await this.load(key, undefined);
    const record = loaded.session;
    if (record === undefined || record.version !== claim.version) return false;
    const state = this.decodeSession(record, key);
    if (state === undefined || state.id === undefined) return false;
    const now = at ?? Date.now();
    const events: (() => void)[] = [];
    const expect = expectations(loaded);
    const session = this.newSession(key, state, undefined, this.decodeBag(loaded.user, key) as U, this.decodeBag(loaded.conversation, key) as C, false, expect, events);
    if (this.idle !== undefined) {
      // The deadline may stand for a nudge rather than the close.
      const step = this.idle.step(state, now);
      if (step.kind !== 'close') return this.idleStep(key, session, step, expect);
    }
    const ended = await this.endState(session, 'timeout', now, events);
    session.closed = true;
    const replies: OutgoingMessage[] = [];
    collect(session, replies);
    if (this.closeMessage) replies.push(this.closeMessage);
    if (!(await this.commit(key, dormantState(state, ended), session.userData, session.conversationData, expect))) return false;
    this.outbox.enqueue(laneKey(state.address), state.address, replies, true);
    for (const emit of events) emit();
    return true;
  }

  /** A claimed idle deadline that is not the close: sends the nudge it stands for, or sets the next deadline again. Never ends the session. */
  private async idleStep(key: string, session: AnySession, step: IdleStep, expect: Expectations): Promise<boolean> {
    if (step.kind === 'lapsed' || step.kind === 'close') return false;
    const state = session.state;
    if (step.kind === 'nudge') {
      state.nudges = { at: state.lastActiveAt, count: step.count };
      const { message } = step.nudge;
      const said = typeof message === 'function' ? await this.hook('nudge.message', () => message(session, step.count), undefined) : message;
      try {
        if (said !== undefined) session.send(said);
      } catch (error) {
        this.report(asPalaverError(error, 'INVALID_MESSAGE', 'the nudge message'));
      }
    }
    session.closed = true;
    const replies: OutgoingMessage[] = [];
    collect(session, replies);
    if (!(await this.commit(key, state, session.userData, session.conversationData, expect))) return false;
    this.outbox.enqueue(laneKey(state.address), state.address, replies, true);
    return false;
  }

  /** `beginDialog` from outside a turn: on top of the live session's stack (`interrupt`) or in place of it. */
  private async interject(key: string, address: Address, dialogId: string, args: unknown, interrupt: boolean): Promise<SessionInfo> {
    for (let attempt = 0; ; attempt++) {
      const loaded = await this.load(key, address);
      const now = Date.now();
      const state = this.decodeSession(loaded.session, key);
      if (state === undefined || state.id === undefined || isExpired(state, this.timeoutOf(state), now)) return this.start(key, address, { dialogId, args });
      dropExpiredEntities(state, now);
      const events: (() => void)[] = [];
      const expect = expectations(loaded);
      const session = this.newSession(key, state, undefined, this.decodeBag(loaded.user, key) as U, this.decodeBag(loaded.conversation, key) as C, false, expect, events);
      const hooks = this.runnerHooks(session);
      // The bot spoke: the user gets a whole idle time to answer.
      state.lastActiveAt = now;
      const top = state.stack[state.stack.length - 1];
      if (!interrupt && top !== undefined) {
        state.stack.length = 0;
        hooks.topChanged(top);
      }
      session[HOST].record({ kind: 'begin', id: dialogId, args, interrupt });
      try {
        await drain(session, this.registry, this.maxDialogOperations, hooks);
      } catch (thrown) {
        throw asPalaverError(thrown, 'DIALOG_FAILED', `the dialog "${dialogId}" begun by beginDialog()`);
      }
      session.closed = true;
      const replies: OutgoingMessage[] = [];
      collect(session, replies);
      if (await this.commit(key, state, session.userData, session.conversationData, expect)) {
        this.outbox.enqueue(laneKey(address), address, replies, session.flush);
        for (const emit of events) emit();
        return session.info;
      }
      if (attempt >= this.maxCommitRetries) throw new PalaverError('CONFLICT', `Session "${key}" kept changing during beginDialog().`);
    }
  }

  /** The timeout before `session.timeout` applies: the manager's, or the innermost dialog's that declares one. */
  private timeoutOf(state: SessionStateRecord): number {
    return this.idle === undefined ? this.timeout : this.idle.baseTimeout(state.stack);
  }

  /** When the scheduler next has something to do for an active session: its close (proactive policy) or its next nudge. */
  private wakeAt(state: SessionStateRecord): number | undefined {
    if (this.idle !== undefined) return this.idle.next(state);
    return this.proactive ? state.lastActiveAt + (state.timeout ?? this.timeout) : undefined;
  }

  // ---- session lifecycle -------------------------------------------------------------------------------------

  private freshState(address: Address, now: number, kept?: Kept): SessionStateRecord {
    const state: SessionStateRecord = {
      v: 1,
      id: newSessionId(),
      startedAt: now,
      lastActiveAt: now,
      turnCount: 0,
      interactive: false,
      developer: false,
      address,
      entities: kept?.entities ?? {},
      stack: [],
      privateConversationData: {},
    };
    if (kept?.entityExpiry !== undefined && Object.keys(kept.entityExpiry).length > 0) state.entityExpiry = kept.entityExpiry;
    // Kept entities stay in the version they were written in, so that no migration runs on them twice.
    if (kept?.entitiesVersion !== undefined) state.entitiesVersion = kept.entitiesVersion;
    return state;
  }

  /** Runs `onSessionEnd`, decides what is kept, and schedules the `sessionEnd` event for after the commit. */
  private async endState(session: AnySession, reason: EndReason, now: number, events: (() => void)[]): Promise<Kept> {
    const info = session.info;
    const state = session.state;
    // A session's end hook runs once per process even when the turn around it is re-run after a lost store race or
    // the store evicts the session while it is being expired: the second time, its answer and replies are replayed.
    let run = state.id === undefined ? undefined : this.endHookRuns.get(state.id);
    if (run === undefined) {
      const before = session.replies.length;
      const returned = await this.hook('onSessionEnd', () => this.options.onSessionEnd?.(session, reason), undefined);
      run = { returned, replies: session.replies.slice(before) };
      if (state.id !== undefined) {
        this.endHookRuns.set(state.id, run);
        if (this.endHookRuns.size > END_HOOK_MEMORY) this.endHookRuns.delete(this.endHookRuns.keys().next().value!);
      }
    } else {
      for (const reply of run.replies) session.replies.push(reply);
    }
    const returned = run.returned;
    const keep = new Set<string>();
    if (reason !== 'refresh') {
      for (const name of this.preserve) keep.add(name);
      if (Array.isArray(returned)) for (const name of returned) if (typeof name === 'string') keep.add(name);
    }
    if (this.retention !== undefined) for (const name of this.retention.kept(reason)) keep.add(name);
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
    const final = { ...state.entities };
    events.push(() => this.counters.end(reason));
    this.emitLater(events, 'sessionEnd', () => ({ session: info, reason, entities: final, kept: Object.keys(entities), summary: summarize(info, state, reason, now) }));
    return { entities, entityExpiry, entitiesVersion: state.entitiesVersion };
  }

  private newSession(
    key: string,
    state: SessionStateRecord,
    message: IncomingMessage | undefined,
    userData: U,
    conversationData: C,
    rehandled: boolean,
    expect?: Expectations,
    events?: (() => void)[],
  ): Session<E, U, C, P> {
    // The Host reads private members of this manager; HostAccess names them.
    const host = new Host(this as unknown as HostAccess, key, state, rehandled, expect);
    const session = new Session<E, U, C, P>(state, message, userData, conversationData, host);
    host.session = session;
    return session;
  }

  private runnerHooks(session: AnySession): RunnerHooks {
    return session.host as Host;
  }

  /** `sendBatch()`: save what the turn has so far, then hand the replies so far to the outbox (resolves to their delivery). */
  private async checkpoint(key: string, session: AnySession, replies: OutgoingMessage[], expect: Expectations | undefined): Promise<{ delivered: Promise<void> }> {
    if (expect === undefined) {
      session.replies.unshift(...replies); // not lost: they go out with the rest
      throw new PalaverError('TURN_ENDED', 'sendBatch() is only available inside a turn.');
    }
    const { state, userData, conversationData } = session;
    // What is committed, as of now: the step may go on changing the state while the store works.
    const saved = { state: encodeState(state, key), userData: JSON.stringify(userData), conversationData: JSON.stringify(conversationData) };
    const ok = await this.commit(key, state, userData, conversationData, expect);
    if (!ok) throw new PalaverError('CONFLICT', `sendBatch(): session "${key}" changed under this turn; its replies were not sent.`);
    session.saved = saved;
    const delivered = this.outbox.send(laneKey(session.address), session.address, replies, this.traceLine && this.tracePrefix(session) + 'session.');
    return { delivered };
  }

  // ---- store -------------------------------------------------------------------------------------------------

  /** Reads the records of a turn; synchronous (no promise to wait for) when the store answers synchronously. */
  private load(key: string, address: Address | undefined): Loaded | Promise<Loaded> {
    if (this.store.acquire !== undefined) return this.holdLease(key).then(() => this.read(key, address));
    return this.read(key, address);
  }

  private read(key: string, address: Address | undefined): Loaded | Promise<Loaded> {
    let session: Awaitable<StoredRecord | undefined>;
    try {
      session = this.store.get(key);
    } catch (error) {
      throw this.storeError(error, `loading session "${key}"`);
    }
    if (isThenable(session)) return Promise.resolve(session).then((record) => this.readData(key, address, record), (error: unknown) => Promise.reject(this.storeError(error, `loading session "${key}"`)));
    return this.readData(key, address, session);
  }

  private readData(key: string, address: Address | undefined, stored: StoredRecord | null | undefined): Loaded | Promise<Loaded> {
    try {
      const store = this.store;
      // MemoryStore's own get() answers records it built itself; any other get() (a store of yours, a patched one) is checked.
      const check = store.get === memoryGet ? trustRecord : checkRecord;
      const record = check(stored, key);
      const at = address ?? (record === undefined ? undefined : this.addressOf(record, key));
      const userKey = this.persistUser && at !== undefined ? USER_PREFIX + joinKey(at.channelId, at.user.id) : undefined;
      const conversationKey = this.persistConversation && at !== undefined ? CONVERSATION_PREFIX + joinKey(at.channelId, at.conversation.id) : undefined;
      const user = userKey === undefined ? undefined : store.get(userKey);
      const conversation = conversationKey === undefined ? undefined : store.get(conversationKey);
      if (isThenable(user) || isThenable(conversation)) {
        return Promise.all([user, conversation])
          .then(([u, c]) => ({ session: record, user: checkRecord(u, userKey), conversation: checkRecord(c, conversationKey), userKey, conversationKey }))
          .catch((error: unknown) => Promise.reject(this.storeError(error, `loading session "${key}"`)));
      }
      return { session: record, user: check(user, userKey), conversation: check(conversation, conversationKey), userKey, conversationKey };
    } catch (error) {
      throw this.storeError(error, `loading session "${key}"`);
    }
  }

  /** Writes the session record and any data bag that changed, compare-and-set on what was loaded. False on a lost race. */
  private commit(key: string, state: SessionStateRecord, userData: JsonObject, conversationData: JsonObject, expect: Expectations): boolean | Promise<boolean> {
    if (this.retention !== undefined) this.retention.stamp(state, Date.now());
    if (state.nudges !== undefined && state.nudges.at !== state.lastActiveAt) delete state.nudges; // the user came back
    const data = this.serialize(state, `Session "${key}"`, key);
    const active = state.id !== undefined;
    const wake = active ? this.wakeAt(state) : undefined;
    const writes: CommitWrite[] = [];
    if (active || expect.session !== null) {
      const empty = !active && Object.keys(state.entities).length === 0;
      writes.push({
        key,
        expected: expect.session,
        data: empty ? null : data,
        idleMs: wake === undefined ? null : wake - Date.now(),
      });
    }
    let userJson: string | undefined;
    let conversationJson: string | undefined;
    const { userKey, conversationKey } = expect;
    if (userKey !== undefined) {
      userJson = isEmptyBag(userData) ? '{}' : this.serialize(userData, `The userData of session "${key}"`);
      if (userJson !== (expect.userData ?? '{}')) writes.push({ key: userKey, expected: expect.user, data: userJson });
    }
    if (conversationKey !== undefined) {
      conversationJson = isEmptyBag(conversationData) ? '{}' : this.serialize(conversationData, `The conversationData of session "${key}"`);
      if (conversationJson !== (expect.conversationData ?? '{}')) writes.push({ key: conversationKey, expected: expect.conversation, data: conversationJson });
    }
    if (writes.length === 0) return true;
    let pending: Awaitable<CommitResult>;
    try {
      pending = this.store.commit(writes, { turnId: expect.turnId });
    } catch (error) {
      throw this.storeError(error, `saving session "${key}"`);
    }
    if (isThenable(pending)) {
      return Promise.resolve(pending).then(
        (result) => this.committed(key, expect, writes, result, userJson, conversationJson, wake),
        (error: unknown) => Promise.reject(this.storeError(error, `saving session "${key}"`)),
      );
    }
    return this.committed(key, expect, writes, pending, userJson, conversationJson, wake);
  }

  /** After a commit the store answered: false on a lost race, else what later commits of the turn expect. */
  private committed(key: string, expect: Expectations, writes: CommitWrite[], result: CommitResult, userJson: string | undefined, conversationJson: string | undefined, wake: number | undefined): boolean {
    const { userKey } = expect;
    if (!result.ok) return false;
    // Later commits of this turn (a checkpoint, then the end) build on what was just written.
    for (let i = 0; i < writes.length; i++) {
      const write = writes[i]!;
      const version = result.versions[i]!;
      const next: ExpectedRecord = write.data === null ? null : { version, generation: write.key === key ? expect.session?.generation ?? 0 : 0 };
      if (write.key === key) expect.session = next;
      else if (write.key === userKey) {
        expect.user = next;
        expect.userData = userJson;
      } else {
        expect.conversation = next;
        expect.conversationData = conversationJson;
      }
    }
    if (wake !== undefined) this.scheduler.arm(wake);
    return true;
  }

  /** JSON of what a turn saves (the session state stored under `stateKey`, or a data bag); STATE_TOO_LARGE past `maxStateBytes`, INVALID_ARGUMENT for what JSON cannot hold (a BigInt, a cycle). */
  private serialize(value: unknown, what: string, stateKey?: string): string {
    let json: string;
    try {
      json = stateKey === undefined ? JSON.stringify(value) : encodeState(value as SessionStateRecord, stateKey);
    } catch (cause) {
      const error = new PalaverError('INVALID_ARGUMENT', `${what} cannot be written as JSON (${(cause as Error)?.message ?? String(cause)}); the turn was not saved. Keep only plain JSON in the data scopes.`, { cause });
      this.report(error);
      throw error;
    }
    if (json.length > this.maxStateBytes) {
      const error = new PalaverError('STATE_TOO_LARGE', `${what} would store ${json.length} characters, over maxStateBytes (${this.maxStateBytes}); the turn was not saved. Keep large data outside the session.`);
      this.report(error);
      throw error;
    }
    return json;
  }

  /** Reads a session record back (`check`: also upgrades and checks its entities, when the bot declares them). */
  private decodeSession(record: StoredRecord | undefined, key: string, check = true): SessionStateRecord | undefined {
    if (record === undefined) return undefined;
    let state: SessionStateRecord;
    try {
      state = decodeState(record.data, key);
    } catch (error) {
      this.quarantine(key, record);
      const problem = error instanceof StateFormatError ? error.problem : `could not be read (${(error as Error)?.message ?? String(error)})`;
      this.report(new PalaverError('CORRUPT_STATE', `Session "${key}" ${problem}; a fresh session replaces it.`, { cause: error }));
      return undefined;
    }
    if (this.retention !== undefined && check) this.checkEntities(state, key, record);
    return state;
  }

  /** Migrates and checks the declared entities of a loaded session; a bad entity is reported and dropped, never the session. */
  private checkEntities(state: SessionStateRecord, key: string, record: StoredRecord): void {
    const problems = this.retention!.load(state);
    if (problems.length === 0) return;
    this.quarantine(key, record);
    for (const problem of problems) this.report(new PalaverError('CORRUPT_STATE', `Session "${key}": ${problem.message}.`, { cause: problem.cause }));
  }

  private decodeBag(record: StoredRecord | undefined, key: string): JsonObject {
    if (record === undefined) return {};
    try {
      const value: unknown = JSON.parse(record.data);
      if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as JsonObject;
    } catch {
      // reported below
    }
    this.report(new PalaverError('CORRUPT_STATE', `A data record of session "${key}" is not a JSON object; it starts empty again.`));
    return {};
  }

  private addressOf(record: StoredRecord, key: string): Address | undefined {
    return this.decodeSession(record, key, false)?.address;
  }

  /** Hands a record that could not be read back to the store's quarantine (stores that have one). */
  private quarantine(key: string, record: StoredRecord): void {
    const failed = (error: unknown) => this.report(asPalaverError(error, 'STORE_UNAVAILABLE', `Quarantining session "${key}"`));
    try {
      const pending = this.store.quarantine?.(key, record);
      if (isThenable(pending)) pending.then(undefined, failed);
    } catch (error) {
      failed(error);
    }
  }

  /** Runs `task` after the earlier tasks of `key` in this process and, with a store that has leases, under the key's turn lease. */
  private exclusive<T>(key: string, task: () => Promise<T>): Promise<T> {
    if (this.store.acquire === undefined) return this.queue.run(key, task);
    return this.queue.run(key, async () => {
      try {
        return await task();
      } finally {
        await this.releaseLease(key);
      }
    });
  }

  /** Stores with leases: makes sure this process holds the turn lease of `key`, waiting with backoff up to `leaseWait`. */
  private async holdLease(key: string): Promise<void> {
    const store = this.store;
    if (store.acquire === undefined) return;
    const ttl = this.options.leaseTtl ?? 30_000;
    const held = this.leases.get(key);
    if (held !== undefined) {
      // A re-run after a lost race: the lease may have lapsed while the failed attempt ran (a long pause), so check.
      if (!held.lost) await this.renewLease(key, held, ttl);
      if (!held.lost) return;
      this.dropLease(key, held);
    }
    const wait = this.options.leaseWait ?? 10_000;
    const started = Date.now();
    for (let backoff = 5; ; backoff = Math.min(backoff * 2, 200)) {
      let token: string | undefined;
      try {
        token = await store.acquire(key, ttl);
      } catch (error) {
        throw this.storeError(error, `taking the turn lease of session "${key}"`);
      }
      if (token !== undefined) {
        const lease: HeldLease = { token, timer: setInterval(() => void this.renewLease(key, lease, ttl), Math.max(1, Math.floor(ttl / 3))), lost: false };
        lease.timer.unref?.();
        this.leases.set(key, lease);
        return;
      }
      const waited = Date.now() - started;
      if (waited >= wait) {
        const error = new PalaverError('LEASE_TIMEOUT', `Another process held the turn lease of session "${key}" for over ${wait} ms (leaseWait); the turn was not run.`);
        this.report(error);
        throw error;
      }
      await new Promise<void>((resolve) => setTimeout(resolve, Math.min(wait - waited, backoff * (0.5 + Math.random()))).unref?.());
    }
  }

  private async renewLease(key: string, lease: HeldLease, ttl: number): Promise<void> {
    try {
      if ((await this.store.renew?.(key, lease.token, ttl)) === false) {
        lease.lost = true;
        clearInterval(lease.timer);
      }
    } catch {
      // Unreachable store: the lease may lapse. The commit, not the lease, decides whether the turn counts.
    }
  }

  private async releaseLease(key: string): Promise<void> {
    const lease = this.leases.get(key);
    if (lease === undefined) return;
    this.dropLease(key, lease);
    if (lease.lost) return;
    try {
      await this.store.release?.(key, lease.token);
    } catch {
      // It lapses on its own after leaseTtl.
    }
  }

  private dropLease(key: string, lease: HeldLease): void {
    clearInterval(lease.timer);
    if (this.leases.get(key) === lease) this.leases.delete(key);
  }

  private storeError(error: unknown, doing: string): PalaverError {
    const wrapped = error instanceof PalaverError ? error : new PalaverError('STORE_UNAVAILABLE', `The store failed while ${doing}: ${(error as Error)?.message ?? String(error)}`, { cause: error });
    this.report(wrapped);
    return wrapped;
  }

  // ---- scheduler, eviction, shutdown -------------------------------------------------------------------------

  private async sweep(): Promise<void> {
    if (this.sweeping) {
      this.sweepAgain = true;
      return;
    }
    this.sweeping = true;
    try {
      do {
        this.sweepAgain = false;
        await this.sweepExpired();
      } while (this.sweepAgain);
      this.sweepFailing = false;
    } catch (error) {
      // An outage is reported once, not on every sweep; the sweeps go on and catch up once the store answers again.
      if (!this.sweepFailing) this.report(asPalaverError(error, 'STORE_UNAVAILABLE', 'the expiry sweep'));
      this.sweepFailing = true;
    } finally {
      this.sweeping = false;
      this.rearm();
    }
  }

  private rearm(): void {
    if (this.closed || (!this.proactive && this.idle === undefined)) return;
    const store = this.store;
    const interval = this.options.sweepInterval ?? 1000;
    const now = Date.now();
    let at: number;
    if (store.nextDeadline !== undefined) {
      at = store.nextDeadline() ?? Infinity;
      // While the store fails, a deadline already due would re-fire the timer at once, in a loop: poll instead.
      if (this.sweepFailing) at = Math.max(at, now + interval);
    } else {
      at = now + interval * (0.8 + Math.random() * 0.4);
    }
    if (this.unfinished.size > 0) at = Math.min(at, now + interval);
    if (at !== Infinity) this.scheduler.arm(at);
  }

  private onEvicted(key: string, record: StoredRecord): void {
    if (!key.startsWith(SESSION_PREFIX)) return;
    // The store calls this from inside another key's commit: finish that first.
    void Promise.resolve().then(async () => {
      const state = this.decodeSession(record, key);
      if (state === undefined || state.id === undefined) return;
      const events: (() => void)[] = [];
      const session = this.newSession(key, state, undefined, {} as U, {} as C, false, undefined, events);
      await this.endState(session, 'evicted', Date.now(), events);
      session.closed = true;
      for (const emit of events) emit();
    }).catch((error) => this.report(asPalaverError(error, 'HOOK_FAILED', 'ending an evicted session')));
  }

  private async shutdown(): Promise<void> {
    this.closed = true;
    await this.queue.idle();
    const mode = this.options.shutdown ?? (this.store.persistent ? 'persist' : 'end');
    const keys = (this.store as { sessionKeys?: () => Iterable<string> }).sessionKeys?.();
    if (mode === 'end' && keys !== undefined) {
      for (const key of [...keys]) {
        await this.exclusive(key, () => this.end(key, 'shutdown')).catch((error) => this.report(asPalaverError(error, 'STORE_UNAVAILABLE', 'ending a session at shutdown')));
      }
    }
    this.scheduler.stop();
    await this.outbox.flushAll();
    this.outbox.stop();
    await this.store.close?.();
  }

  // ---- hooks, events, trace ----------------------------------------------------------------------------------

  /** Runs a user hook; a throw is reported (HOOK_FAILED) and `fallback` is used instead. */
  private async hook<T>(name: string, run: () => Awaitable<T>, fallback: T): Promise<T> {
    try {
      const result = run();
      return isThenable(result) ? await result : result;
    } catch (error) {
      this.report(new PalaverError('HOOK_FAILED', `${name} threw: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
      return fallback;
    }
  }

  private emitLater<K extends 'sessionStart' | 'sessionEnd'>(events: (() => void)[], name: K, payload: () => Parameters<SessionManagerEvents[K]>[0]): void {
    if (name === 'sessionStart') events.push(this.counters.start);
    if (this.listenerCount(name) === 0) return;
    const value = payload();
    events.push(() => this.notify(name, value));
  }

  private notify<K extends 'sessionStart' | 'sessionEnd' | 'turn' | 'batch'>(name: K, payload: Parameters<SessionManagerEvents[K]>[0]): void {
    for (const listener of this.listeners(name)) {
      const failed = (error: unknown) =>
        this.report(new PalaverError('HOOK_FAILED', `A "${name}" listener threw: ${(error as Error)?.message ?? String(error)}`, { cause: error }));
      try {
        // An async listener's rejection is reported too: left alone, it would be an unhandled rejection.
        const result: unknown = (listener as (p: typeof payload) => unknown).call(this, payload);
        if (isThenable(result)) result.then(undefined, failed);
      } catch (error) {
        failed(error);
      }
    }
  }

  /** Emits `error`; with no listener, prints it (an error is never dropped silently). */
  private report(error: PalaverError): void {
    if (this.listenerCount('error') === 0) {
      console.error(`[palaver] ${error.code}: ${error.message}`);
      return;
    }
    const failed = (thrown: unknown) => console.error('[palaver] an "error" listener threw:', thrown);
    for (const listener of this.listeners('error')) {
      try {
        const result: unknown = (listener as (e: PalaverError) => unknown).call(this, error);
        if (isThenable(result)) result.then(undefined, failed);
      } catch (thrown) {
        failed(thrown);
      }
    }
  }

  private trace(session: AnySession, line: string): void {
    this.traceLine?.(this.tracePrefix(session) + line);
  }

  /** v3-style: a dot per dialog under the top one, then the top dialog's name (`..Prompts.text - `). */
  private tracePrefix(session: AnySession): string {
    const stack = session.state.stack;
    const top = stack[stack.length - 1];
    return top === undefined ? '' : `${'.'.repeat(stack.length - 1)}${this.registry.state(top.id).name} - `;
  }
}

// ---- helpers ---------------------------------------------------------------------------------------------------

/** What a session of one turn asks of the manager (a class, so that a turn allocates one object, not a closure per method). */
class Host implements TurnHost, RunnerHooks {
  session!: AnySession;
  readonly registry: DialogRegistry;
  readonly botId: string | undefined;
  readonly version: string | undefined;
  readonly defaultLocale: string | undefined;
  readonly trace: ((line: string) => void) | undefined;
  readonly checkEntity: ((name: string, value: unknown) => void) | undefined;

  constructor(
    private readonly manager: HostAccess,
    readonly key: string,
    private readonly state: SessionStateRecord,
    readonly rehandled: boolean,
    private readonly expect: Expectations | undefined,
  ) {
    this.registry = manager.registry;
    this.botId = manager.options.botId;
    this.version = manager.options.version;
    this.defaultLocale = manager.options.locale;
    this.trace = manager.traceLine === undefined ? undefined : (line: string) => manager.trace(this.session, line);
    this.checkEntity = manager.retention?.checkEntity;
  }

  get defaultTimeout(): number {
    return this.manager.timeoutOf(this.state);
  }

  checkpoint(session: AnySession, replies: OutgoingMessage[]): Promise<{ delivered: Promise<void> }> {
    return this.manager.checkpoint(this.key, session, replies, this.expect);
  }

  endConversation(): void {
    this.state.privateConversationData = {};
  }

  topChanged(previous: DialogInstance | undefined): void {
    if (previous !== undefined) this.state.previousDialogState = { ...this.manager.registry.state(previous.id) };
  }

  sendAfterTurn(address: Address, messages: OutgoingMessage[]): Promise<void> {
    const manager = this.manager;
    return manager.outbox.send(laneKey(address), address, messages, manager.traceLine && manager.tracePrefix(this.session) + 'session.');
  }
}

/** The private members of SessionManager that Host uses. */
interface HostAccess {
  registry: DialogRegistry;
  retention: Retention | undefined;
  options: SessionManagerOptions<any, any, any, any>;
  traceLine: ((line: string) => void) | undefined;
  outbox: Outbox;
  trace(session: AnySession, line: string): void;
  tracePrefix(session: AnySession): string;
  timeoutOf(state: SessionStateRecord): number;
  checkpoint(key: string, session: AnySession, replies: OutgoingMessage[], expect: Expectations | undefined): Promise<{ delivered: Promise<void> }>;
}

function expectations(loaded: Loaded): Expectations {
  return {
    userKey: loaded.userKey,
    conversationKey: loaded.conversationKey,
    session: ref(loaded.session),
    user: ref(loaded.user),
    userData: loaded.user?.data,
    conversation: ref(loaded.conversation),
    conversationData: loaded.conversation?.data,
    turnId: newTurnId(),
  };
}

/** A bag that JSON.stringify would write as `{}` for sure: missing, or a plain object with no keys of its own. */
function isEmptyBag(bag: JsonObject | undefined): boolean {
  if (bag === undefined || bag === null) return true;
  if (Object.getPrototypeOf(bag) !== Object.prototype) return false;
  for (const _ in bag) return false;
  return true;
}

/** Rejects a message whose JSON is over `max` bytes (MESSAGE_TOO_LARGE) or that is no JSON at all (INVALID_MESSAGE). */
function checkMessageSize(message: IncomingMessage, max: number): void {
  if (jsonBound(message, 0) * 3 <= max) return;
  let json: string;
  try {
    json = JSON.stringify(message);
  } catch (error) {
    throw new PalaverError('INVALID_MESSAGE', `The message passed to receive() cannot be written as JSON (${(error as Error)?.message ?? String(error)}); a message must be plain JSON.`, { cause: error });
  }
  // A UTF-16 unit is 1 to 3 bytes of UTF-8: encode only when the length alone cannot tell.
  if (json.length * 3 <= max) return;
  const bytes = json.length > max ? json.length : new TextEncoder().encode(json).length;
  if (bytes > max) {
    throw new PalaverError('MESSAGE_TOO_LARGE', `The message passed to receive() is ${bytes === json.length ? 'at least ' : ''}${bytes} bytes of JSON, over maxMessageBytes (${max}); it was rejected. Send large payloads by reference (a URL).`);
  }
}

/**
 * An upper bound on the length of `value`'s JSON for the flat shapes most messages have (a JSON escape is at most six
 * characters per UTF-16 unit), or Infinity when working it out would cost more than writing the JSON.
 */
function jsonBound(value: unknown, depth: number): number {
  switch (typeof value) {
    case 'string':
      return value.length * 6 + 2;
    case 'number':
      return 25; // the longest a double is written, e.g. -0.0000012345678901234567
    case 'boolean':
      return 5;
    case 'undefined':
      return 0;
    case 'object': {
      if (value === null) return 4;
      if (depth > 2 || Array.isArray(value)) return Infinity;
      // Only plain data: a class instance or a toJSON (JSON.stringify calls it) can write anything.
      const proto: unknown = Object.getPrototypeOf(value);
      if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function') return Infinity;
      let total = 2;
      for (const name in value) total += name.length * 6 + 4 + jsonBound((value as Record<string, unknown>)[name], depth + 1);
      return total;
    }
    default:
      return Infinity;
  }
}

/** What a store's `get` answered, as a record: `null` counts as absent; anything else that is not a record is a store failure. */
function checkRecord(value: StoredRecord | null | undefined, key: string | undefined): StoredRecord | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || typeof value.data !== 'string' || !Number.isSafeInteger(value.version) || !Number.isSafeInteger(value.generation)) {
    throw new Error(`get("${key}") answered ${describe(value)}, not a record of { data: string, version: integer, generation: integer }`);
  }
  return value;
}

const memoryGet = MemoryStore.prototype.get;

function trustRecord(value: StoredRecord | null | undefined): StoredRecord | undefined {
  return value ?? undefined;
}

function ref(record: StoredRecord | undefined): ExpectedRecord {
  return record === undefined ? null : { version: record.version, generation: record.generation };
}

function isExpired(state: SessionStateRecord, timeout: number, now: number): boolean {
  return now - state.lastActiveAt >= (state.timeout ?? timeout);
}

/** Drops the entities whose TTL ran out; true when it dropped any. */
function dropExpiredEntities(state: SessionStateRecord, now: number): boolean {
  const expiry = state.entityExpiry;
  if (expiry === undefined) return false;
  let dropped = false;
  for (const [name, expiresAt] of Object.entries(expiry)) {
    if (expiresAt <= now) {
      delete expiry[name];
      delete state.entities[name];
      dropped = true;
    }
  }
  if (Object.keys(expiry).length === 0) delete state.entityExpiry;
  return dropped;
}

/** Marks the turn's activity on the state. */
function touch(state: SessionStateRecord, message: IncomingMessage | undefined, at: number): void {
  state.lastActiveAt = at;
  if (message === undefined) return;
  state.turnCount++;
  state.address = message.address;
  if ((message.type ?? 'message') === 'message') {
    state.interactive = true;
    if (state.msgs === undefined) state.msgs = [1, 0];
    else state.msgs[0]++;
  }
  if (message.developer === true) state.developer = true;
  if (message.locale !== undefined) state.locale = message.locale;
}

/** What an ended session hands to the next one: the kept entities, their expiry times and the version they are in. */
interface Kept {
  entities: JsonObject;
  entityExpiry: Record<string, number> | undefined;
  entitiesVersion?: number | undefined;
}

function dormantState(state: SessionStateRecord, kept: Kept): SessionStateRecord {
  const dormant: SessionStateRecord = {
    v: 1,
    lastActiveAt: state.lastActiveAt,
    turnCount: 0,
    interactive: false,
    developer: false,
    address: state.address,
    entities: kept.entities,
    stack: [],
    privateConversationData: {},
  };
  if (kept.entityExpiry !== undefined) dormant.entityExpiry = kept.entityExpiry;
  if (kept.entitiesVersion !== undefined) dormant.entitiesVersion = kept.entitiesVersion;
  return dormant;
}

function carry(session: AnySession, ended: Kept, options: NewSessionOptions<any>): Kept {
  const entities = { ...ended.entities };
  const what = options.carry;
  if (Array.isArray(what)) {
    for (const name of what) if (Object.hasOwn(session.state.entities, name)) setOwn(entities, name, session.state.entities[name]);
  } else if (what !== undefined) {
    for (const [name, value] of Object.entries(what)) setOwn(entities, name, value);
  }
  return { entities, entityExpiry: ended.entityExpiry, entitiesVersion: ended.entitiesVersion };
}

function collect(session: AnySession, into: OutgoingMessage[]): void {
  if (session.replies.length === 0) return;
  for (const reply of session.replies) into.push(reply);
  session.replies.length = 0;
}

function laneKey(address: Address): string {
  return joinKey(address.channelId, address.conversation.id, address.user.id);
}

let idCounter = 0;
let turnCounter = 0;
// Unique per process run: turn ids only need to tell this process's attempts from every other's.
const turnPrefix = Date.now().toString(36) + Math.random().toString(36).slice(2, 8) + '.';

function newTurnId(): string {
  return turnPrefix + (++turnCounter).toString(36);
}

const idPrefix = Math.floor(Math.random() * 36 ** 4).toString(36).padStart(4, '0');

/** A unique, sortable-enough session id: time, a per-process prefix, and a counter. */
function newSessionId(): string {
  idCounter = (idCounter + 1) % 36 ** 4;
  return Date.now().toString(36) + idPrefix + idCounter.toString(36).padStart(4, '0');
}

function toMessage(message: string | OutgoingMessage, args: readonly unknown[] = []): OutgoingMessage {
  if (typeof message === 'string') return { type: 'message', text: formatText(message, args) };
  const parsed = parseOrThrow(outgoingMessageSchema, message, 'INVALID_MESSAGE', 'message');
  if (parsed.type === undefined) parsed.type = 'message';
  if (typeof parsed.text === 'string' && args.length > 0) parsed.text = formatText(parsed.text, args);
  return parsed;
}

function asPalaverError(error: unknown, code: PalaverError['code'], where: string): PalaverError {
  if (error instanceof PalaverError) return error;
  return new PalaverError(code, `${where} threw: ${(error as Error)?.message ?? String(error)}`, { cause: error });
}

function closedError(): PalaverError {
  return new PalaverError('CLOSED', 'The SessionManager is closed; create a new one to take more turns.');
}

function traceSink(option: SessionManagerOptions['trace']): ((line: string) => void) | undefined {
  if (typeof option === 'function') {
    const sink = option as (line: string) => void;
    return (line) => {
      try {
        sink(line);
      } catch {
        // A trace sink is a debugging aid: its failure must not fail the turn or drop the batch being traced.
      }
    };
  }
  if (option === true) return (line) => console.log(line);
  if (option === undefined && typeof process !== 'undefined' && /(^|,)\s*palaver(\b|:|\*)/.test(process.env.DEBUG ?? '')) {
    return (line) => console.error(`palaver ${line}`);
  }
  return undefined;
}

export { HOST };
