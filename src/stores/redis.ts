import { createClient } from '../optional-redis';
import { z } from 'zod';
import { PalaverError } from '../errors';
import { parseOrThrow } from '../schema';
import {
  CLAIM,
  COMMIT,
  decode,
  DELETE,
  encode,
  FORGET,
  GET,
  HOLD,
  OPEN,
  QUARANTINE,
  QUARANTINED,
  RELEASE,
  RENEW,
  USER_KEYS,
} from './redis-scripts';
import { SESSION_PREFIX } from './store';
import type {
  CommitOptions,
  CommitResult,
  CommitWrite,
  ExpiryClaim,
  Forgotten,
  OpenOptions,
  OpenResult,
  SessionStore,
  StoredRecord,
} from './store';

/** A Lua script and its SHA1 digest (what `EVALSHA` takes). */
export interface RedisScript {
  readonly source: string;
  readonly sha1: string;
}

/**
 * The one thing {@link RedisStore} asks of a Redis client: run a Lua script. node-redis is adapted for you; an ioredis
 * adapter is a few lines:
 * @example
 * const client: RedisScriptClient = {
 *   run: (script, keys, args) =>
 *     ioredis.evalsha(script.sha1, keys.length, ...keys, ...args).catch((error) =>
 *       /NOSCRIPT/.test(error.message) ? ioredis.eval(script.source, keys.length, ...keys, ...args) : Promise.reject(error)),
 * };
 */
export interface RedisScriptClient {
  /** Runs `script` on `keys` and `args` and resolves to its reply: `EVALSHA`, then `EVAL` when the server answers `NOSCRIPT`. */
  run(script: RedisScript, keys: readonly string[], args: readonly string[]): Promise<unknown>;
  /** Closes the connection; `RedisStore.close()` calls it only for a client the store created. */
  close?(): Promise<void>;
}

/** The part of a node-redis client (v5 or later: `createClient`, `createSentinel`) that the store uses. */
export interface NodeRedisClient {
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  /** node-redis v6 and later: the same client with other per-command options. */
  withCommandOptions?(options: { timeout?: number }): NodeRedisClient;
}

/** Options of {@link RedisStore}: give exactly one of `url`, `redis` and `client`. */
export interface RedisStoreOptions {
  /** A Redis URL (`redis://host:6379/0`, `rediss://…`): the store creates its own node-redis client, fails fast while Redis is down, and closes it in `close()`. */
  url?: string;
  /** A node-redis client you created; the store never closes it. Create it with `disableOfflineQueue: true` so that turns fail fast while Redis is down. */
  redis?: NodeRedisClient;
  /** Any other client, behind {@link RedisScriptClient}. */
  client?: RedisScriptClient;
  /** The first part of every key the store writes (`<prefix>:{<session key>}`, `<prefix>:deadlines`, `<prefix>:claims`). @default 'palaver' */
  prefix?: string;
  /** How long one Redis call may take before it fails with `STORE_UNAVAILABLE`, in ms. @default 1000 */
  commandTimeout?: number;
  /**
   * How long a claim on a due session lasts before another process may claim it again, in ms. The manager renews it
   * every third of that while `onSessionEnd` runs, so it bounds how long a killed process delays the ends it had
   * claimed, not how long a hook may take. @default 10_000
   */
  claimTimeout?: number;
  /** How long a deleted record leaves a tombstone (so versions keep growing and a retried delete is recognized), in ms. @default 60_000 */
  tombstoneTtl?: number;
  /** How long a quarantined record (stored state that could not be read back) is kept, in ms. @default 604_800_000 (7 days) */
  quarantineTtl?: number;
  /**
   * How long Redis keeps a session record past its idle deadline, in ms: every session record with a deadline expires
   * `idle + sessionGrace` after its last write, so sessions that no sweeper ends (every bot process stopped for good)
   * do not fill Redis. Give a sweeper that long to end a due session (run `onSessionEnd`); one that comes later finds
   * it gone. @default 259_200_000 (3 days)
   */
  sessionGrace?: number;
}

