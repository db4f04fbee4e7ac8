// The options of SessionManager: their type and TSDoc, the schema that checks them, and every default, resolved once
// into one Settings object that the rest of the engine reads.
import { z } from 'zod';
import type { MessageLike } from '../cards';
import { errorText, PalaverError } from '../errors';
import { formatText } from '../format';
import { toOutgoing } from '../outgoing';
import { defaultRetry, type DeliverFn, type DeliveryRetryOptions } from '../outbox';
import { nudgeSchema, type NudgeOptions } from '../nudge';
import { entitiesOptionSchema, migrationsOptionSchema, type EntityMigrations, type EntitySpec } from '../retention';
import { sameIntent } from '../recognizers';
import { outgoingMessageSchema, parseOrThrow } from '../schema';
import type { Session } from '../session';
import { MemoryStore } from '../stores/memory';
import type { SessionStore } from '../stores/store';
import { TextCatalog, textsOptionSchema, type TextsOption } from '../texts';
import type {
  Address,
  Awaitable,
  ClosePolicy,
  EndReason,
  IncomingMessage,
  JsonObject,
  OutgoingMessage,
} from '../types';

/** Options of {@link SessionManager}. `E`, `U`, `C`, `P` type the entities, userData, conversationData and privateConversationData. */
export interface SessionManagerOptions<
  E extends object = JsonObject,
  U extends object = JsonObject,
  C extends object = JsonObject,
  P extends object = JsonObject,
> {
  /** Hands a batch of replies to the channel. Required. */
  deliver: DeliverFn;
  /** Where sessions live. @default new MemoryStore() */
  store?: SessionStore;
  /** Inactivity timeout in ms; a session may override it (`session.timeout`). @default 1_800_000 (30 min) */
  timeout?: number;
  /** How idle sessions close. @default 'proactive' */
  closePolicy?: ClosePolicy;
  /**
   * Lazy policy: return true to let an expired session continue with this message. `'sameIntent'` (Kore.ai's rule): it
   * continues when the message's intent is the one its current task began with (`session.info.taskIntent`), and a new
   * session starts for a new intent or when nothing is recognized.
   */
  continueIf?: ((session: Session<E, U, C, P>, message: IncomingMessage) => Awaitable<boolean>) | 'sameIntent';
  /**
   * Sent to the saved address when the proactive scheduler closes a session: text, a message, a `Message` builder, or a
   * function of the ending session that returns one (or nothing, to say nothing).
   */
  closeMessage?: MessageLike | ((session: Session<E, U, C, P>) => Awaitable<MessageLike | undefined>);
  /** Replies wait this many ms after the last `send` and go out together; 0 sends at the end of the turn. @default 250 */
  autoBatchDelay?: number;
  /** Entity names kept across every session end. @default [] */
  preserve?: readonly (keyof E & string)[];
  /** Runs before the first turn of each session; may set entities. A dialog it begins is where a session started by a message or `startSession()` starts. */
  onSessionStart?: (session: Session<E, U, C, P>) => Awaitable<void>;
  /** Runs once per session, whatever ended it; may return the entity names to keep. */
  onSessionEnd?: (session: Session<E, U, C, P>, reason: EndReason) => Awaitable<void | readonly (keyof E & string)[]>;
  /** Said to the user when a dialog throws (the conversation is then ended). `null`: say nothing. @default the locale's `dialogError` text */
  dialogErrorMessage?: string | OutgoingMessage | null;
  /** The texts palaver says by itself, replaced per locale: `{ fr: { notUnderstood: "Je n'ai pas compris." } }` (see `Texts`). */
  texts?: TextsOption;
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
  /**
   * Stores with turn leases (Redis): how long a turn's lease lasts, in ms. It is renewed every third of that while the
   * turn runs, so a long turn keeps it; a killed process blocks its users for at most this long. @default 5_000
   */
  leaseTtl?: number;
  /** Stores with turn leases: how long a turn waits for another process to give the session's lease up before it fails with `LEASE_TIMEOUT`, in ms. @default 10_000 */
  leaseWait?: number;
  /**
   * How many session ends (`onSessionEnd` and the save after it) one expiry sweep runs at once. A process killed in a
   * sweep repeats at most this many end hooks (each is at-least-once). @default 16
   */
  sweepConcurrency?: number;
  /** What `close()` does with live sessions: end them (reason `shutdown`) or leave them in the store. @default 'end' for in-memory stores, 'persist' otherwise */
  shutdown?: 'end' | 'persist';
  /** Prints dialog and send activity (dots for stack depth); a function receives the lines. Also on with `DEBUG=palaver`. @default false */
  trace?: boolean | ((line: string) => void);
  /**
   * "Are you still there?" nudges while a user is idle, then `closeMessage`, then the close; any message from the user
   * starts the ladder again. A dialog may set its own (`dialog(id, steps, { nudge, timeout })`). With the `lazy` policy the
   * nudges are still sent on time (the scheduler runs for them) and the close stays lazy.
   */
  nudge?: NudgeOptions<Session<E, U, C, P>>;
  /** Entities declared once: a zod schema (stored values are checked when loaded), a scope, a TTL, `keepOnReset`. */
  entities?: { [K in keyof E]?: EntitySpec<E[K]> };
  /** Upgrades of stored entities: `migrations[n]` turns version `n - 1` into `n`; the highest key is the current version. */
  migrations?: EntityMigrations;
  /** How long a recognizer may take, in ms; past it the turn goes on without it (`RECOGNIZER_FAILED`). @default 5000 */
  recognizerTimeout?: number;
  /**
   * `'parallel'`: every recognizer runs at once and the best score wins. `'series'`: one after another in the order
   * added, stopping at the first result that scores `recognizeStopScore` or more. @default 'parallel'
   */
  recognizeOrder?: 'parallel' | 'series';
  /** With `recognizeOrder: 'series'`: the score at which the remaining recognizers are not asked. @default 0.9 */
  recognizeStopScore?: number;
}

