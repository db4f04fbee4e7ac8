'use strict';
// The Redis Cluster spread check: starts a 6-node cluster on loopback (3 primaries, 3 replicas), runs one turn for
// each of N users (default 100,000; each in a one-to-one conversation, so a turn writes a session, its userData and
// its conversationData) through a SessionManager on RedisStore's sharded layout, then reads per primary: keys
// (INFO keyspace), scripts and commands run (INFO commandstats), memory (INFO memory), and MEMORY USAGE of sample
// records. Prints a Markdown summary and writes bench/.out/cluster.json. Needs `npm run build` first.
//
//   node cluster.js [--users=100000] [--concurrency=200]
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { createClient } = require('redis');
const { startRedis } = require('./lib/redis-server');

const argv = process.argv.slice(2);
const option = (name, fallback) =>
  Number((argv.find((a) => a.startsWith(`--${name}=`)) ?? '').slice(name.length + 3) || fallback);
const USERS = option('users', 100_000);
const CONCURRENCY = option('concurrency', 200);
const dist = process.env.PALAVER_DIST ?? path.join(__dirname, '../dist/index.js');
const { SessionManager } = require(dist);
const { RedisStore } = require(path.join(path.dirname(dist), 'redis.js'));

async function command(port, args) {
  const client = createClient({ url: `redis://127.0.0.1:${port}` }).on('error', () => undefined);
  await client.connect();
  try {
    return await client.sendCommand(args);
  } finally {
    client.destroy();
  }
}

const info = async (port, section) =>
  Object.fromEntries(
    String(await command(port, ['INFO', section]))
      .split('\r\n')
      .filter((line) => line.includes(':'))
      .map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1)]),
  );

async function primaries(port) {
  const text = String(await command(port, ['CLUSTER', 'NODES']));
  return text
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .filter((f) => f[2].includes('master'))
    .map((f) => ({ id: f[0], port: Number(f[1].split('@')[0].split(':')[1]) }));
}

