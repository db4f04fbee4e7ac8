'use strict';
// The floors under the two grammY targets: the least palaver's layout (the session kept as text between turns,
// userData in a record of its own) must spend.
//
//   node floor.js            (from bench/; re-runs itself under --expose-gc)
//
// Time: the JSON a turn of the benchmark conversation cannot avoid (parse the stored state and write the new one; on
// the answer, parse and write userData too), timed in the same process as whole turns of grammY (session) and
// palaver, rounds alternated. Bytes: two records per idle user (session and userData) held as bare key/text pairs in
// one Map, no version, no LRU order, no deadline, against grammY's retained heap per idle session; both include the
// harness's record of the user's last reply. Prints a table and writes it to .out/FLOOR.md.
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');
const v8 = require('node:v8');
const { performance } = require('node:perf_hooks');
const { textOf, expectedReply } = require('./lib/conversation');

if (typeof global.gc !== 'function') {
  const child = spawnSync(process.execPath, ['--expose-gc', __filename, ...process.argv.slice(2)], {
    stdio: 'inherit',
  });
  process.exit(child.status ?? 1);
}

const USERS = 1000;
const HEAP_USERS = 100_000;
const ROUNDS = 7;
const ROUND_MS = 800;

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const heapUsed = () => v8.getHeapStatistics().used_heap_size;
function settle() {
  for (let i = 0; i < 4; i++) global.gc();
}
function fail(message) {
  console.error(`FAILED: ${message}`);
  process.exit(1);
}
/** `text` as a new string in one piece, as a store holding what it read from elsewhere would have it. */
const own = (text) => Buffer.from(text).toString();

/** palaver's stored texts for one user: the state at the prompt, the state idle, and userData. */
async function palaverTexts() {
  const driver = await require('./drivers/palaver').create({ users: 1 });
  const key = driver.bot.keyOf({ channelId: 'bench', user: { id: 'u0' }, conversation: { id: 'c0' } });
  await driver.turn(0, textOf(0, 0));
  const prompt = driver.store.get(key).data;
  await driver.turn(0, textOf(0, 1));
  const idle = driver.store.get(key).data;
  const user = driver.store.get('u:bench:u0').data;
  await driver.close();
  return { key, prompt, idle, user };
}

/** A driver that does no work of a framework: builds the message as palaver's driver does and records the owed reply. */
function nullDriver() {
  const { Replies } = require('./lib/conversation');
  const replies = new Replies(USERS);
  const answer = async (message, i) => replies.record(i, expectedReply(i, message.text === 'hi' ? 0 : 1));
  return {
    replies,
    turn(i, text) {
      return answer({ address: { channelId: 'bench', user: { id: `u${i}` }, conversation: { id: `c${i}` } }, text }, i);
    },
  };
}

/** Warm-loop turns of a driver for `ms`; µs per turn. `t` carries on across rounds so every user stays in step. */
async function timeDriver(d, ms) {
  const start = performance.now();
  let turns = 0;
  do {
    for (let i = 0; i < USERS; i++) await d.driver.turn(i, textOf(i, d.t));
    d.t++;
    turns += USERS;
  } while (performance.now() - start < ms);
  const us = ((performance.now() - start) * 1000) / turns;
  for (let i = 0; i < USERS; i++)
    if (d.driver.replies.last[i] !== expectedReply(i, d.t - 1)) fail(`${d.name}: user ${i} got a wrong reply`);
  return us;
}

/** The JSON of a pair of turns ("hi", then the name), looped for `ms`; µs per turn. */
function timeJson(texts, ms) {
  const start = performance.now();
  let turns = 0;
  let sink = 0;
  do {
    for (let i = 0; i < 1000; i++) {
      // "hi": the idle state read, the state at the prompt written. (userData is not read: a turn that does not use it
      // could leave it unparsed, so the floor does not count it.)
      const idle = JSON.parse(texts.idle);
      idle[7] = texts.promptStack; // built once: the floor counts no work to build the new stack
      sink += JSON.stringify(idle).length;
      // the name: the state at the prompt and userData read; the idle state and the new userData written.
      const prompt = JSON.parse(texts.prompt);
      const user = JSON.parse(texts.user);
      user.name = texts.names[i];
      prompt[7] = 0;
      sink += JSON.stringify(prompt).length + JSON.stringify(user).length;
    }
    turns += 2000;
  } while (performance.now() - start < ms);
  if (sink === 0) fail('the JSON loop did nothing');
  return ((performance.now() - start) * 1000) / turns;
}

/** Retained heap per idle grammY session: U users through one exchange, after forced GC. */
async function grammyHeap() {
  const driver = await require('./drivers/grammy-session').create({ users: HEAP_USERS });
  for (let i = 0; i < 200; i++) await driver.turn(0, textOf(0, i)); // warm the bot; user 0 is counted below anyway
  settle();
  const before = heapUsed();
  for (let t = 0; t < 2; t++) {
    for (let w = 0; w < HEAP_USERS; w += 1000) {
      const wave = [];
      for (let i = w; i < w + 1000; i++) wave.push(driver.turn(i, textOf(i, t)));
      await Promise.all(wave);
    }
  }
  settle();
  const bytes = (heapUsed() - before) / HEAP_USERS;
  for (let i = 0; i < HEAP_USERS; i += 997)
    if (driver.replies.last[i] !== expectedReply(i, 1)) fail(`grammY heap: user ${i} got a wrong reply`);
  return bytes;
}

