import { z } from 'zod';
import { describe, PalaverError, type PalaverErrorCode } from './errors';

const id = z.string().min(1, 'must be a non-empty string').max(512, 'must be at most 512 characters');

/** Where a message came from and where replies go. Extra channel fields are kept. */
export const addressSchema = z.looseObject({
  channelId: id,
  user: z.looseObject({ id, name: z.string().optional() }),
  conversation: z.looseObject({ id, isGroup: z.boolean().optional() }),
  bot: z.looseObject({ id, name: z.string().optional() }).optional(),
});

const jsonRecord = z.record(z.string(), z.unknown());

/** A button on a card: open a link, post back a hidden value, or send a visible message. */
export const cardActionSchema = z.object({
  type: z.enum(['openUrl', 'postBack', 'imBack', 'dialogAction']),
  title: z.string().optional(),
  value: z.string(),
  /** A `dialogAction` button's data, handed to its action. */
  data: z.unknown().optional(),
});

/** A file, image or card carried by a message. Cards use `contentType` values from `CardContentType`. */
export const attachmentSchema = z.looseObject({
  contentType: z.string().min(1),
  contentUrl: z.string().optional(),
  content: z.unknown().optional(),
  name: z.string().optional(),
  thumbnailUrl: z.string().optional(),
});

/** An incoming message or event. */
export const messageSchema = z.looseObject({
  address: addressSchema,
  type: z.enum(['message', 'event']).optional(),
  text: z.string().optional(),
  name: z.string().optional(),
  value: z.unknown().optional(),
  attachments: z.array(attachmentSchema).optional(),
  locale: z.string().optional(),
  developer: z.boolean().optional(),
  timestamp: z.number().optional(),
  id: z.string().optional(),
  sourceEvent: jsonRecord.optional(),
});

/** A reply, in a channel-neutral shape that `deliver` maps to its channel. */
export const outgoingMessageSchema = z.looseObject({
  type: z.enum(['message', 'typing', 'event']).optional(),
  text: z.string().optional(),
  textFormat: z.enum(['plain', 'markdown', 'xml']).optional(),
  attachments: z.array(attachmentSchema).optional(),
  attachmentLayout: z.enum(['list', 'carousel']).optional(),
  suggestedActions: z.array(cardActionSchema).optional(),
  sourceEvent: jsonRecord.optional(),
  inputHint: z.enum(['acceptingInput', 'expectingInput', 'ignoringInput']).optional(),
  locale: z.string().optional(),
  name: z.string().optional(),
  value: z.unknown().optional(),
});

const dialogStateSchema = z.object({ name: z.string(), id: z.string(), type: z.string() });

function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A JSON object of stored state, taken as it is: unlike `z.record`, which drops an own `__proto__` key, it keeps every
 * key that JSON.parse made, so that `__proto__`, `constructor` and `prototype` round-trip as plain data.
 */
const stateRecord = z.custom<Record<string, unknown>>(isJsonObject, { message: 'must be a JSON object' });
const expiryRecord = z.custom<Record<string, number>>(
  (value) => isJsonObject(value) && Object.values(value).every((at) => typeof at === 'number'),
  {
    message: 'must map entity names to times (numbers)',
  },
);

/** Sets `target[key]` as an own data property, also when `key` is `__proto__` (plain assignment would change the prototype). */
export function setOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, writable: true, enumerable: true, configurable: true });
  else target[key] = value;
}

/** One dialog on the stack: its id, its `dialogData`, and the waterfall step it is on. */
export const dialogInstanceSchema = z.object({
  id: z.string().min(1),
  data: stateRecord,
  step: z.number().int().nonnegative().optional(),
  /** Begun by `manager.beginDialog(..., { interrupt: true })`: when it ends, the dialog under it re-prompts instead of resuming. */
  interrupt: z.literal(true).optional(),
});

/** The stored shape of one session key. Plain JSON; version 1. */
export const sessionStateSchema = z.object({
  v: z.literal(1),
  /** The current session's id; absent while the key is dormant (ended, keeping entities). */
  id: z.string().min(1).optional(),
  startedAt: z.number().optional(),
  lastActiveAt: z.number(),
  turnCount: z.number().int().nonnegative(),
  interactive: z.boolean(),
  developer: z.boolean(),
  locale: z.string().optional(),
  address: addressSchema,
  timeout: z.number().positive().optional(),
  entities: stateRecord,
  entityExpiry: expiryRecord.optional(),
  stack: z.array(dialogInstanceSchema),
  privateConversationData: stateRecord,
  previousDialogState: dialogStateSchema.optional(),
  /** Why the last session at this key ended; set while the key is dormant. */
  ended: z.enum(['timeout', 'endSession', 'newSession', 'refresh', 'evicted', 'shutdown']).optional(),
  /** Messages of this session: `[from the user, from the bot]` (for the `sessionEnd` summary); absent while both are 0. */
  msgs: z.tuple([z.number().int().nonnegative(), z.number().int().nonnegative()]).optional(),
  /** Idle nudges sent since the user was last active (`at` is that `lastActiveAt`: a newer one means the count is stale). */
  nudges: z.object({ at: z.number(), count: z.number().int().nonnegative() }).optional(),
  /** The version of the entity shapes (the highest key of the `migrations` option) the entities were written in. */
  entitiesVersion: z.number().int().nonnegative().optional(),
  /** The intent the session's current task began with (a trigger matched by intent began it); for `continueIf: 'sameIntent'`. */
  taskIntent: z.string().min(1).optional(),
  /** The language a recognizer detected in this session (`session.info.preferredLanguage`). */
  preferredLanguage: z.string().min(1).optional(),
});

/** A data bag stored on its own key (userData, conversationData). */
export const bagSchema = jsonRecord;

export type SessionStateRecord = z.infer<typeof sessionStateSchema>;

/** Parses `value` or throws a PalaverError with `code` that names the failing field. */
export function parseOrThrow<T>(schema: z.ZodType<T>, value: unknown, code: PalaverErrorCode, what: string): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  throw new PalaverError(code, `Invalid ${what}: ${formatIssues(result.error, { input: value })}`, {
    cause: result.error,
  });
}

/** One line per issue: `address.user.id` must be a non-empty string (got "" (string)). Pass what was parsed to say what came in. */
export function formatIssues(error: z.ZodError, parsed?: { input: unknown }): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => {
      const path = issue.path.length ? issue.path.map(String).join('.') : '(root)';
      const got =
        parsed === undefined || issue.code === 'unrecognized_keys'
          ? ''
          : ` (got ${describe(valueAt(parsed.input, issue.path))})`;
      return `\`${path}\` ${issue.message}${got}`;
    })
    .join('; ');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}
