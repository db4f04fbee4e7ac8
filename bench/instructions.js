'use strict';
// Machine instructions per turn, counted by valgrind: a figure that other work on a shared machine does not move.
//
//   node instructions.js [--peer=palaver] [--warm=20000] [--turns=40000] [--users=1000]
//
// Runs the bench conversation twice under `valgrind --tool=cachegrind --cache-sim=no`, on `node --single-threaded`
// (the garbage collector and the JIT compilers then run on the main thread, so their work is counted too): once with
// the warm-up turns alone, once with the warm-up and then the timed turns. The difference over the timed turns is
// what one turn costs once the code is warm, start-up and warm-up left out. The users take their turns in step, one
// at a time, each awaited. Each run takes a few minutes (valgrind runs node about 30× slower).
//
// As a child: `node --single-threaded instructions.js --child <peer> <users> <warm> <turns>`.
const { spawnSync } = require('node:child_process');
const { textOf, expectedReply } = require('./lib/conversation');

const DRIVERS = { palaver: './drivers/palaver', 'grammy-session': './drivers/grammy-session' };

async function child([peer, users, warm, turns]) {
  const u = Number(users);
  const driver = await require(DRIVERS[peer]).create({ users: u });
  let t = 0;
  const run = async (n) => {
    for (let done = 0; done < n; done += u, t++) for (let i = 0; i < u; i++) await driver.turn(i, textOf(i, t));
  };
  await run(Number(warm));
  await run(Number(turns));
  for (let i = 0; i < u; i++)
    if (driver.replies.last[i] !== expectedReply(i, t - 1)) throw new Error(`user ${i} got a wrong reply`);
  await driver.close?.();
}

function instructions(args) {
  const result = spawnSync(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=no',
      '--cachegrind-out-file=/dev/null',
      process.execPath,
      '--single-threaded',
      __filename,
      '--child',
      ...args,
    ],
    { encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  const match = /I\s+refs:\s+([\d,]+)/.exec(result.stderr);
  if (result.status !== 0 || match === null) {
    console.error(result.stderr.slice(-2000));
    process.exit(1);
  }
  return Number(match[1].replace(/,/g, ''));
}

function main(argv) {
  const option = (name, fallback) =>
    (argv.find((a) => a.startsWith(`--${name}=`)) ?? `--${name}=${fallback}`).slice(name.length + 3);
  const peer = option('peer', 'palaver');
  if (DRIVERS[peer] === undefined) throw new Error(`--peer must be one of ${Object.keys(DRIVERS).join(', ')}`);
  const users = option('users', '1000');
  const warm = option('warm', '20000');
  const turns = Number(option('turns', '40000'));
  const base = instructions([peer, users, warm, '0']);
  const total = instructions([peer, users, warm, String(turns)]);
  console.log(
    `${peer}: ${Math.round((total - base) / turns).toLocaleString('en-US')} instructions per turn ` +
      `(${turns} turns of ${users} users after ${warm} warm-up turns)`,
  );
}

if (process.argv[2] === '--child') {
  child(process.argv.slice(3)).catch((error) => {
    console.error(error);
    process.exit(1);
  });
} else {
  main(process.argv.slice(2));
}
