'use strict';
// Builds of palaver side by side with grammY's session(): the throughput measurement of run.js (the same worker, the
// same warm-up), each build and grammY alternated in fresh processes within one run, so that the load of a shared
// machine falls on all of them alike. Prints each run and the medians, with palaver ÷ grammY per CPU-second.
//
//   node ab.js --builds=before=/path/to/old/dist/index.js,after=../dist/index.js [--users=1000] [--reps=5]
//              [--modes=seq,conc] [--grammy=0]
// A build must resolve palaver's own dependencies (zod...): put a copy of an older dist inside the repository's
// node_modules (e.g. node_modules/.ab/before), not in /tmp.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const argv = process.argv.slice(2);
const opt = (name, fallback) =>
  (argv.find((a) => a.startsWith(`--${name}=`)) ?? `--${name}=${fallback}`).slice(name.length + 3);
const reps = Number(opt('reps', 5));
const users = Number(opt('users', 1000));
const modes = opt('modes', 'seq,conc').split(',');
const builds = opt('builds', `after=${path.join(__dirname, '..', 'dist', 'index.js')}`)
  .split(',')
  .map((spec) => spec.split('='));
const peers = [
  ...builds.map(([name, dist]) => ({ name, peer: 'palaver', dist: path.resolve(dist) })),
  ...(opt('grammy', '1') === '1' ? [{ name: 'grammy', peer: 'grammy-session' }] : []),
];
const big = users >= 100_000;
const results = {};
for (let rep = 0; rep < reps; rep++) {
  for (const mode of modes) {
    for (let k = 0; k < peers.length; k++) {
      const p = peers[(k + rep) % peers.length];
      const job = {
        kind: 'throughput',
        peer: p.peer,
        users,
        turns: big ? 2 : 20,
        sample: big ? 10_000 : undefined,
        mode,
        wave: 1000,
        warmUsers: 200,
        warmTurns: 40,
        warmSeconds: 3,
        rewarmSeconds: 1,
      };
      const env = { ...process.env, ...(p.dist ? { PALAVER_DIST: p.dist } : {}) };
      const child = spawnSync(
        process.execPath,
        ['--expose-gc', '--max-old-space-size=8192', path.join(__dirname, 'worker.js'), JSON.stringify(job)],
        { cwd: __dirname, env, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
      );
      const line = (child.stdout ?? '')
        .split('\n')
        .reverse()
        .find((l) => l.startsWith('RESULT '));
      const result = line && JSON.parse(line.slice('RESULT '.length));
      if (!result?.ok) {
        console.error(`FAILED: ${p.name} ${mode}\n${(child.stderr ?? '').slice(-2000)}\n${result?.error ?? ''}`);
        process.exit(1);
      }
      (results[`${mode} ${p.name}`] ??= []).push(result);
      console.log(
        `rep ${rep + 1} ${mode} ${p.name.padEnd(10)} ${Math.round(result.turnsPerSec)} turns/s, ${Math.round(result.turnsPerCpuSec)} per CPU-second`,
      );
    }
  }
}
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const mode of modes) {
  const grammy = results[`${mode} grammy`];
  for (const p of peers) {
    const runs = results[`${mode} ${p.name}`];
    const cpu = median(runs.map((r) => r.turnsPerCpuSec));
    const wall = median(runs.map((r) => r.turnsPerSec));
    const ratio =
      grammy && p.peer === 'palaver'
        ? `; ÷ grammY: ${(cpu / median(grammy.map((r) => r.turnsPerCpuSec))).toFixed(2)}× per CPU-second, ` +
          `${(wall / median(grammy.map((r) => r.turnsPerSec))).toFixed(2)}× turns/s`
        : '';
    console.log(`U=${users} ${mode} ${p.name}: ${Math.round(cpu)} per CPU-second, ${Math.round(wall)} turns/s${ratio}`);
  }
}
