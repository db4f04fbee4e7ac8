import { createHash, randomBytes } from 'node:crypto';
import { createClient } from '../optional-redis';
import { z } from 'zod';
import { PalaverError } from '../errors';
import { parseOrThrow } from '../schema';
import type { CommitOptions, CommitResult, CommitWrite, ExpiryClaim, SessionStore, StoredRecord } from './store';

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
  /** How long a process has to end a session it claimed (run `onSessionEnd` and save) before another process claims it again, in ms. @default 60_000 */
  claimTimeout?: number;
  /** How long a deleted record leaves a tombstone (so versions keep growing and a retried delete is recognized), in ms. @default 60_000 */
  tombstoneTtl?: number;
  /** How long a quarantined record (stored state that could not be read back) is kept, in ms. @default 604_800_000 (7 days) */
  quarantineTtl?: number;
}

const ms = z.number().int().positive();
const optionsSchema = z
  .object({
    url: z.string().min(1).optional(),
    redis: z.custom<NodeRedisClient>((v) => typeof v === 'object' && v !== null && typeof (v as NodeRedisClient).evalSha === 'function', { message: 'must be a node-redis client' }).optional(),
    client: z.custom<RedisScriptClient>((v) => typeof v === 'object' && v !== null && typeof (v as RedisScriptClient).run === 'function', { message: 'must have a run(script, keys, args) method' }).optional(),
    prefix: z.string().min(1).optional(),
    commandTimeout: ms.optional(),
    claimTimeout: ms.optional(),
    tombstoneTtl: ms.optional(),
    quarantineTtl: ms.optional(),
  })
  .strict()
  .refine((o) => [o.url, o.redis, o.client].filter((v) => v !== undefined).length === 1, { message: 'give exactly one of `url`, `redis` and `client`' });

function script(source: string): RedisScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

// The store's clock is Redis's: the bot machines' clocks never decide when a session is due.
const NOW = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/** KEYS: record. */
const GET = script(`return redis.call('HMGET', KEYS[1], 'd', 'v', 'g')`);

/**
 * KEYS: deadlines, claims, then per write its record and its tombstone.
 * ARGV: turn id ('' for none), tombstone ttl, then per write: member, op (S set, D delete), expected version ('' when
 * absent), expected generation, idle ms ('' for no deadline), data.
 * Reply: {'ok', version...} | {'conflict' | 'ended', write index}.
 */
const COMMIT = script(`${NOW}
local turn, tombTtl = ARGV[1], ARGV[2]
local n = (#KEYS - 2) / 2
local function arg(i, j) return ARGV[2 + (i - 1) * 6 + j] end
local function tombVersion(tk)
  local tomb = redis.call('GET', tk)
  if not tomb then return nil, nil end
  local at = string.find(tomb, ':', 1, true)
  return tonumber(string.sub(tomb, 1, at - 1)), string.sub(tomb, at + 1)
end

-- A retry of a commit that was applied (its reply lost): answer as the first time, apply nothing.
if turn ~= '' then
  local versions = {'ok'}
  for i = 1, n do
    local hk, tk = KEYS[1 + 2 * i], KEYS[2 + 2 * i]
    if arg(i, 2) == 'D' then
      local _, by = tombVersion(tk)
      if by ~= turn or redis.call('EXISTS', hk) == 1 then versions = nil break end
      versions[i + 1] = 0
    else
      local rec = redis.call('HMGET', hk, 'v', 't')
      if rec[2] ~= turn or (arg(i, 3) ~= '' and tonumber(rec[1]) ~= tonumber(arg(i, 3)) + 1) then versions = nil break end
      versions[i + 1] = tonumber(rec[1])
    end
  end
  if versions then return versions end
end

for i = 1, n do
  local rec = redis.call('HMGET', KEYS[1 + 2 * i], 'v', 'g')
  if arg(i, 3) == '' then
    if rec[1] then return {'conflict', i} end
  else
    if not rec[1] then return {'conflict', i} end
    if rec[2] ~= arg(i, 4) then return {'ended', i} end
    if rec[1] ~= arg(i, 3) then return {'conflict', i} end
  end
end

local now = now_ms()
local out = {'ok'}
for i = 1, n do
  local hk, tk, member = KEYS[1 + 2 * i], KEYS[2 + 2 * i], arg(i, 1)
  if arg(i, 2) == 'D' then
    local v = redis.call('HGET', hk, 'v')
    if v then
      redis.call('DEL', hk)
      redis.call('SET', tk, v .. ':' .. turn, 'PX', tombTtl)
    end
    redis.call('ZREM', KEYS[1], member)
    out[i + 1] = 0
  else
    local v
    if arg(i, 3) == '' then
      -- Versions keep growing across a delete, so a turn that read the old record can never match the new one.
      v = (tombVersion(tk) or 0) + 1
      redis.call('DEL', tk)
      redis.call('HSET', hk, 'v', v, 'g', 0, 'd', arg(i, 6), 't', turn)
    else
      v = redis.call('HINCRBY', hk, 'v', 1)
      redis.call('HSET', hk, 'd', arg(i, 6), 't', turn)
      redis.call('HDEL', hk, 'cv', 'cd')
    end
    if arg(i, 5) ~= '' then
      redis.call('ZADD', KEYS[1], now + tonumber(arg(i, 5)), member)
    else
      redis.call('ZREM', KEYS[1], member)
    end
    out[i + 1] = v
  end
  -- Any write ends a pending expiry claim: the claimer finds the version moved and leaves the session alone.
  redis.call('ZREM', KEYS[2], member)
end
return out
`);

