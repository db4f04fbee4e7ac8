// RedisStore on a real Redis Cluster (3 primaries, 3 replicas): the shared conformance suite, the sharded key layout,
// and the two-step commit of a turn that changes conversationData (kept in another shard than the session).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { RedisStore, nodeRedisClient, type NodeRedisClient, type RedisScriptClient } from '../../src/redis';
import { COMMIT } from '../../src/stores/redis-scripts';
import { keySlot, shardTags } from '../../src/stores/redis-layout';
import { storeConformance } from '../stores/conformance';
import { RedisCluster } from './cluster-server';
import { describeRedis, RedisServer } from './server';
import { createClient } from 'redis';
import { createRequire } from 'node:module';
import { join } from 'node:path';

let cluster: RedisCluster;
let admin: ReturnType<RedisCluster['client']>;
let prefixes = 0;
const stores: RedisStore[] = [];

function makeStore(options: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}): RedisStore {
  const store = new RedisStore({
    ...(options.client === undefined && options.redis === undefined ? { cluster: cluster.urls } : {}),
    prefix: `k${++prefixes}`,
    commandTimeout: 2000,
    ...options,
  });
  stores.push(store);
  return store;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const session = 's:chat:room-1:ann';
const user = 'u:chat:ann';
const conversation = 'c:chat:room-1';
const fresh = (key: string, data: string) => ({ key, expected: null, data });

/** A client that never answers the session's COMMIT (the process died between the two steps of the commit). */
function diesBeforeSessionCommit(inner: RedisScriptClient): RedisScriptClient {
  return {
    cluster: true,
    run: (script, keys, args) => (script === COMMIT ? new Promise(() => undefined) : inner.run(script, keys, args)),
  };
}

/** Rewrites a record as the release before kept it (a hash of v, g, t and d), with the same expiry. */
async function toHash(redisKey: string): Promise<void> {
  const value = (await admin.get(redisKey))!;
  const end = value.indexOf('\n');
  const [v, g, t] = value.slice(0, end).split(' ');
  const ttl = await admin.pTTL(redisKey);
  await admin.del(redisKey);
  await admin.hSet(redisKey, { v: v!, g: g!, t: t!, d: value.slice(end + 1) });
  if (ttl > 0) await admin.pExpire(redisKey, ttl);
}

describeRedis('RedisStore on Redis Cluster', () => {
  beforeAll(async () => {
    cluster = await RedisCluster.start();
    admin = cluster.client();
    await admin.connect();
  }, 60_000);

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    await admin?.close().catch(() => undefined);
    await cluster?.dispose();
  });

  storeConformance('RedisStore (cluster)', {
    make: async () => {
      const store = makeStore();
      await store.ready();
      return store;
    },
    wait: sleep,
  });

  it('puts a session, its user’s userData, its lease and its shard’s deadline set in one hash slot', async () => {
    const store = makeStore({ prefix: 'layout' });
    const { layout } = store;
    const slots = new Set(
      [layout.record(session), layout.record(user), layout.deadlines(layout.shardOf(session))].map(keySlot),
    );
    expect(slots.size).toBe(1);
    expect(keySlot(layout.record(conversation))).not.toBe(keySlot(layout.record(session)));
  });

  it('spreads the 64 default shards evenly over the 3 primaries that redis-cli made (21, 21 and 22)', async () => {
    const primaries = await cluster.primaries();
    const perPrimary = primaries.map(
      (p) =>
        shardTags(64).filter((tag) => p.slots.some(([from, to]) => keySlot(tag) >= from && keySlot(tag) <= to)).length,
    );
    expect(perPrimary.sort()).toEqual([21, 21, 22]);
  });

  it('accepts a node-redis cluster client as `redis` and uses the sharded layout with it', async () => {
    const client = cluster.client();
    await client.connect();
    try {
      const store = makeStore({ redis: client as unknown as NodeRedisClient });
      expect(store.layout.shards).toBe(64);
      await store.commit([fresh(session, '{}'), fresh(user, '{"u":1}'), fresh(conversation, '{"c":1}')]);
      const opened = await store.open([session, user, conversation]);
      expect(opened.records.map((r) => r?.data)).toEqual(['{}', '{"u":1}', '{"c":1}']);
    } finally {
      await client.close();
    }
  });

  it('commits a turn that changes session, userData and conversationData across two shards', async () => {
    const store = makeStore();
    await store.open([session], { lease: { token: 'me', ttlMs: 10_000 } });
    const result = await store.commit(
      [fresh(session, '{"s":1}'), fresh(user, '{"u":1}'), fresh(conversation, '{"c":1}')],
      { turnId: 't1', release: { key: session, token: 'me' } },
    );
    expect(result).toEqual({ ok: true, versions: [1, 1, 1] });
    expect((await store.open([session, user, conversation])).records.map((r) => r?.data)).toEqual([
      '{"s":1}',
      '{"u":1}',
      '{"c":1}',
    ]);
    expect((await store.open([session], { lease: { token: 'other', ttlMs: 1000 } })).busy).toBeUndefined();
  });

  it('writes nothing when the conversationData write conflicts, and keeps the lease', async () => {
    const store = makeStore();
    await store.commit([fresh(conversation, '{"c":"theirs"}')]);
    await store.open([session], { lease: { token: 'me', ttlMs: 10_000 } });
    const result = await store.commit([fresh(session, '{"s":1}'), fresh(conversation, '{"c":"mine"}')], {
      turnId: 't1',
      release: { key: session, token: 'me' },
    });
    expect(result).toEqual({ ok: false, reason: 'conflict', key: conversation });
    expect(await store.get(session)).toBeUndefined();
    expect((await store.open([session], { lease: { token: 'other', ttlMs: 1000 } })).busy?.holder).toBe('me');
  });

  it('undoes the conversationData write when the session’s commit then conflicts', async () => {
    const store = makeStore();
    await store.commit([fresh(session, '{"s":0}'), fresh(conversation, '{"c":0}')]);
    const result = await store.commit([
      { key: session, expected: null, data: '{"s":"stale"}' },
      { key: conversation, expected: { version: 1, generation: 0 }, data: '{"c":1}' },
    ]);
    expect(result).toEqual({ ok: false, reason: 'conflict', key: session });
    // Put back under a new version: a writer that read the undone value cannot commit over it.
    expect(await store.get(conversation)).toEqual({ data: '{"c":0}', version: 3, generation: 0 });
    expect(
      await store.commit([{ key: conversation, expected: { version: 2, generation: 0 }, data: '{"c":"late"}' }]),
    ).toMatchObject({ ok: false, reason: 'conflict' });
  });

  it('undoes a conversationData record the failed commit created (the key is absent again)', async () => {
    const store = makeStore();
    await store.commit([fresh(session, '{"s":0}')]);
    const result = await store.commit([fresh(session, '{"s":"stale"}'), fresh(conversation, '{"c":1}')]);
    expect(result).toMatchObject({ ok: false, key: session });
    expect(await store.get(conversation)).toBeUndefined();
    expect(await store.commit([fresh(conversation, '{"c":"next"}')])).toEqual({ ok: true, versions: [2] });
  });

  it('reads a conversationData hash of the release before from its own shard, upgraded to a string', async () => {
    const store = makeStore();
    await store.commit([fresh(conversation, '{"c":"old"}')]);
    await toHash(store.layout.record(conversation));
    const opened = await store.open([session, user, conversation]);
    expect(opened.records.map((r) => r?.data)).toEqual([undefined, undefined, '{"c":"old"}']);
    expect(await admin.type(store.layout.record(conversation))).toBe('string');
  });

  it('refuses to stage a record over a hash of the release before, keeping its data', async () => {
    const store = makeStore();
    await store.commit([fresh(conversation, '{"c":"old"}')]);
    await toHash(store.layout.record(conversation));
    const result = await store.commit([fresh(session, '{"s":1}'), fresh(conversation, '{"c":"blank"}')]);
    expect(result).toEqual({ ok: false, reason: 'conflict', key: conversation });
    expect(await store.get(conversation)).toEqual({ data: '{"c":"old"}', version: 1, generation: 0 });
    expect(await store.get(session)).toBeUndefined();
  });

  it('leaves the conversationData write applied and the session unchanged when the process dies between the two steps', async () => {
    const store = makeStore({ prefix: 'dies' });
    const dying = makeStore({
      client: diesBeforeSessionCommit(nodeRedisClient(admin as unknown as NodeRedisClient)),
      prefix: 'dies',
      commandTimeout: 300,
    });
    await store.commit([fresh(session, '{"s":0}'), fresh(conversation, '{"c":0}')]);
    const writes = [
      { key: session, expected: { version: 1, generation: 0 }, data: '{"s":1}' },
      { key: conversation, expected: { version: 1, generation: 0 }, data: '{"c":1}' },
    ];
    await expect(dying.commit(writes, { turnId: 'dies' })).rejects.toMatchObject({ code: 'COMMIT_UNKNOWN' });
    expect(await store.get(session)).toMatchObject({ data: '{"s":0}', version: 1 });
    expect(await store.get(conversation)).toMatchObject({ data: '{"c":1}', version: 2 });
    // The same turn sent again (a retry with its turn id) completes it, applying the conversation write once.
    expect(await store.commit(writes, { turnId: 'dies' })).toEqual({ ok: true, versions: [2, 2] });
    expect(await store.get(conversation)).toMatchObject({ data: '{"c":1}', version: 2 });
  });

  it('ends a due session from any shard once, whichever shard the sweep starts at', async () => {
    const store = makeStore({ prefix: 'sweep' });
    const keys = Array.from({ length: 200 }, (_, i) => `s:chat:r${i}:u${i}`);
    await Promise.all(keys.map((k) => store.commit([{ key: k, expected: null, data: '{}', idleMs: 0 }])));
    await sleep(5);
    const sweepers = [makeStore({ prefix: 'sweep' }), store];
    const claimed = (
      await Promise.all(sweepers.flatMap((s) => [s.claimDue(64), s.claimDue(64), s.claimDue(64), s.claimDue(64)]))
    )
      .flat()
      .map((c) => c.key);
    expect(claimed.sort()).toEqual([...keys].sort());
  });

  it('copies a single node’s sessions, data, user indexes, deadlines and claims to the cluster with bench/redis-to-cluster.js', async () => {
    const { copyToCluster } = createRequire(__filename)(join(__dirname, '../../bench/redis-to-cluster.js')) as {
      copyToCluster(from: unknown, to: unknown, options: { prefix: string }): Promise<Record<string, number>>;
    };
    const single = await RedisServer.start();
    const source = createClient({ url: single.url }).on('error', () => undefined);
    try {
      await source.connect();
      const old = new RedisStore({ url: single.url, prefix: 'mig', claimTimeout: 200 });
      await old.commit([
        { ...fresh(session, '{"s":1}'), owner: user },
        fresh(user, '{"u":1}'),
        fresh(conversation, '{"c":1}'),
      ]);
      await old.commit([{ key: session, expected: { version: 1, generation: 0 }, data: '{"s":2}', idleMs: 60_000 }]);
      await old.commit([{ key: 's:chat:room-2:bob', expected: null, data: '{}', idleMs: 0 }]);
      await sleep(5);
      const [claim] = await old.claimDue(10);
      await old.close();
      const copied = await copyToCluster(source, admin, { prefix: 'mig' });
      expect(copied).toEqual({ records: 4, indexes: 1, deadlines: 1, claims: 1 });
      const store = makeStore({ prefix: 'mig' });
      expect(await store.userKeys(user)).toEqual([session]);
      expect(await store.get(session)).toEqual({ data: '{"s":2}', version: 2, generation: 0 });
      expect((await store.open([session, user, conversation])).records.map((r) => r?.data)).toEqual([
        '{"s":2}',
        '{"u":1}',
        '{"c":1}',
      ]);
      // The claim taken on the single node lapses and is claimed again on the cluster, with the same generation.
      await sleep(250);
      expect(await store.claimDue(10)).toEqual([{ ...claim, holdMs: 10_000 }]);
      expect(await store.commit([{ key: session, expected: { version: 2, generation: 0 }, data: '{"s":3}' }])).toEqual({
        ok: true,
        versions: [3],
      });
    } finally {
      source.destroy();
      await single.dispose();
    }
  });
});
