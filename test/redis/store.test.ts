// RedisStore against a real redis-server: the shared conformance suite, then what is Redis's own (key layout, the
// store's clock, re-claims, ambiguous retries, failing fast).
import { createClient, createSentinel } from 'redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PalaverError, SessionManager, type Address, type SessionStore } from '../../src';
import { RedisStore, nodeRedisClient, type RedisScriptClient } from '../../src/redis';
import { storeConformance } from '../stores/conformance';
import { describeRedis, RedisServer } from './server';

function newClient(url: string) {
  return createClient({ url }).on('error', () => undefined);
}

let server: RedisServer;
let admin: ReturnType<typeof newClient>;
let prefixes = 0;
const stores: RedisStore[] = [];

function makeStore(options: Partial<ConstructorParameters<typeof RedisStore>[0]> = {}): RedisStore {
  const store = new RedisStore({ url: server.url, prefix: `t${++prefixes}`, commandTimeout: 2000, ...options });
  stores.push(store);
  return store;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describeRedis('RedisStore', () => {
  beforeAll(async () => {
    server = await RedisServer.start();
    admin = newClient(server.url);
    await admin.connect();
  });

  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    admin?.destroy();
    await server?.dispose();
  });

  storeConformance('RedisStore', {
    make: async () => {
      const store = makeStore();
      await store.ready();
      return store;
    },
    wait: sleep,
  });

  it('keeps every key of a session under one hash tag, with braces in the session key escaped', async () => {
    const store = makeStore({ prefix: 'layout' });
    await store.commit([{ key: 's:a{b}c', expected: null, data: '{}', idleMs: 60_000 }]);
    await store.open(['s:a{b}c'], { lease: { token: 'me', ttlMs: 10_000 } });
    const keys = (await admin.keys('layout:*')).sort();
    expect(keys).toEqual(['layout:deadlines', 'layout:{s:a%7Bb%7Dc}', 'layout:{s:a%7Bb%7Dc}:lease']);
  });

  it('files the deadline on the Redis clock, not on the caller’s', async () => {
    const store = makeStore();
    const [seconds, micros] = (await admin.time()) as unknown as [string, string] | [number, number];
    const redisNow = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
    await store.commit([{ key: 's:clock', expected: null, data: '{}', idleMs: 5_000 }]);
    const score = Number(await admin.zScore(`t${prefixes}:deadlines`, 's:clock'));
    expect(Math.abs(score - (redisNow + 5_000))).toBeLessThan(1_000);
  });

  it('claims a claim again, with the same generation, when its holder did not finish within claimTimeout', async () => {
    const store = makeStore({ claimTimeout: 200 });
    await store.commit([{ key: 's:stuck', expected: null, data: '{}', idleMs: 0 }]);
    await sleep(5);
    const [first] = await store.claimDue(10);
    expect(await store.claimDue(10)).toEqual([]);
    await sleep(250);
    const [again] = await store.claimDue(10);
    expect(again).toEqual(first);
    expect(first).toMatchObject({ key: 's:stuck', generation: 1, version: 1 });
  });

  it('drops the claim when the claimed session is saved', async () => {
    const store = makeStore({ claimTimeout: 100 });
    await store.commit([{ key: 's:done', expected: null, data: '{}', idleMs: 0 }]);
    await sleep(5);
    const [claim] = await store.claimDue(10);
    await store.commit([
      { key: 's:done', expected: { version: claim!.version, generation: claim!.generation }, data: null },
    ]);
    await sleep(150);
    expect(await store.claimDue(10)).toEqual([]);
    expect(await admin.exists([`t${prefixes}:claims`, `t${prefixes}:deadlines`])).toBe(0);
  });

  it('recognizes its own commit when a retry follows a lost reply, and applies it once', async () => {
    const real = createClient({ url: server.url }).on('error', () => undefined);
    await real.connect();
    const inner = nodeRedisClient(real);
    let dropNextReply = false;
    const client: RedisScriptClient = {
      run: async (script, keys, args) => {
        const reply = await inner.run(script, keys, args);
        if (keys.length > 2 && dropNextReply) {
          dropNextReply = false;
          throw new Error('Socket closed unexpectedly');
        }
        return reply;
      },
    };
    const store = new RedisStore({ client, prefix: `t${++prefixes}` });
    await store.commit([{ key: 's:retry', expected: null, data: '1' }]);
    dropNextReply = true;
    const result = await store.commit([{ key: 's:retry', expected: { version: 1, generation: 0 }, data: '2' }], {
      turnId: 'attempt-1',
    });
    real.destroy();
    expect(result).toEqual({ ok: true, versions: [2] });
  });

  it('fails a commit whose reply was lost when it has no turn id, rather than risk applying it twice', async () => {
    const real = createClient({ url: server.url }).on('error', () => undefined);
    await real.connect();
    const inner = nodeRedisClient(real);
    let drop = false;
    const client: RedisScriptClient = {
      run: async (script, keys, args) => {
        const reply = await inner.run(script, keys, args);
        if (drop) throw new Error('Socket closed unexpectedly');
        return reply;
      },
    };
    const store = new RedisStore({ client, prefix: `t${++prefixes}` });
    await store.commit([{ key: 's:noturn', expected: null, data: '1' }]);
    drop = true;
    const commit = store.commit([{ key: 's:noturn', expected: { version: 1, generation: 0 }, data: '2' }]);
    await expect(commit).rejects.toMatchObject({
      code: 'COMMIT_UNKNOWN',
      message: expect.stringContaining('may or may not'),
    });
    real.destroy();
  });

  it('fails a commit the client never sent with STORE_UNAVAILABLE: nothing was saved', async () => {
    class ClientOfflineError extends Error {}
    const client: RedisScriptClient = {
      run: async () => {
        throw new ClientOfflineError('The client is offline');
      },
    };
    const store = new RedisStore({ client, prefix: `t${++prefixes}` });
    const commit = store.commit([{ key: 's:offline', expected: null, data: '1' }], { turnId: 'x' });
    await expect(commit).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('fails with COMMIT_UNKNOWN when the retry of a commit whose answer was lost finds the record changed', async () => {
    const real = createClient({ url: server.url }).on('error', () => undefined);
    await real.connect();
    const inner = nodeRedisClient(real);
    const prefix = `t${++prefixes}`;
    const other = new RedisStore({ client: inner, prefix });
    let drop = false;
    const client: RedisScriptClient = {
      run: async (script, keys, args) => {
        const reply = await inner.run(script, keys, args);
        if (drop) {
          drop = false;
          // Applied; before this process retries, another process writes the record on top of it.
          await other.commit([{ key: 's:raced', expected: { version: 2, generation: 0 }, data: '3' }]);
          throw new Error('Socket closed unexpectedly');
        }
        return reply;
      },
    };
    const store = new RedisStore({ client, prefix });
    await store.commit([{ key: 's:raced', expected: null, data: '1' }]);
    drop = true;
    const commit = store.commit([{ key: 's:raced', expected: { version: 1, generation: 0 }, data: '2' }], {
      turnId: 'lost',
    });
    await expect(commit).rejects.toMatchObject({ code: 'COMMIT_UNKNOWN' });
    expect(await store.get('s:raced')).toMatchObject({ data: '3', version: 3 });
    real.destroy();
  });

  it('fails a commit on a closed store with STORE_UNAVAILABLE: it was never sent', async () => {
    const store = makeStore();
    await store.ready();
    await store.close();
    const commit = store.commit([{ key: 's:closed', expected: null, data: '1' }], { turnId: 'x' });
    await expect(commit).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });

  it('fails a commit whose every retry went unanswered with COMMIT_UNKNOWN, even with a turn id', async () => {
    const client: RedisScriptClient = { run: () => new Promise(() => undefined) };
    const store = new RedisStore({ client, prefix: `t${++prefixes}`, commandTimeout: 100 });
    const commit = store.commit([{ key: 's:hung', expected: null, data: '1' }], { turnId: 'x' });
    await expect(commit).rejects.toMatchObject({ code: 'COMMIT_UNKNOWN' });
  });

  it('holds a claim while holdClaims renews it, and lets it lapse after', async () => {
    const store = makeStore({ claimTimeout: 400 });
    await store.commit([{ key: 's:held', expected: null, data: '{}', idleMs: 0 }]);
    await sleep(20);
    expect(await store.claimDue(10)).toMatchObject([{ key: 's:held', holdMs: 400 }]);
    await sleep(250);
    await store.holdClaims(['s:held']);
    await sleep(250);
    expect(await store.claimDue(10)).toEqual([]); // 500 ms after the claim, but renewed at 250
    await sleep(300);
    expect(await store.claimDue(10)).toMatchObject([{ key: 's:held', generation: 1 }]);
  });

  it('loads its scripts again after Redis forgot them (a restart, SCRIPT FLUSH)', async () => {
    const store = makeStore();
    await store.commit([{ key: 's:flush', expected: null, data: '1' }]);
    await admin.scriptFlush();
    expect(await store.get('s:flush')).toMatchObject({ data: '1', version: 1 });
  });

  it('keeps a quarantined value under a side key', async () => {
    const store = makeStore();
    await store.commit([{ key: 's:bad', expected: null, data: '{oops' }]);
    await store.quarantine('s:bad', (await store.get('s:bad'))!);
    expect(await admin.get(`t${prefixes}:{s:bad}:corrupt:1.0`)).toBe('{oops');
  });

  it('drops a pending claim on a quarantined record instead of claiming it again and again', async () => {
    const store = makeStore({ claimTimeout: 100 });
    await store.commit([{ key: 's:bad', expected: null, data: '{oops', idleMs: 0 }]);
    await sleep(5);
    expect(await store.claimDue(10)).toHaveLength(1);
    await store.quarantine('s:bad', (await store.get('s:bad'))!);
    await sleep(150);
    expect(await store.claimDue(10)).toEqual([]);
  });

  it('gives a user whose stored session is corrupt a fresh one, keeps the raw value aside, and leaves other users alone', async () => {
    const store = makeStore({ prefix: 'corrupt' });
    const texts: (string | undefined)[] = [];
    const errors: string[] = [];
    const bot = new SessionManager<{ n?: number }>({
      store,
      autoBatchDelay: 0,
      deliver: (_to, messages) => void texts.push(...messages.map((m) => m.text)),
    });
    bot.on('error', (error) => errors.push(error.code));
    bot.dialog('/', (session) => {
      session.entities.n = (session.entities.n ?? 0) + 1;
      session.send(`${session.address.user.id}:${session.entities.n}`);
    });
    const at = (user: string): Address => ({ channelId: 't', user: { id: user }, conversation: { id: 'c' } });
    await bot.receive({ address: at('ok'), text: 'one' });
    await bot.receive({ address: at('bad'), text: 'one' });
    const stored = (await admin.get('corrupt:{s:t:c:bad}')) as string;
    await admin.set('corrupt:{s:t:c:bad}', stored.slice(0, stored.indexOf('\n') + 1) + '{broken', { KEEPTTL: true });
    await bot.receive({ address: at('bad'), text: 'two' });
    await bot.receive({ address: at('ok'), text: 'two' });
    await bot.close();
    expect(texts).toEqual(['ok:1', 'bad:1', 'bad:1', 'ok:2']);
    expect(errors).toEqual(['CORRUPT_STATE']);
    expect(await admin.get('corrupt:{s:t:c:bad}:corrupt:1.0')).toBe('{broken');
  });

  it('rejects options without exactly one connection', () => {
    expect(() => new RedisStore({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });

  it('rejects a negative commandTimeout', () => {
    expect(() => new RedisStore({ url: server.url, commandTimeout: -5 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('accepts a node-redis client made by the caller, and leaves it open on close', async () => {
    const mine = createClient({ url: server.url, disableOfflineQueue: true }).on('error', () => undefined);
    await mine.connect();
    const store: SessionStore = new RedisStore({ redis: mine, prefix: `t${++prefixes}` });
    await store.commit([{ key: 's:mine', expected: null, data: 'x' }]);
    await store.close?.();
    expect(await mine.ping()).toBe('PONG');
    mine.destroy();
  });

  it('works through a Sentinel client', async () => {
    const sentinel = await RedisServer.sentinel(server);
    const client = createSentinel({
      name: 'mymaster',
      sentinelRootNodes: [{ host: '127.0.0.1', port: sentinel.port }],
    }).on('error', () => undefined);
    try {
      await client.connect();
      const store = new RedisStore({ redis: client, prefix: `t${++prefixes}` });
      await store.commit([{ key: 's:sentinel', expected: null, data: '{}', idleMs: 0 }], { turnId: 'a' });
      await sleep(5);
      const claims = await store.claimDue(10);
      expect(claims).toEqual([
        { key: 's:sentinel', generation: 1, version: 1, deadline: expect.any(Number), holdMs: 10_000 },
      ]);
    } finally {
      await client.close().catch(() => undefined);
      await sentinel.dispose();
    }
  });

  it('fails fast with STORE_UNAVAILABLE while nothing listens on its port', async () => {
    const dead = await RedisServer.start();
    const store = makeStore({ url: dead.url, commandTimeout: 1000 });
    await store.ready();
    await dead.dispose();
    await sleep(50);
    const started = Date.now();
    const error = await Promise.resolve(store.get('s:x')).catch((e: unknown) => e);
    const took = Date.now() - started;
    console.log(`[redis store] a read with Redis down failed in ${took} ms`);
    expect(error).toBeInstanceOf(PalaverError);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(took).toBeLessThan(500);
  });

  it('fails with STORE_UNAVAILABLE after commandTimeout when Redis hangs', async () => {
    const hung = await RedisServer.start();
    const store = makeStore({ url: hung.url, commandTimeout: 300 });
    await store.ready();
    process.kill(hung.pid!, 'SIGSTOP');
    const started = Date.now();
    const error = await store.get('s:x').catch((e: unknown) => e);
    const took = Date.now() - started;
    process.kill(hung.pid!, 'SIGCONT');
    await hung.dispose();
    console.log(`[redis store] a read with Redis hung failed in ${took} ms (commandTimeout 300)`);
    expect(error).toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(took).toBeLessThan(1000);
  });

  it('connect() rejects with STORE_UNAVAILABLE when Redis cannot be reached in time', async () => {
    const gone = await RedisServer.start();
    const url = gone.url;
    await gone.dispose();
    await expect(RedisStore.connect({ url, timeout: 300 })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
  });
});
