// Idle nudges on Redis: the one deadline per session key carries the ladder, so each nudge goes out once cluster-wide.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SessionManager, type Address } from '../../src';
import { RedisStore } from '../../src/redis';
import { MINUTE } from '../support/fixtures';
import { describeRedis, RedisServer } from './server';

const address: Address = { channelId: 'test', user: { id: 'lars' }, conversation: { id: 'c1' } };
let server: RedisServer;

describeRedis('idle nudges on Redis', () => {
  beforeAll(async () => {
    server = await RedisServer.start();
  });

  afterAll(async () => {
    await server?.dispose();
  });

  it('sends each nudge once, then the close message, when two processes sweep the same store', async () => {
    const said: string[] = [];
    // Two "processes": their own manager and connection, one prefix. Their sweeps are driven by hand (sweepExpired(now)).
    const make = () => {
      const bot = new SessionManager({
        store: new RedisStore({ url: server.url, prefix: 'nudges', commandTimeout: 2000 }),
        deliver: (_to, messages) => void said.push(...messages.map((m) => m.text ?? '')),
        autoBatchDelay: 0,
        sweepInterval: 3_600_000,
        nudge: { after: 5 * MINUTE, every: 5 * MINUTE, max: 2, message: 'Are you still there?' },
        closeMessage: 'Closing.',
      });
      bot.dialog('/', (session) => session.send('ok'));
      return bot;
    };
    const [a, b] = [make(), make()];
    await a.receive({ address, text: 'hi' });
    const start = Date.now();
    for (const at of [5 * MINUTE + 1000, 10 * MINUTE + 1000, 31 * MINUTE])
      await Promise.all([a.sweepExpired(start + at), b.sweepExpired(start + at)]);
    await Promise.all([a.close(), b.close()]);
    expect(said).toEqual(['ok', 'Are you still there?', 'Are you still there?', 'Closing.']);
  });
});
