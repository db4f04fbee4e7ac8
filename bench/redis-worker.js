'use strict';
// One Redis measurement in a fresh process. Two ways to run it:
//   node redis-worker.js '<json job>'   throughput or per-turn counts; prints `RESULT <json>` last
//   fork(redis-worker.js, ['--counter']) one process of the lost-update test, driven over IPC by redis.js
const { performance } = require('node:perf_hooks');
const { createClient } = require('redis');
const { textOf, expectedReply, nameOf } = require('./lib/conversation');
const { mean, percentile } = require('./lib/stats');
const { startCountingProxy } = require('./lib/resp-proxy');
const { countCalls } = require('./lib/count-calls');

const DRIVERS = {
  palaver: './drivers/redis/palaver',
  grammy: './drivers/redis/grammy',
  'grammy-seq': './drivers/redis/grammy',
  'botbuilder-v4': './drivers/redis/botbuilder-v4',
};

function fail(message) {
  console.error(`FAILED: ${message}`);
  console.log(`RESULT ${JSON.stringify({ ok: false, error: message })}`);
  process.exit(1);
}

function open(peer, options) {
  if (!DRIVERS[peer]) fail(`unknown peer ${peer}`);
  return require(DRIVERS[peer]).create({ ...options, sequentialize: peer === 'grammy-seq' });
}

/** What Redis itself reports: commands executed (Lua scripts' inner calls included) by name, and its CPU time. */
async function serverStats(admin) {
  const text = await admin.info('commandstats');
  const byName = Object.create(null);
  for (const line of text.split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line.trim());
    if (!m || m[1] === 'info') continue; // the bench's own INFO calls
    byName[m[1]] = Number(m[2]);
  }
  const cpu = await admin.info('cpu');
  const seconds = (name) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? NaN);
  return { byName, cpuSeconds: seconds('used_cpu_sys') + seconds('used_cpu_user') };
}

function statsDelta(before, after) {
  const byName = Object.create(null);
  let total = 0;
  for (const [name, calls] of Object.entries(after.byName)) {
    const d = calls - (before.byName[name] ?? 0);
    if (d > 0) {
      byName[name] = d;
      total += d;
    }
  }
  return { total, byName, cpuSeconds: after.cpuSeconds - before.cpuSeconds };
}

/** A reply recorder for the conversation: the latest reply of each user, and how many came in. */
function recorder() {
  const last = new Map();
  let count = 0;
  return {
    last,
    get count() {
      return count;
    },
    onReply(i, text) {
      last.set(i, text);
      count++;
    },
  };
}

/** Turn t of users [from, to): one at a time (wave 0) or in waves of `wave` users under one Promise.all each. */
async function round(driver, from, to, t, wave, lat, at) {
  if (wave === 0) {
    for (let i = from; i < to; i++) {
      const start = performance.now();
      await driver.turn(i, textOf(i, t));
      if (lat) lat[at++] = performance.now() - start;
    }
    return at;
  }
  for (let w = from; w < to; w += wave) {
    const end = Math.min(to, w + wave);
    const start = performance.now();
    const pending = [];
    for (let i = w; i < end; i++) {
      const slot = at + (i - w);
      pending.push(
        driver.turn(i, textOf(i, t)).then(() => {
          if (lat) lat[slot] = performance.now() - start;
        }),
      );
    }
    await Promise.all(pending);
    at += end - w;
  }
  return at;
}

function check(replies, from, to, t) {
  for (let i = from; i < to; i++) {
    if (replies.last.get(i) !== expectedReply(i, t))
      return `user ${i}, turn ${t}: got ${JSON.stringify(replies.last.get(i))}, expected ${JSON.stringify(expectedReply(i, t))}`;
  }
  return '';
}