const ms = z.number().int().positive();
const optionsSchema = z
  .object({
    url: z.string().min(1).optional(),
    redis: z
      .custom<NodeRedisClient>(
        (v) => typeof v === 'object' && v !== null && typeof (v as NodeRedisClient).evalSha === 'function',
        { message: 'must be a node-redis client' },
      )
      .optional(),
    client: z
      .custom<RedisScriptClient>(
        (v) => typeof v === 'object' && v !== null && typeof (v as RedisScriptClient).run === 'function',
        { message: 'must have a run(script, keys, args) method' },
      )
      .optional(),
    prefix: z.string().min(1).optional(),
    commandTimeout: ms.optional(),
    claimTimeout: ms.optional(),
    tombstoneTtl: ms.optional(),
    quarantineTtl: ms.optional(),
    sessionGrace: ms.optional(),
  })
  .strict()
  .refine((o) => [o.url, o.redis, o.client].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of `url`, `redis` and `client`',
  });

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Adapts a node-redis client: EVALSHA, and EVAL when Redis does not know the script yet (first use, after a restart). */
export function nodeRedisClient(client: NodeRedisClient, close?: () => Promise<void>): RedisScriptClient {
  // node-redis 6 arms a timer of its own for every command (5 s unless configured: an `AbortSignal.timeout`, which
  // costs the client more CPU than the script call itself). The store bounds each call by `commandTimeout` already.
  const redis = client.withCommandOptions?.({ timeout: 0 }) ?? client;
  return {
    async run(script, keys, args) {
      const options = { keys: [...keys], arguments: [...args] };
      try {
        return await redis.evalSha(script.sha1, options);
      } catch (error) {
        if (!messageOf(error).startsWith('NOSCRIPT')) throw error;
        return redis.eval(script.source, options);
      }
    },
    ...(close === undefined ? {} : { close }),
  };
}

/**
 * Sessions in Redis, shared by every bot process that uses the same Redis and prefix (`palaver/redis`).
 *
 * - Each commit is one Lua script: it checks versions and generations, writes the JSON, bumps the versions, and sets
 *   the session record to expire `sessionGrace` after its idle deadline, on Redis's own clock. A sorted set keeps a
 *   lower bound of every deadline (filed when a session starts or its idle time shrinks), which the claim script
 *   checks against the record and files again when it has moved. A retried commit with the same turn id is recognized
 *   and not applied twice.
 * - A unit of work is two scripts: `open` takes the session's lease (`SET NX GET PX`; extended when the same manager
 *   holds it already) and reads the session, userData and conversationData records; `commit` writes and gives the
 *   lease up. The lease serializes turns across processes; the compare-and-set commit stays the fence.
 * - Due sessions are claimed by a script that moves them to a claims set and bumps their generation, so that one
 *   process ends each; a claim not completed within `claimTimeout` is claimed again with the same generation.
 * - While Redis is down every call fails fast with `STORE_UNAVAILABLE`; nothing falls back to memory.
 *
 * Standalone Redis and Sentinel are supported; Cluster is not yet (the user and conversation bags, and the deadline
 * index shared by all sessions, live in other hash slots than a session's own keys).
 * @example
 * const store = await RedisStore.connect({ url: process.env.REDIS_URL });
 * const bot = new SessionManager({ store, deliver });
 */
export class RedisStore implements SessionStore {
  readonly persistent = true;
  private readonly client: RedisScriptClient;
  private readonly owned: boolean;
  private readonly prefix: string;
  private readonly deadlinesKey: string;
  private readonly claimsKey: string;
  private readonly commandTimeout: number;
  private readonly claimTimeout: number;
  private readonly tombstoneTtl: number;
  private readonly quarantineTtl: number;
  private readonly sessionGrace: string;
  /** The lease time of this store's last open: a commit that finds another holder's lease gives it back for that long. */
  private leaseTtl = '5000';
  private readonly connected: Promise<void>;
  /** Until the store's own client first connects, calls wait for it (bounded by `commandTimeout`) instead of failing. */
  private connecting: Promise<void> | undefined;
  private lastConnectionError: unknown;
  private closed = false;