/** The longest delay setTimeout keeps; past it Node fires after 1 ms, so a longer delay option is refused. */
const timerDelay = z
  .number()
  .nonnegative()
  .max(2 ** 31 - 1, 'must be at most 2147483647 ms (about 24.8 days), the longest delay a timer can wait');
const fn = z.custom<(...args: never[]) => unknown>((v) => typeof v === 'function', { message: 'must be a function' });
const messageLike = z.union([z.string(), outgoingMessageSchema]);
const storeMethods = ['get', 'commit', 'delete', 'claimDue'] as const;

const optionsSchema = z
  .object({
    deliver: fn,
    store: z
      .custom<SessionStore>(
        (v) =>
          typeof v === 'object' &&
          v !== null &&
          storeMethods.every((m) => typeof (v as Record<string, unknown>)[m] === 'function'),
        { message: 'must implement the SessionStore contract (get, commit, delete, claimDue)' },
      )
      .optional(),
    timeout: z.number().int().positive().optional(),
    closePolicy: z.enum(['proactive', 'lazy']).optional(),
    continueIf: z
      .custom<unknown>((v) => typeof v === 'function' || v === 'sameIntent', {
        message: "must be a function or 'sameIntent'",
      })
      .optional(),
    // One check rather than a union, so that the error says what the message may be instead of every shape it tried.
    closeMessage: z
      .custom<unknown>(
        (v) =>
          typeof v === 'string' ||
          typeof v === 'function' ||
          (typeof v === 'object' && v !== null && !Array.isArray(v)),
        { message: 'must be a string, an OutgoingMessage, a Message builder or a function of the session' },
      )
      .optional(),
    autoBatchDelay: timerDelay.int().optional(),
    preserve: z.array(z.string()).optional(),
    onSessionStart: fn.optional(),
    onSessionEnd: fn.optional(),
    dialogErrorMessage: messageLike.nullable().optional(),
    texts: textsOptionSchema.optional(),
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
    sweepConcurrency: z.number().int().positive().optional(),
    shutdown: z.enum(['end', 'persist']).optional(),
    trace: z.union([z.boolean(), fn]).optional(),
    nudge: nudgeSchema.optional(),
    entities: entitiesOptionSchema.optional(),
    migrations: migrationsOptionSchema.optional(),
    recognizerTimeout: timerDelay.int().positive().optional(),
    recognizeOrder: z.enum(['parallel', 'series']).optional(),
    recognizeStopScore: z.number().min(0).max(1).optional(),
  })
  .strict();

type AnyOptions = SessionManagerOptions<any, any, any, any>;
type AnySession = Session<any, any, any, any>;

/** Every option with its default applied: what the engine reads. Built once, by {@link resolveSettings}. */
export interface Settings {
  readonly deliver: DeliverFn;
  readonly store: SessionStore;
  readonly timeout: number;
  readonly proactive: boolean;
  readonly continueIf: ((session: AnySession, message: IncomingMessage) => Awaitable<boolean>) | undefined;
  readonly closeMessage: OutgoingMessage | ((session: AnySession) => Awaitable<MessageLike | undefined>) | undefined;
  readonly autoBatchDelay: number;
  readonly preserve: readonly string[];
  readonly onSessionStart: ((session: AnySession) => Awaitable<void>) | undefined;
  readonly onSessionEnd: ((session: AnySession, reason: EndReason) => Awaitable<unknown>) | undefined;
  /** `null`: say nothing; `undefined`: the locale's `dialogError` text. */
  readonly dialogErrorMessage: OutgoingMessage | null | undefined;
  readonly texts: TextCatalog;
  readonly sessionKey: ((address: Address) => string) | undefined;
  readonly botId: string | undefined;
  readonly version: string | undefined;
  readonly locale: string | undefined;
  readonly rootDialog: string;
  readonly persistUserData: boolean;
  readonly persistConversationData: boolean;
  readonly maxQueuedTurns: number;
  readonly maxCommitRetries: number;
  readonly maxDialogOperations: number;
  readonly maxStateBytes: number;
  readonly maxMessageBytes: number;
  readonly deliveryRetry: DeliveryRetryOptions;
  readonly sweepInterval: number;
  readonly leaseTtl: number;
  readonly leaseWait: number;
  readonly sweepConcurrency: number;
  readonly shutdown: 'end' | 'persist';
  readonly trace: ((line: string) => void) | undefined;
  readonly nudge: NudgeOptions<AnySession> | undefined;
  readonly entities: AnyOptions['entities'];
  readonly migrations: EntityMigrations | undefined;
  readonly recognizerTimeout: number;
  readonly recognizeOrder: 'parallel' | 'series';
  readonly recognizeStopScore: number;
}

