'use strict';
// One measurement in a fresh process: `node --expose-gc worker.js '<json job>'`. Prints `RESULT <json>` last.
// The orchestrator (run.js) starts one of these per measurement, peers alternated, several repetitions.
const { performance } = require('node:perf_hooks');
const v8 = require('node:v8');
const { textOf, expectedReply, nameOf } = require('./lib/conversation');
const { mean, percentile } = require('./lib/stats');
const { installTimerCounter } = require('./lib/timers');

const DRIVERS = {
  palaver: './drivers/palaver',
  'botbuilder-v3': './drivers/botbuilder-v3',
  'botbuilder-v4': './drivers/botbuilder-v4',
  'grammy-session': './drivers/grammy-session',
  'grammy-conversations': './drivers/grammy-conversations',
};

const DEFAULT_WARM_USERS = 200;
const WARM_TURNS = 4;

function fail(message) {
  console.error(`FAILED: ${message}`);
  console.log(`RESULT ${JSON.stringify({ ok: false, error: message })}`);
  process.exit(1);
}

async function settle() {
  if (typeof global.gc !== 'function') fail('run with --expose-gc');
  for (let i = 0; i < 4; i++) {
    await new Promise((resolve) => setImmediate(resolve));
    global.gc();
  }
}

function heapUsed() {
  return v8.getHeapStatistics().used_heap_size;
}

/** Turns of users [from, to) (or of users[from..to)) at turn index t, sequentially, each awaited. Latencies (ms) go to `lat` from `at`. */
async function sequentialRound(driver, from, to, t, lat, at, users) {
  for (let k = from; k < to; k++) {
    const i = users ? users[k] : k;
    const start = performance.now();
    await driver.turn(i, textOf(i, t));
    if (lat) lat[at++] = performance.now() - start;
  }
  return at;
}

/** Turns of users [from, to) at turn index t, in waves of `wave` users under one Promise.all each. */
async function concurrentRound(driver, from, to, t, wave, lat, at, users) {
  for (let w = from; w < to; w += wave) {
    const end = Math.min(to, w + wave);
    const start = performance.now();
    const pending = new Array(end - w);
    for (let k = w; k < end; k++) {
      const i = users ? users[k] : k;
      const slot = at + (k - w);
      pending[k - w] = driver.turn(i, textOf(i, t)).then(() => {
        if (lat) lat[slot] = performance.now() - start;
      });
    }
    await Promise.all(pending);
    at += end - w;
  }
  return at;
}

/** Counts users in [from, to) whose latest reply (and stored name, after a full exchange) is not what turn t owes. */
async function mismatches(driver, from, to, t, checkStore) {
  let wrong = 0;
  for (let i = from; i < to; i++) {
    if (driver.replies.last[i] !== expectedReply(i, t)) wrong++;
    else if (checkStore && (await driver.storedName(i)) !== nameOf(i)) wrong++;
  }
  return wrong;
}

function firstMismatch(driver, from, to, t) {
  for (let i = from; i < to; i++) {
    if (driver.replies.last[i] !== expectedReply(i, t))
      return `user ${i}: got ${JSON.stringify(driver.replies.last[i])}, expected ${JSON.stringify(expectedReply(i, t))}`;
  }
  return '';
}

