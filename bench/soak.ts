// Soak: a million turns over rotating users, with sessions expiring (real time, 1 s timeout) as the run goes.
// Prints turns per second, bytes per live session, and the heap after forced GC against its baseline.
//
//   node --expose-gc -r ts-node/register/transpile-only bench/soak.ts            (from the repo root)
//   SOAK_TURNS=200000 node --expose-gc -r ts-node/register/transpile-only bench/soak.ts   (a shorter run)
//
// Not part of `npm test`. Exits with code 1 when the heap does not come back to within SOAK_TOLERANCE (default 5 %)
// of the baseline, or when a reply, a session end or an update went missing.
import { MemoryStore, SessionManager, type Address, type OutgoingMessage } from '../src';

const TURNS = Number(process.env.SOAK_TURNS ?? 1_000_000);
const TOLERANCE = Number(process.env.SOAK_TOLERANCE ?? 0.05);
/** Users in flight together; each sends TURNS_PER_USER turns, then goes quiet and its session expires. */
const WAVE = 2_000;
const TURNS_PER_USER = 10;
const TIMEOUT = 1_000;
const MEASURE_SESSIONS = 50_000;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) {
  console.error('Run with node --expose-gc (see the top of bench/soak.ts).');
  process.exit(2);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Heap used after full collections (several: weak references and finalizers settle over more than one). */
async function heapAfterGc(): Promise<number> {
  for (let i = 0; i < 6; i++) {
    gc!();
    await sleep(20);
  }
  return process.memoryUsage().heapUsed;
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  let delivered = 0;
  let wrong = 0;
  let ended = 0;
  let errors = 0;
  const store = new MemoryStore({ maxSessions: 100_000 });
  const bot = new SessionManager<{ n?: number }>({
    store,
    timeout: TIMEOUT,
    autoBatchDelay: 250,
    deliver: (to: Address, messages: OutgoingMessage[]) => {
      for (const message of messages) {
        delivered++;
        if (!message.text?.startsWith(`${to.user.id} `)) wrong++;
      }
    },
  });
  bot.on('sessionEnd', () => void ended++);
  bot.on('error', (error) => {
    errors++;
    if (errors <= 5) console.error(error);
  });
  bot.dialog('/', (session) => {
    // The sessions measured for their size stay until the measurement is done.
    if (session.message?.text === 'hold') session.timeout = 60 * 60_000;
    session.entities.n = (session.entities.n ?? 0) + 1;
    session.privateConversationData.seen = session.message?.text;
    session.send(`${session.address.user.id} ${session.entities.n}`);
  });

  let nextUser = 0;
  let peakLive = 0;
  /** Runs `users` new users × `turns` turns each, concurrently per wave; resolves with the turn count. */
  async function rotate(totalTurns: number, turns = TURNS_PER_USER, text = 'turn'): Promise<number> {
    let done = 0;
    while (done < totalTurns) {
      const wave: Promise<unknown>[] = [];
      const users = Math.min(WAVE, Math.ceil((totalTurns - done) / turns));
      for (let i = 0; i < users; i++) {
        const u = nextUser++;
        const address: Address = {
          channelId: 'soak',
          user: { id: `user${u}` },
          conversation: { id: `room${u % 1000}` },
        };
        for (let t = 0; t < turns; t++) wave.push(bot.receive({ address, text }));
      }
      await Promise.all(wave);
      peakLive = Math.max(peakLive, store.size);
      // Messages come from I/O: let timers (the scheduler, the outbox) run between waves, as they would.
      await new Promise((resolve) => setImmediate(resolve));
      done += users * turns;
    }
    return done;
  }

  async function drain(): Promise<void> {
    // Everything expires TIMEOUT after its last turn; the outbox waits autoBatchDelay.
    while (store.size > 0) await sleep(TIMEOUT / 2);
    await sleep(500);
  }

  // Warm-up: JIT, the end-hook memory (10,000 ids) full.
  const warmTurns = await rotate(200_000);
  await drain();
  const empty = await heapAfterGc();
  console.log(`[soak] warm-up: ${warmTurns.toLocaleString('en')} turns; heap with no session ${mb(empty)}`);

  // Bytes per live session: open MEASURE_SESSIONS sessions (one turn each, an hour's timeout), measure, end them.
  await rotate(MEASURE_SESSIONS, 1, 'hold');
  const live = store.size;
  const withSessions = await heapAfterGc();
  const perSession = (withSessions - empty) / live;
  console.log(
    `[soak] ${live.toLocaleString('en')} live sessions: heap ${mb(withSessions)}, ${Math.round(perSession).toLocaleString('en')} bytes per live session`,
  );
  await bot.sweepExpired(Date.now() + 2 * 60 * 60_000);
  await drain();
  // The baseline: lru-cache keeps its index at the largest size it has had, so take it once that size is reached.
  const baseline = await heapAfterGc();
  console.log(`[soak] baseline heap (no session, caches at working size): ${mb(baseline)}`);

  // The soak itself.
  const endedBefore = ended;
  peakLive = 0;
  const usersBefore = nextUser;
  const started = performance.now();
  let lastReport = started;
  let turns = 0;
  while (turns < TURNS) {
    turns += await rotate(Math.min(100_000, TURNS - turns));
    const now = performance.now();
    if (now - lastReport > 5_000) {
      console.log(
        `[soak] ${turns.toLocaleString('en')} turns, ${store.size.toLocaleString('en')} live sessions, heap ${mb(process.memoryUsage().heapUsed)}`,
      );
      lastReport = now;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  await drain();
  const after = await heapAfterGc();
  const users = nextUser - usersBefore;
  const drift = (after - baseline) / baseline;

  console.log(
    `[soak] ${turns.toLocaleString('en')} turns for ${users.toLocaleString('en')} users in ${seconds.toFixed(1)} s: ${Math.round(turns / seconds).toLocaleString('en')} turns/s`,
  );
  console.log(`[soak] live sessions: at most ${peakLive.toLocaleString('en')} at once; after expiry: ${store.size}`);
  console.log(
    `[soak] heap after GC: baseline ${mb(baseline)}, after ${mb(after)} (${drift >= 0 ? '+' : ''}${(drift * 100).toFixed(2)} %)`,
  );

  const problems: string[] = [];
  if (Math.abs(drift) > TOLERANCE)
    problems.push(`heap drifted ${(drift * 100).toFixed(2)} % (tolerance ${(TOLERANCE * 100).toFixed(0)} %)`);
  if (wrong > 0) problems.push(`${wrong} replies went to the wrong user`);
  if (errors > 0) problems.push(`${errors} error events`);
  if (ended - endedBefore !== users) problems.push(`${ended - endedBefore} sessions ended, expected ${users}`);
  if (store.size !== 0) problems.push(`${store.size} sessions still in the store`);
  await bot.close();
  console.log(`[soak] replies delivered in total: ${delivered.toLocaleString('en')}`);
  if (problems.length > 0) {
    console.error(`[soak] FAILED: ${problems.join('; ')}`);
    process.exitCode = 1;
  } else {
    console.log('[soak] OK');
  }
}

void main();
