// What one turn costs on Redis: client calls and round trips counted by a wrapping client, commands Redis executed
// counted from INFO commandstats (the commands inside scripts included).
import { createClient } from 'redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SessionManager, type Address } from '../../src';
import { nodeRedisClient, RedisStore, type RedisScriptClient } from '../../src/redis';
import { describeRedis, RedisServer } from './server';

let server: RedisServer;
let redis: any;

/** Wraps a client: every `run` is one client call and one round trip (one script, one reply). */
function counting(inner: RedisScriptClient) {
  const calls: string[] = [];
  const client: RedisScriptClient = {
    run(script, keys, args) {
      calls.push(
        script.source.includes("'SET', KEYS[1], ARGV[1], 'NX', 'GET'")
          ? 'open'
          : script.source.includes('release()')
            ? 'commit'
            : 'other',
      );
      return inner.run(script, keys, args);
    },
  };
  return { client, calls };
}

/** Commands Redis has executed so far, scripts' inner commands included (EVALSHA itself left out). */
async function executed(): Promise<number> {
  const info = await redis.info('commandstats');
  let total = 0;
  for (const [, name, calls] of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
    if (name !== 'evalsha' && name !== 'eval' && name !== 'info' && name !== 'script|load') total += Number(calls);
  }
  return total;
}

describeRedis('a turn on RedisStore', () => {
  beforeAll(async () => {
    server = await RedisServer.start();
    redis = createClient({ url: server.url }).on('error', () => undefined);
    await redis.connect();
  });
  afterAll(async () => {
    redis?.destroy();
    await server?.dispose();
  });

  it('makes 2 client calls and 2 round trips when it reads and writes the session and userData', async () => {
    const { client, calls } = counting(nodeRedisClient(redis as never));
    const store = new RedisStore({ client, prefix: 'rt' });
    const bot = new SessionManager<any, { n?: number }>({ store, deliver: () => undefined, autoBatchDelay: 0 });
    bot.dialog('/', (session) => {
      session.userData.n = (session.userData.n ?? 0) + 1;
      session.send(`n=${session.userData.n}`);
    });
    const address: Address = { channelId: 'rt', user: { id: 'u1' }, conversation: { id: 'c1' } };
    await bot.receive({ address, text: 'warm up' }); // loads the scripts
    calls.length = 0;
    const before = await executed();
    const result = await bot.receive({ address, text: 'count' });
    const after = await executed();
    expect(result.replies.map((m) => m.text)).toEqual(['n=2']);
    expect(calls).toEqual(['open', 'commit']);
    console.log(`[round trips] client calls per turn: ${calls.length}; commands Redis executed: ${after - before}`);
    // OPEN: SET NX GET PX, one MGET of the 3 records. COMMIT: one MGET, a SET per write (with its expiry), GETDEL.
    expect(after - before).toBeLessThanOrEqual(6);
    await bot.close();
  });

  it('makes Redis execute 5 commands besides the 2 scripts when a turn writes only the session', async () => {
    const { client, calls } = counting(nodeRedisClient(redis as never));
    const store = new RedisStore({ client, prefix: 'rt1' });
    const bot = new SessionManager({ store, deliver: () => undefined, autoBatchDelay: 0 });
    bot.dialog('/', (session) => {
      const n = Number(session.dialogData.n ?? 0) + 1;
      session.dialogData.n = n;
      session.send(`n=${n}`);
    });
    const address: Address = { channelId: 'rt', user: { id: 'u1' }, conversation: { id: 'c1' } };
    await bot.receive({ address, text: 'warm up' });
    calls.length = 0;
    const before = await executed();
    const result = await bot.receive({ address, text: 'count' });
    const after = await executed();
    expect(result.replies.map((m) => m.text)).toEqual(['n=2']);
    expect(calls).toEqual(['open', 'commit']);
    console.log(`[round trips] a session-only turn: commands Redis executed besides the scripts: ${after - before}`);
    expect(after - before).toBeLessThanOrEqual(5);
    await bot.close();
  });
});
