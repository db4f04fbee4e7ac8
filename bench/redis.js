'use strict';
// The Redis benchmark: palaver's RedisStore against grammY's session() on @grammyjs/storage-redis (with and without
// sequentialize()) and botbuilder v4 on botbuilder-storage-redis, on one redis-server this script starts (a free
// loopback port, no persistence) and kills when it ends. Writes the "Redis" section of RESULTS.md.
//
//   node redis.js            the full run (a few minutes); writes the Redis section of RESULTS.md
//   node redis.js --quick    a smoke run (small U, one repetition); writes .out/RESULTS.redis.quick.md
//   node redis.js --only=throughput,counts,lost --reps=3
const { spawn, fork, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { createClient } = require('redis');
const { median } = require('./lib/stats');
const { startRedis } = require('./lib/redis-server');

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const option = (name) => (argv.find((a) => a.startsWith(`--${name}=`)) ?? '').slice(name.length + 3);
const only = option('only').split(',').filter(Boolean);
const wanted = (what) => only.length === 0 || only.includes(what);
const reportOnly = argv.includes('--report');

const PEERS = ['palaver', 'grammy', 'grammy-seq', 'botbuilder-v4'];
const LABEL = {
  palaver: 'palaver RedisStore',
  grammy: 'grammY session() + storage-redis',
  'grammy-seq': 'grammY session() + storage-redis + sequentialize()',
  'botbuilder-v4': 'botbuilder v4 + botbuilder-storage-redis',
};
const CONFIG = quick
  ? {
      reps: 1,
      users: 200,
      turns: 4,
      warmSeconds: 0.2,
      waves: [0, 100],
      countUsers: 20,
      countTurns: 4,
      lostUsers: 50,
      increments: 10,
    }
  : {
      reps: Number(option('reps') || 3),
      users: 1_000,
      turns: 20,
      warmSeconds: 1,
      waves: [0, 100, 1_000],
      countUsers: 100,
      countTurns: 20,
      lostUsers: 200,
      increments: 10,
    };

const here = __dirname;
const outDir = path.join(here, '.out');
fs.mkdirSync(outDir, { recursive: true });
const rawFile = path.join(outDir, quick ? 'redis-results.quick.json' : 'redis-results.json');
const dist = process.env.PALAVER_DIST
  ? path.resolve(process.env.PALAVER_DIST)
  : path.join(here, '..', 'dist', 'index.js');
if (!reportOnly && !fs.existsSync(dist)) {
  console.error(
    `No palaver build at ${dist}: run \`npm run build\` at the top of the repository first (or set PALAVER_DIST).`,
  );
  process.exit(1);
}

const started = Date.now();
const loadAtStart = os.loadavg()[0];
const log = (line) => console.log(`  [${String(Math.round((Date.now() - started) / 1000)).padStart(5)} s] ${line}`);

/** Runs redis-worker.js on `job` in a fresh process; resolves to its RESULT, exits loudly on a failure. */
function runWorker(job) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [path.join(here, 'redis-worker.js'), JSON.stringify(job)], {
      cwd: here,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 10 * 60_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const line = stdout
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('RESULT '));
      const result = line ? JSON.parse(line.slice('RESULT '.length)) : undefined;
      if (code !== 0 || !result?.ok) {
        console.error(
          `\nFAILED: ${JSON.stringify({ ...job, url: undefined })} (exit ${code}${signal ? `, ${signal}` : ''})`,
        );
        console.error(stderr.trim().split('\n').slice(-30).join('\n'));
        if (result?.error) console.error(result.error);
        process.exit(1);
      }
      resolve(result);
    });
  });
}

// ---- the lost-update test ------------------------------------------------------------------------------------

