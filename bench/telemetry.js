'use strict';
// What the `telemetry` option costs per turn: the bench conversation (hi → text prompt → name → greeting) on a
// MemoryStore, one awaited turn at a time, in a fresh process per mode, the modes taking turns over the repetitions.
//
//   base     the build before telemetry existed (PALAVER_BASE_DIST=/path/to/dist/index.js; left out without it)
//   off      this build, no `telemetry` option (the default)
//   noop     `telemetry: true` with @opentelemetry/api but no SDK registered (the API's no-op tracer and meter)
//   sdk      `telemetry` with the SDK: BasicTracerProvider + BatchSpanProcessor (as production runs it) into an exporter
//            that drops the spans, and a MeterProvider with a reader (every span and metric recorded; no I/O)
//
// Prints turns per second (median, min–max), wall and CPU µs per turn, and promises made per turn (counted with async_hooks on a
// separate window, since the hook itself slows the process). Run from the repository root after `npm run build`:
//   node bench/telemetry.js [--turns=200000] [--reps=3]
const { fork } = require('node:child_process');
const path = require('node:path');
const { QUESTION, textOf, expectedReply, Replies } = require('./lib/conversation');

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key, value ?? 'true'];
  }),
);
const USERS = 1000;

function load(mode) {
  const dist = mode === 'base' ? process.env.PALAVER_BASE_DIST : path.join(__dirname, '../dist/index.js');
  return require(path.resolve(dist));
}

function telemetryOption(mode) {
  if (mode === 'noop') return true;
  if (mode !== 'sdk') return undefined;
  const { BasicTracerProvider, BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
  const { MeterProvider, MetricReader } = require('@opentelemetry/sdk-metrics');
  let spans = 0;
  const exporter = {
    export(batch, done) {
      spans += batch.length;
      done({ code: 0 });
    },
    shutdown: () => Promise.resolve(),
  };
  class Reader extends MetricReader {
    onShutdown() {
      return Promise.resolve();
    }
    onForceFlush() {
      return Promise.resolve();
    }
  }
  const reader = new Reader();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new BatchSpanProcessor(exporter)] });
  return {
    option: { tracerProvider, meterProvider: new MeterProvider({ readers: [reader] }) },
    spans: async () => {
      await tracerProvider.forceFlush();
      return spans;
    },
  };
}

async function child(mode) {
  const palaver = load(mode);
  const otel = telemetryOption(mode);
  const replies = new Replies(USERS);
  const bot = new palaver.SessionManager({
    store: new palaver.MemoryStore({ maxSessions: 100_000 }),
    autoBatchDelay: 0,
    deliver: (to, messages) => {
      const i = Number(to.user.id.slice(1));
      for (const message of messages) replies.record(i, message.text);
    },
    ...(otel === undefined ? {} : { telemetry: otel === true ? true : otel.option }),
  });
  bot.dialog('/', [
    (session) => palaver.Prompts.text(session, QUESTION),
    (session, results) => {
      session.userData.name = results.response;
      session.endDialog('Hello %s!', results.response);
    },
  ]);
  const addresses = Array.from({ length: USERS }, (_, i) => ({
    channelId: 'bench',
    user: { id: `u${i}` },
    conversation: { id: `c${i}` },
  }));
  let t = 0;
  const run = async (turns) => {
    for (let n = 0; n < turns; n++, t++) {
      const i = t % USERS;
      const round = Math.floor(t / USERS);
      await bot.receive({ address: addresses[i], text: textOf(i, round) });
      if (replies.last[i] !== expectedReply(i, round)) throw new Error(`user ${i} got ${replies.last[i]}`);
    }
  };
  const turns = Number(args.turns ?? 200_000);
  // Whole rounds of every user, so that each timed window starts with everyone at the same point.
  await run(40 * USERS);
  global.gc?.();
  const started = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  await run(turns);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  const promises = await countPromises(() => run(10 * USERS));
  const result = {
    mode,
    turnsPerSecond: turns / seconds,
    microsPerTurn: (seconds * 1e6) / turns,
    cpuMicrosPerTurn: (used.user + used.system) / turns,
    promisesPerTurn: promises / (10 * USERS),
    spansPerTurn: otel?.spans === undefined ? 0 : (await otel.spans()) / t,
  };
  await bot.close();
  process.send(result);
}

async function countPromises(work) {
  const { createHook } = require('node:async_hooks');
  let count = 0;
  const hook = createHook({
    init(_id, type) {
      if (type === 'PROMISE') count++;
    },
  }).enable();
  await work();
  hook.disable();
  return count;
}

function runChild(mode) {
  return new Promise((resolve, reject) => {
    const worker = fork(__filename, [...process.argv.slice(2), `--child=${mode}`], { execArgv: ['--expose-gc'] });
    worker.on('message', resolve);
    worker.on('error', reject);
    worker.on('exit', (code) => code !== 0 && reject(new Error(`${mode} exited with ${code}`)));
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];

async function main() {
  const modes = ['off', 'noop', 'sdk'];
  if (process.env.PALAVER_BASE_DIST) modes.unshift('base');
  const reps = Number(args.reps ?? 3);
  const results = Object.fromEntries(modes.map((mode) => [mode, []]));
  for (let rep = 0; rep < reps; rep++) {
    const order = modes.map((_, k) => modes[(k + rep) % modes.length]);
    for (const mode of order) results[mode].push(await runChild(mode));
  }
  console.log(
    `telemetry cost, ${args.turns ?? 200_000} sequential turns, ${reps} repetitions, node ${process.version}`,
  );
  console.log(
    '| mode | turns/s, median (min–max) | µs per turn | CPU µs per turn | promises per turn | spans per turn |',
  );
  console.log('|---|---|---|---|---|---|');
  for (const mode of modes) {
    const runs = results[mode];
    const tps = runs.map((r) => r.turnsPerSecond);
    const fmt = (n) => Math.round(n).toLocaleString('en-US');
    console.log(
      `| ${mode} | ${fmt(median(tps))} (${fmt(Math.min(...tps))}–${fmt(Math.max(...tps))}) | ` +
        `${median(runs.map((r) => r.microsPerTurn)).toFixed(2)} | ${median(runs.map((r) => r.cpuMicrosPerTurn)).toFixed(2)} | ${median(runs.map((r) => r.promisesPerTurn)).toFixed(2)} | ` +
        `${median(runs.map((r) => r.spansPerTurn)).toFixed(2)} |`,
    );
  }
}

if (args.child) {
  child(args.child).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