async function throughput(job) {
  const { peer, users, turns, mode } = job;
  const WARM_USERS = job.warmUsers ?? DEFAULT_WARM_USERS;
  const wave = job.wave ?? 1000;
  if (turns % 2 !== 0) fail('turns must be even (each exchange is two turns)');
  const driver = await require(DRIVERS[peer]).create({
    users: users + WARM_USERS,
    autoBatchDelay: job.autoBatchDelay,
    maxSessions: users + WARM_USERS,
  });

  // Warm-up on users of their own, so the JIT has seen and optimised every path before the clock starts: what a bot
  // that has been up for a while runs, rather than how fast each framework's code gets compiled.
  // At least `warmTurns` turns each, then on (a whole exchange at a time) until `warmSeconds` have passed: the same wall
  // time for every peer, since optimising compilers tier up by how often code ran, and a fast library's code needs more
  // of its own turns than a slow one's to get there.
  let warmT = 0;
  let warmed = 0;
  const warm = async (seconds, minTurns) => {
    const until = performance.now() + seconds * 1000;
    for (let n = 0; n < minTurns || warmT % 2 === 1 || performance.now() < until; n++, warmT++) {
      if (mode === 'seq') await sequentialRound(driver, users, users + WARM_USERS, warmT);
      else await concurrentRound(driver, users, users + WARM_USERS, warmT, Math.min(wave, WARM_USERS));
      warmed += WARM_USERS;
    }
  };
  await warm(job.warmSeconds ?? 0, job.warmTurns ?? WARM_TURNS);

  // With `sample`, the population is U users who have each said "hi" (U live sessions waiting at the prompt, set up
  // untimed, concurrently); the timed turns are then T turns each of `sample` users spread evenly over the population.
  const sample = job.sample ?? users;
  const stride = Math.max(1, Math.floor(users / sample));
  const first = sample < users ? 1 : 0;
  if (sample < users) {
    await concurrentRound(driver, 0, users, 0, wave);
    const wrongSetup = await mismatches(driver, 0, users, 0, false);
    if (wrongSetup > 0)
      fail(
        `${peer} U=${users}: ${wrongSetup} mismatches while setting up the population (${firstMismatch(driver, 0, users, 0)})`,
      );
  }
  // The warm-up's and the set-up's garbage collected, then warm again (so the clock starts on a heap holding one
  // second of each peer's own garbage, as in a running bot): a forced full collection frees the hidden classes that
  // no live object uses at that moment (a library that keeps state as text and builds its objects per turn has none
  // alive between turns), and V8 deoptimises the code that relied on them. Timed right after it, palaver ran at about
  // 70 % of its speed for a few hundred milliseconds; a bot that has been up a while is not in that state.
  await settle();
  await warm(job.rewarmSeconds ?? 0, 2);
  // Replies of the warm-up that a batching delay holds back must not be counted as the measured turns' replies.
  if (!driver.immediateReplies) await new Promise((resolve) => setTimeout(resolve, (job.autoBatchDelay ?? 0) + 100));
  await new Promise((resolve) => setImmediate(resolve));

  const picked = sample < users ? Array.from({ length: sample }, (_, k) => k * stride) : undefined;
  const total = sample * turns;
  const lat = new Float64Array(total);
  let at = 0;
  let wrong = 0;
  let firstWrong = '';
  const repliesBefore = driver.replies.count;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  for (let r = 0; r < turns; r++) {
    const t = first + r;
    at =
      mode === 'seq'
        ? await sequentialRound(driver, 0, sample, t, lat, at, picked)
        : await concurrentRound(driver, 0, sample, t, wave, lat, at, picked);
    // Each turn owes its reply by the time it resolves (unless a batching delay holds it back on purpose).
    if (driver.immediateReplies) {
      for (let k = 0; k < sample; k++) {
        const i = picked ? picked[k] : k;
        if (driver.replies.last[i] !== expectedReply(i, t)) {
          wrong++;
          if (!firstWrong) firstWrong = `turn ${t}, ${firstMismatch(driver, i, i + 1, t)}`;
        }
      }
    }
  }
  const seconds = (performance.now() - started) / 1000;
  // CPU time of the whole process (GC helper threads included): steadier than wall time on a shared machine.
  const cpu = process.cpuUsage(cpuBefore);
  const cpuSeconds = (cpu.user + cpu.system) / 1e6;

  // Replies held back by a batching delay go out on close(); then every user's last reply and stored name are checked.
  let drainSeconds = 0;
  if (!driver.immediateReplies) {
    const t0 = performance.now();
    await driver.close();
    drainSeconds = (performance.now() - t0) / 1000;
  }
  const last = first + turns - 1;
  let finalWrong = 0;
  if (picked) {
    for (const i of picked) {
      if (driver.replies.last[i] !== expectedReply(i, last) || (await driver.storedName(i)) !== nameOf(i)) {
        finalWrong++;
        if (!firstWrong)
          firstWrong = `final: ${firstMismatch(driver, i, i + 1, last) || `user ${i}: stored name differs`}`;
      }
    }
    // Users outside the sample still hold the reply of their one setup turn.
    const pickedSet = new Set(picked);
    for (let i = 0; i < users; i++)
      if (!pickedSet.has(i) && driver.replies.last[i] !== expectedReply(i, 0)) finalWrong++;
  } else {
    finalWrong = await mismatches(driver, 0, users, last, true);
    if (!firstWrong && finalWrong)
      firstWrong = `final: ${firstMismatch(driver, 0, users, last) || 'stored name differs'}`;
  }
  wrong += finalWrong;
  const replies = driver.replies.count - repliesBefore;
  if (replies !== total) {
    wrong += Math.abs(total - replies);
    if (!firstWrong) firstWrong = `${replies} replies for ${total} turns`;
  }
  if (driver.errors > 0) fail(`${peer}: ${driver.errors} errors reported by the framework`);
  if (wrong > 0) fail(`${peer} ${mode} U=${users}: ${wrong} mismatches (${firstWrong})`);
  if (driver.immediateReplies) await driver.close();

  lat.sort();
  return {
    ok: true,
    turns: total,
    seconds,
    turnsPerSec: total / seconds,
    cpuSeconds,
    turnsPerCpuSec: total / cpuSeconds,
    meanLatencyMs: mean(lat),
    p99LatencyMs: percentile(lat, 99, true),
    drainSeconds,
    warmTurns: warmed,
    mismatches: 0,
  };
}

