// store-level findings on a standalone Redis (a client that says `cluster: true` gets the sharded layout and
// the cluster code paths; every key is on the one node).
import { createClient } from 'redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MemoryStore } from '../../src';
import { RedisStore, nodeRedisClient, type NodeRedisClient, type RedisScriptClient } from '../../src/redis';
import { RECORD_TTL } from '../../src/stores/redis-scripts';
import { describeRedis, RedisServer } from './server';

let server: RedisServer;
let admin: ReturnType<typeof createClient>;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describeRedis('store lifecycle', () => {
  beforeAll(async () => {
    server = await RedisServer.start();
    admin = createClient({ url: server.url });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.close();
    await server?.dispose();
  });

  for (const kind of ['memory', 'redis'] as const) {
    it(`${kind}: a key created without ttlMs stays listed after an earlier key gave the index an expiry`, async () => {
      const store =
        kind === 'memory'
          ? new MemoryStore()
          : new RedisStore({ url: server.url, prefix: 'idx', commandTimeout: 2000 });
      const owner = 'u:web:ann';
      await store.commit([{ key: 'c:web:dm-ann', expected: null, data: '{}', owner, ttlMs: 100 }]);
      await store.commit([{ key: 's:web:dm-ann:ann', expected: null, data: '{}', owner }]); // no expiry
      await sleep(200);
      expect(await store.get('s:web:dm-ann:ann')).toBeDefined();
      expect(await store.userKeys!(owner)).toContain('s:web:dm-ann:ann');
      await store.close?.();
    });
  }

  it('redis: a live session (idle + sessionGrace) stays listed after its ttlMs has passed', async () => {
    const store = new RedisStore({ url: server.url, prefix: 'live', commandTimeout: 2000, sessionGrace: 1000 });
    const owner = 'u:web:cy';
    await store.commit([{ key: 's:web:dm-cy:cy', expected: null, data: '{}', idleMs: 50, owner, ttlMs: 100 }]);
    await sleep(300); // no sweeper (lazy close policy, or every bot down): the record lives 1050 ms
    expect(await store.get('s:web:dm-cy:cy')).toBeDefined();
    expect(await store.userKeys(owner)).toEqual(['s:web:dm-cy:cy']);
    await store.close();
  });

  it('memory: claimDue(now in the future) deletes records whose ttlMs has not run out', async () => {
    const store = new MemoryStore();
    await store.commit([{ key: 'u:web:dee', expected: null, data: '{}', ttlMs: 60_000 }]);
    store.claimDue(10, Date.now() + 3_600_000); // sweepExpired(now) passes its now here
    expect(store.get('u:web:dee')).toBeDefined();
  });

  it('cluster paths: a commit that holds is not reported as failed when a call after it fails', async () => {
    const inner = nodeRedisClient(admin as unknown as NodeRedisClient);
    const client: RedisScriptClient = {
      cluster: true,
      run: (script, keys, args) =>
        script === RECORD_TTL ? Promise.reject(new Error('connection dropped')) : inner.run(script, keys, args),
    };
    const store = new RedisStore({ client, prefix: 'after', commandTimeout: 500 });
    const s = 's:web:dm-bob:bob';
    let c = 'c:web:dm-bob';
    for (let i = 0; store.layout.shardOf(c) === store.layout.shardOf(s); i++) c = `c:web:dm-bob${i}`;
    expect(store.layout.shardOf(s)).not.toBe(store.layout.shardOf(c));
    const outcome = await Promise.resolve(
      store.commit(
        [
          { key: s, expected: null, data: '{}', idleMs: 60_000 },
          { key: c, expected: null, data: '{"v":1}', ttlMs: 60_000 },
        ],
        { turnId: 't1' },
      ),
    ).catch((error: { code?: string }) => error.code);
    const stored = [(await store.get(s))?.version, (await store.get(c))?.data];
    expect(stored).toEqual([1, '{"v":1}']); // applied
    expect(outcome).not.toBe('STORE_UNAVAILABLE'); // ...but reported as a plain failure
  });
});