/**
 * KEYS: deadlines, claims. ARGV: prefix, limit, claim timeout, now ('' for Redis's clock).
 * Reply: {member, generation, version, deadline}... Claims whose holder did not finish in time come first, with the
 * generation they had; then due deadlines, each bumping its record's generation.
 */
const CLAIM = script(`${NOW}
local prefix, limit, hold = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local now = ARGV[4] ~= '' and tonumber(ARGV[4]) or now_ms()
local claimed = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)) do
  local rec = redis.call('HMGET', prefix .. ':{' .. m .. '}', 'g', 'cv', 'cd')
  if rec[1] and rec[2] then
    redis.call('ZADD', KEYS[2], now + hold, m)
    claimed[#claimed + 1] = {m, rec[1], rec[2], rec[3] or '0'}
  else
    redis.call('ZREM', KEYS[2], m)
  end
end
if #claimed < limit then
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit - #claimed)
  for i = 1, #due, 2 do
    local m, deadline = due[i], due[i + 1]
    local hk = prefix .. ':{' .. m .. '}'
    redis.call('ZREM', KEYS[1], m)
    local v = redis.call('HGET', hk, 'v')
    if v then
      local g = redis.call('HINCRBY', hk, 'g', 1)
      redis.call('HSET', hk, 'cv', v, 'cd', deadline)
      redis.call('ZADD', KEYS[2], now + hold, m)
      claimed[#claimed + 1] = {m, tostring(g), v, deadline}
    end
  end
end
return claimed
`);

/** KEYS: record, tombstone, deadlines, claims. ARGV: member, tombstone ttl. */
const DELETE = script(`
local v = redis.call('HGET', KEYS[1], 'v')
if v then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], v .. ':', 'PX', ARGV[2])
end
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('ZREM', KEYS[4], ARGV[1])
return 1
`);

/** KEYS: lease. ARGV: token, ttl. */
const ACQUIRE = script(`return redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) and 1 or 0`);
/** KEYS: lease. ARGV: token, ttl. Compare-and-pexpire. */
const RENEW = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);
/** KEYS: lease. ARGV: token. Compare-and-delete. */
const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * KEYS: record, quarantine, claims. ARGV: raw data, version, generation, ttl, member.
 * Keeps the raw value aside. If the record is still the one that failed and a claim on it is pending, the claim is
 * dropped: the sweeper could not end it anyway and would claim it again forever (the next turn overwrites the record).
 */
const QUARANTINE = script(`
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
local rec = redis.call('HMGET', KEYS[1], 'v', 'g')
if rec[1] == ARGV[2] and rec[2] == ARGV[3] then redis.call('ZREM', KEYS[3], ARGV[5]) end
return 1
`);

/** Session keys may hold anything; inside a hash tag `{` and `}` would cut the tag short, so they are escaped. */
function encode(key: string): string {
  return key.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
}