async function main() {
  const nodes = await Promise.all(
    Array.from({ length: 6 }, () =>
      startRedis(['--cluster-enabled', 'yes', '--cluster-node-timeout', '1000', '--cluster-config-file', 'nodes.conf']),
    ),
  );
  execFileSync(
    'redis-cli',
    ['--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`), '--cluster-replicas', '1', '--cluster-yes'],
    { stdio: 'ignore' },
  );
  for (;;) {
    const states = await Promise.all(nodes.map((n) => command(n.port, ['CLUSTER', 'INFO']).then(String)));
    if (states.every((s) => s.includes('cluster_state:ok'))) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const masters = await primaries(nodes[0].port);
  const before = await Promise.all(masters.map((m) => info(m.port, 'memory')));
  for (const m of masters) await command(m.port, ['CONFIG', 'RESETSTAT']);

  // A loaded 2-core machine runs 6 redis-servers and this process: a generous timeout keeps slow answers from failing.
  const store = await RedisStore.connect({
    cluster: nodes.map((n) => `redis://127.0.0.1:${n.port}`),
    commandTimeout: 10_000,
  });
  const bot = new SessionManager({ store, timeout: 3_600_000, autoBatchDelay: 0, deliver: () => undefined });
  bot.dialog('/', (session) => {
    session.userData.name = `Name of ${session.address.user.id}`;
    session.conversationData.topic = 'pizza';
    session.dialogData.turns = (session.dialogData.turns ?? 0) + 1;
    session.send('Hello %s!', session.userData.name);
  });
  const started = Date.now();
  let next = 0;
  let failed = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < USERS) {
        const i = next++;
        const address = { channelId: 'web', user: { id: `user${i}` }, conversation: { id: `chat${i}` } };
        // A turn that failed (a timeout on an overloaded machine) is sent again, as a platform would.
        for (let attempt = 0; ; attempt++) {
          try {
            await bot.receive({ address, text: 'hi' });
            break;
          } catch (error) {
            failed++;
            if (attempt >= 5) throw error;
          }
        }
      }
    }),
  );
  const took = Date.now() - started;

  const rows = [];
  for (const m of masters) {
    const keyspace = await info(m.port, 'keyspace');
    const stats = await info(m.port, 'commandstats');
    const memory = await info(m.port, 'memory');
    const calls = (name) => Number((stats[`cmdstat_${name}`] ?? '').match(/calls=(\d+)/)?.[1] ?? 0);
    const usec = (name) => Number((stats[`cmdstat_${name}`] ?? '').match(/usec=(\d+)/)?.[1] ?? 0);
    const all = Object.keys(stats).reduce((sum, k) => sum + calls(k.slice('cmdstat_'.length)), 0);
    rows.push({
      port: m.port,
      keys: Number((keyspace.db0 ?? '').match(/keys=(\d+)/)?.[1] ?? 0),
      scripts: calls('evalsha') + calls('eval'),
      scriptMicroseconds: usec('evalsha') + usec('eval'),
      commands: all,
      bytes: Number(memory.used_memory) - Number(before[masters.indexOf(m)].used_memory),
    });
  }
  // MEMORY USAGE of one user's three records, on whichever primary holds each (tried on every primary).
  async function usage(key) {
    for (const m of masters) {
      const bytes = await command(m.port, ['MEMORY', 'USAGE', key, 'SAMPLES', '0']).catch(() => null);
      if (bytes !== null) return Number(bytes);
    }
    return NaN;
  }
  const samples = [];
  for (let i = 0; i < 200; i++) {
    const session = await usage(store.layout.record(`s:web:chat${i}:user${i}`));
    const user = await usage(store.layout.record(`u:web:user${i}`));
    const conversation = await usage(store.layout.record(`c:web:chat${i}`));
    samples.push({ session, user, conversation });
  }
  const mean = (f) => Math.round(samples.reduce((s, x) => s + f(x), 0) / samples.length);
  const total = (f) => rows.reduce((s, r) => s + f(r), 0);
  const share = (f) => rows.map((r) => f(r) / (total(f) / rows.length) - 1);
  const result = {
    users: USERS,
    took,
    failedAndResent: failed,
    turnsPerSecond: Math.round((USERS / took) * 1000),
    primaries: rows,
    spread: { keys: share((r) => r.keys), scripts: share((r) => r.scripts), commands: share((r) => r.commands) },
    scriptsPerTurn: total((r) => r.scripts) / USERS,
    commandsPerTurn: total((r) => r.commands) / USERS,
    memoryUsage: {
      session: mean((x) => x.session),
      user: mean((x) => x.user),
      conversation: mean((x) => x.conversation),
    },
    usedMemoryPerUser: Math.round(total((r) => r.bytes) / USERS),
    // Redis CPU inside the scripts per turn (commandstats usec), the part that bounds one primary's turns per second.
    scriptMicrosecondsPerTurn: total((r) => r.scriptMicroseconds) / USERS,
  };
  await bot.close();
  await store.close();
  for (const n of nodes) await n.stop();
  fs.mkdirSync(path.join(__dirname, '.out'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, '.out/cluster.json'), JSON.stringify(result, null, 2));
  const pct = (x) => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)} %`;
  console.log(`${USERS} users, one turn each, in ${took} ms (${result.turnsPerSecond} turns/s, one process)\n`);
  console.log('| primary | keys | vs a third | scripts | vs a third | commands | vs a third | used memory added |');
  console.log('|---|---|---|---|---|---|---|---|');
  rows.forEach((r, i) =>
    console.log(
      `| :${r.port} | ${r.keys} | ${pct(result.spread.keys[i])} | ${r.scripts} | ${pct(result.spread.scripts[i])} | ` +
        `${r.commands} | ${pct(result.spread.commands[i])} | ${(r.bytes / 1048576).toFixed(1)} MiB |`,
    ),
  );
  console.log(
    `\nscripts per turn ${result.scriptsPerTurn.toFixed(2)}, commands per turn (scripts and the calls inside them) ` +
      `${result.commandsPerTurn.toFixed(1)}; MEMORY USAGE: session ${result.memoryUsage.session} B, userData ` +
      `${result.memoryUsage.user} B, conversationData ${result.memoryUsage.conversation} B; used_memory added per user ` +
      `(all three records, deadline entries, allocator overhead) ${result.usedMemoryPerUser} B; Redis time in scripts ` +
      `per turn ${result.scriptMicrosecondsPerTurn.toFixed(1)} µs`,
  );
  const worst = Math.max(...Object.values(result.spread).flat().map(Math.abs));
  console.log(`\nlargest deviation from a third: ${pct(worst)} (${worst <= 0.1 ? 'within' : 'OUTSIDE'} ±10 %)`);
  if (worst > 0.1) process.exitCode = 1;
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
