// a refresh that only re-reads a one-to-one conversationData renews the record's expiry but not its owner's
// index: the index expires first and forgetUser no longer finds the conversation (nor the live session).
import { createClient } from 'redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SessionManager, type Address } from '../../src';
import { RedisStore } from '../../src/redis';
import { describeRedis, RedisServer } from './server';

let server: RedisServer;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const dm: Address = { channelId: 'web', user: { id: 'ann' }, conversation: { id: 'dm-ann' } };

describeRedis('user index vs touched conversationData', () => {
  beforeAll(async () => void (server = await RedisServer.start()));
  afterAll(async () => server?.dispose());

  it('forgetUser still finds a conversationData record kept alive by refreshes', async () => {
    const store = new RedisStore({ url: server.url, prefix: 'rev', commandTimeout: 2000 });
    const bot = new SessionManager({
      store,
      deliver: () => undefined,
      autoBatchDelay: 0,
      retention: { kept: '300ms', conversationData: '2s' }, // refreshEvery: 30 ms
    });
    bot.dialog('/', (session) => {
      if (session.message?.text === 'conv') session.conversationData.v = 'red';
      session.send('ok');
    });
    await bot.receive({ address: dm, text: 'conv' }); // creates c: (ttl 2.03 s) and the index (2.03 s)
    await sleep(1000);
    await bot.receive({ address: dm, text: 'hi' }); // refresh: c: touched to 2.03 s from now, without its owner
    await sleep(1200); // the index (2.03 s from the first turn) is gone; c: has ~0.8 s left
    const admin = createClient({ url: server.url });
    await admin.connect();
    const conversationLeft = await admin.pTTL('rev:{c:web:dm-ann}');
    const indexLeft = await admin.pTTL('rev:{u:web:ann}:index');
    const forgotten = await bot.forgetUser(dm);
    const after = await admin.exists('rev:{c:web:dm-ann}');
    await admin.close();
    await bot.close();
    expect({ conversationLeft: conversationLeft > 0, indexLeft }).toEqual({
      conversationLeft: true,
      indexLeft: expect.any(Number),
    });
    expect(indexLeft).toBeGreaterThan(0);
    expect({ conversations: forgotten.conversations, after }).toEqual({ conversations: 1, after: 0 });
  });
});