function decode(member: string): string {
  return member.replace(/%(25|7B|7D)/g, (_, hex: string) => (hex === '25' ? '%' : hex === '7B' ? '{' : '}'));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Adapts a node-redis client: EVALSHA, and EVAL when Redis does not know the script yet (first use, after a restart). */
export function nodeRedisClient(redis: NodeRedisClient, close?: () => Promise<void>): RedisScriptClient {
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
 * - Each commit is one Lua script: it checks versions and generations, writes the JSON, bumps the versions, and files
 *   the session's deadline in a sorted set on Redis's own clock (`TIME`). A retried commit with the same turn id is
 *   recognized and not applied twice.
 * - Turns for one session are serialized across processes by a lease (`SET NX PX`, compare-and-pexpire,
 *   compare-and-delete); the compare-and-set commit stays the fence.
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
    this.claimTimeout = parsed.claimTimeout ?? 60_000;
    this.tombstoneTtl = parsed.tombstoneTtl ?? 60_000;
    this.quarantineTtl = parsed.quarantineTtl ?? 7 * 24 * 3_600_000;
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

  async commit(writes: readonly CommitWrite[], options: CommitOptions = {}): Promise<CommitResult> {
    if (writes.length === 0) return { ok: true, versions: [] };
    const turnId = options.turnId ?? '';
    const keys = [this.deadlinesKey, this.claimsKey];
    const args = [turnId, String(this.tombstoneTtl)];
    for (const write of writes) {
      keys.push(this.recordKey(write.key), this.recordKey(write.key) + ':tomb');
      args.push(
        encode(write.key),
        write.data === null ? 'D' : 'S',
        write.expected === null ? '' : String(write.expected.version),
        write.expected === null ? '' : String(write.expected.generation),
        write.idleMs == null ? '' : String(Math.round(write.idleMs)),
        write.data ?? '',
      );
    }
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      let reply: unknown[];
      try {
        reply = (await this.call(COMMIT, keys, args, `committing "${writes[0]!.key}"`)) as unknown[];
      } catch (error) {
        // The commit may have been applied with its reply lost. With a turn id a retry is safe: the script recognizes
        // its own earlier write. Without one, a retry could apply it twice, so the failure goes up.
        if (turnId === '' || attempt >= 2 || Date.now() - started >= this.commandTimeout) throw error;
        await sleep(25 * 4 ** attempt);
        continue;
      }
      if (reply[0] === 'ok') return { ok: true, versions: reply.slice(1).map(Number) };
      return { ok: false, reason: reply[0] === 'ended' ? 'ended' : 'conflict', key: writes[Number(reply[1]) - 1]!.key };
    }
  }

  async delete(key: string): Promise<void> {
    const recordKey = this.recordKey(key);
    await this.call(DELETE, [recordKey, recordKey + ':tomb', this.deadlinesKey, this.claimsKey], [encode(key), String(this.tombstoneTtl)], `deleting "${key}"`);
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
    }));
  }

  async acquire(key: string, ttlMs: number): Promise<string | undefined> {
    const token = randomBytes(12).toString('hex');
    const reply = await this.call(ACQUIRE, [this.leaseKey(key)], [token, String(ttlMs)], `taking the lease of "${key}"`);
    return Number(reply) === 1 ? token : undefined;
  }

  async renew(key: string, token: string, ttlMs: number): Promise<boolean> {
    return Number(await this.call(RENEW, [this.leaseKey(key)], [token, String(ttlMs)], `renewing the lease of "${key}"`)) === 1;
  }

  async release(key: string, token: string): Promise<void> {
    await this.call(RELEASE, [this.leaseKey(key)], [token], `releasing the lease of "${key}"`);
  }

  /** Copies the raw value to `<prefix>:{<key>}:corrupt:<version>.<generation>` for `quarantineTtl`. */
  async quarantine(key: string, record: StoredRecord): Promise<void> {
    const recordKey = this.recordKey(key);
    await this.call(
      QUARANTINE,
      [recordKey, `${recordKey}:corrupt:${record.version}.${record.generation}`, this.claimsKey],
      [record.data, String(record.version), String(record.generation), String(this.quarantineTtl), encode(key)],
      `quarantining "${key}"`,
    );
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

  private leaseKey(key: string): string {
    return this.recordKey(key) + ':lease';
  }

  private call(script: RedisScript, keys: string[], args: string[], doing: string): Promise<unknown> {
    if (this.closed) return Promise.reject(new PalaverError('STORE_UNAVAILABLE', `The RedisStore is closed (while ${doing}).`));
    const connecting = this.connecting;
    if (connecting === undefined) return this.bounded(this.client.run(script, keys, args), this.commandTimeout, doing);
    return this.bounded(
      connecting.then(() => this.client.run(script, keys, args)),
      this.commandTimeout,
      doing,
    );
  }

  /** Rejects with STORE_UNAVAILABLE when `work` fails or takes longer than `timeout` ms. */
  private bounded<T>(work: Promise<T>, timeout: number, doing: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.unavailable(`Redis did not answer within ${timeout} ms${this.downSince()}`, doing)), timeout);
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
    return this.lastConnectionError === undefined ? '' : ` (last connection error: ${messageOf(this.lastConnectionError)})`;
  }

  private unavailable(what: string, doing: string, cause?: unknown): PalaverError {
    return new PalaverError('STORE_UNAVAILABLE', `Redis failed while ${doing}: ${what}.`, cause === undefined ? undefined : { cause });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}