/** Turns per second and latency, straight to Redis (no proxy, no wrapper). */
async function throughput(job) {
  const { peer, users, turns, wave, url } = job;
  const warmUsers = job.warmUsers ?? 200;
  const admin = createClient({ url });
  await admin.connect();
  await admin.flushAll();
  const replies = recorder();
  const driver = await open(peer, { url, bot: 'conversation', onReply: replies.onReply });

  // Warm-up on users of their own (indices after the timed ones), the same wall time for every peer.
  let warmT = 0;
  const until = performance.now() + (job.warmSeconds ?? 1) * 1000;
  while (warmT < 4 || warmT % 2 === 1 || performance.now() < until) {
    await round(driver, users, users + warmUsers, warmT, Math.min(wave, warmUsers));
    const wrong = check(replies, users, users + warmUsers, warmT);
    if (wrong) fail(`${peer} warm-up: ${wrong}`);
    warmT++;
  }

  const total = users * turns;
  const lat = new Float64Array(total);
  let at = 0;
  const repliesBefore = replies.count;
  const server0 = await serverStats(admin);
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let t = 0; t < turns; t++) {
    at = await round(driver, 0, users, t, wave, lat, at);
    const wrong = check(replies, 0, users, t);
    if (wrong) fail(`${peer} wave ${wave}: ${wrong}`);
  }
  const seconds = (performance.now() - started) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  const server = statsDelta(server0, await serverStats(admin));
  if (replies.count - repliesBefore !== total)
    fail(`${peer}: ${replies.count - repliesBefore} replies for ${total} turns`);
  for (let i = 0; i < users; i += 10) {
    const name = await driver.storedName(i);
    if (name !== nameOf(i)) fail(`${peer}: user ${i}'s stored name is ${JSON.stringify(name)}, expected ${nameOf(i)}`);
  }
  if (driver.errors > 0) fail(`${peer}: ${driver.errors} errors reported by the framework`);
  await driver.close();
  await admin.close();
  lat.sort();
  return {
    ok: true,
    turns: total,
    seconds,
    turnsPerSec: total / seconds,
    turnsPerCpuSec: total / ((cpu.user + cpu.system) / 1e6),
    meanLatencyMs: mean(lat),
    p99LatencyMs: percentile(lat, 99, true),
    executedPerTurn: server.total / total,
    redisCpuUsecPerTurn: (server.cpuSeconds * 1e6) / total,
  };
}

/**
 * Per-turn counts, one turn at a time: client calls (a wrapper around the storage's client), round trips and commands
 * sent (a counting proxy between client and Redis), commands executed (INFO commandstats deltas, straight to Redis).
 */
