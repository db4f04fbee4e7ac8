'use strict';
// CPU profile of palaver on the benchmark conversation: runs one worker under `node --cpu-prof`, then adds up
// self time by function (mapped back to src/ through the source map) and by package.
//
//   node profile.js                       sequential and concurrent, U=1,000 × T=40
//   node profile.js --mode=seq --users=1000 --turns=40 --top=30
//   node profile.js --redis [--wave=100]   palaver on RedisStore (a redis-server of its own), one at a time and in waves
// Output: a table on stdout and in .out/profile-<mode>.md; the .cpuprofile stays in .out/profiles/.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const { SourceMap } = require('node:module');

const arg = (name, fallback) => {
  const found = process.argv.find((a) => a.startsWith(`--${name}=`));
  return found ? found.slice(name.length + 3) : fallback;
};
const modes = arg('mode', 'seq,conc').split(',');
const users = Number(arg('users', '1000'));
const turns = Number(arg('turns', '40'));
const top = Number(arg('top', '25'));
const peer = arg('peer', 'palaver');
const redis = process.argv.includes('--redis');

const outDir = path.join(__dirname, '.out');
const profDir = path.join(outDir, 'profiles');
fs.mkdirSync(profDir, { recursive: true });

const PALAVER_FILE = process.env.PALAVER_DIST
  ? path.resolve(process.env.PALAVER_DIST)
  : path.resolve(__dirname, '..', 'dist', 'index.js');
const maps = new Map();
function sourceMapFor(url) {
  if (maps.has(url)) return maps.get(url);
  let map;
  try {
    const file = url.startsWith('file://') ? new URL(url).pathname : url;
    const mapFile = `${file}.map`;
    if (fs.existsSync(mapFile)) map = new SourceMap(JSON.parse(fs.readFileSync(mapFile, 'utf8')));
  } catch {
    map = undefined;
  }
  maps.set(url, map);
  return map;
}

/** Where a frame comes from, for the by-package table. */
function packageOf(url, functionName) {
  if (!url) return functionName.startsWith('(') ? functionName : '(native / V8 builtins)';
  if (url.startsWith('node:')) return 'node internals';
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  const file = url.replace(/^file:\/\//, '');
  if (file === PALAVER_FILE || path.dirname(file) === path.dirname(PALAVER_FILE)) return 'palaver';
  if (url.includes('/bench/')) return 'bench harness';
  return url;
}

function locate(frame, pkg) {
  const { url, lineNumber, columnNumber } = frame;
  const map = url ? sourceMapFor(url) : undefined;
  if (map) {
    const entry = map.findEntry(lineNumber, columnNumber);
    if (entry && entry.originalSource) {
      const src = entry.originalSource.replace(/^.*?(src\/)/, '$1');
      return `${pkg === 'palaver' ? '' : `${pkg}/`}${src}:${entry.originalLine + 1}`;
    }
  }
  if (!url) return '';
  const short = url.replace(/^file:\/\//, '').replace(/^.*node_modules\//, '');
  return `${short}:${lineNumber + 1}`;
}

function analyse(file) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map();
  let total = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0;
    total += dt;
    const id = profile.samples[i];
    self.set(id, (self.get(id) ?? 0) + dt);
  }
  const byFunction = new Map();
  const byPackage = new Map();
  for (const [id, time] of self) {
    const frame = byId.get(id).callFrame;
    const name = frame.functionName || '(anonymous)';
    const pkg = packageOf(frame.url, name);
    const where = locate(frame, pkg);
    const key = `${name}\t${where}`;
    const entry = byFunction.get(key) ?? { name, where, pkg, time: 0 };
    entry.time += time;
    byFunction.set(key, entry);
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + time);
  }
  const idle = byPackage.get('(idle)') ?? 0;
  const busy = total - idle;
  return {
    total,
    busy,
    byFunction: [...byFunction.values()].sort((a, b) => b.time - a.time),
    byPackage: [...byPackage].sort((a, b) => b[1] - a[1]),
  };
}

function pct(x, of) {
  return `${((100 * x) / of).toFixed(1)}%`;
}

async function main() {
  const server = redis ? await require('./lib/redis-server').startRedis() : undefined;
  for (const mode of modes) {
    const before = new Set(fs.readdirSync(profDir));
    // On Redis: redis-worker.js, one at a time (seq) or in waves of 100 (conc), against the bench's own redis-server.
    const job = redis
      ? {
          kind: 'throughput',
          peer,
          users,
          turns,
          wave: mode === 'seq' ? 0 : Number(arg('wave', '100')),
          url: server.url,
          warmSeconds: 1,
        }
      : { kind: 'throughput', peer, users, turns, mode, wave: 1000 };
    console.log(`profiling ${peer}${redis ? ' on Redis' : ''} ${mode} U=${users} T=${turns} ...`);
    const child = spawnSync(
      process.execPath,
      [
        '--expose-gc',
        '--cpu-prof',
        `--cpu-prof-dir=${profDir}`,
        '--cpu-prof-interval=100',
        path.join(__dirname, redis ? 'redis-worker.js' : 'worker.js'),
        JSON.stringify(job),
      ],
      {
        cwd: __dirname,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const line = child.stdout.split('\n').find((l) => l.startsWith('RESULT '));
    if (child.status !== 0 || !line) {
      console.error(child.stdout);
      process.exit(1);
    }
    const result = JSON.parse(line.slice(7));
    const file = fs.readdirSync(profDir).find((f) => !before.has(f) && f.endsWith('.cpuprofile'));
    const tag = `${peer}${redis ? '-redis' : ''}-${mode}`;
    const named = path.join(profDir, `${tag}.cpuprofile`);
    fs.renameSync(path.join(profDir, file), named);
    const { busy, byFunction, byPackage } = analyse(named);
    const out = [];
    const how = redis
      ? mode === 'seq'
        ? 'on Redis, one at a time'
        : `on Redis, waves of ${arg('wave', '100')}`
      : mode === 'seq'
        ? 'sequential'
        : 'concurrent';
    out.push(
      `## ${peer}, ${how}, U=${users} × T=${turns}: ${Math.round(result.turnsPerSec).toLocaleString('en-US')} turns/s under the profiler`,
      '',
    );
    out.push(
      `Self time, % of busy time (${(busy / 1e6).toFixed(2)} s busy, idle excluded; the whole process incl. warm-up). Profile: \`${path.relative(__dirname, named)}\``,
      '',
    );
    out.push('| package | self |', '|---|---|');
    for (const [pkg, time] of byPackage)
      if (pkg !== '(idle)' && time / busy >= 0.005) out.push(`| ${pkg} | ${pct(time, busy)} |`);
    out.push('', '| function | where | package | self |', '|---|---|---|---|');
    for (const f of byFunction.filter((f) => f.pkg !== '(idle)').slice(0, top))
      out.push(`| ${f.name} | ${f.where} | ${f.pkg} | ${pct(f.time, busy)} |`);
    const text = out.join('\n') + '\n';
    fs.writeFileSync(path.join(outDir, `profile-${tag}.md`), text);
    console.log(text);
  }
  await server?.stop();
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
