// The Redis bench's measuring instruments (bench/lib): the proxy that counts commands and round trips off the wire,
// and the wrapper that counts a storage's calls into its client. Checked against a fake RESP server, no Redis needed.
import { createRequire } from 'node:module';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

// bench/ is CommonJS JavaScript of its own; the suite runs from the repository root.
const require = createRequire(resolve(process.cwd(), 'package.json'));

interface Snapshot {
  commands: number;
  replies: number;
  roundTrips: number;
  byName: Record<string, number>;
}
interface CountingProxy {
  url: string;
  port: number;
  snapshot(): Snapshot;
  close(): Promise<void>;
}
const { startCountingProxy, parseValue } = require('./bench/lib/resp-proxy.js') as {
  startCountingProxy(target: { host: string; port: number }): Promise<CountingProxy>;
  parseValue(buf: Buffer, pos: number, wantName: boolean): { end: number; kind: string; name?: string } | undefined;
};
const { countCalls } = require('./bench/lib/count-calls.js') as {
  countCalls<T extends object>(client: T): { client: T; counts: { calls: number; byName: Record<string, number> } };
};

const command = (...args: string[]) =>
  `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;

/** A server that answers every command with `+OK`, or with what `reply` returns for it. */
async function fakeRedis(reply: (name: string) => string = () => '+OK\r\n'): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    let pending = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        const value = parseValue(pending, 0, true);
        if (value === undefined) break;
        pending = pending.subarray(value.end);
        socket.write(reply(value.name ?? ''));
      }
    });
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { port: (server.address() as { port: number }).port, server };
}

/** A raw client: `send` writes bytes and resolves once `replies` replies have come back. */
async function rawClient(port: number) {
  const socket: Socket = connect(port, '127.0.0.1');
  await new Promise<void>((connected) => socket.once('connect', connected));
  // Every reply of the fake server is one line, so lines received = replies received.
  let lines = 0;
  let wanted = 0;
  let arrived: (() => void) | undefined;
  socket.on('data', (d) => {
    lines += (d.toString('latin1').match(/\r\n/g) ?? []).length;
    if (lines >= wanted) arrived?.();
  });
  return {
    send(bytes: string, replies: number) {
      wanted = lines + replies;
      const done = new Promise<void>((all) => (arrived = all));
      socket.write(bytes);
      return done;
    },
    close: () => socket.destroy(),
  };
}

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setUp(reply?: (name: string) => string) {
  const redis = await fakeRedis(reply);
  cleanups.push(() => new Promise((closed) => redis.server.close(closed)));
  const proxy = await startCountingProxy({ host: '127.0.0.1', port: redis.port });
  cleanups.push(() => proxy.close());
  const client = await rawClient(proxy.port);
  cleanups.push(() => client.close());
  return { proxy, client };
}

describe('parseValue (RESP)', () => {
  it('waits for the rest of a bulk string cut in two', () => {
    const whole = Buffer.from(command('SET', 'key', 'value'));
    expect(parseValue(whole.subarray(0, whole.length - 3), 0, true)).toBeUndefined();
    expect(parseValue(whole, 0, true)).toMatchObject({ end: whole.length, name: 'SET' });
  });

  it('tells a RESP3 push apart from a reply', () => {
    expect(parseValue(Buffer.from('>2\r\n$7\r\nmessage\r\n:1\r\n'), 0, false)).toMatchObject({ kind: 'push' });
  });

  it('reads a RESP3 map to its end', () => {
    const map = Buffer.from('%2\r\n+a\r\n:1\r\n+b\r\n:2\r\n+next\r\n');
    expect(parseValue(map, 0, false)).toMatchObject({ end: map.length - '+next\r\n'.length });
  });
});

describe('the counting proxy', () => {
  it('counts commands written together as one round trip', async () => {
    const { proxy, client } = await setUp();
    await client.send(command('GET', 'a') + command('GET', 'b') + command('SET', 'c', '1'), 3);
    expect(proxy.snapshot()).toMatchObject({ commands: 3, roundTrips: 1, byName: { GET: 2, SET: 1 } });
  });

  it('counts a command sent after the previous reply as a round trip of its own', async () => {
    const { proxy, client } = await setUp();
    await client.send(command('GET', 'a'), 1);
    await client.send(command('SET', 'a', '1'), 1);
    expect(proxy.snapshot()).toMatchObject({ commands: 2, roundTrips: 2, replies: 2 });
  });

  it('counts a script as one command, by name', async () => {
    const { proxy, client } = await setUp(() => ':1\r\n');
    await client.send(command('EVALSHA', 'abc', '1', 'key'), 1);
    expect(proxy.snapshot().byName).toEqual({ EVALSHA: 1 });
  });
});

describe('countCalls', () => {
  const fake = () => ({
    get: async (key: string) => key,
    set: async () => 'OK',
    multi() {
      const batch = {
        set: () => batch,
        get: () => batch,
        exec: async () => ['OK', '1'],
      };
      return batch;
    },
    isOpen: true,
    on: () => undefined,
  });

  it('counts every call that returns a promise, by method', async () => {
    const { client, counts } = countCalls(fake());
    await client.get('a');
    await client.set();
    client.on();
    expect(counts).toMatchObject({ calls: 2, byName: { get: 1, set: 1 } });
  });

  it('counts a MULTI block once, at its exec()', async () => {
    const { client, counts } = countCalls(fake());
    await client.multi().set().get().exec();
    expect(counts).toMatchObject({ calls: 1, byName: { 'multi.exec': 1 } });
  });

  it('counts the calls of a client the client hands out', async () => {
    const base = fake();
    const withDuplicate = {
      ...base,
      sendCommand: async () => 'OK',
      duplicate: () => ({ ...base, sendCommand: async () => 'OK' }),
    };
    const { client, counts } = countCalls(withDuplicate);
    await client.duplicate().get('a');
    expect(counts).toMatchObject({ calls: 1, byName: { get: 1 } });
  });

  it('passes results through unchanged', async () => {
    const { client } = countCalls(fake());
    expect(await client.get('x')).toBe('x');
    expect(client.isOpen).toBe(true);
  });
});
