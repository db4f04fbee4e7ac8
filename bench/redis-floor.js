'use strict';
// What a turn on Redis cannot go below, measured piece by piece on one redis-server this script starts:
//   1. one call, one at a time: the bot process's CPU and redis-server's CPU for a GET and for an EVALSHA with a
//      turn's worth of arguments, on node-redis (with and without its per-command timer) and on ioredis;
//   2. a Lua script: redis-server's time per script call with 0 to 16 commands inside (INFO commandstats);
//   3. palaver's two scripts per turn: their time inside Redis one at a time and in waves of 100 (a cold server
//      against a busy one), and the bot process's heap held by one turn in flight (2,000 turns held at commit).
// Needs `npm run build` first. Prints Markdown; `--quick` for a smoke run.
//
//   node redis-floor.js [--quick]
const path = require('node:path');
const { performance } = require('node:perf_hooks');
const { createClient } = require('redis');
const IORedis = require('ioredis');
const { startRedis } = require('./lib/redis-server');

const quick = process.argv.includes('--quick');
const CALLS = quick ? 2_000 : 20_000;
const dist = process.env.PALAVER_DIST ?? path.join(__dirname, '../dist/index.js');
const { SessionManager } = require(dist);
const { RedisStore, nodeRedisClient } = require(path.join(path.dirname(dist), 'redis.js'));
// The node-redis palaver resolves (its peer dependency).
const palaverRedis = require(require.resolve('redis', { paths: [path.dirname(dist)] }));

async function redisCpu(admin) {
  const text = await admin.info('cpu');
  const seconds = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(text)[1]);
  return seconds('used_cpu_sys') + seconds('used_cpu_user');
}

async function commandUsec(admin, name) {
  const m = new RegExp(`cmdstat_${name}:calls=(\\d+),usec=(\\d+)`).exec(await admin.info('commandstats'));
  return m === null ? { calls: 0, usec: 0 } : { calls: Number(m[1]), usec: Number(m[2]) };
}

/** Client and server CPU per call of `fn`, one call at a time, after a warm-up; the best of 3 runs. */
async function perCall(admin, fn) {
  let best;
  for (let run = 0; run < 3; run++) {
    for (let i = 0; i < CALLS / 10; i++) await fn();
    const server0 = await redisCpu(admin);
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < CALLS; i++) await fn();
    const cpu = process.cpuUsage(cpu0);
    const server = ((await redisCpu(admin)) - server0) * 1e6;
    const result = { client: (cpu.user + cpu.system) / CALLS, server: server / CALLS };
    if (best === undefined || result.client + result.server < best.client + best.server) best = result;
  }
  return best;
}

async function calls(url, admin) {
  const nodeRedis = createClient({ url });
  await nodeRedis.connect();
  const untimed = nodeRedis.withCommandOptions({ timeout: 0 });
  const io = new IORedis(url);
  await nodeRedis.set('floor:k', 'x'.repeat(300));
  const sha = await nodeRedis.scriptLoad("return redis.call('GET', KEYS[1])");
  // A commit's worth of arguments: 7 keys and 12 values, one of them a state of some 150 characters.
  const keys = Array.from({ length: 7 }, (_, i) => `palaver:{s:bench:c1:u${i}}`);
  const args = Array.from({ length: 12 }, (_, i) => (i === 11 ? 'x'.repeat(150) : `value-${i}`));
  const rows = [
    ['node-redis GET, default options (a 5 s timer per command)', () => nodeRedis.get('floor:k')],
    ['node-redis GET, per-command timer off (as RedisStore runs)', () => untimed.get('floor:k')],
    ['ioredis GET (grammY’s storage)', () => io.get('floor:k')],
    ['node-redis EVALSHA, 7 keys + 12 arguments, timer off', () => untimed.evalSha(sha, { keys, arguments: args })],
    ['ioredis EVALSHA, 7 keys + 12 arguments', () => io.evalsha(sha, keys.length, ...keys, ...args)],
  ];
  const out = [];
  for (const [what, fn] of rows) out.push([what, await perCall(admin, fn)]);
  io.disconnect();
  await nodeRedis.close();
  return out;
}

async function lua(admin) {
  const client = createClient({ url: admin.options.url }).withCommandOptions({ timeout: 0 });
  await client.connect();
  const out = [];
  for (const n of [0, 1, 4, 8, 16]) {
    const body = `${Array.from({ length: n }, () => "redis.call('GET', KEYS[1])").join('\n')}\nreturn 1`;
    const sha = await client.scriptLoad(body);
    for (let i = 0; i < 1_000; i++) await client.evalSha(sha, { keys: ['floor:k'] });
    await admin.configResetStat();
    // In waves of 100, so that the server is busy (warm caches), as under load.
    await Promise.all(
      Array.from({ length: 100 }, async () => {
        for (let i = 0; i < CALLS / 100; i++) await client.evalSha(sha, { keys: ['floor:k'] });
      }),
    );
    const { calls: c, usec } = await commandUsec(admin, 'evalsha');
    out.push([n, usec / c]);
  }
  await client.close();
  return out;
}

function conversationBot(store) {
  const bot = new SessionManager({ store, deliver: () => undefined, autoBatchDelay: 0 });
  bot.dialog('/', [
    (s) => s.beginDialog('ask'),
    (s, r) => {
      s.userData.name = r.response;
      s.endDialog(`Hello ${r.response}!`);
    },
  ]);
  bot.dialog('ask', [(s) => s.send("What's your name?"), (s) => s.endDialogWithResult({ response: s.message.text })]);
  return bot;
}

