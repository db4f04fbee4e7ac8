// Several real bot processes on a real Redis Cluster (3 primaries, 3 replicas): no lost update (conversationData
// included), one end per session, a hash slot migrated under load, and a primary killed under load. Each test prints
// its figures. The failover test runs last: it leaves the cluster with a promoted replica and no replica for it.
import { spawn } from 'node:child_process';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { decodeState } from '../../src/codec';
import { RedisStore } from '../../src/redis';
import { keySlot } from '../../src/stores/redis-layout';
import { Cluster, percentile, sleep, until, Worker, type Done } from './cluster';
import { RedisCluster } from './cluster-server';
import { describeRedis } from './server';

let redis: RedisCluster;
const running: (Cluster | Worker)[] = [];
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

async function start(count: number, config: Omit<Parameters<typeof Cluster.start>[1], 'url' | 'cluster'>) {
  const cluster = await Cluster.start(count, { url: '', cluster: redis.urls, ...config });
  running.push(cluster);
  return cluster;
}

/** The stored state of `user`'s session in `conversation` (the user's own by default) and that conversation's data. */
async function stored(prefix: string, users: string[], conversation?: (user: string) => string) {
  const store = new RedisStore({ cluster: redis.urls, prefix });
  try {
    await store.ready();
    const sessions = await Promise.all(
      users.map(async (user) => {
        const key = `s:t:${conversation?.(user) ?? user}:${user}`;
        const record = await store.get(key);
        return record === undefined
          ? undefined
          : (decodeState(record.data, key) as { privateConversationData: { n?: number } }).privateConversationData.n;
      }),
    );
    return {
      sessions,
      conversation: async (id: string) => {
        const record = await store.get(`c:t:${id}`);
        return record === undefined ? undefined : (JSON.parse(record.data) as { n?: number }).n;
      },
      store,
    };
  } catch (error) {
    await store.close();
    throw error;
  }
}

