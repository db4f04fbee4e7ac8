// The data lifecycle of a commit: how long each record it writes is kept (the `retention` option, as `ttlMs`), and
// which user's index lists it (`owner`, for forgetUser and exportUser). An ordinary turn adds nothing to its writes:
// expiries go out when a key is created, when a session goes dormant, and when a refresh is due (at most once per
// `refreshEvery` and per session), and owners when a key is created or deleted.
import { z } from 'zod';
import { joinKey } from '../keys';
import type { SessionStateRecord } from '../schema';
import { USER_PREFIX, type CommitWrite, type ExpectedRecord } from '../stores/store';
import type { Address } from '../types';

/** A length of time: milliseconds, or a number with a unit: `'500ms'`, `'45s'`, `'30m'`, `'12h'`, `'365d'`. */
export type Duration = number | `${number}${'ms' | 's' | 'm' | 'h' | 'd'}`;

/** How long data is kept after the user's last message (see `SessionManagerOptions.retention`). */
export interface RetentionOptions {
  /** `userData`: the user's record, shared by all their conversations. */
  userData?: Duration;
  /** `conversationData`: a conversation's record (a group's is kept as long as any member writes). */
  conversationData?: Duration;
  /** The entities a session kept when it ended (a dormant session record), and a live session record. */
  kept?: Duration;
}

/** The `retention` option resolved: lengths in ms. */
export interface DataRetention {
  readonly userData: number | undefined;
  readonly conversationData: number | undefined;
  readonly kept: number | undefined;
  /**
   * A turn that only reads a record refreshes its expiry at most this often (one extra write then, none on the other
   * turns). Expiries are set this much past the retention, so a record is never deleted before its retention has passed
   * since the user's last message, and at most this much after.
   */
  readonly refreshEvery: number;
}

const DAY = 86_400_000;
const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: DAY };
const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/;

/** Milliseconds of a duration, or `undefined` when it is not one. */
export function durationMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const match = DURATION.exec(value);
  if (match === null) return undefined;
  const ms = Math.round(Number(match[1]) * UNITS[match[2]!]!);
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}

const duration = z.custom<Duration>((v) => durationMs(v) !== undefined, {
  message: "must be a positive number of ms or a duration such as '90d', '12h', '30m', '45s' or '500ms'",
});

/** The shape of the `retention` option. */
export const retentionOptionSchema = z
  .object({ userData: duration.optional(), conversationData: duration.optional(), kept: duration.optional() })
  .strict();

/** The `retention` option in ms; `undefined` when it sets nothing (then no commit carries an expiry). */
export function resolveRetention(option: RetentionOptions | undefined): DataRetention | undefined {
  if (option === undefined) return undefined;
  const userData = durationMs(option.userData);
  const conversationData = durationMs(option.conversationData);
  const kept = durationMs(option.kept);
  const set = [userData, conversationData, kept].filter((ms): ms is number => ms !== undefined);
  if (set.length === 0) return undefined;
  // A tenth of the shortest retention, at most a day: a record read daily costs one refresh a day.
  return {
    userData,
    conversationData,
    kept,
    refreshEvery: Math.max(1, Math.min(DAY, Math.floor(Math.min(...set) / 10))),
  };
}

/**
 * Whether this commit refreshes the expiries of the records a unit of work read; when it does, the session state notes
 * it (before it is serialized), so that the next turns do not.
 */
export function refreshDue(retention: DataRetention | undefined, state: SessionStateRecord, now: number): boolean {
  if (retention === undefined || state.id === undefined) return false;
  const last = state.retained;
  if (last !== undefined && now - last < retention.refreshEvery && last <= now) return false;
  state.retained = now;
  return true;
}

/** What {@link lifecycleWrites} needs of a commit. */
export interface LifecycleContext {
  readonly key: string;
  readonly state: SessionStateRecord;
  readonly refresh: boolean;
  readonly now: number;
  readonly userKey: string | undefined;
  readonly conversationKey: string | undefined;
  readonly user: { readonly expected: ExpectedRecord; readonly data: string | undefined };
  readonly conversation: { readonly expected: ExpectedRecord; readonly data: string | undefined };
}