const address = (i) => ({ channelId: 'bench', user: { id: `u${i}` }, conversation: { id: `c${i}` } });

/** palaver's scripts' time inside Redis per turn, one at a time and in waves of 100. */
async function scripts(url, admin) {
  const client = palaverRedis.createClient({ url });
  await client.connect();
  const bot = conversationBot(new RedisStore({ redis: client, prefix: 'floor' }));
  const users = quick ? 200 : 1_000;
  const turn = (i, t) => bot.receive({ address: address(i), text: t % 2 === 1 ? `Name${i}` : 'hi' });
  for (let t = 0; t < 2; t++) for (let i = 0; i < users; i++) await turn(i, t);
  const out = {};
  for (const wave of [1, 100]) {
    await admin.configResetStat();
    let turns = 0;
    for (let t = 0; t < 4; t++) {
      for (let i = 0; i < users; i += wave) {
        await Promise.all(Array.from({ length: Math.min(wave, users - i) }, (_, j) => turn(i + j, t)));
        turns += Math.min(wave, users - i);
      }
    }
    const { usec } = await commandUsec(admin, 'evalsha');
    out[wave] = usec / turns;
  }
  await bot.close();
  await client.close();
  return out;
}

/** A switch that makes the write it wraps wait (the turn stays in flight) until released. */
function holder() {
  const held = [];
  return {
    held,
    on: false,
    wrap(reply) {
      return this.on ? new Promise((resolve) => held.push(() => resolve(reply))) : reply;
    },
  };
}

/**
 * Heap per turn held in flight: `turn(i, text)` runs user i's turn; every user first says "hi" and a name (so each
 * has state), then one "hi" each is held at its write (`hold.on`) while the heap is measured after a full GC.
 */
async function heldHeap(turn, hold) {
  const users = quick ? 500 : 2_000;
  for (const text of ['hi', 'Name']) {
    for (let i = 0; i < users; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => turn(i + j, text)));
  }
  global.gc();
  global.gc();
  const before = process.memoryUsage().heapUsed;
  hold.on = true;
  const pending = Array.from({ length: users }, (_, i) => turn(i, 'hi'));
  while (hold.held.length < users) await new Promise((resolve) => setTimeout(resolve, 10));
  global.gc();
  global.gc();
  const bytes = (process.memoryUsage().heapUsed - before) / users;
  hold.on = false;
  for (const release of hold.held) release();
  await Promise.all(pending);
  return bytes;
}

/** The bot process's heap held by one palaver turn in flight on Redis, held at its commit. */
async function inFlight(url) {
  const client = palaverRedis.createClient({ url });
  await client.connect();
  const inner = nodeRedisClient(client);
  const hold = holder();
  const holding = {
    run(script, keys, args) {
      const reply = inner.run(script, keys, args);
      return script.source.includes('release()') ? hold.wrap(reply) : reply;
    },
  };
  const bot = conversationBot(new RedisStore({ client: holding, prefix: 'held', commandTimeout: 600_000 }));
  const bytes = await heldHeap((i, text) => bot.receive({ address: address(i), text }), hold);
  await bot.close();
  await client.close();
  return bytes;
}

/** The same for grammY's session() on storage-redis, held at its SET. */
async function inFlightGrammy(url) {
  const hold = holder();
  const wrap = (client) =>
    new Proxy(client, {
      get(target, name) {
        const value = Reflect.get(target, name);
        if (typeof value !== 'function') return value;
        return name === 'set' ? (...args) => hold.wrap(value.apply(target, args)) : value.bind(target);
      },
    });
  const driver = await require('./drivers/redis/grammy').create({ url, bot: 'conversation', onReply: () => {}, wrap });
  const bytes = await heldHeap((i, text) => driver.turn(i, text), hold);
  await driver.close();
  return bytes;
}

async function main() {
  const redis = await startRedis();
  const admin = createClient({ url: redis.url });
  await admin.connect();
  try {
    const f = (x, d = 1) => x.toFixed(d);
    console.log('### One call, one at a time (bot process and redis-server CPU per call, µs; best of 3)\n');
    console.log('| call | bot process | redis-server |\n|---|---|---|');
    for (const [what, r] of await calls(redis.url, admin)) console.log(`| ${what} | ${f(r.client)} | ${f(r.server)} |`);
    console.log('\n### A Lua script with n commands inside (redis-server time per call, µs, INFO commandstats)\n');
    console.log('| commands inside | µs per script call |\n|---|---|');
    for (const [n, us] of await lua(admin)) console.log(`| ${n} | ${f(us, 2)} |`);
    const s = await scripts(redis.url, admin);
    console.log(
      `\npalaver's two scripts, time inside redis-server per turn: ${f(s[1])} µs one at a time, ${f(s[100])} µs in waves of 100.`,
    );
    const gc = typeof global.gc === 'function';
    const bytes = gc ? await inFlight(redis.url) : undefined;
    const grammy = gc ? await inFlightGrammy(redis.url) : undefined;
    console.log(
      bytes === undefined
        ? '\n(run with node --expose-gc for the heap held by a turn in flight)'
        : `\nHeap held by one turn in flight: palaver ${Math.round(bytes)} bytes (held at its commit), grammY's ` +
            `session() ${Math.round(grammy)} bytes (held at its SET).`,
    );
  } finally {
    await admin.close();
    await redis.stop();
  }
}

main().then(
  () => process.exit(0),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