async function heap(job) {
  const { peer, users } = job;
  const WARM_USERS = job.warmUsers ?? DEFAULT_WARM_USERS;
  const wave = 1000;
  const driver = await require(DRIVERS[peer]).create({ users: users + WARM_USERS, maxSessions: users + WARM_USERS });
  for (let t = 0; t < WARM_TURNS; t++) await concurrentRound(driver, users, users + WARM_USERS, t, WARM_USERS);
  await settle();
  const baseline = heapUsed();
  await concurrentRound(driver, 0, users, 0, wave);
  await settle();
  const waiting = heapUsed();
  const wrongWaiting = await mismatches(driver, 0, users, 0, false);
  await concurrentRound(driver, 0, users, 1, wave);
  await settle();
  const idle = heapUsed();
  const wrong = wrongWaiting + (await mismatches(driver, 0, users, 1, true));
  if (driver.errors > 0) fail(`${peer}: ${driver.errors} errors reported by the framework`);
  if (wrong > 0) fail(`${peer} heap U=${users}: ${wrong} mismatches`);
  // Keep the driver (and so every session) reachable until the last measurement.
  globalThis.__keep = driver;
  return {
    ok: true,
    baselineBytes: baseline,
    idleBytesPerSession: (idle - baseline) / users,
    waitingBytesPerSession: (waiting - baseline) / users,
    mismatches: 0,
  };
}

/**
 * palaver alone: N live sessions under the proactive close policy, then every one of them expires.
 * The clock is frozen while the sessions are created, so that all of them are live at once whatever the machine's
 * speed; then it is let go, the deadlines are past, and the scheduler's one timer ends them all.
 */
async function million(job) {
  const { users } = job;
  const timerCount = installTimerCounter();
  const timeout = job.timeout ?? 200;
  const realNow = Date.now.bind(Date);
  let ended = 0;
  let firstEnd = 0;
  let lastEnd = 0;
  let allEnded;
  const done = new Promise((resolve) => (allEnded = resolve));
  const driver = await require(DRIVERS.palaver).create({
    users,
    maxSessions: users,
    timeout,
    onSessionEnd: ({ reason }) => {
      if (reason !== 'timeout') return;
      if (ended === 0) firstEnd = performance.now();
      ended++;
      if (ended === users) {
        lastEnd = performance.now();
        allEnded();
      }
    },
  });
  await settle();
  const baseline = heapUsed();
  const frozen = realNow();
  Date.now = () => frozen;
  const createStart = performance.now();
  await concurrentRound(driver, 0, users, 0, 1000);
  const createSeconds = (performance.now() - createStart) / 1000;
  await settle();
  const live = heapUsed();
  const liveSessions = driver.store.size;
  const pendingDeadlines = driver.store.pendingDeadlines;
  const timers = timerCount.live;
  const refedTimers = timerCount.refed;
  const wrong = await mismatches(driver, 0, users, 0, false);
  if (wrong > 0) fail(`palaver million: ${wrong} mismatches`);
  if (liveSessions !== users) fail(`palaver million: ${liveSessions} live sessions, expected ${users}`);

  // Let the clock go: every deadline is now in the past; the scheduler's timer fires within `timeout` ms.
  Date.now = realNow;
  const released = performance.now();
  const keepAlive = setInterval(() => undefined, 1000);
  await done;
  clearInterval(keepAlive);
  if (driver.errors > 0) fail(`palaver million: ${driver.errors} errors reported`);
  await settle();
  const after = heapUsed();
  const remaining = driver.store.size;
  return {
    ok: true,
    sessions: users,
    createSeconds,
    heapBytes: live,
    heapDeltaBytes: live - baseline,
    bytesPerSession: (live - baseline) / users,
    timers,
    refedTimers,
    pendingDeadlines,
    expireAllSeconds: (lastEnd - released) / 1000,
    sweepSeconds: (lastEnd - firstEnd) / 1000,
    timerWaitSeconds: (firstEnd - released) / 1000,
    remainingSessions: remaining,
    heapAfterBytes: after,
  };
}

async function main() {
  const job = JSON.parse(process.argv[2]);
  if (!DRIVERS[job.peer]) fail(`unknown peer ${job.peer}`);
  let result;
  if (job.kind === 'throughput') result = await throughput(job);
  else if (job.kind === 'heap') result = await heap(job);
  else if (job.kind === 'million') result = await million(job);
  else fail(`unknown kind ${job.kind}`);
  console.log(`RESULT ${JSON.stringify(result)}`);
  process.exit(0);
}

main().catch((error) => fail(error?.stack ?? String(error)));