async function counts(job) {
  const { peer, users, turns, url } = job;
  const target = new URL(url);
  const proxy = await startCountingProxy({ host: target.hostname, port: Number(target.port) });
  const admin = createClient({ url });
  await admin.connect();
  await admin.flushAll();
  const replies = recorder();
  const calls = { calls: 0, byName: Object.create(null) };
  const driver = await open(peer, {
    url: proxy.url,
    bot: 'conversation',
    onReply: replies.onReply,
    wrap: (client) => countCalls(client, calls).client,
  });
  // A few untimed turns of other users first: scripts loaded (no NOSCRIPT retry counted), connections settled.
  for (let t = 0; t < 2; t++) await round(driver, users, users + 10, t, 0);

  const perTurnKind = [];
  const snap = async () => ({
    calls: calls.calls,
    callsByName: { ...calls.byName },
    proxy: proxy.snapshot(),
    server: await serverStats(admin),
  });
  const all0 = await snap();
  for (let t = 0; t < turns; t++) {
    const s0 = await snap();
    await round(driver, 0, users, t, 0);
    const wrong = check(replies, 0, users, t);
    if (wrong) fail(`${peer} counts: ${wrong}`);
    const s1 = await snap();
    if (t < 2) perTurnKind.push(diff(s0, s1, users));
  }
  const all = diff(all0, await snap(), users * turns);
  // What Redis runs for one new user's first two turns, in order, scripts' inner commands included (MONITOR).
  let trace;
  if (job.trace) {
    const monitor = createClient({ url });
    await monitor.connect();
    trace = [];
    await monitor.monitor((line) => trace.push(line));
    const i = users + 20;
    for (let t = 0; t < 2; t++) {
      trace.push(`-- turn ${t + 1}: ${JSON.stringify(textOf(i, t))}`);
      await driver.turn(i, textOf(i, t));
      // MONITOR lines arrive on their own connection: a PING round trip on it makes sure this turn's are in.
      await admin.ping();
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    await monitor.close();
  }
  if (driver.errors > 0) fail(`${peer}: ${driver.errors} errors reported by the framework`);
  await driver.close();
  await admin.close();
  await proxy.close();
  // Turn 0 is a new user's first "hi"; turn 1 its name; the mean over all turns is the headline.
  return { ok: true, all, first: perTurnKind[0], answer: perTurnKind[1], trace };
}

function diff(a, b, n) {
  const per = (x) => x / n;
  const perName = (before, after) =>
    Object.fromEntries(
      Object.entries(after)
        .map(([k, v]) => [k, per(v - (before[k] ?? 0))])
        .filter(([, v]) => v > 0),
    );
  const server = statsDelta(a.server, b.server);
  return {
    calls: per(b.calls - a.calls),
    callsByName: perName(a.callsByName, b.callsByName),
    roundTrips: per(b.proxy.roundTrips - a.proxy.roundTrips),
    sent: per(b.proxy.commands - a.proxy.commands),
    sentByName: perName(a.proxy.byName, b.proxy.byName),
    executed: per(server.total),
    executedByName: Object.fromEntries(Object.entries(server.byName).map(([k, v]) => [k, per(v)])),
  };
}

// ---- the lost-update test: one process of it, driven by redis.js over IPC ------------------------------------

function counterProcess() {
  let driver;
  const replies = new Map(); // user -> counts replied during the burst
  let recording = false;
  let probe;
  process.on('message', async (message) => {
    try {
      if (message.t === 'start') {
        const { peer, url } = message;
        driver = await open(peer, {
          url,
          bot: 'counter',
          onReply: (i, text) => {
            if (probe) return probe(i, text);
            if (!recording) return;
            if (!replies.has(i)) replies.set(i, []);
            replies.get(i).push(Number(text));
          },
        });
        // Users with state: one increment each, one at a time, before the burst.
        if (message.setup) for (let i = 0; i < message.users; i++) await driver.turn(i, '+');
        process.send({ t: 'ready' });
      } else if (message.t === 'go') {
        // Both processes fire at the same wall-clock moment, not when each happens to read the message.
        await new Promise((resolve) => setTimeout(resolve, Math.max(0, message.at - Date.now())));
        recording = true;
        const pending = [];
        for (let i = 0; i < message.users; i++)
          for (let k = 0; k < message.increments; k++) pending.push(driver.turn(i, '+'));
        const settled = await Promise.allSettled(pending);
        recording = false;
        const rejected = settled.filter((s) => s.status === 'rejected');
        process.send({
          t: 'done',
          ok: settled.length - rejected.length,
          rejected: rejected.length,
          rejectedCodes: [...new Set(rejected.map((s) => s.reason?.code ?? String(s.reason)))],
          errors: driver.errors,
          replies: Object.fromEntries(replies),
        });
      } else if (message.t === 'probe') {
        const counts = [];
        for (let i = 0; i < message.users; i++) {
          let text;
          probe = (_, t) => (text = t);
          await driver.turn(i, '?');
          counts.push(Number(text));
        }
        probe = undefined;
        process.send({ t: 'counts', counts });
      } else if (message.t === 'close') {
        await driver.close();
        process.disconnect();
      }
    } catch (error) {
      process.send({ t: 'error', error: String(error?.stack ?? error) });
    }
  });
}

if (process.argv[2] === '--counter') counterProcess();
else {
  const job = JSON.parse(process.argv[2]);
  (job.kind === 'counts' ? counts(job) : throughput(job)).then(
    (result) => {
      console.log(`RESULT ${JSON.stringify(result)}`);
      process.exit(0);
    },
    (error) => fail(String(error?.stack ?? error)),
  );
}
