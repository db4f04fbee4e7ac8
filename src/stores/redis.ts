import { createClient, createCluster } from '../optional-redis';
import { z } from 'zod';
import { PalaverError } from '../errors';
import { parseOrThrow } from '../schema';
import { CLAIM, COMMIT, decode, DELETE, encode, GET, HOLD, OPEN, QUARANTINE, RELEASE, RENEW } from './redis-scripts';
import { shardedLayout, singleLayout, type KeyLayout } from './redis-layout';
import { byShard, claimShards, splitCommit, splitOpen } from './redis-shards';
import { busy, CLUSTER_MOVING, commitWithRetries, messageOf, notSent, sleep, toRecord } from './redis-replies';
import { SESSION_PREFIX } from './store';
import type {
  CommitOptions,
  CommitResult,
  CommitWrite,
  ExpiryClaim,
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
  /** True for Redis Cluster: the keys of one call must share a hash slot, so the store uses its sharded key layout. */
  readonly cluster?: boolean;
}

/**
 * The part of a node-redis client (v5 or later: `createClient`, `createSentinel`, `createCluster`) that the store uses.
 * A cluster client is recognised by its `getSlotRandomNode` method.
 */
export interface NodeRedisClient {
  evalSha(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  /** node-redis v6 and later: the same client with other per-command options. */
  withCommandOptions?(options: { timeout?: number }): NodeRedisClient;
}

/** Options of {@link RedisStore}: give exactly one of `url`, `cluster`, `redis` and `client`. */
export interface RedisStoreOptions {
  /** A Redis URL (`redis://host:6379/0`, `rediss://…`): the store creates its own node-redis client, fails fast while Redis is down, and closes it in `close()`. */
  url?: string;
  /**
   * Redis Cluster: URLs of some of its nodes (`['redis://10.0.0.1:6379', …]`). The store creates its own node-redis
   * cluster client (failing fast while a node is down, refreshing the topology soon after a node goes away), uses the
   * sharded key layout, and closes the client in `close()`.
   */
  cluster?: readonly string[];
  /**
   * A node-redis client you created (`createClient`, `createSentinel` or `createCluster`); the store never closes it.
   * Create it with `disableOfflineQueue: true` (for a cluster: in `defaults`) so that turns fail fast while Redis is
   * down. A cluster client makes the store use the sharded key layout.
   */
  redis?: NodeRedisClient;
  /** Any other client, behind {@link RedisScriptClient}. */
  client?: RedisScriptClient;
  /**
   * The first part of every key the store writes (single layout: `<prefix>:{<session key>}`, `<prefix>:deadlines`,
   * `<prefix>:claims`; sharded layout: `<prefix>:{<shard tag>}:<session key>`, `<prefix>:{<shard tag>}deadlines`, …).
   * @default 'palaver'
   */
  prefix?: string;
  /**
   * The number of virtual shards of the sharded key layout (Redis Cluster): a session, its user's userData, and its
   * deadline live in one shard, so a commit is one script on one node. Every process on one prefix must use the same
   * number. Set it on a single node to use the sharded layout there too (before moving to a cluster).
   * @default 64 on a cluster; the single layout elsewhere
   */
  shards?: number;
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
    cluster: z.array(z.string().min(1)).min(1).readonly().optional(),
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
    shards: z.number().int().min(1).max(16384).optional(),
    commandTimeout: ms.optional(),
    claimTimeout: ms.optional(),
    tombstoneTtl: ms.optional(),
    quarantineTtl: ms.optional(),
    sessionGrace: ms.optional(),
  })
  .strict()
  .refine((o) => [o.url, o.cluster, o.redis, o.client].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of `url`, `cluster`, `redis` and `client`',
  })
  .refine((o) => !/[{}]/.test(o.prefix ?? '') || (o.cluster === undefined && o.shards === undefined), {
    message: '`prefix` must not contain `{` or `}` with the sharded layout (they would change the hash tag)',
  });

const keyOf = (write: CommitWrite) => write.key;

