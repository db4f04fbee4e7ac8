'use strict';
// The benchmark orchestrator. Every measurement runs in a fresh child process (worker.js), peers alternated
// within each repetition, several repetitions; the median and min–max go into RESULTS.md.
//
//   node run.js            the full run (about 45 minutes on 2 cores); writes RESULTS.md
//   node run.js --quick    a smoke run (< 1 minute); writes .out/RESULTS.quick.md
//   node run.js --only=throughput,heap,million   a subset of the measurements
const { spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { median } = require('./lib/stats');

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const only = (argv.find((a) => a.startsWith('--only=')) ?? '').slice('--only='.length).split(',').filter(Boolean);
const wanted = (what) => only.length === 0 || only.includes(what);
const option = (name) => (argv.find((a) => a.startsWith(`--${name}=`)) ?? '').slice(name.length + 3);
// --report: write the report again from .out/results.json without measuring anything.
const reportOnly = argv.includes('--report');

const ALL_PEERS = ['palaver', 'botbuilder-v3', 'botbuilder-v4', 'grammy-session', 'grammy-conversations'];
// --peers=palaver,botbuilder-v4,...: a subset (palaver first); --users=1000: only the throughput cases of that U.
const PEERS = option('peers')
  ? [
      'palaver',
      ...option('peers')
        .split(',')
        .filter((p) => p !== 'palaver' && ALL_PEERS.includes(p)),
    ]
  : ALL_PEERS;
const LABEL = {
  palaver: 'palaver',
  'palaver-batch': 'palaver, autoBatchDelay 250',
  'botbuilder-v3': 'botbuilder v3',
  'botbuilder-v4': 'botbuilder v4',
  'grammy-session': 'grammY session',
  'grammy-conversations': 'grammY conversations',
};

const CONFIG = quick
  ? {
      reps: 1,
      warmUsers: 50,
      warmTurns: 4,
      throughput: [{ users: 300, turns: 4 }],
      heapUsers: 3_000,
      millionUsers: 20_000,
      batching: { users: 300, turns: 4 },
    }
  : {
      reps: Number(option('reps') || 3),
      warmUsers: 200,
      // Before each timed throughput run, 200 users of the warm-up take at least 40 turns each (8,000 turns), and go on
      // for 3 seconds in all: the same wall time for every peer.
      warmTurns: 40,
      warmSeconds: 3,
      // ...and after the forced GC that precedes every timed run, 1 second more (see worker.js).
      rewarmSeconds: 1,
      throughput: [
        { users: 1_000, turns: 20 },
        { users: 100_000, turns: 2, sample: 10_000 },
      ],
      heapUsers: 100_000,
      millionUsers: 1_000_000,
      batching: { users: 1_000, turns: 20 },
    };
const WAVE = 1_000;
const MODES = ['seq', 'conc'];

const here = __dirname;
const dist = process.env.PALAVER_DIST
  ? path.resolve(process.env.PALAVER_DIST)
  : path.join(here, '..', 'dist', 'index.js');
if (!reportOnly && !fs.existsSync(dist)) {
  console.error(
    `No palaver build at ${dist}: run \`npm run build\` at the top of the repository first (or set PALAVER_DIST).`,
  );
  process.exit(1);
}
const outDir = path.join(here, '.out');
fs.mkdirSync(outDir, { recursive: true });

// ---- running one measurement -------------------------------------------------------------------------------

let measured = 0;
const started = Date.now();
const loadAtStart = os.loadavg()[0];

function runJob(job) {
  const args = ['--expose-gc', '--max-old-space-size=8192', path.join(here, 'worker.js'), JSON.stringify(job)];
  const t0 = Date.now();
  const child = spawnSync(process.execPath, args, {
    cwd: here,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: 30 * 60_000,
  });
  const line = (child.stdout ?? '')
    .split('\n')
    .reverse()
    .find((l) => l.startsWith('RESULT '));
  const result = line ? JSON.parse(line.slice('RESULT '.length)) : undefined;
  if (child.status !== 0 || !result?.ok) {
    // Fail loudly: a wrong answer or a crash means no figure of this run can be trusted.
    console.error(`\nFAILED: ${describeJob(job)} (exit ${child.status}${child.signal ? `, ${child.signal}` : ''})`);
    console.error((child.stderr ?? '').trim().split('\n').slice(-30).join('\n'));
    if (result?.error) console.error(result.error);
    process.exit(1);
  }
  measured++;
  const elapsed = ((Date.now() - started) / 1000).toFixed(0);
  console.log(
    `  [${elapsed.padStart(5)} s] ${describeJob(job).padEnd(62)} ${summarize(job, result)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`,
  );
  return result;
}

function describeJob(job) {
  const who = job.autoBatchDelay ? 'palaver-batch' : job.peer;
  if (job.kind === 'throughput')
    return `${who} ${job.mode} U=${job.users}${job.sample ? ` (timed: ${job.sample} users)` : ''} T=${job.turns}`;
  if (job.kind === 'heap') return `${who} heap U=${job.users}`;
  return `${who} live sessions N=${job.users}`;
}

function summarize(job, r) {
  if (job.kind === 'throughput') return `${fmt(r.turnsPerSec)} turns/s`;
  if (job.kind === 'heap') return `${fmt(r.idleBytesPerSession)} B/idle session`;
  return `${fmt(r.heapBytes / 2 ** 20)} MB, ${r.timers} timer(s), expired in ${r.expireAllSeconds.toFixed(1)} s`;
}

/** Runs `cases` (each a list of jobs, one per peer) `reps` times, rotating the peer order every repetition. */
function alternate(cases, reps) {
  const results = cases.map((jobs) => jobs.map(() => []));
  for (let rep = 0; rep < reps; rep++) {
    console.log(`repetition ${rep + 1} of ${reps}`);
    cases.forEach((jobs, c) => {
      for (let k = 0; k < jobs.length; k++) {
        const j = (k + rep) % jobs.length;
        results[c][j].push(runJob(jobs[j]));
      }
    });
  }
  return results;
}

// ---- the plan ----------------------------------------------------------------------------------------------

let raw = { config: CONFIG, quick, peers: PEERS, throughput: [], heap: [], million: [], batching: [] };
if (reportOnly) {
  raw = JSON.parse(fs.readFileSync(path.join(here, '.out', quick ? 'results.quick.json' : 'results.json'), 'utf8'));
  Object.assign(CONFIG, raw.config);
  if (raw.peers) PEERS.splice(0, PEERS.length, ...raw.peers);
}
const measure = (what) => !reportOnly && wanted(what);

if (measure('throughput')) {
  console.log('\n# turns per second, latency');
  const cases = [];
  for (const { users, turns, sample } of CONFIG.throughput.filter(
    (c) => !option('users') || c.users === Number(option('users')),
  )) {
    for (const mode of MODES)
      cases.push(
        PEERS.map((peer) => ({
          kind: 'throughput',
          peer,
          users,
          turns,
          sample,
          mode,
          wave: WAVE,
          warmUsers: CONFIG.warmUsers,
          warmTurns: CONFIG.warmTurns,
          warmSeconds: CONFIG.warmSeconds,
          rewarmSeconds: CONFIG.rewarmSeconds,
        })),
      );
  }
  const results = alternate(cases, CONFIG.reps);
  cases.forEach((jobs, c) =>
    raw.throughput.push({
      users: jobs[0].users,
      turns: jobs[0].turns,
      sample: jobs[0].sample,
      mode: jobs[0].mode,
      peers: PEERS,
      runs: results[c],
    }),
  );
}

if (measure('batching')) {
  console.log('\n# palaver: the cost of auto-batching');
  const { users, turns } = CONFIG.batching;
  const cases = MODES.map((mode) =>
    [0, 250].map((delay) => ({
      kind: 'throughput',
      peer: 'palaver',
      users,
      turns,
      mode,
      wave: WAVE,
      autoBatchDelay: delay,
      warmUsers: CONFIG.warmUsers,
      warmTurns: CONFIG.warmTurns,
      warmSeconds: CONFIG.warmSeconds,
      rewarmSeconds: CONFIG.rewarmSeconds,
    })),
  );
  const results = alternate(cases, CONFIG.reps);
  cases.forEach((jobs, c) =>
    raw.batching.push({ users, turns, mode: jobs[0].mode, delays: [0, 250], runs: results[c] }),
  );
}

if (measure('heap')) {
  console.log('\n# retained heap per idle session');
  const cases = [PEERS.map((peer) => ({ kind: 'heap', peer, users: CONFIG.heapUsers, warmUsers: CONFIG.warmUsers }))];
  const results = alternate(cases, CONFIG.reps);
  raw.heap.push({ users: CONFIG.heapUsers, peers: PEERS, runs: results[0] });
}

if (measure('million')) {
  console.log('\n# palaver: live sessions with proactive timeouts');
  const cases = [[{ kind: 'million', peer: 'palaver', users: CONFIG.millionUsers, timeout: 200 }]];
  const results = alternate(cases, CONFIG.reps);
  raw.million.push({ users: CONFIG.millionUsers, runs: results[0][0] });
}

// ---- the report --------------------------------------------------------------------------------------------

function fmt(x, digits) {
  if (!Number.isFinite(x)) return '–';
  if (digits !== undefined) return x.toFixed(digits);
  if (Math.abs(x) >= 100) return Math.round(x).toLocaleString('en-US');
  if (Math.abs(x) >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function stat(values) {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values), n: values.length };
}

/** `median (min–max)`, or just the value with one repetition. */
function cell(values, digits) {
  const s = stat(values);
  if (s.n === 1) return fmt(s.median, digits);
  return `${fmt(s.median, digits)} (${fmt(s.min, digits)}–${fmt(s.max, digits)})`;
}

function ratio(peerValues, palaverValues) {
  return `${fmt(median(peerValues) / median(palaverValues), 2)}×`;
}

function environment() {
  if (raw.environment) return raw.environment;
  const version = (name) => {
    try {
      return JSON.parse(fs.readFileSync(path.join(here, 'node_modules', name, 'package.json'), 'utf8')).version;
    } catch {
      return '?';
    }
  };
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
    : `\`../dist/index.js\` (the repository at ${commit})`;
  const cpu = os.cpus()[0]?.model ?? '?';
  return (
    `Node ${process.version} on ${os.type()} ${os.release()} (${os.arch()}), ${os.cpus().length} × ${cpu}, ` +
    `${Math.round(os.totalmem() / 2 ** 30)} GiB; palaver ${version('../..')} from ${from}; ` +
    `botbuilder v3 ${version('botbuilder-v3')}, botbuilder v4 ${version('botbuilder')} + botbuilder-dialogs ${version('botbuilder-dialogs')}, ` +
    `grammY ${version('grammy')}, @grammyjs/conversations ${version('@grammyjs/conversations')}; ` +
    `${CONFIG.reps} repetition${CONFIG.reps === 1 ? '' : 's'}, each measurement in a fresh process; ` +
    `load average ${loadAtStart.toFixed(1)} at the start and ${os.loadavg()[0].toFixed(1)} at the end (other work on the machine slows wall-clock figures; turns per CPU-second are steadier); ` +
    `${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC.`
  );
}

function caseName(c) {
  const u = c.users.toLocaleString('en-US');
  if (c.sample && c.sample < c.users)
    return `U=${u} live, timed ${c.sample.toLocaleString('en-US')} users × T=${c.turns}, ${modeName(c.mode)}`;
  return `U=${u} × T=${c.turns}, ${modeName(c.mode)}`;
}

function modeName(mode) {
  return mode === 'seq' ? 'sequential' : `concurrent (waves of ${WAVE.toLocaleString('en-US')})`;
}

function report() {
  const lines = [];
  const head = `| | ${PEERS.map((p) => LABEL[p]).join(' | ')} |`;
  const rule = `|---|${PEERS.map(() => '---').join('|')}|`;
  lines.push(`# palaver benchmarks${quick ? ' (quick smoke run: small U, one repetition; not for quoting)' : ''}`, '');
  lines.push(environment(), '');
  lines.push(
    'Each cell: median (min–max) over the repetitions; under a peer, `×` is the peer’s median divided by palaver’s. ' +
      'The conversation: "hi" → "What\'s your name?" (a text prompt) → the name → "Hello <name>!" (dialog ended, name in per-user data). ' +
      'Every run checked every reply and every stored name before its figures were kept (0 mismatches). See README.md for what each figure means.',
    '',
  );
  const bar = [];

  if (raw.throughput.length) {
    lines.push('## Turns per second (higher is better)', '', head, rule);
    for (const c of raw.throughput) {
      const tps = c.runs.map((runs) => runs.map((r) => r.turnsPerSec));
      lines.push(
        `| ${caseName(c)} | ${tps.map((v, i) => (i === 0 ? cell(v) : `${cell(v)} ${ratio(v, tps[0])}`)).join(' | ')} |`,
      );
      const pv = median(tps[0]);
      const where = `U=${c.users.toLocaleString('en-US')} ${c.mode === 'seq' ? 'sequential' : 'concurrent'}`;
      if (PEERS.includes('botbuilder-v4')) {
        const v4 = median(tps[PEERS.indexOf('botbuilder-v4')]);
        bar.push([`turns/s ≥ 10× botbuilder v4, ${where}`, `${fmt(pv / v4, 2)}×`, pv / v4 >= 10]);
      }
      if (PEERS.includes('grammy-session')) {
        const gs = median(tps[PEERS.indexOf('grammy-session')]);
        const cps = c.runs.map((runs) => runs.map((r) => r.turnsPerCpuSec));
        const perCpu = median(cps[0]) / median(cps[PEERS.indexOf('grammy-session')]);
        bar.push([
          `turns/s ≥ 1× grammY session, ${where}`,
          `${fmt(pv / gs, 2)}× (per CPU-second: ${fmt(perCpu, 2)}×)`,
          pv / gs >= 1,
        ]);
      }
    }
    lines.push(
      '',
      '## Turns per CPU-second (higher is better; CPU time of the whole process, GC threads included)',
      '',
      head,
      rule,
    );
    for (const c of raw.throughput) {
      const cps = c.runs.map((runs) => runs.map((r) => r.turnsPerCpuSec));
      lines.push(
        `| ${caseName(c)} | ${cps.map((v, i) => (i === 0 ? cell(v) : `${cell(v)} ${ratio(v, cps[0])}`)).join(' | ')} |`,
      );
    }
    lines.push('', '## Latency per turn, ms: mean / p99 (lower is better)', '', head, rule);
    for (const c of raw.throughput) {
      const means = c.runs.map((runs) => runs.map((r) => r.meanLatencyMs));
      const p99s = c.runs.map((runs) => runs.map((r) => r.p99LatencyMs));
      lines.push(
        `| ${caseName(c)}: mean | ${means.map((v, i) => (i === 0 ? cell(v, 3) : `${cell(v, 3)} ${ratio(v, means[0])}`)).join(' | ')} |`,
      );
      lines.push(
        `| ${caseName(c)}: p99 | ${p99s.map((v, i) => (i === 0 ? cell(v, 3) : `${cell(v, 3)} ${ratio(v, p99s[0])}`)).join(' | ')} |`,
      );
    }
    lines.push(
      '',
      'In concurrent mode a turn’s latency runs from the start of its wave to its own end, so it includes the wait behind the rest of the wave. ' +
        '“U=100,000 live”: every one of the U users first said "hi" (untimed, concurrently), so U sessions wait at the prompt; ' +
        'the timed turns are then T turns (the name, then "hi" again) of every tenth user, spread over the whole population.',
    );
  }

  if (raw.heap.length) {
    lines.push('', '## Retained heap per session after forced GC, bytes (lower is better)', '', head, rule);
    for (const c of raw.heap) {
      const idle = c.runs.map((runs) => runs.map((r) => r.idleBytesPerSession));
      const waiting = c.runs.map((runs) => runs.map((r) => r.waitingBytesPerSession));
      lines.push(
        `| U=${c.users.toLocaleString('en-US')}, idle (after a full exchange; name stored) | ${idle.map((v, i) => (i === 0 ? cell(v, 0) : `${cell(v, 0)} ${ratio(v, idle[0])}`)).join(' | ')} |`,
      );
      lines.push(
        `| U=${c.users.toLocaleString('en-US')}, waiting at the prompt (after "hi") | ${waiting.map((v, i) => (i === 0 ? cell(v, 0) : `${cell(v, 0)} ${ratio(v, waiting[0])}`)).join(' | ')} |`,
      );
      bar.push([
        `heap per idle user ≤ 350 B, U=${c.users.toLocaleString('en-US')}`,
        `${fmt(median(idle[0]), 0)} B`,
        median(idle[0]) <= 350,
      ]);
    }
    lines.push(
      '',
      `(heap after creating U sessions − heap before) / U; the baseline already holds the bot, its store (with any capacity it preallocates) and ${CONFIG.warmUsers} warm-up users.`,
    );
  }

  if (raw.million.length || raw.batching.length) lines.push('', '## palaver alone');
  if (raw.million.length) {
    const c = raw.million[0];
    const r = c.runs;
    const col = (f, d) => cell(r.map(f), d);
    lines.push(
      '',
      `### ${c.users.toLocaleString('en-US')} live sessions, proactive close policy`,
      '',
      '| figure | median (min–max) |',
      '|---|---|',
      `| heap used with every session live, MB (after GC) | ${col((x) => x.heapBytes / 2 ** 20, 1)} |`,
      `| of which the sessions, bytes each | ${col((x) => x.bytesPerSession, 0)} |`,
      `| timers armed (unref’ed included) | ${col((x) => x.timers, 0)} |`,
      `| timers keeping the process alive | ${col((x) => x.refedTimers, 0)} |`,
      `| sessions with a pending deadline | ${col((x) => x.pendingDeadlines, 0)} |`,
      `| creating them (one turn each, concurrent), s | ${col((x) => x.createSeconds, 1)} |`,
      `| expiring them all once due (clock released → last \`sessionEnd\`), s | ${col((x) => x.expireAllSeconds, 2)} |`,
      `| of which waiting for the timer, s | ${col((x) => x.timerWaitSeconds, 2)} |`,
      `| sessions left in the store afterwards | ${col((x) => x.remainingSessions, 0)} |`,
      '',
      'Every user said "hi" (a live session waiting at the prompt, dialog stack two deep) with a 200 ms timeout while the clock was frozen, so all are live at ' +
        'once; then the clock is released, every deadline is past, and the one scheduler timer ends them (reason `timeout`).',
    );
    const heapMb = median(r.map((x) => x.heapBytes / 2 ** 20));
    const timers = Math.max(...r.map((x) => x.timers));
    bar.push([`${c.users.toLocaleString('en-US')} live sessions ≤ 300 MB heap`, `${fmt(heapMb, 1)} MB`, heapMb <= 300]);
    bar.push([`… with one timer`, `${timers}`, timers === 1]);
  }
  if (raw.batching.length) {
    lines.push(
      '',
      `### The cost of auto-batching (U=${raw.batching[0].users.toLocaleString('en-US')} × T=${raw.batching[0].turns})`,
      '',
    );
    lines.push('| | autoBatchDelay 0 | autoBatchDelay 250 (default) | ratio 250 ÷ 0 |', '|---|---|---|---|');
    for (const c of raw.batching) {
      const [zero, batched] = c.runs.map((runs) => runs.map((r) => r.turnsPerSec));
      lines.push(
        `| turns/s, ${modeName(c.mode)} | ${cell(zero)} | ${cell(batched)} | ${fmt(median(batched) / median(zero), 2)}× |`,
      );
      const [zc, bc] = c.runs.map((runs) => runs.map((r) => r.turnsPerCpuSec));
      lines.push(
        `| turns per CPU-second, ${modeName(c.mode)} | ${cell(zc)} | ${cell(bc)} | ${fmt(median(bc) / median(zc), 2)}× |`,
      );
      const [zm, bm] = c.runs.map((runs) => runs.map((r) => r.meanLatencyMs));
      lines.push(
        `| mean latency ms, ${modeName(c.mode)} | ${cell(zm, 3)} | ${cell(bm, 3)} | ${fmt(median(bm) / median(zm), 2)}× |`,
      );
    }
    lines.push(
      '',
      'With the default delay `receive` resolves once the state is saved and the last reply of a turn waits 250 ms in the outbox ' +
        '(prompts flush at once); the run then closes the manager, which delivers what is waiting, and checks every reply.',
    );
  }

  if (bar.length) {
    lines.push('', '## The targets', '', '| criterion | palaver | holds |', '|---|---|---|');
    for (const [what, value, ok] of bar) lines.push(`| ${what} | ${value} | ${ok ? 'yes' : '**no**'} |`);
  }
  return lines.join('\n') + '\n';
}

if (!reportOnly) raw.environment = environment();
const text = report();
const partial = only.length > 0 || option('peers') !== '' || option('users') !== '' || option('reps') !== '';
if (!reportOnly)
  fs.writeFileSync(
    path.join(outDir, quick ? 'results.quick.json' : partial ? 'results.partial.json' : 'results.json'),
    JSON.stringify(raw, null, 2),
  );
const target = quick ? path.join(outDir, 'RESULTS.quick.md') : path.join(here, 'RESULTS.md');
if (!quick && partial && !reportOnly) {
  fs.writeFileSync(path.join(outDir, 'RESULTS.partial.md'), text);
  console.log(`\n${text}\n(partial run: written to .out/RESULTS.partial.md, RESULTS.md left as it was)`);
} else {
  // The Redis section (written by redis.js between its markers) stays: this run measures only the in-memory figures.
  const previous = !quick && fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
  const redisBlock = /<!-- redis:start -->[\s\S]*<!-- redis:end -->/.exec(previous)?.[0];
  fs.writeFileSync(target, redisBlock ? `${text}\n${redisBlock}\n` : text);
  console.log(
    `\n${text}\nwritten to ${path.relative(process.cwd(), target)}; ${measured} measurements in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );
}