  /** @throws PalaverError `INVALID_OPTIONS` naming the option that is wrong. */
  constructor(options: RedisStoreOptions) {
    const parsed = parseOrThrow(optionsSchema, options, 'INVALID_OPTIONS', 'RedisStore options');
    this.prefix = parsed.prefix ?? 'palaver';
    this.deadlinesKey = `${this.prefix}:deadlines`;
    this.claimsKey = `${this.prefix}:claims`;
    this.commandTimeout = parsed.commandTimeout ?? 1000;
    this.claimTimeout = parsed.claimTimeout ?? 10_000;
    this.tombstoneTtl = parsed.tombstoneTtl ?? 60_000;
    this.quarantineTtl = parsed.quarantineTtl ?? 7 * 24 * 3_600_000;
    this.sessionGrace = String(parsed.sessionGrace ?? 3 * 24 * 3_600_000);
    this.owned = parsed.url !== undefined;
    if (parsed.url !== undefined) {
      const redis = createClient({
        url: parsed.url,
        // Fail fast and closed: a command issued while the connection is down is rejected, never queued and replayed.
        disableOfflineQueue: true,
        socket: {
          connectTimeout: Math.max(this.commandTimeout, 1000),
          reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000) + Math.floor(Math.random() * 100),
        },
      });
      redis.on('error', (error: unknown) => {
        this.lastConnectionError = error;
      });
      this.connected = redis.connect().then(
        () => undefined,
        (error: unknown) => {
          this.lastConnectionError = error;
          throw error;
        },
      );
      this.connecting = this.connected;
      this.connected.then(
        () => (this.connecting = undefined),
        () => undefined,
      );
      this.client = nodeRedisClient(redis as unknown as NodeRedisClient, async () => {
        if (redis.isReady) await redis.close();
        else redis.destroy();
      });
    } else {
      this.client = parsed.client ?? nodeRedisClient(parsed.redis!);
      this.connected = Promise.resolve();
    }
  }

  /**
   * Creates a store and waits until its connection is up.
   * @throws PalaverError `STORE_UNAVAILABLE` when Redis cannot be reached within `timeout` ms (default 10 000).
   */
  static async connect(options: RedisStoreOptions & { timeout?: number }): Promise<RedisStore> {
    const { timeout, ...rest } = options;
    const store = new RedisStore(rest);
    try {
      await store.ready(timeout);
    } catch (error) {
      await store.close();
      throw error;
    }
    return store;
  }

  /**
   * Resolves once the store's own connection is up (at once for a client you passed in).
   * @throws PalaverError `STORE_UNAVAILABLE` when it is not up within `timeout` ms (default 10 000).
   */
  async ready(timeout = 10_000): Promise<void> {
    await this.bounded(this.connected, timeout, 'connecting to Redis');
  }

  async get(key: string): Promise<StoredRecord | undefined> {
    const reply = (await this.call(GET, [this.recordKey(key)], [], `reading "${key}"`)) as (string | null)[];
    const [data, version, generation] = reply;
    if (version == null || data == null) return undefined;
    return { data, version: Number(version), generation: Number(generation ?? 0) };
  }

  /** Opens a unit of work in one script: takes (or extends) the lease of `keys[0]` when asked, then reads every key. */
  async open(keys: readonly string[], options: OpenOptions = {}): Promise<OpenResult> {
    const lease = options.lease;
    const first = keys[0] ?? '';
    if (lease !== undefined) this.leaseTtl = String(lease.ttlMs);
    const reply = (await this.call(
      OPEN,
      [this.leaseKey(first), ...keys.map((key) => this.recordKey(key))],
      lease === undefined ? ['', '0'] : [lease.token, String(lease.ttlMs)],
      `opening "${first}"`,
    )) as unknown[];
    if (reply[0] === 'busy')
      return { records: [], busy: { holder: String(reply[1]), ttlMs: Math.max(0, Number(reply[2])) } };
    const records: (StoredRecord | undefined)[] = [];
    for (let i = 1; i < reply.length; i++) {
      const [data, version, generation] = reply[i] as (string | null)[];
      records.push(
        version == null || data == null
          ? undefined
          : { data, version: Number(version), generation: Number(generation ?? 0) },
      );
    }
    return { records };
  }

  async commit(writes: readonly CommitWrite[], options: CommitOptions = {}): Promise<CommitResult> {
    const release = options.release;
    if (writes.length === 0 && release === undefined) return { ok: true, versions: [] };
    const turnId = options.turnId ?? '';
    const keys = [this.deadlinesKey, this.claimsKey, this.leaseKey(release?.key ?? writes[0]!.key)];
    const args = [turnId, String(this.tombstoneTtl), release?.token ?? '', this.leaseTtl, this.sessionGrace];
    for (const write of writes) {
      keys.push(this.recordKey(write.key), this.recordKey(write.key) + ':tomb');
      args.push(
        encode(write.key),
        write.data === null ? 'D' : write.key.startsWith(SESSION_PREFIX) ? 'S' : 'W',
        write.expected === null ? '' : String(write.expected.version),
        write.expected === null ? '' : String(write.expected.generation),
        write.idleMs == null ? '' : String(Math.round(write.idleMs)),
        write.data ?? '',
      );
    }
    for (const write of writes) {
      const ttl = write.ttlMs;
      args.push(
        ttl === undefined ? '' : ttl === null ? '-1' : String(Math.max(1, Math.round(ttl))),
        write.owner === undefined ? '' : String(keys.push(this.indexKey(write.owner))),
      );
    }
    const started = Date.now();
    const doing = `committing "${writes[0]?.key ?? release?.key}"`;
    let unknown = false;
    for (let attempt = 0; ; attempt++) {
      let reply: unknown[];
      try {
        reply = (await this.call(COMMIT, keys, args, doing)) as unknown[];
      } catch (error) {
        // The commit may have been applied with its reply lost. With a turn id a retry is safe: the script recognizes
        // its own earlier write. Without one, a retry could apply it twice, so the failure goes up.
        unknown ||= mayHaveRun(error);
        if (turnId === '' || attempt >= 2 || Date.now() - started >= this.commandTimeout) {
          throw unknown ? outcomeUnknown(error, doing) : error;
        }
        await sleep(25 * 4 ** attempt);
        continue;
      }
      if (reply[0] === 'ok') return { ok: true, versions: reply.slice(1).map(Number) };
      // An earlier attempt may have been applied (and given the lease up), then overwritten by another process before
      // this retry: its conflict says nothing about whether this commit happened.
      if (unknown) throw outcomeUnknown(new Error(`the retry found the record changed (${String(reply[0])})`), doing);
      return { ok: false, reason: reply[0] === 'ended' ? 'ended' : 'conflict', key: writes[Number(reply[1]) - 1]!.key };
    }
  }

  async delete(key: string): Promise<void> {
    const recordKey = this.recordKey(key);
    await this.call(
      DELETE,
      [recordKey, recordKey + ':tomb', this.deadlinesKey, this.claimsKey],
      [encode(key), String(this.tombstoneTtl)],
      `deleting "${key}"`,
    );
  }

  async claimDue(limit: number, now?: number): Promise<readonly ExpiryClaim[]> {
    const reply = (await this.call(
      CLAIM,
      [this.deadlinesKey, this.claimsKey],
      [this.prefix, String(limit), String(this.claimTimeout), now === undefined ? '' : String(now)],
      'claiming due sessions',
    )) as [string, string | number, string | number, string | number][];
    return reply.map(([member, generation, version, deadline]) => ({
      key: decode(member),
      generation: Number(generation),
      version: Number(version),
      deadline: Number(deadline),
      holdMs: this.claimTimeout,
    }));
  }

  /** Extends the claims on `keys` still pending by `claimTimeout` (the manager calls it while their end hooks run). */
  async holdClaims(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    await this.call(HOLD, [this.claimsKey], [String(this.claimTimeout), ...keys.map(encode)], 'holding expiry claims');
  }

  async renew(key: string, token: string, ttlMs: number): Promise<boolean> {
    return (
      Number(await this.call(RENEW, [this.leaseKey(key)], [token, String(ttlMs)], `renewing the lease of "${key}"`)) ===
      1
    );
  }

  async release(key: string, token: string): Promise<void> {
    await this.call(RELEASE, [this.leaseKey(key)], [token], `releasing the lease of "${key}"`);
  }

  /** Copies the raw value to `<prefix>:{<key>}:corrupt:<version>.<generation>` for `quarantineTtl`. */
  async quarantine(key: string, record: StoredRecord): Promise<void> {
    const recordKey = this.recordKey(key);
    await this.call(
      QUARANTINE,
      [
        recordKey,
        `${recordKey}:corrupt:${record.version}.${record.generation}`,
        this.claimsKey,
        `${recordKey}:quarantined`,
      ],
      [record.data, String(record.version), String(record.generation), String(this.quarantineTtl), encode(key)],
      `quarantining "${key}"`,
    );
  }

  /** The keys in the index of the user key `owner` (`<prefix>:{<owner>}:index`, a set the commit script keeps). */
  async userKeys(owner: string): Promise<readonly string[]> {
    const members = (await this.call(
      USER_KEYS,
      [this.indexKey(owner)],
      [],
      `listing the keys of "${owner}"`,
    )) as string[];
    return members.map(decode);
  }

  /** Deletes `key`, its deadline, claim and quarantined copies, and its place in the index of `owner`. */
  async forget(key: string, owner?: string): Promise<Forgotten> {
    const recordKey = this.recordKey(key);
    const keys = [recordKey, recordKey + ':tomb', this.deadlinesKey, this.claimsKey, `${recordKey}:quarantined`];
    if (owner !== undefined) keys.push(this.indexKey(owner));
    const [existed, copies] = (await this.call(
      FORGET,
      keys,
      [encode(key), String(this.tombstoneTtl), owner === key ? '1' : ''],
      `forgetting "${key}"`,
    )) as [number, number];
    return { record: Number(existed) === 1, quarantined: Number(copies) };
  }

  /** The quarantined copies of `key` still kept. */
  async quarantinedOf(key: string): Promise<readonly StoredRecord[]> {
    const at = this.recordKey(key);
    const doing = `reading the quarantined copies of "${key}"`;
    const reply = (await this.call(QUARANTINED, [at, `${at}:quarantined`], [], doing)) as [string, string][];
    // A copy's name is `<version>.<generation>`.
    return reply.map(([name, data]) => ({
      data,
      version: Number(name.split('.')[0]),
      generation: Number(name.split('.')[1]),
    }));
  }

  /** Closes the connection if the store opened it (a client you passed in stays open). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.owned) await this.client.close?.().catch(() => undefined);
  }

  /** The Redis key of a record; all keys of one session share its hash tag. */
  private recordKey(key: string): string {
    return `${this.prefix}:{${encode(key)}}`;
  }

  /** The index of a user's keys: in the user's own hash tag, so that a cluster keeps it with the user's records. */
  private indexKey(owner: string): string {
    return this.recordKey(owner) + ':index';
  }

  private leaseKey(key: string): string {
    return this.recordKey(key) + ':lease';
  }

  private call(script: RedisScript, keys: string[], args: string[], doing: string): Promise<unknown> {
    if (this.closed) {
      return Promise.reject(
        notSent(new PalaverError('STORE_UNAVAILABLE', `The RedisStore is closed (while ${doing}).`)),
      );
    }
    const connecting = this.connecting;
    if (connecting === undefined) return this.bounded(this.client.run(script, keys, args), this.commandTimeout, doing);
    // Still connecting: a timeout before the connection came up is a command that was never sent.
    let sent = false;
    const work = connecting.then(() => {
      sent = true;
      return this.client.run(script, keys, args);
    });
    return this.bounded(work, this.commandTimeout, doing).catch((error: unknown) =>
      Promise.reject(sent ? error : notSent(error)),
    );
  }

  /** Rejects with STORE_UNAVAILABLE when `work` fails or takes longer than `timeout` ms. */
  private bounded<T>(work: Promise<T>, timeout: number, doing: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(this.unavailable(`Redis did not answer within ${timeout} ms${this.downSince()}`, doing)),
        timeout,
      );
      timer.unref?.();
      work.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(this.unavailable(messageOf(error) + this.downSince(), doing, error));
        },
      );
    });
  }

  private downSince(): string {
    return this.lastConnectionError === undefined
      ? ''
      : ` (last connection error: ${messageOf(this.lastConnectionError)})`;
  }

  private unavailable(what: string, doing: string, cause?: unknown): PalaverError {
    return new PalaverError(
      'STORE_UNAVAILABLE',
      `Redis failed while ${doing}: ${what}.`,
      cause === undefined ? undefined : { cause },
    );
  }
}