/**
 * Checks `options` and applies every default.
 * @throws PalaverError `INVALID_OPTIONS` naming the option that is wrong.
 */
export function resolveSettings(options: AnyOptions): Settings {
  parseOrThrow(optionsSchema, options, 'INVALID_OPTIONS', 'SessionManager options');
  const store = options.store ?? new MemoryStore();
  return {
    deliver: options.deliver,
    store,
    timeout: options.timeout ?? 30 * 60_000,
    proactive: (options.closePolicy ?? 'proactive') === 'proactive',
    continueIf: options.continueIf === 'sameIntent' ? sameIntent : options.continueIf,
    closeMessage:
      options.closeMessage === undefined || typeof options.closeMessage === 'function'
        ? (options.closeMessage as Settings['closeMessage'])
        : closeMessageOf(options.closeMessage),
    autoBatchDelay: options.autoBatchDelay ?? 250,
    preserve: options.preserve ?? [],
    onSessionStart: options.onSessionStart,
    onSessionEnd: options.onSessionEnd,
    dialogErrorMessage:
      options.dialogErrorMessage == null ? options.dialogErrorMessage : toMessage(options.dialogErrorMessage),
    texts: new TextCatalog(options.texts),
    sessionKey: options.sessionKey,
    botId: options.botId,
    version: options.version,
    locale: options.locale,
    rootDialog: options.rootDialog ?? '/',
    persistUserData: options.persistUserData ?? true,
    persistConversationData: options.persistConversationData ?? true,
    maxQueuedTurns: options.maxQueuedTurns ?? 1000,
    maxCommitRetries: options.maxCommitRetries ?? 3,
    maxDialogOperations: options.maxDialogOperations ?? 1000,
    maxStateBytes: options.maxStateBytes ?? 1_000_000,
    maxMessageBytes: options.maxMessageBytes ?? 65_536,
    deliveryRetry: { ...defaultRetry, ...options.deliveryRetry },
    sweepInterval: options.sweepInterval ?? 1000,
    leaseTtl: options.leaseTtl ?? 5_000,
    leaseWait: options.leaseWait ?? 10_000,
    sweepConcurrency: options.sweepConcurrency ?? 16,
    shutdown: options.shutdown ?? (store.persistent ? 'persist' : 'end'),
    trace: traceSink(options.trace),
    nudge: options.nudge as NudgeOptions<AnySession> | undefined,
    entities: options.entities,
    migrations: options.migrations,
    recognizerTimeout: options.recognizerTimeout ?? 5000,
    recognizeOrder: options.recognizeOrder ?? 'parallel',
    recognizeStopScore: options.recognizeStopScore ?? 0.9,
  };
}

/** A fixed closeMessage as a reply; a bad one is an INVALID_OPTIONS error naming the option. */
function closeMessageOf(message: MessageLike): OutgoingMessage {
  try {
    return toOutgoing(message, []);
  } catch (error) {
    throw new PalaverError('INVALID_OPTIONS', `Invalid SessionManager options: \`closeMessage\` ${errorText(error)}`, {
      cause: error,
    });
  }
}

/** A reply from what an option holds: text (a template when `args` are given) or a message object. */
function toMessage(message: string | OutgoingMessage, args: readonly unknown[] = []): OutgoingMessage {
  if (typeof message === 'string') return { type: 'message', text: formatText(message, args) };
  const parsed = parseOrThrow(outgoingMessageSchema, message, 'INVALID_MESSAGE', 'message');
  if (parsed.type === undefined) parsed.type = 'message';
  if (typeof parsed.text === 'string' && args.length > 0) parsed.text = formatText(parsed.text, args);
  return parsed;
}

function traceSink(option: AnyOptions['trace']): ((line: string) => void) | undefined {
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
  if (
    option === undefined &&
    typeof process !== 'undefined' &&
    /(^|,)\s*palaver(\b|:|\*)/.test(process.env.DEBUG ?? '')
  ) {
    return (line) => console.error(`palaver ${line}`);
  }
  return undefined;
}
