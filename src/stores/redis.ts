import { createClient, createCluster } from '../optional-redis';
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
  INDEX,
  OPEN,
  QUARANTINE,
  QUARANTINED,
  RECORD_TTL,
  RELEASE,
  RENEW,
  USER_KEYS,
} from './redis-scripts';
import { shardedLayout, singleLayout, type KeyLayout } from './redis-layout';
import { byShard, claimShards, splitCommit, splitOpen } from './redis-shards';
import { CLUSTER_MOVING, commitWithRetries, messageOf, notSent, opened, sleep, toRecord } from './redis-replies';
import { SESSION_PREFIX } from './store';
import {
  nodeRedisClient,
  optionsSchema,
  type NodeRedisClient,
  type RedisScript,
  type RedisScriptClient,
  type RedisStoreOptions,
} from './redis-options';
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

export { nodeRedisClient };
export type { NodeRedisClient, RedisScript, RedisScriptClient, RedisStoreOptions };

const keyOf = (write: CommitWrite) => write.key;

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
    return toRecord(await this.call(GET, [this.recordKey(key)], [], `reading "${key}"`), key);
  }

  /**
   * Opens a unit of work in one script: takes (or extends) the lease of `keys[0]` when asked, then reads every key. On
   * a cluster, keys in other shards than the first (a conversationData key) are read at the same time by a second one.
   */
  open(keys: readonly string[], options: OpenOptions = {}): Promise<OpenResult> {
    // Not async (nor commit): a turn in flight keeps no suspended frame here while Redis answers.
    try {
      const lease = options.lease;
      const first = keys[0] ?? '';
      if (lease !== undefined) this.leaseTtl = String(lease.ttlMs);
      const doing = `opening "${first}"`;
      // A turn's open starts with its session: only when that is absent does OPEN look for an earlier release's records.
      const legacy = first.startsWith(SESSION_PREFIX) ? '' : '1';
      const leaseArgs = lease === undefined ? ['', '0', legacy] : [lease.token, String(lease.ttlMs), legacy];
      const home = this.layout.shardOf(first);
      const groups = this.split ? byShard(this.layout, keys, home) : undefined;
      if (groups !== undefined && groups.size > 1) {
        return splitOpen(this, keys, groups, home, this.leaseKey(first), leaseArgs, doing);
      }
      const recordKeys = [this.leaseKey(first)];
      for (const key of keys) recordKeys.push(this.recordKey(key));
      return this.call(OPEN, recordKeys, leaseArgs, doing).then((reply) => opened(reply as unknown[], keys));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  commit(writes: readonly CommitWrite[], options: CommitOptions = {}): Promise<CommitResult> {
    try {
      const release = options.release;
      if (writes.length === 0 && release === undefined) return Promise.resolve({ ok: true, versions: [] });
      const doing = `committing "${writes[0]?.key ?? release?.key}"`;
      const home = this.layout.shardOf(release?.key ?? writes[0]!.key);
      const groups = this.split ? byShard(this.layout, writes.map(keyOf), home) : undefined;
      if (groups !== undefined && groups.size > 1) return this.commitSplit(writes, groups, home, options, doing);
      return this.commitShard(writes, undefined, home, options, doing).then(
        (reply): Promise<CommitResult> | CommitResult => {
          if (reply[0] !== 'ok') {
            return {
              ok: false,
              reason: reply[0] === 'ended' ? 'ended' : 'conflict',
              key: writes[Number(reply[1]) - 1]!.key,
            };
          }
          const result: CommitResult = { ok: true, versions: reply.slice(1).map(Number) };
          return this.split ? this.afterCommit(writes, home, doing).then(() => result) : result;
        },
      );
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** A commit whose writes span shards (Redis Cluster): staged, then committed home (see splitCommit). */
  private async commitSplit(
    writes: readonly CommitWrite[],
    groups: Map<number, number[]>,
    home: number,
    options: CommitOptions,
    doing: string,
  ): Promise<CommitResult> {
    const commitHome = (indexes: readonly number[]) => this.commitShard(writes, indexes, home, options, doing);
    const result = await splitCommit(this, writes, groups, home, turnIdOf(options), doing, commitHome);
    if (result.ok) await this.afterCommit(writes, home, doing);
    return result;
  }

  /**
   * Redis Cluster: what a commit's scripts could not reach because it lives in another hash slot, done once the commit
   * holds: the expiry of a record staged in another shard, and an owner's index in another shard than the record.
   * Not atomic with the commit: a process that dies in between leaves the record without them until its next refresh.
   */
  private async afterCommit(writes: readonly CommitWrite[], home: number, doing: string): Promise<void> {
    const calls: Promise<unknown>[] = [];
    for (const write of writes) {
      const shard = this.layout.shardOf(write.key);
      if (shard !== home && write.ttlMs !== undefined && write.data !== null)
        calls.push(this.call(RECORD_TTL, [this.recordKey(write.key)], [ttlArg(write.ttlMs)], doing));
      // COMMIT kept the index of a write in its own shard whose owner is there too; the rest is done here.
      if (write.owner === undefined || (shard === home && this.layout.shardOf(write.owner) === home)) continue;
      const op = write.data === null ? 'D' : write.expected === null ? 'C' : '';
      const ttl = indexTtl(write, Number(this.sessionGrace));
      if (op !== '' || ttl !== '')
        calls.push(this.call(INDEX, [this.indexKey(write.owner)], [encode(write.key), op, ttl], doing));
    }
    // The commit holds whatever these answer: a failure leaves what the docs say a crash here leaves.
    await Promise.allSettled(calls);
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
    const turnId = turnIdOf(options);
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
    for (let j = 0; j < (indexes?.length ?? writes.length); j++) {
      const write = writes[indexes === undefined ? j : indexes[j]!]!;
      const ttl = write.ttlMs;
      // On a cluster an index in another shard than this commit's is kept by a call after it (see afterCommit).
      const indexHere = write.owner !== undefined && (!this.split || this.layout.shardOf(write.owner) === shard);
      args.push(ttlArg(ttl), indexHere ? String(keys.push(this.indexKey(write.owner!))) : '');
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
    const shard = this.layout.shardOf(key);
    const keys = [recordKey, recordKey + ':tomb', this.layout.deadlines(shard), this.layout.claims(shard)];
    keys.push(`${recordKey}:quarantined`);
    const indexHere = owner !== undefined && (!this.split || this.layout.shardOf(owner) === shard);
    if (indexHere) keys.push(this.indexKey(owner!));
    const doing = `forgetting "${key}"`;
    const args = [encode(key), String(this.tombstoneTtl), owner === key ? '1' : ''];
    const [existed, copies] = (await this.call(FORGET, keys, args, doing)) as [number, number];
    if (owner !== undefined && !indexHere)
      await this.call(INDEX, [this.indexKey(owner)], [encode(key), 'D', ''], doing);
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
    return this.layout.record(key);
  }

  /** The index of a user's keys: in the user's own hash tag, so that a cluster keeps it with the user's records. */
  private indexKey(owner: string): string {
    return this.recordKey(owner) + ':index';
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

/**
 * The turn id as a record's header keeps it: one field, so whitespace and `%` are escaped as `%XXXX` (a fixed width:
 * two ids never escape to one; the scripts' marker of an upgraded record, `%~`, is none of them).
 */
function turnIdOf(options: CommitOptions): string {
  const id = options.turnId ?? '';
  return /[\s%]/.test(id) ? id.replace(/[\s%]/g, (c) => `%${c.charCodeAt(0).toString(16).padStart(4, '0')}`) : id;
}

/** A write's `ttlMs` as the scripts take it: '' to leave the expiry as it is, -1 for none. */
function ttlArg(ttl: number | null | undefined): string {
  return ttl === undefined ? '' : ttl === null ? '-1' : String(Math.max(1, Math.round(ttl)));
}

/** The expiry of an owner's index after `write` (COMMIT's rule): never before a key it lists. */
function indexTtl(write: CommitWrite, grace: number): string {
  if (write.key.startsWith(SESSION_PREFIX) && write.idleMs != null && write.data !== null) {
    const life = grace + Math.max(0, Math.round(write.idleMs));
    return write.ttlMs === null ? '-1' : String(Math.max(life, write.ttlMs ?? 0));
  }
  return write.expected === null && write.ttlMs === undefined && write.data !== null ? '-1' : ttlArg(write.ttlMs);
}