/** Adapts a node-redis client: EVALSHA, and EVAL when Redis does not know the script yet (first use, after a restart). */
export function nodeRedisClient(client: NodeRedisClient, close?: () => Promise<void>): RedisScriptClient {
  // node-redis 6 arms a timer of its own for every command (5 s unless configured: an `AbortSignal.timeout`, which
  // costs the client more CPU than the script call itself). The store bounds each call by `commandTimeout` already.
  const redis = client.withCommandOptions?.({ timeout: 0 }) ?? client;
  return {
    cluster: typeof (client as { getSlotRandomNode?: unknown }).getSlotRandomNode === 'function',
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
 * Standalone Redis, Sentinel and Redis Cluster are supported. On a cluster the keys are sharded: a session, its user's
 * userData and its deadline share one hash slot; a turn that changes conversationData (kept in the conversation's own
 * shard) commits it first, then the session, and undoes it if the session's commit fails (see docs/operations/redis.md).
 * @example
 * const store = await RedisStore.connect({ url: process.env.REDIS_URL });
 * const bot = new SessionManager({ store, deliver });
 */
export class RedisStore implements SessionStore {
  readonly persistent = true;
  private readonly client: RedisScriptClient;
  private readonly owned: boolean;
  /** Where the records, deadlines and claims live in Redis. */
  readonly layout: KeyLayout;
  /** Redis Cluster: a call whose keys span shards is split into one call per shard. */
  private readonly split: boolean;
  /** Where the next sweep starts among the shards (sweeps rotate, so that no shard waits behind the others). */
  private sweepStart: number;
  private readonly commandTimeout: number;
  private readonly claimTimeout: number;
  readonly tombstoneTtl: number;
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
    const prefix = parsed.prefix ?? 'palaver';
    this.commandTimeout = parsed.commandTimeout ?? 1000;
    this.claimTimeout = parsed.claimTimeout ?? 10_000;
    this.tombstoneTtl = parsed.tombstoneTtl ?? 60_000;
    this.quarantineTtl = parsed.quarantineTtl ?? 7 * 24 * 3_600_000;
    this.sessionGrace = String(parsed.sessionGrace ?? 3 * 24 * 3_600_000);
    this.owned = parsed.url !== undefined || parsed.cluster !== undefined;
    if (parsed.url !== undefined || parsed.cluster !== undefined) {
      const node = {
        // Fail fast and closed: a command issued while the connection is down is rejected, never queued and replayed.
        disableOfflineQueue: true,
        socket: {
          connectTimeout: Math.max(this.commandTimeout, 1000),
          reconnectStrategy: (retries: number) => Math.min(50 * 2 ** retries, 1000) + Math.floor(Math.random() * 100),
        },
      };
      const redis =
        parsed.cluster === undefined
          ? createClient({ url: parsed.url, ...node })
          : createCluster({
              rootNodes: parsed.cluster.map((url) => ({ url })),
              defaults: node,
              // A node that stops answering may have failed over: ask the others who serves its slots now.
              topologyRefreshOnReconnectionAttemptStrategy: 250,
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
    this.split = this.client.cluster === true;
    this.layout =
      this.split || parsed.shards !== undefined ? shardedLayout(prefix, parsed.shards ?? 64) : singleLayout(prefix);
    this.sweepStart = Math.floor(Math.random() * this.layout.shards);
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
    return toRecord(reply);
  }

  /**
   * Opens a unit of work in one script: takes (or extends) the lease of `keys[0]` when asked, then reads every key. On
   * a cluster, keys in other shards than the first (a conversationData key) are read at the same time by a second one.
   */
  async open(keys: readonly string[], options: OpenOptions = {}): Promise<OpenResult> {
    const lease = options.lease;
    const first = keys[0] ?? '';
    if (lease !== undefined) this.leaseTtl = String(lease.ttlMs);
    const doing = `opening "${first}"`;
    const leaseArgs = lease === undefined ? ['', '0'] : [lease.token, String(lease.ttlMs)];
    const home = this.layout.shardOf(first);
    const groups = this.split ? byShard(this.layout, keys, home) : undefined;
    if (groups === undefined || groups.size === 1) {
      const reply = (await this.call(
        OPEN,
        [this.leaseKey(first), ...keys.map((k) => this.recordKey(k))],
        leaseArgs,
        doing,
      )) as unknown[];
      if (reply[0] === 'busy') return busy(reply);
      const records: (StoredRecord | undefined)[] = [];
      for (let i = 1; i < reply.length; i++) records.push(toRecord(reply[i] as (string | null)[]));
      return { records };
    }
    return splitOpen(this, keys, groups, home, this.leaseKey(first), leaseArgs, doing);
  }

  async commit(writes: readonly CommitWrite[], options: CommitOptions = {}): Promise<CommitResult> {
    const release = options.release;
    if (writes.length === 0 && release === undefined) return { ok: true, versions: [] };
    const turnId = options.turnId ?? '';
    const doing = `committing "${writes[0]?.key ?? release?.key}"`;
    const home = this.layout.shardOf(release?.key ?? writes[0]!.key);
    const groups = this.split ? byShard(this.layout, writes.map(keyOf), home) : undefined;
    if (groups !== undefined && groups.size > 1) {
      const commitHome = (indexes: readonly number[]) => this.commitShard(writes, indexes, home, options, doing);
      return splitCommit(this, writes, groups, home, turnId, doing, commitHome);
    }
    const reply = await this.commitShard(writes, undefined, home, options, doing);
    if (reply[0] === 'ok') return { ok: true, versions: reply.slice(1).map(Number) };
    return { ok: false, reason: reply[0] === 'ended' ? 'ended' : 'conflict', key: writes[Number(reply[1]) - 1]!.key };
  }

  /** Commits `writes` (those at `indexes`, or all) in one COMMIT on `shard`, giving the lease up when asked. */
  private commitShard(
    writes: readonly CommitWrite[],
    indexes: readonly number[] | undefined,
    shard: number,
    options: CommitOptions,
    doing: string,
  ): Promise<unknown[]> {
    const release = options.release;
    const turnId = options.turnId ?? '';
    const keys = [
      this.layout.deadlines(shard),
      this.layout.claims(shard),
      this.leaseKey(release?.key ?? writes[0]!.key),
    ];
    const args = [turnId, String(this.tombstoneTtl), release?.token ?? '', this.leaseTtl, this.sessionGrace];
    for (let j = 0; j < (indexes?.length ?? writes.length); j++) {
      const write = writes[indexes === undefined ? j : indexes[j]!]!;
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
    return this.runCommit(COMMIT, keys, args, turnId, doing);
  }

  /** Runs a commit script, sent again within `commandTimeout` after a failure without an answer. @internal */
  runCommit(script: RedisScript, keys: string[], args: string[], turnId: string, doing: string): Promise<unknown[]> {
    return commitWithRetries((k, a) => this.call(script, k, a, doing), keys, args, turnId, doing, this.commandTimeout);
  }

  async delete(key: string): Promise<void> {
    const recordKey = this.recordKey(key);
    const shard = this.layout.shardOf(key);
    await this.call(
      DELETE,
      [recordKey, recordKey + ':tomb', this.layout.deadlines(shard), this.layout.claims(shard)],
      [encode(key), String(this.tombstoneTtl)],
      `deleting "${key}"`,
    );
  }

  /** Claims due sessions; on the sharded layout it visits every shard's deadline set, a few at a time. */
  async claimDue(limit: number, now?: number): Promise<readonly ExpiryClaim[]> {
    const claim = async (shard: number, most: number) => {
      const [before, after] = this.layout.memberAffixes(shard);
      const reply = (await this.call(
        CLAIM,
        [this.layout.deadlines(shard), this.layout.claims(shard)],
        [before, String(most), String(this.claimTimeout), now === undefined ? '' : String(now), after],
        'claiming due sessions',
      )) as [string, string | number, string | number, string | number][];
      return reply.map(([member, generation, version, deadline]) => ({
        key: decode(member),
        generation: Number(generation),
        version: Number(version),
        deadline: Number(deadline),
        holdMs: this.claimTimeout,
      }));
    };
    if (this.layout.shards === 1) return claim(0, limit);
    const { claims, next } = await claimShards(this.layout.shards, this.sweepStart, limit, 16, claim);
    this.sweepStart = next;
    return claims;
  }

  /** Extends the claims on `keys` still pending by `claimTimeout` (the manager calls it while their end hooks run). */
  async holdClaims(keys: readonly string[]): Promise<void> {
    if (keys.length === 0) return;
    const groups = byShard(this.layout, keys, this.layout.shardOf(keys[0]!));
    await Promise.all(
      [...groups].map(([shard, indexes]) =>
        this.call(
          HOLD,
          [this.layout.claims(shard)],
          [String(this.claimTimeout), ...indexes.map((i) => encode(keys[i]!))],
          'holding expiry claims',
        ),
      ),
    );
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

  /** Copies the raw value to `<record key>:corrupt:<version>.<generation>` for `quarantineTtl`. */
  async quarantine(key: string, record: StoredRecord): Promise<void> {
    const recordKey = this.recordKey(key);
    await this.call(
      QUARANTINE,
      [
        recordKey,
        `${recordKey}:corrupt:${record.version}.${record.generation}`,
        this.layout.claims(this.layout.shardOf(key)),
      ],
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
    return this.layout.record(key);
  }

  private leaseKey(key: string): string {
    return this.recordKey(key) + ':lease';
  }

  /** Runs a script within `commandTimeout`. @internal */
  call(script: RedisScript, keys: string[], args: string[], doing: string): Promise<unknown> {
    if (this.closed) {
      return Promise.reject(
        notSent(new PalaverError('STORE_UNAVAILABLE', `The RedisStore is closed (while ${doing}).`)),
      );
    }
    const connecting = this.connecting;
    if (connecting === undefined) return this.bounded(this.attempt(script, keys, args), this.commandTimeout, doing);
    // Still connecting: a timeout before the connection came up is a command that was never sent.
    let sent = false;
    const work = connecting.then(() => {
      sent = true;
      return this.attempt(script, keys, args);
    });
    return this.bounded(work, this.commandTimeout, doing).catch((error: unknown) =>
      Promise.reject(sent ? error : notSent(error)),
    );
  }

  /**
   * Runs a script; on a cluster, sends it again while the answer says it did not run because the cluster is moving (a
   * slot being migrated: TRYAGAIN; a failover: CLUSTERDOWN, or the node's connection down), until `commandTimeout`.
   */
  private attempt(script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    return this.split ? this.retrying(script, keys, args) : this.client.run(script, keys, args);
  }

  private async retrying(script: RedisScript, keys: string[], args: string[]): Promise<unknown> {
    const deadline = Date.now() + this.commandTimeout;
    for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
      try {
        return await this.client.run(script, keys, args);
      } catch (error) {
        if (!CLUSTER_MOVING.test(messageOf(error)) || Date.now() + wait >= deadline || this.closed) throw error;
        await sleep(wait);
      }
    }
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
