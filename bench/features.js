'use strict';
// What `coalesce` and `history` cost when on, and that they cost nothing when off: the in-memory conversation of
// run.js (a text prompt asks the name, the bot greets), U users in waves (every user sends its next message at once,
// then the next wave), each variant in a fresh process, variants alternated within each repetition.
//
//   node features.js            3 repetitions, 1,000 users x 20 turns; prints a Markdown table
//   node features.js --quick    1 repetition, 200 users x 6 turns
//   PALAVER_BASE=/path/to/dist/index.js node features.js   adds a row for another build (the code before the options)
//   node features.js --variants=off --reps=9                 only some variants, more repetitions
//
// Figures: messages per second (wall), CPU µs per message (user + system, so a timer tick spent idle is not
// counted), and the stored session state at the end, in bytes per user. `coalesce` runs with window 0, so what is
// measured is its machinery (a batch and a timer per message), not the waiting a window adds by design.
const { spawnSync } = require('node:child_process');
const path = require('node:path');

const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const variantArg = (argv.find((a) => a.startsWith('--variant=')) ?? '').slice('--variant='.length);
const USERS = quick ? 200 : 1_000;
const TURNS = quick ? 6 : 20;
const REPS = Number((argv.find((a) => a.startsWith('--reps=')) ?? '').slice('--reps='.length)) || (quick ? 1 : 3);
// --variants=off,history: a subset of the variants.
const picked = (argv.find((a) => a.startsWith('--variants=')) ?? '').slice('--variants='.length).split(',');

const VARIANTS = {
  off: { label: 'both off (default)', options: {} },
  history: { label: 'history: { max: 20 }', options: { history: { max: 20 } } },
  coalesce: { label: 'coalesce: { window: 0 }, one message per turn', options: { coalesce: { window: 0 } } },
  burst: {
    label: 'coalesce: { window: 0 }, bursts of 3 messages (1 turn each)',
    options: { coalesce: { window: 0 } },
    burst: 3,
  },
  both: {
    label: 'history + coalesce (one message per turn)',
    options: { history: { max: 20 }, coalesce: { window: 0 } },
  },
};

async function measure(name, dist) {
  const palaver = require(dist);
  const variant = VARIANTS[name] ?? VARIANTS.off;
  const burst = variant.burst ?? 1;
  const store = new palaver.MemoryStore({ maxSessions: 100_000 });
  let replies = 0;
  const bot = new palaver.SessionManager({
    store,
    autoBatchDelay: 0,
    deliver: (_to, messages) => void (replies += messages.length),
    ...variant.options,
  });
  bot.on('error', (error) => {
    console.error(`${error.code}: ${error.message}`);
    process.exit(1);
  });
  bot.dialog('/', [
    (session) => palaver.Prompts.text(session, "What's your name?"),
    (session, results) => {
      session.userData.name = results.response;
      session.endDialog('Hello %s!', results.response);
    },
  ]);
  const address = (i) => ({ channelId: 'bench', user: { id: `u${i}` }, conversation: { id: `c${i}` } });
  const wave = (t) => {
    const all = [];
    for (let i = 0; i < USERS; i++) {
      const text = t % 2 === 0 ? 'hi' : `Name${i}`;
      for (let b = 0; b < burst; b++) all.push(bot.receive({ address: address(i), text }));
    }
    return Promise.all(all);
  };
  for (let t = 0; t < 4; t++) await wave(t); // warm-up, on the same users
  global.gc?.();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (let t = 0; t < TURNS; t++) await wave(t);
  const wall = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const messages = USERS * TURNS * burst;
  let bytes = 0;
  for (const key of store.sessionKeys()) bytes += store.get(key).data.length;
  await bot.close();
  const turns = USERS * (TURNS + 4);
  if (replies !== turns) throw new Error(`${name}: ${replies} replies for ${turns} turns`);
  return {
    perSecond: messages / wall,
    cpuMicros: ((used.user + used.system) / messages).toFixed(2),
    stateBytes: Math.round(bytes / USERS),
  };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function main() {
  const builds = [['', path.join(__dirname, '..', 'dist', 'index.js')]];
  if (process.env.PALAVER_BASE) builds.unshift(['before', path.resolve(process.env.PALAVER_BASE)]);
  const rows = [];
  for (const [tag, dist] of builds)
    for (const name of tag === 'before' ? ['off'] : Object.keys(VARIANTS))
      if (picked[0] === '' || picked.includes(name)) rows.push({ tag, dist, name, runs: [] });
  for (let rep = 0; rep < REPS; rep++) {
    const order = rep % 2 === 0 ? rows : [...rows].reverse();
    for (const row of order) {
      const child = spawnSync(process.execPath, ['--expose-gc', __filename, `--variant=${row.name}`, ...argv], {
        encoding: 'utf8',
        env: { ...process.env, PALAVER_FEATURES_DIST: row.dist },
      });
      if (child.status !== 0) throw new Error(`${row.name} failed: ${child.stderr}`);
      row.runs.push(JSON.parse(child.stdout));
    }
  }
  console.log(`${USERS} users x ${TURNS} messages each, in waves; median of ${REPS}; node ${process.version}\n`);
  console.log('| variant | messages/s | CPU µs per message | state bytes per user |');
  console.log('|---|---|---|---|');
  for (const row of rows) {
    const label = row.tag === 'before' ? 'before the options (PALAVER_BASE)' : VARIANTS[row.name].label;
    const per = median(row.runs.map((r) => r.perSecond));
    const cpu = median(row.runs.map((r) => Number(r.cpuMicros)));
    console.log(`| ${label} | ${Math.round(per).toLocaleString('en')} | ${cpu} | ${row.runs[0].stateBytes} |`);
  }
}

if (variantArg) {
  measure(variantArg, process.env.PALAVER_FEATURES_DIST).then(
    (result) => console.log(JSON.stringify(result)),
    (error) => {
      console.error(error);
      process.exit(1);
    },
  );
} else {
  main();
}