/**
 * Heap per user of palaver's two idle records as bare key → text pairs in one Map. Like grammY's figure, it includes
 * the harness's record of each user's last reply.
 */
function textFloorHeap(texts) {
  settle();
  const before = heapUsed();
  const records = new Map();
  const replies = new Array(HEAP_USERS).fill(undefined);
  for (let i = 0; i < HEAP_USERS; i++) {
    replies[i] = own(expectedReply(i, 1));
    // Same lengths as palaver's (a session id of the same size per user, the user's own name and keys).
    const id = `s${String(i).padStart(15, '0')}`;
    records.set(own(`s:bench:c${i}:u${i}`), own(texts.idle.replace(texts.id, id)));
    records.set(own(`u:bench:u${i}`), own(`{"name":"Name${i}"}`));
  }
  settle();
  const bytes = (heapUsed() - before) / HEAP_USERS;
  if (records.size !== 2 * HEAP_USERS || replies[HEAP_USERS - 1] !== expectedReply(HEAP_USERS - 1, 1))
    fail('the text floor lost records');
  return bytes;
}

async function main() {
  const captured = await palaverTexts();
  const id = JSON.parse(captured.idle)[1];
  const promptStack = JSON.parse(captured.prompt)[7];
  const texts = { ...captured, id, promptStack, names: Array.from({ length: 1000 }, (_, i) => `Name${i}`) };
  if (JSON.parse(captured.prompt)[7] === 0 || JSON.parse(captured.idle)[7] !== 0)
    fail('the state layout is not the one this script expects (the stack at index 7)');

  const peers = [
    { name: 'harness', driver: nullDriver(), t: 0 },
    { name: 'grammY session', driver: await require('./drivers/grammy-session').create({ users: USERS }), t: 0 },
    { name: 'palaver', driver: await require('./drivers/palaver').create({ users: USERS, maxSessions: USERS }), t: 0 },
  ];
  // Warm-up: 3 s each, as the benchmark's.
  for (const peer of peers) await timeDriver(peer, 3000);
  timeJson(texts, 1000);
  const times = { harness: [], 'grammY session': [], palaver: [], json: [] };
  for (let r = 0; r < ROUNDS; r++) {
    for (const peer of r % 2 ? [...peers].reverse() : peers) times[peer.name].push(await timeDriver(peer, ROUND_MS));
    times.json.push(timeJson(texts, ROUND_MS));
  }
  for (const peer of peers) await peer.driver.close?.();
  peers.length = 0;

  const grammyUs = median(times['grammY session']);
  const palaverUs = median(times.palaver);
  const harnessUs = median(times.harness);
  const jsonUs = median(times.json);
  const budgetUs = grammyUs / 3;

  const grammyBytes = await grammyHeap();
  const floorBytes = textFloorHeap(texts);

  const f = (x, d = 2) => x.toFixed(d);
  const lines = [
    '# The floors under the grammY targets',
    '',
    `Node ${process.version}, ${new Date().toISOString().slice(0, 10)}; ${ROUNDS} alternated rounds of ${ROUND_MS} ms, medians, U=${USERS.toLocaleString('en-US')} sequential.`,
    '',
    '| per turn | µs | × grammY turn |',
    '|---|---|---|',
    `| grammY session, whole turn | ${f(grammyUs)} | 1.00 |`,
    `| palaver, whole turn | ${f(palaverUs)} | ${f(palaverUs / grammyUs)} |`,
    `| 3× grammY: the budget for a whole palaver turn | ${f(budgetUs)} | 0.33 |`,
    `| the harness alone (a driver whose turn only builds an address and records the owed reply) | ${f(harnessUs)} | ${f(harnessUs / grammyUs)} |`,
    `| the JSON a turn cannot skip (parse the state, write it; parse and write userData on the answer) | ${f(jsonUs)} | ${f(jsonUs / grammyUs)} |`,
    '',
    `The JSON and the harness take ${Math.round((100 * (jsonUs + harnessUs)) / budgetUs)} % of the 3× budget, leaving ${f(Math.max(0, budgetUs - jsonUs - harnessUs))} µs for`,
    `everything else a turn does: check the message, queue it behind the user's earlier turns, find the session, run the`,
    `dialog, format and deliver the reply, save, reschedule the timeout (palaver spends ${f(palaverUs - jsonUs - harnessUs)} µs on that now).`,
    '',
    `| per idle user, ${HEAP_USERS.toLocaleString('en-US')} users, after forced GC | bytes |`,
    '|---|---|',
    `| grammY session (retained heap, as the benchmark measures it) | ${Math.round(grammyBytes)} |`,
    `| palaver's two idle records as bare key → text pairs in one Map (no version, LRU or deadline), + the harness's last reply | ${Math.round(floorBytes)} |`,
    '',
    `Texts: state at the prompt ${captured.prompt.length} characters, idle ${captured.idle.length}, userData ${captured.user.length}.`,
  ];
  const report = lines.join('\n') + '\n';
  console.log(report);
  fs.mkdirSync(path.join(__dirname, '.out'), { recursive: true });
  fs.writeFileSync(path.join(__dirname, '.out', 'FLOOR.md'), report);
}

main().catch((error) => fail(error.stack ?? String(error)));