/**
 * Adds expiries and owners to the writes of a commit, and, when a refresh is due, writes the data records the unit of
 * work only read back as they are, with their expiry renewed. Returns `writes` (changed in place).
 */
export function lifecycleWrites(
  retention: DataRetention | undefined,
  writes: CommitWrite[],
  context: LifecycleContext,
): CommitWrite[] {
  const { key, state, refresh, userKey, conversationKey } = context;
  let owner: string | undefined;
  const ownerKey = (): string => (owner ??= userKey ?? userKeyOf(state.address));
  let wroteUser = false;
  let wroteConversation = false;
  for (let i = 0; i < writes.length; i++) {
    const write = writes[i]!;
    const created = write.expected === null;
    let ttlMs: number | undefined;
    let writeOwner: string | undefined;
    if (write.key === key) {
      ttlMs = sessionTtl(retention, state, created || refresh, context.now);
      // With its expiry the index's is renewed too: the index outlives every key it lists.
      if (created || write.data === null || ttlMs !== undefined) writeOwner = ownerKey();
    } else if (write.key === userKey) {
      wroteUser = true;
      ttlMs = created || refresh ? grown(retention?.userData, retention) : undefined;
    } else if (write.key === conversationKey) {
      wroteConversation = true;
      // A group's conversationData is not the user's alone: no user's index lists it (see docs/operations/privacy.md).
      ttlMs = created || refresh ? grown(retention?.conversationData, retention) : undefined;
      if ((created || ttlMs !== undefined) && state.address.conversation.isGroup !== true) writeOwner = ownerKey();
    }
    if (ttlMs !== undefined || writeOwner !== undefined) {
      writes[i] = {
        ...write,
        ...(ttlMs === undefined ? {} : { ttlMs }),
        ...(writeOwner === undefined ? {} : { owner: writeOwner }),
      };
    }
  }
  if (!refresh || retention === undefined) return writes;
  const { user, conversation } = context;
  if (!wroteUser && userKey !== undefined && retention.userData !== undefined)
    touch(writes, userKey, user.expected, user.data, grown(retention.userData, retention)!);
  if (!wroteConversation && conversationKey !== undefined && retention.conversationData !== undefined) {
    touch(
      writes,
      conversationKey,
      conversation.expected,
      conversation.data,
      grown(retention.conversationData, retention)!,
      state.address.conversation.isGroup === true ? undefined : ownerKey(),
    );
  }
  return writes;
}

/** The user key of an address: what its user's index is named after. */
export function userKeyOf(address: Pick<Address, 'channelId' | 'user'>): string {
  return USER_PREFIX + joinKey(address.channelId, address.user.id);
}

/** A record read and not changed: written back as it is, with its expiry renewed. */
function touch(
  writes: CommitWrite[],
  key: string,
  expected: ExpectedRecord,
  data: string | undefined,
  ttlMs: number,
  owner?: string,
): void {
  if (expected === null || data === undefined) return;
  writes.push({ key, expected, data, ttlMs, ...(owner === undefined ? {} : { owner }) });
}

/** The expiry of a session record: a live one's when due, a dormant one's counted from the user's last message. */
function sessionTtl(
  retention: DataRetention | undefined,
  state: SessionStateRecord,
  due: boolean,
  now: number,
): number | undefined {
  const kept = retention?.kept;
  if (kept === undefined) return undefined;
  if (state.id !== undefined) return due ? kept + retention!.refreshEvery : undefined;
  return Math.max(1, state.lastActiveAt + kept + retention!.refreshEvery - now);
}

function grown(ms: number | undefined, retention: DataRetention | undefined): number | undefined {
  return ms === undefined ? undefined : ms + retention!.refreshEvery;
}