/** Errors of calls that never reached Redis (the store closed, or the connection not up yet). */
const NEVER_SENT = new WeakSet<object>();

function notSent<T>(error: T): T {
  if (typeof error === 'object' && error !== null) NEVER_SENT.add(error);
  return error;
}

/** node-redis errors that say a command did not run: Redis answered with an error, or the client never sent it. */
const NOT_RUN = new Set(['ErrorReply', 'SimpleError', 'BlobError', 'ClientOfflineError', 'ClientClosedError']);

/**
 * Whether a failed call may still have run on Redis: it timed out, or the connection dropped after it was sent. Not
 * when Redis answered with an error, or when the client refused to send it (offline, closed).
 */
function mayHaveRun(error: unknown): boolean {
  if (NEVER_SENT.has(error as object)) return false;
  const cause = error instanceof PalaverError ? error.cause : error;
  if (cause === undefined) return true; // our own timeout: the script may be running or done
  const kind = (cause as object | null)?.constructor?.name ?? '';
  if (NOT_RUN.has(kind)) return false;
  return !/^(The client is (offline|closed)|(ERR|NOSCRIPT|LOADING|READONLY|BUSY|MASTERDOWN|NOPERM|WRONGTYPE|OOM)\b)/.test(
    messageOf(cause),
  );
}

function outcomeUnknown(error: unknown, doing: string): PalaverError {
  return new PalaverError(
    'COMMIT_UNKNOWN',
    `Redis took no answer back while ${doing} (${messageOf(error)}): the commit may or may not have been applied. ` +
      'Its replies were not sent; the next turn reads what is stored.',
    { cause: error },
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}