describeRedis('several processes on a Redis Cluster', () => {
  beforeAll(async () => {
    redis = await RedisCluster.start();
  }, 60_000);

  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => (r instanceof Worker ? r.kill() : r.close())));
  });

  afterAll(async () => {
    await redis?.dispose();
  });

  // The machine is shared and loaded: a generous commandTimeout keeps a slow answer from counting as an outage.
  it('loses no update: 4 processes × 200 users × 25 turns in 100 two-user conversations, each message to a random process', async () => {
    const cluster = await start(4, {
      prefix: 'lost',
      commandTimeout: 5_000,
      sweepInterval: 1_000,
      maxCommitRetries: 20,
    });
    const group = (user: string) => `g${Number(user.slice(1)) % 100}`;
    const started = Date.now();
    const dones = (
      await Promise.all(
        range(200).map((u) =>
          Promise.all(range(25).map(() => cluster.random().receive(`u${u}`, { group: group(`u${u}`) }))),
        ),
      )
    ).flat();
    const took = Date.now() - started;
    const committed = dones.filter((d) => d.ok).length;
    await until(() => cluster.of('deliver').flatMap((d) => d.texts).length >= committed, 5_000);
    const replies = cluster.of('deliver').flatMap((d) => d.texts.map((text) => text.slice(text.indexOf(':') + 1)));
    const users = range(200).map((u) => `u${u}`);
    const { sessions, conversation, store } = await stored('lost', users, group);
    const groups = await Promise.all(range(100).map((g) => conversation(`g${g}`)));
    await store.close();
    console.log(
      `[cluster lost updates] ${dones.length} turns in ${took} ms (${Math.round((dones.length / took) * 1000)} turns/s), ` +
        `${committed} committed, ${replies.length} replies (${new Set(replies).size} distinct), ` +
        `${cluster.of('rejected').length} commits refused and re-run, p50 ${percentile(
          dones.map((d) => d.ms),
          50,
        )} ms, p99 ${percentile(
          dones.map((d) => d.ms),
          99,
        )} ms; session counters at 25: ${sessions.filter((n) => n === 25).length}/200; conversation counters ` +
        `at 50: ${groups.filter((n) => n === 50).length}/100; failures ${JSON.stringify(
          dones
            .filter((d) => !d.ok)
            .map((d) => d.code)
            .slice(0, 8),
        )}`,
    );
    expect(dones.filter((d) => !d.ok)).toEqual([]);
    expect(sessions.every((n) => n === 25)).toBe(true);
    expect(groups).toEqual(range(100).map(() => 50));
    expect(replies).toHaveLength(committed);
    expect(new Set(replies).size).toBe(replies.length);
  }, 120_000);

  it('ends each of 1,000 sessions exactly once across 5 processes (2 s timeout)', async () => {
    const cluster = await start(5, { prefix: 'expiry', timeout: 2_000, sweepInterval: 200, commandTimeout: 5_000 });
    const dones = await Promise.all(range(1000).map((i) => cluster.random().receive(`e${i}`)));
    const created = Date.now();
    await until(() => cluster.of('ended').length >= 1000, 20_000);
    const allEnded = Date.now();
    await sleep(1_000); // more sweeps in every process: a second end would show up now
    const hooks = cluster.of('hook');
    const lags = hooks.map((h) => h.lag);
    console.log(
      `[cluster expiry] ${dones.filter((d) => d.ok).length} sessions started; ${hooks.length} onSessionEnd calls ` +
        `(${new Set(hooks.map((h) => h.sid)).size} distinct sessions), all ended ${allEnded - created} ms after the last ` +
        `start; lag after the deadline p50 ${percentile(lags, 50)} ms, p99 ${percentile(lags, 99)} ms, max ` +
        `${Math.max(...lags)} ms; failures ${JSON.stringify(
          dones
            .filter((d) => !d.ok)
            .map((d) => d.code)
            .slice(0, 8),
        )}; ends per process ${cluster.workers.map((w) => `${w.name}:${w.of('hook').length}`).join(' ')}`,
    );
    expect(dones.every((d) => d.ok)).toBe(true);
    expect(hooks).toHaveLength(1000);
    expect(new Set(hooks.map((h) => h.sid)).size).toBe(1000);
  }, 60_000);

  it('loses no update while hash slots move to another primary under load (redis-cli --cluster reshard)', async () => {
    const cluster = await start(4, { prefix: 'moving', commandTimeout: 2_000, sweepInterval: 1_000 });
    const [from, to] = await redis.primaries();
    // Slots of `from` that hold shard tags: moving 1,500 slots moves about 6 of its 21 shards.
    const reshard = spawn(
      'redis-cli',
      [
        '--cluster',
        'reshard',
        `127.0.0.1:${from!.port}`,
        '--cluster-from',
        from!.id,
        '--cluster-to',
        to!.id,
        '--cluster-slots',
        '1500',
        '--cluster-yes',
        '--cluster-pipeline',
        '10',
      ],
      { stdio: 'ignore' },
    );
    const resharded = new Promise<number | null>((resolve) => reshard.once('exit', resolve));
    const users = range(200).map((u) => `m${u}`);
    const started = Date.now();
    let finished = false;
    const sent: Promise<Done>[] = [];
    void resharded.then(() => (finished = true));
    // Turns keep coming until the reshard is done (and at least 5 rounds).
    for (let round = 0; round < 5 || !finished; round++) {
      const wave = users.map((user) => cluster.random().receive(user));
      sent.push(...wave);
      await Promise.all(wave);
      if (round > 200) break;
    }
    const took = Date.now() - started;
    const exit = await resharded;
    const dones = await Promise.all(sent);
    const movedSlots = (await redis.nodes()).find((n) => n.id === to!.id)!.slots;
    const { sessions, store } = await stored('moving', users);
    const movedShards = users.filter((u) => {
      const slot = keySlot(store.layout.record(`s:t:${u}:${u}`));
      return movedSlots.some(([a, b]) => slot >= a && slot <= b) && !to!.slots.some(([a, b]) => slot >= a && slot <= b);
    }).length;
    await store.close();
    const ok = dones.filter((d) => d.ok).length;
    const failures = dones.filter((d) => !d.ok).map((d) => d.code);
    console.log(
      `[slot migration] reshard exit ${exit} after ${took} ms; ${dones.length} turns, ${ok} ok, failures ` +
        `${JSON.stringify(failures.slice(0, 5))}; ${movedShards}/200 users on moved slots; p99 ${percentile(
          dones.map((d) => d.ms),
          99,
        )} ms; counters equal to the turns sent: ${sessions.filter((n) => n === dones.length / 200).length}/200`,
    );
    expect(exit).toBe(0);
    expect(movedShards).toBeGreaterThan(0);
    expect(failures).toEqual([]);
    expect(sessions).toEqual(users.map(() => dones.length / 200));
  }, 120_000);

  it('fails turns fast while a killed primary fails over, resumes after, and counts the acknowledged writes lost', async () => {
    const cluster = await start(4, { prefix: 'failover', commandTimeout: 1_000, sweepInterval: 1_000 });
    const users = range(100).map((u) => `f${u}`);
    const acked = new Map<string, number>(users.map((u) => [u, 0]));
    const results: (Done & { at: number; user: string })[] = [];
    const [victim] = await redis.primaries();
    let killedAt = 0;
    const load = async (until: () => boolean) => {
      while (!until()) {
        await Promise.all(
          users.map(async (user) => {
            const done = await cluster.random().receive(user);
            results.push({ ...done, at: Date.now(), user });
            if (done.ok) acked.set(user, acked.get(user)! + 1);
          }),
        );
      }
    };
    const running = load(() => killedAt > 0 && Date.now() - killedAt > 8_000);
    await sleep(1_500);
    killedAt = Date.now();
    await redis.server(victim!.port).kill('SIGKILL');
    await running;
    await redis.waitUntilOk(10_000);
    const afterKill = results.filter((r) => r.at > killedAt);
    const failed = afterKill.filter((r) => !r.ok);
    const lastFailure = Math.max(killedAt, ...failed.map((r) => r.at));
    const resumed = afterKill.filter((r) => r.ok && r.at > lastFailure);
    const { sessions, store } = await stored('failover', users);
    const lost = users.reduce((sum, u, i) => sum + Math.max(0, acked.get(u)! - (sessions[i] ?? 0)), 0);
    const ahead = users.filter((u, i) => (sessions[i] ?? 0) > acked.get(u)!).length;
    // After the failover, every turn builds on what the new primary holds: 3 more turns add exactly 3.
    const before = sessions.map((n) => n ?? 0);
    for (let i = 0; i < 3; i++) await Promise.all(users.map((user) => cluster.random().receive(user)));
    const after = (await stored('failover', users)).sessions;
    await store.close();
    console.log(
      `[failover] primary :${victim!.port} killed; turns failed for ${lastFailure - killedAt} ms after the kill ` +
        `(${failed.length} failures, codes ${[...new Set(failed.map((r) => r.code))].join(',')}, slowest failure ` +
        `${Math.max(0, ...failed.map((r) => r.ms))} ms); ${resumed.length} turns ok after; ${[...acked.values()].reduce((a, b) => a + b, 0)} ` +
        `acknowledged turns, ${lost} lost to asynchronous replication; ${ahead} counters ahead of the acknowledged turns ` +
        `(commits whose answer was lost); workers alive ${cluster.workers.filter((w) => w.alive).length}/4`,
    );
    expect(cluster.workers.every((w) => w.alive)).toBe(true);
    expect(failed.every((r) => r.code === 'STORE_UNAVAILABLE' || r.code === 'COMMIT_UNKNOWN')).toBe(true);
    expect(Math.max(0, ...failed.map((r) => r.ms))).toBeLessThan(5_000);
    expect(resumed.length).toBeGreaterThan(0);
    expect(after.map((n) => n ?? 0)).toEqual(before.map((n) => n + 3));
  }, 120_000);
});
