// Coalescing and the transcript on Redis: the transcript is saved with the session, so another process reads it;
// merging is per process (a batch lives in the process that received its messages).
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SessionManager, type Address, type SessionManagerOptions } from '../../src';
import { RedisStore } from '../../src/redis';
import { describeRedis, RedisServer } from './server';

const address: Address = { channelId: 'test', user: { id: 'lars' }, conversation: { id: 'c1' } };
let server: RedisServer;

describeRedis('coalescing and history on Redis', () => {
  beforeAll(async () => {
    server = await RedisServer.start();
  });

  afterAll(async () => {
    await server?.dispose();
  });

  /** A "process": its own manager and connection on a shared prefix; it records what each turn saw. */
  function process(prefix: string, options: Partial<SessionManagerOptions>, seen: string[][]) {
    const bot = new SessionManager({
      store: new RedisStore({ url: server.url, prefix, commandTimeout: 2000 }),
      deliver: () => undefined,
      autoBatchDelay: 0,
      sweepInterval: 3_600_000,
      ...options,
    });
    bot.dialog('/', (session) => {
      seen.push(session.history.map((entry) => `${entry.role}: ${entry.text}`));
      session.send(`echo ${session.message?.text}`);
    });
    return bot;
  }

  it('saves the transcript with the session, so that another process reads it', async () => {
    const seen: string[][] = [];
    const [a, b] = [process('history', { history: {} }, seen), process('history', { history: {} }, seen)];
    await a.receive({ address, text: 'hi' });
    await b.receive({ address, text: 'there' });
    await Promise.all([a.close(), b.close()]);
    expect(seen[1]).toEqual(['user: hi', 'bot: echo hi', 'user: there']);
  });

  it('merges a burst into one turn under the store lease', async () => {
    const seen: string[][] = [];
    const bot = process('burst', { history: {}, coalesce: { window: 60_000, max: 3 } }, seen);
    const results = await Promise.all(
      ['hi', 'I need help', 'with my order'].map((text) => bot.receive({ address, text })),
    );
    await bot.close();
    expect(results.map((result) => result.merged)).toEqual([3, 3, 3]);
    expect(seen).toEqual([['user: hi', 'user: I need help', 'user: with my order']]);
  });

  it('merges per process: messages that two processes received are two turns', async () => {
    const seen: string[][] = [];
    const options = { history: {}, coalesce: { window: 60_000 } };
    const [a, b] = [process('split', options, seen), process('split', options, seen)];
    const received = Promise.all([a.receive({ address, text: 'one' }), b.receive({ address, text: 'two' })]);
    await Promise.all([a.close(), b.close()]); // close() runs the batches still waiting for their window
    const results = await received;
    expect(results.map((result) => result.merged)).toEqual([undefined, undefined]);
    expect(seen.map((turn) => turn[turn.length - 1]).sort()).toEqual(['user: one', 'user: two']);
    expect(seen.flat()).toHaveLength(4); // the second turn saw the first's message and reply
  });
});
