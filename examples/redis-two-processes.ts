// Two bot processes, one Redis: a user's messages land on either process, and the conversation carries on as if
// one process served it all. When the user goes quiet, the session ends once, in whichever process claims it.
// Run it: npx ts-node examples/redis-two-processes.ts
// It uses REDIS_URL when set; otherwise it starts a throwaway redis-server (Debian: apt-get install redis-server).
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { SessionManager } from '../src';
import { RedisStore } from '../src/redis';

type Entities = { UserName?: string };
type FromBot = { t: 'ready' } | { t: 'line'; text: string } | { t: 'closed' };
type ToBot = { t: 'message'; user: string; text: string } | { t: 'close' };

const TIMEOUT = 2_000;

/** One bot process: a SessionManager on a RedisStore, taking messages from the parent over IPC. */
async function bot(name: string, url: string, prefix: string): Promise<void> {
  const say = (text: string) => process.send?.({ t: 'line', text: `[${name}] ${text}` } satisfies FromBot);
  const store = await RedisStore.connect({ url, prefix });
  const manager = new SessionManager<Entities>({
    store,
    timeout: TIMEOUT,
    sweepInterval: 250,
    autoBatchDelay: 0,
    closeMessage: 'Bye for now!',
    deliver: (_address, messages) => {
      for (const message of messages) say(`bot: ${message.text}`);
    },
    onSessionEnd: (session, reason) => {
      say(`session ended (${reason}) after ${session.info.turnCount} turns`);
      return ['UserName'];
    },
  });
  manager.on('error', (error) => say(`error ${error.code}: ${error.message}`));
  manager.dialog('/', (session) => {
    const text = session.message?.text ?? '';
    const name = /my name is (\w+)/i.exec(text)?.[1];
    if (name !== undefined) {
      session.entities.UserName = name;
      session.send('Nice to meet you, %s.', name);
    } else if (/what is my name/i.test(text)) {
      session.send(
        'You are %s (turn %d of this session).',
        session.entities.UserName ?? 'a mystery',
        session.info.turnCount,
      );
    } else {
      session.send('Hello! Tell me your name.');
    }
  });
  process.on('message', (message: ToBot) => {
    if (message.t === 'close') {
      void manager.close().then(() => {
        process.send?.({ t: 'closed' } satisfies FromBot);
        process.disconnect();
      });
      return;
    }
    say(`user: ${message.text}`);
    const address = { channelId: 'example', user: { id: message.user }, conversation: { id: 'dm' } };
    manager
      .receive({ address, text: message.text })
      .catch((error: { code?: string }) => say(`turn failed: ${error.code}`));
  });
  process.send?.({ t: 'ready' } satisfies FromBot);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write('PING\r\n'));
    socket.setTimeout(500, () => resolve(false));
    socket.on('error', () => resolve(false));
    socket.on('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
  });
}

/** Starts a redis-server for this run only (no persistence). */
async function throwawayRedis(): Promise<{ url: string; server: ChildProcess }> {
  const port = await freePort();
  const server = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  server.on('error', (error) => {
    console.error(`Could not start redis-server (${error.message}). Install it, or set REDIS_URL.`);
    process.exit(1);
  });
  for (let i = 0; !(await pong(port)); i++) {
    if (i > 100) throw new Error('redis-server did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url: `redis://127.0.0.1:${port}`, server };
}

async function main(): Promise<void> {
  const own = process.env.REDIS_URL ? undefined : await throwawayRedis();
  const url = process.env.REDIS_URL ?? own!.url;
  const prefix = `palaver-example-${process.pid}`;
  console.log(`Redis at ${url}${own ? ' (started for this run)' : ''}; two bot processes, A and B.`);

  // Run this same file as the bots (through ts-node when it is TypeScript).
  const execArgv = __filename.endsWith('.ts') ? ['-r', 'ts-node/register/transpile-only'] : [];
  const bots = ['A', 'B'].map((name) => fork(__filename, ['bot', name, url, prefix], { execArgv }));
  let lines = 0;
  const closed = bots.map((child) => new Promise<void>((resolve) => child.once('exit', () => resolve())));
  await Promise.all(
    bots.map(
      (child) =>
        new Promise<void>((resolve) =>
          child.on('message', (message: FromBot) => {
            if (message.t === 'ready') resolve();
            if (message.t === 'line') {
              lines++;
              console.log(message.text);
            }
          }),
        ),
    ),
  );
  const waitForLines = async (count: number) => {
    while (lines < count) await new Promise((resolve) => setTimeout(resolve, 20));
  };

  // One user; each message goes to the other process than the last one did.
  const script = ['hi', 'my name is Ada', 'what is my name?'];
  for (const [i, text] of script.entries()) {
    bots[i % 2]!.send({ t: 'message', user: 'ada', text } satisfies ToBot);
    await waitForLines(lines + 2); // the user's line and the bot's reply
  }
  console.log(`(the user goes quiet; the session times out after ${TIMEOUT} ms)`);
  await waitForLines(lines + 2); // "session ended" and the close message, from one process
  await new Promise((resolve) => setTimeout(resolve, 500)); // a second end would show up here (it never does)

  for (const child of bots) child.send({ t: 'close' } satisfies ToBot);
  await Promise.all(closed);
  own?.server.kill();
  console.log('done');
}

if (process.argv[2] === 'bot') {
  void bot(process.argv[3]!, process.argv[4]!, process.argv[5]!);
} else {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}
