// What RedisStore takes: its options, the client interface it runs scripts through, and the node-redis adapter.
import { z } from 'zod';
import { messageOf } from './redis-replies';

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

export const ms = z.number().int().positive();
export const optionsSchema = z
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

/** Adapts a node-redis client: EVALSHA, and EVAL when Redis does not know the script yet (first use, after a restart). */
export function nodeRedisClient(client: NodeRedisClient, close?: () => Promise<void>): RedisScriptClient {
  // node-redis 6 arms a timer of its own for every command (5 s unless configured: an `AbortSignal.timeout`, which
  // costs the client more CPU than the script call itself). The store bounds each call by `commandTimeout` already.
  const redis = client.withCommandOptions?.({ timeout: 0 }) ?? client;
  return {
    cluster: typeof (client as { getSlotRandomNode?: unknown }).getSlotRandomNode === 'function',
    // Not async, and the arrays passed as they are (node-redis only reads them): a turn in flight holds less.
    run(script, keys, args) {
      const options = { keys: keys as string[], arguments: args as string[] };
      return redis.evalSha(script.sha1, options).catch((error: unknown) => {
        if (!messageOf(error).startsWith('NOSCRIPT')) throw error;
        return redis.eval(script.source, options);
      });
    },
    ...(close === undefined ? {} : { close }),
  };
}