/** A forked counter-bot process (redis-worker.js --counter) and a way to wait for its next message of a type. */
function counterProcess() {
  const child = fork(path.join(here, 'redis-worker.js'), ['--counter'], {
    cwd: here,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const inbox = [];
  const waiting = [];
  child.on('message', (message) => {
    if (message.t === 'error') {
      console.error(`\nFAILED in a counter process: ${message.error}`);
      process.exit(1);
    }
    const w = waiting.findIndex((x) => x.t === message.t);
    if (w >= 0) waiting.splice(w, 1)[0].resolve(message);
    else inbox.push(message);
  });
  const next = (t) => {
    const k = inbox.findIndex((m) => m.t === t);
    if (k >= 0) return Promise.resolve(inbox.splice(k, 1)[0]);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`a counter process sent no "${t}" within 5 minutes`)),
        5 * 60_000,
      );
      waiting.push({ t, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  };
  return { child, next, send: (m) => child.send(m) };
}

/**
 * `users` users × `increments` messages at once to the counter bot, split over `processes` processes started at the
 * same moment; with `withState`, every user first took one increment (alone), so the burst meets stored state.
 */
async function lostRun(admin, url, peer, processes, withState) {
  const { lostUsers: users, increments } = CONFIG;
  await admin.flushAll();
  const procs = Array.from({ length: processes }, counterProcess);
  // The set-up turns run in the first process before the others start; they are not part of the burst.
  procs[0].send({ t: 'start', peer, url, users, setup: withState });
  await procs[0].next('ready');
  for (const p of procs.slice(1)) p.send({ t: 'start', peer, url, users, setup: false });
  await Promise.all(procs.slice(1).map((p) => p.next('ready')));
  const each = increments / processes;
  const at = Date.now() + 250;
  for (const p of procs) p.send({ t: 'go', users, increments: each, at });
  const done = await Promise.all(procs.map((p) => p.next('done')));
  procs[0].send({ t: 'probe', users });
  const { counts } = await procs[0].next('counts');
  for (const p of procs) p.send({ t: 'close' });
  await Promise.all(
    procs.map((p) => new Promise((resolve) => (p.child.exitCode !== null ? resolve() : p.child.once('exit', resolve)))),
  );

  const baseline = withState ? 1 : 0;
  const succeeded = done.reduce((n, d) => n + d.ok, 0);
  const rejected = done.reduce((n, d) => n + d.rejected, 0);
  const applied = counts.reduce((n, c) => n + (c - baseline), 0);
  // A duplicate reply: two turns of one user answered with the same count (both read the same state).
  let duplicates = 0;
  for (let i = 0; i < users; i++) {
    const seen = new Map();
    for (const d of done) for (const value of d.replies[i] ?? []) seen.set(value, (seen.get(value) ?? 0) + 1);
    for (const n of seen.values()) duplicates += n - 1;
  }
  const replies = done.reduce((n, d) => n + Object.values(d.replies).reduce((m, r) => m + r.length, 0), 0);
  return {
    sent: users * increments,
    succeeded,
    rejected,
    rejectedCodes: [...new Set(done.flatMap((d) => d.rejectedCodes))],
    applied,
    lost: succeeded - applied,
    duplicates,
    replies,
  };
}

// ---- the plan ------------------------------------------------------------------------------------------------

async function measure() {
  const raw = { config: CONFIG, quick, peers: PEERS, throughput: [], counts: [], lost: [] };
  const redis = await startRedis();
  raw.redisVersion = redis.version;
  console.log(`redis-server ${redis.version} on ${redis.url}`);
  const admin = createClient({ url: redis.url });
  await admin.connect();
  try {
    if (wanted('counts')) {
      console.log(
        '\n# per-turn client calls, round trips and executed commands (one at a time, through the counting proxy)',
      );
      for (const peer of PEERS) {
        const r = await runWorker({
          kind: 'counts',
          peer,
          url: redis.url,
          users: CONFIG.countUsers,
          turns: CONFIG.countTurns,
          trace: peer === 'palaver',
        });
        raw.counts.push({ peer, ...r });
        log(
          `${peer.padEnd(14)} ${r.all.calls.toFixed(2)} calls, ${r.all.roundTrips.toFixed(2)} round trips, ${r.all.executed.toFixed(2)} executed per turn`,
        );
      }
    }
    if (wanted('throughput')) {
      console.log(`\n# turns per second, latency: U=${CONFIG.users} × T=${CONFIG.turns}`);
      for (const wave of CONFIG.waves) raw.throughput.push({ wave, runs: PEERS.map(() => []) });
      for (let rep = 0; rep < CONFIG.reps; rep++) {
        console.log(`repetition ${rep + 1} of ${CONFIG.reps}`);
        for (const c of raw.throughput) {
          for (let k = 0; k < PEERS.length; k++) {
            const j = (k + rep) % PEERS.length;
            const r = await runWorker({
              kind: 'throughput',
              peer: PEERS[j],
              url: redis.url,
              users: CONFIG.users,
              turns: CONFIG.turns,
              wave: c.wave,
              warmSeconds: CONFIG.warmSeconds,
            });
            c.runs[j].push(r);
            log(
              `${PEERS[j].padEnd(14)} ${waveName(c.wave).padEnd(24)} ${Math.round(r.turnsPerSec).toLocaleString('en-US').padStart(7)} turns/s, mean ${r.meanLatencyMs.toFixed(2)} ms`,
            );
          }
        }
      }
    }
    if (wanted('lost')) {
      console.log(`\n# lost updates: ${CONFIG.lostUsers} users × ${CONFIG.increments} increments at once`);
      const cases = [];
      for (const withState of [false, true])
        for (const processes of [1, 2]) cases.push({ withState, processes, runs: PEERS.map(() => []) });
      for (let rep = 0; rep < CONFIG.reps; rep++) {
        for (const c of cases) {
          for (let k = 0; k < PEERS.length; k++) {
            const j = (k + rep) % PEERS.length;
            const r = await lostRun(admin, redis.url, PEERS[j], c.processes, c.withState);
            c.runs[j].push(r);
            log(
              `${PEERS[j].padEnd(14)} ${c.processes} process${c.processes > 1 ? 'es' : ''}, ${c.withState ? 'with state' : 'new users '}: lost ${r.lost}, duplicates ${r.duplicates}, rejected ${r.rejected}`,
            );
          }
        }
      }
      raw.lost = cases;
    }
  } finally {
    await admin.close().catch(() => undefined);
    await redis.stop();
  }
  raw.environment = environment(raw.redisVersion);
  return raw;
}

// ---- the report ----------------------------------------------------------------------------------------------

function fmt(x, digits) {
  if (!Number.isFinite(x)) return '–';
  if (digits !== undefined) return x.toFixed(digits);
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}
function cell(values, digits) {
  if (values.length === 1) return fmt(values[0], digits);
  return `${fmt(median(values), digits)} (${fmt(Math.min(...values), digits)}–${fmt(Math.max(...values), digits)})`;
}
const ratio = (v, base) => `${fmt(median(v) / median(base), 2)}×`;
const waveName = (wave) => (wave === 0 ? 'one at a time' : `waves of ${wave.toLocaleString('en-US')} users`);

function environment(redisVersion) {
  const version = (name) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(here, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return '?';
    }
  };
  const palaverRedis = (() => {
    try {
      return JSON.parse(fs.readFileSync(require.resolve('redis/package.json', { paths: [path.dirname(dist)] }), 'utf8'))
        .version;
    } catch {
      return '?';
    }
  })();
  let commit = '?';
  try {
    commit = execFileSync('git', ['-C', path.join(here, '..'), 'describe', '--always', '--dirty'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    // not a git checkout
  }
  const from = process.env.PALAVER_DIST
    ? `\`${process.env.PALAVER_DIST}\`${process.env.PALAVER_LABEL ? ` (${process.env.PALAVER_LABEL})` : ''}`
    : `\`../dist\` (the repository at ${commit})`;
  return (
    `Node ${process.version}, ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}; redis-server ${redisVersion} on loopback, started by the bench (no persistence); ` +
    `palaver from ${from} on node-redis ${palaverRedis}; grammY ${version('grammy')} + @grammyjs/storage-redis ${version('@grammyjs/storage-redis')} on ioredis ${version('ioredis')}, @grammyjs/runner ${version('@grammyjs/runner')}; ` +
    `botbuilder ${version('botbuilder')} + botbuilder-storage-redis ${version('botbuilder-storage-redis')} on node-redis ${version('redis')}; ` +
    `${CONFIG.reps} repetition${CONFIG.reps === 1 ? '' : 's'}, each measurement in a fresh process; load average ${loadAtStart.toFixed(1)} at the start and ${os.loadavg()[0].toFixed(1)} at the end; ` +
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`
  );
}

function report(raw) {
  const peers = raw.peers;
  const head = `| | ${peers.map((p) => LABEL[p]).join(' | ')} |`;
  const rule = `|---|${peers.map(() => '---').join('|')}|`;
  const L = [];
  const users = raw.config.users.toLocaleString('en-US');
  L.push(`## Redis${raw.quick ? ' (quick smoke run: small U, one repetition; not for quoting)' : ''}`, '');
  L.push(raw.environment, '');
  L.push(
    `Written by \`npm run bench:redis\` (see README.md, "Redis"). The bench conversation, U=${users} users × T=${raw.config.turns} turns, every reply ` +
      'checked, and the stored name of every tenth user read back after the timed turns. Each cell: median (min–max) over the repetitions; ' +
      'under a peer, `×` is its median divided by palaver’s.',
    '',
  );
  const row = (name, series, digits) =>
    `| ${name} | ${series.map((v, k) => (k === 0 ? cell(v, digits) : `${cell(v, digits)} ${ratio(v, series[0])}`)).join(' | ')} |`;
  const tp = raw.throughput;
  if (tp.length) {
    const get = (c, f) => c.runs.map((runs) => runs.map(f));
    L.push('### Turns per second (higher is better)', '', head, rule);
    for (const c of tp)
      L.push(
        row(
          waveName(c.wave),
          get(c, (r) => r.turnsPerSec),
        ),
      );
    L.push('', '### Turns per CPU-second of the bot process (higher is better)', '', head, rule);
    for (const c of tp)
      L.push(
        row(
          waveName(c.wave),
          get(c, (r) => r.turnsPerCpuSec),
        ),
      );
    L.push('', '### Latency per turn, ms (lower is better)', '', head, rule);
    for (const c of tp) {
      L.push(
        row(
          `${waveName(c.wave)}: mean`,
          get(c, (r) => r.meanLatencyMs),
          3,
        ),
      );
      L.push(
        row(
          `${waveName(c.wave)}: p99`,
          get(c, (r) => r.p99LatencyMs),
          3,
        ),
      );
    }
    L.push(
      '',
      'In waves a turn’s latency runs from the start of its wave to its own end, so it includes the wait behind the rest of the wave.',
    );
    L.push('', '### redis-server CPU time per turn, µs (lower is better)', '', head, rule);
    for (const c of tp)
      L.push(
        row(
          waveName(c.wave),
          get(c, (r) => r.redisCpuUsecPerTurn),
        ),
      );
    L.push(
      '',
      'The change of `used_cpu_sys` + `used_cpu_user` (`INFO cpu`) over the timed turns, divided by the turns: what Redis spends on ' +
        'a turn, parsing, scripts, commands and network included. (`INFO commandstats` times are not added up here: a script’s time ' +
        'already includes the commands it calls, which commandstats lists again.)',
    );
  }
  if (raw.counts.length) {
    const by = (f) => peers.map((p) => f(raw.counts.find((c) => c.peer === p)));
    const line = (name, f, digits = 2) =>
      `| ${name} | ${by(f)
        .map((v) => (v === undefined ? '–' : fmt(v, digits)))
        .join(' | ')} |`;
    L.push('', `### Per turn: client calls, round trips, commands (lower is better)`, '', head, rule);
    L.push(line('client calls, mean of the conversation', (c) => c?.all.calls));
    L.push(line('round trips, mean', (c) => c?.all.roundTrips));
    L.push(line('commands sent by the client, mean', (c) => c?.all.sent));
    L.push(line('commands Redis executes (scripts’ inner calls included), mean', (c) => c?.all.executed));
    L.push(
      `| … a new user’s first turn ("hi"): calls / round trips / executed | ${by((c) => (c ? `${fmt(c.first.calls, 0)} / ${fmt(c.first.roundTrips, 0)} / ${fmt(c.first.executed, 0)}` : '–')).join(' | ')} |`,
    );
    L.push(
      `| … the answer (the name; writes per-user data): calls / round trips / executed | ${by((c) => (c ? `${fmt(c.answer.calls, 0)} / ${fmt(c.answer.roundTrips, 0)} / ${fmt(c.answer.executed, 0)}` : '–')).join(' | ')} |`,
    );
    L.push(
      `| executed, by command (mean per turn) | ${by((c) =>
        c
          ? Object.entries(c.all.executedByName)
              .sort((a, b) => b[1] - a[1])
              .map(([k, v]) => `${k.toUpperCase()} ${fmt(v, 2)}`)
              .join(', ')
          : '–',
      ).join(' | ')} |`,
    );
    L.push(
      '',
      `Counted one turn at a time, ${raw.config.countUsers} users × ${raw.config.countTurns} turns, after a few untimed turns of other users (so scripts are loaded). ` +
        '*Client calls*: a wrapper around the Redis client given to the storage counts every method call that returns a promise (a command, a script, a MULTI’s `exec()`). ' +
        '*Round trips* and *commands sent*: a proxy between client and Redis reads the protocol both ways; a round trip begins when a command leaves while no command of any ' +
        'connection awaits its reply, so commands written together or in flight at once share one. *Executed*: the change in `INFO commandstats` (fetched on a connection of its own, ' +
        'its INFO calls left out), which counts `EVALSHA` itself and every `redis.call` inside the script.',
    );
    const trace = raw.counts.find((c) => c.peer === 'palaver')?.trace;
    if (trace?.length) {
      L.push('', '#### What Redis runs for palaver’s turns (MONITOR, a new user’s first two turns)', '', '```');
      for (const entry of trace) {
        if (entry.startsWith('--')) {
          L.push(entry);
          continue;
        }
        const m = /^\S+ \[\d+ ([^\]]+)\] (.*)$/.exec(entry);
        if (!m || / "PING"$/.test(entry)) continue;
        const args = m[2].replace(/"((?:[^"\\]|\\.){40})(?:[^"\\]|\\.)+"/g, '"$1…"');
        L.push(`${m[1] === 'lua' ? '    ' : ''}${args}`);
      }
      L.push('```');
    }
  }
  if (raw.lost.length) {
    const { lostUsers, increments } = raw.config;
    const total = (lostUsers * increments).toLocaleString('en-US');
    L.push(
      '',
      `### Lost updates: ${lostUsers} users × ${increments} increments at once to a counter bot (lower is better)`,
      '',
      head,
      rule,
    );
    const name = (c) =>
      `${c.withState ? 'users with state' : 'new users'}, ${c.processes} process${c.processes > 1 ? 'es' : ''}`;
    for (const c of raw.lost)
      L.push(
        `| ${name(c)}: increments lost of ${total} | ${c.runs
          .map((runs) =>
            cell(
              runs.map((r) => r.lost),
              0,
            ),
          )
          .join(' | ')} |`,
      );
    for (const c of raw.lost)
      L.push(
        `| ${name(c)}: duplicate replies | ${c.runs
          .map((runs) =>
            cell(
              runs.map((r) => r.duplicates),
              0,
            ),
          )
          .join(' | ')} |`,
      );
    for (const c of raw.lost) {
      L.push(
        `| ${name(c)}: turns refused with an error | ${c.runs
          .map(
            (runs) =>
              `${cell(
                runs.map((r) => r.rejected),
                0,
              )}${runs.some((r) => r.rejectedCodes.length) ? ` (${[...new Set(runs.flatMap((r) => r.rejectedCodes))].join(', ')})` : ''}`,
          )
          .join(' | ')} |`,
      );
    }
    L.push(
      '',
      `Each user’s counter is per-user state (palaver \`userData\`, grammY’s session of the private chat, botbuilder \`UserState\`); every message adds one and the ` +
        'reply is the new value. All the messages are sent at once (one `Promise.allSettled`); with two processes, each sends half of every user’s messages, ' +
        'both starting at the same wall-clock moment (set 250 ms ahead), each with its own client. *Users with state*: each user first sent one message alone. Afterwards one more message ("?") per user reads ' +
        'the counter. *Lost*: turns that completed without an error minus the increments stored. *Duplicate replies*: replies that repeat a value the same user already got ' +
        '(two turns that read the same state). A refused turn is not lost: its caller got the error.',
    );
  }
  L.push(...targets(raw));
  return L.join('\n');
}

/** The Redis targets for palaver, each with the figure measured and whether it holds. */
function targets(raw) {
  const rows = [];
  const pc = raw.counts.find((c) => c.peer === 'palaver');
  if (pc) {
    // The expiry sweeper's one call a second (not a turn's) adds about 0.001 a turn to the counts: compared as shown.
    const shown = (x) => Math.round(x * 100) / 100;
    rows.push(['at most 2 round trips per turn', fmt(pc.all.roundTrips, 2), shown(pc.all.roundTrips) <= 2]);
    rows.push(['at most 2 client calls per turn', fmt(pc.all.calls, 2), shown(pc.all.calls) <= 2]);
    rows.push([
      'at most 8 commands executed by Redis per turn (scripts’ inner calls included)',
      fmt(pc.all.executed, 2),
      pc.all.executed <= 8,
    ]);
  }
  const p = raw.peers.indexOf('palaver');
  const g = raw.peers.indexOf('grammy');
  for (const c of raw.throughput) {
    if (p < 0 || g < 0) break;
    const x = median(c.runs[p].map((r) => r.turnsPerSec)) / median(c.runs[g].map((r) => r.turnsPerSec));
    // Beside it the same ratio per CPU-second of the bot process, which the machine's other work moves much less.
    const cpu = median(c.runs[p].map((r) => r.turnsPerCpuSec)) / median(c.runs[g].map((r) => r.turnsPerCpuSec));
    const floor = c.wave === 0 ? 1 : 0.75;
    rows.push([
      `turns/s ≥ ${floor}× grammY + storage-redis, ${waveName(c.wave)}`,
      `${fmt(x, 2)}× (per CPU-second: ${fmt(cpu, 2)}×)`,
      x >= floor,
    ]);
  }
  for (const c of raw.lost) {
    const runs = c.runs[p] ?? [];
    if (!runs.length) continue;
    const lost = Math.max(...runs.map((r) => r.lost));
    const dup = Math.max(...runs.map((r) => r.duplicates));
    rows.push([
      `0 lost updates and 0 duplicate replies in every run, ${c.withState ? 'users with state' : 'new users'}, ${c.processes} process${c.processes > 1 ? 'es' : ''}`,
      `${lost} / ${dup}`,
      lost === 0 && dup === 0,
    ]);
  }
  if (!rows.length) return [];
  return [
    '',
    '### The Redis targets',
    '',
    '| target | palaver | holds |',
    '|---|---|---|',
    ...rows.map(([what, value, ok]) => `| ${what} | ${value} | ${ok ? 'yes' : '**no**'} |`),
    '',
    'Per-turn counts are compared as shown (two decimals): the expiry sweeper’s one script call a second per process, ' +
      'which is not part of any turn, adds about 0.001 to the counted calls of a turn.',
  ];
}

/** Puts `section` into RESULTS.md in place of the earlier Redis section (between its markers), or at the end. */
function writeResults(section) {
  const file = path.join(here, 'RESULTS.md');
  const start = '<!-- redis:start -->';
  const end = '<!-- redis:end -->';
  const block = `${start}\n${section}\n${end}`;
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const a = text.indexOf(start);
  const b = text.indexOf(end);
  const next =
    a >= 0 && b > a ? text.slice(0, a) + block + text.slice(b + end.length) : `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, next);
  return file;
}

(async () => {
  let raw;
  if (reportOnly) raw = JSON.parse(fs.readFileSync(rawFile, 'utf8'));
  else {
    raw = await measure();
    if (only.length === 0) fs.writeFileSync(rawFile, JSON.stringify(raw, null, 2));
    else fs.writeFileSync(path.join(outDir, 'redis-results.partial.json'), JSON.stringify(raw, null, 2));
  }
  Object.assign(CONFIG, raw.config);
  const section = report(raw);
  console.log(`\n${section}\n`);
  if (quick || (only.length > 0 && !reportOnly)) {
    const target = path.join(outDir, quick ? 'RESULTS.redis.quick.md' : 'RESULTS.redis.partial.md');
    fs.writeFileSync(target, section + '\n');
    console.log(`written to ${path.relative(process.cwd(), target)} (RESULTS.md left as it was)`);
  } else {
    console.log(
      `written to ${path.relative(process.cwd(), writeResults(section))} in ${Math.round((Date.now() - started) / 1000)} s`,
    );
  }
})().catch((error) => {
  console.error(error);
  process.exit(1);
});
