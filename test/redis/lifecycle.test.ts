// The data lifecycle on a real Redis: every key palaver writes expires (but the two sorted sets the docs list), data
// past its retention is gone, forgetUser leaves nothing of the user in the whole database, exportUser returns what a
// scan of the database finds, and none of it costs an ordinary turn an extra command.
import { createClient } from 'redis';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SessionManager, type Address, type SessionManagerOptions } from '../../src';
import { RedisStore } from '../../src/redis';
import { describeRedis, RedisServer } from './server';

function newClient(url: string) {
  return createClient({ url }).on('error', () => undefined);
}

let server: RedisServer;
let admin: ReturnType<typeof newClient>;
const closing: (() => Promise<unknown>)[] = [];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
const at = (user: string, conversation: string, isGroup?: boolean): Address => ({
  channelId: 'web',
  user: { id: user },
  conversation: isGroup === undefined ? { id: conversation } : { id: conversation, isGroup },
});

/** A bot on its own prefix that keeps what it is told: `user <v>`, `conv <v>`, `name <v>` (a kept entity). */
function dataBot(prefix: string, options: Partial<SessionManagerOptions<{ UserName?: string }>> = {}) {
  const store = new RedisStore({ url: server.url, prefix, commandTimeout: 2000 });
  const delivered: string[] = [];
  const bot = new SessionManager<{ UserName?: string }>({
    store,
    deliver: (_to, messages) => void delivered.push(...messages.map((m) => m.text ?? '')),
    autoBatchDelay: 0,
    onSessionEnd: () => ['UserName'],
    ...options,
  });
  bot.dialog('/', (session) => {
    const [verb, value] = (session.message?.text ?? '').split(' ');
    if (verb === 'user') session.userData.v = value;
    if (verb === 'conv') session.conversationData.v = value;
    if (verb === 'name') session.entities.UserName = value;
    session.send('ok');
  });
  closing.push(() => bot.close());
  return { bot, store, delivered };
}

/** Every key under `prefix`, found with SCAN over the whole database. */
async function scan(prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const batch of admin.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) keys.push(...batch);
  return keys.sort();
}

/** A key's whole value as text, whatever its type. */
async function valueOf(key: string): Promise<string> {
  const type = await admin.type(key);
  if (type === 'string') return (await admin.get(key)) ?? '';
  if (type === 'hash') return JSON.stringify(await admin.hGetAll(key));
  if (type === 'set') return JSON.stringify(await admin.sMembers(key));
  if (type === 'zset') return JSON.stringify(await admin.zRange(key, 0, -1));
  return type;
}

/** A corrupt session record of `user`, created as a turn would (indexed under the user), for the turn to quarantine. */
async function corrupt(store: RedisStore, user: string, conversation: string): Promise<void> {
  await store.commit([
    {
      key: `s:web:${conversation}:${user}`,
      expected: null,
      data: 'not a session',
      owner: `u:web:${user}`,
      ttlMs: 60_000,
    },
  ]);
}

describeRedis('the data lifecycle on RedisStore', () => {
  beforeAll(async () => {
    server = await RedisServer.start();
    admin = newClient(server.url);
    await admin.connect();
  });
  afterAll(async () => {
    for (const close of closing) await close().catch(() => undefined);
    admin?.destroy();
    await server?.dispose();
  });

  it('gives every key it writes an expiry, but the deadline and claim sets', async () => {
    const { bot, store } = dataBot('ttl', {
      closePolicy: 'lazy',
      retention: { userData: '30d', conversationData: '90d', kept: '365d' },
    });
    await bot.receive({ address: at('ann', 'dm-ann'), text: 'user blue' });
    await bot.receive({ address: at('ann', 'dm-ann'), text: 'conv red' });
    await bot.receive({ address: at('ann', 'team', true), text: 'name Ann' });
    await bot.receive({ address: at('bob', 'team', true), text: 'conv shared' });
    await bot.endSession(at('ann', 'team', true)); // dormant: keeps UserName
    await bot.receive({ address: at('cid', 'dm-cid'), text: 'hi' });
    expect(await bot.sweepExpired(Date.now() + 3_600_000)).toBe(3); // ann's dm, bob's and cid's: lazy, swept by cron
    await corrupt(store, 'dan', 'dm-dan');
    await bot.receive({ address: at('dan', 'dm-dan'), text: 'hi' }); // quarantines the bad record
    await bot.startSession(at('eve', 'dm-eve'));
    await bot.forgetUser({ channelId: 'web', userId: 'bob' }); // tombstones
    await sleep(20);
    const keys = await scan('ttl');
    const without: string[] = [];
    for (const key of keys) if ((await admin.pTTL(key)) < 0) without.push(key);
    console.log(`[lifecycle] keys scanned: ${keys.length}; without an expiry: ${without.join(', ')}`);
    const kinds = new Set(keys.map((key) => key.replace(/^ttl:(\{[a-z]:)?[^}]*\}?/, '$1').replace(/\d+\.\d+$/, '')));
    expect([...kinds].sort()).toEqual(
      ['', '{c:', '{s:', '{s::corrupt:', '{s::quarantined', '{s::tomb', '{u:', '{u::index'].sort(),
    );
    expect(without).toEqual(['ttl:claims', 'ttl:deadlines'].filter((key) => keys.includes(key)));
  });

  it('ends each of 1,000 lazy sessions once when two processes sweep them from a cron at the same time', async () => {
    const ends: string[] = [];
    const options = {
      closePolicy: 'lazy' as const,
      onSessionEnd: (session: { info: { id: string } }) => void ends.push(session.info.id),
    };
    const a = dataBot('lazy', options);
    const b = dataBot('lazy', options);
    for (let i = 0; i < 1000; i++) await a.bot.receive({ address: at(`u${i}`, `dm-u${i}`), text: 'hi' });
    const later = Date.now() + 31 * 60_000;
    const started = Date.now();
    const [first, second] = await Promise.all([a.bot.sweepExpired(later), b.bot.sweepExpired(later)]);
    const took = Date.now() - started;
    const again = await a.bot.sweepExpired(later);
    console.log(`[lifecycle] 1,000 lazy sessions swept by two processes in ${took} ms (${first} + ${second})`);
    expect({ swept: first + second, again, ends: ends.length, distinct: new Set(ends).size }).toEqual({
      swept: 1000,
      again: 0,
      ends: 1000,
      distinct: 1000,
    });
  });

  it('deletes data past its retention, and keeps the data of a user who stays active', async () => {
    const { bot, store } = dataBot('ret', { retention: { userData: 400, kept: 400 } });
    await bot.receive({ address: at('idle', 'dm-idle'), text: 'user blue' });
    await bot.receive({ address: at('busy', 'dm-busy'), text: 'user green' });
    for (let i = 0; i < 6; i++) {
      await sleep(120);
      await bot.receive({ address: at('busy', 'dm-busy'), text: 'read' });
    }
    expect([await store.get('u:web:idle'), (await store.get('u:web:busy'))?.data]).toEqual([
      undefined,
      '{"v":"green"}',
    ]);
  });

  it('leaves no key and no value with the user’s id after forgetUser, but short-lived tombstones', async () => {
    const id = 'lars-7f3a';
    const { bot, store } = dataBot('fgt', { closePolicy: 'lazy', retention: { kept: '365d' } });
    await bot.receive({ address: at('ada', `dm-ada`), text: 'user green' });
    await bot.receive({ address: at(id, `dm-${id}`), text: 'user blue' });
    await bot.receive({ address: at(id, `dm-${id}`), text: 'conv red' });
    await bot.receive({ address: at(id, 'team', true), text: 'name Lars' });
    await bot.endSession(at(id, 'team', true));
    await corrupt(store, id, `old-${id}`);
    await bot.receive({ address: at(id, `old-${id}`), text: 'hi' });
    await bot.receive({ address: at(id, `lazy-${id}`), text: 'hi' });
    const adaBefore = await bot.exportUser(at('ada', 'dm-ada'));
    const result = await bot.forgetUser(at(id, `dm-${id}`));
    const found: string[] = [];
    for (const key of await scan('fgt')) {
      const value = await valueOf(key);
      if (!key.includes(id) && !value.includes(id)) continue;
      const tombstone = key.endsWith(':tomb') && /^\d+:[^:]*$/.test(value) && (await admin.pTTL(key)) <= 60_000;
      if (!tombstone) found.push(`${key} = ${value}`);
    }
    expect(result).toEqual({ sessions: 4, userData: 1, conversations: 1, replies: 0, quarantined: 1 });
    expect(found).toEqual([]);
    expect(await bot.exportUser(at('ada', 'dm-ada'))).toEqual(adaBefore);
  });

  it('exports exactly the records a scan of the database finds for the user', async () => {
    const id = 'mia-91c2';
    const { bot, store } = dataBot('exp');
    await bot.receive({ address: at(id, `dm-${id}`), text: 'user blue' });
    await bot.receive({ address: at(id, `dm-${id}`), text: 'conv red' });
    await bot.receive({ address: at(id, 'team', true), text: 'name Mia' });
    await corrupt(store, id, `old-${id}`);
    await bot.receive({ address: at(id, `old-${id}`), text: 'hi' });
    await bot.receive({ address: at('other', 'dm-other'), text: 'user green' });
    const exported = await bot.exportUser({ channelId: 'web', userId: id });
    const scanned = (await scan('exp'))
      .filter((key) => key.includes(id) && !/:(index|lease|tomb|quarantined)$/.test(key))
      .map((key) =>
        key.replace(/^exp:\{(.*)\}(:corrupt:.*)?$/, (_, record: string, copy?: string) => record + (copy ?? '')),
      )
      .sort();
    const listed = [
      exported.userData === null ? [] : [`u:web:${id}`],
      exported.sessions.map((s) => s.key),
      exported.conversations.map((c) => c.key),
      exported.quarantined.map((q) => `${q.key}:corrupt:${q.version}.${q.generation}`),
    ]
      .flat()
      .sort();
    expect(listed).toEqual(scanned);
    expect(exported).toMatchObject({ userData: { v: 'blue' }, conversations: [{ data: { v: 'red' } }] });
  });

  it('forgets a session only after a turn another process has in flight has committed', async () => {
    const id = 'noa-55d0';
    const a = dataBot('race');
    const b = dataBot('race');
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    a.bot.dialog('/slow', async (session) => {
      await held;
      session.userData.late = 'written during the forget';
      session.endDialog();
    });
    a.bot.action('slow', { matches: /^slow$/, beginDialog: '/slow' } as never);
    await a.bot.receive({ address: at(id, `dm-${id}`), text: 'user blue' });
    const turn = a.bot.receive({ address: at(id, `dm-${id}`), text: 'slow' });
    await sleep(50);
    const forgetting = b.bot.forgetUser({ channelId: 'web', userId: id });
    await sleep(100);
    release();
    await turn;
    const result = await forgetting;
    const left = (await scan('race')).filter((key) => key.includes(id) && !key.endsWith(':tomb'));
    expect({ result, left }).toMatchObject({ result: { sessions: 1, userData: 1 }, left: [] });
  });

  it('costs an ordinary turn no extra Redis command with retention on', async () => {
    const executed = async () => {
      const info = await admin.info('commandstats');
      let total = 0;
      for (const [, name, calls] of info.matchAll(/^cmdstat_([a-z|]+):calls=(\d+)/gm)) {
        if (!['evalsha', 'eval', 'info', 'script|load'].includes(name!)) total += Number(calls);
      }
      return total;
    };
    const perTurn = async (prefix: string, options: Partial<SessionManagerOptions<{ UserName?: string }>>) => {
      const { bot } = dataBot(prefix, options);
      await bot.receive({ address: at('warm', 'up'), text: 'user 0' }); // loads the scripts
      const start = await executed();
      await bot.receive({ address: at('u1', 'c1'), text: 'user 0' });
      const created = await executed();
      await bot.receive({ address: at('u1', 'c1'), text: 'user 1' });
      const before = await executed();
      await bot.receive({ address: at('u1', 'c1'), text: 'user 2' });
      return { first: created - start, steady: (await executed()) - before };
    };
    const plain = await perTurn('cost0', {});
    const retained = await perTurn('cost1', { retention: { userData: '365d', conversationData: '90d', kept: '365d' } });
    console.log(
      `[lifecycle] Redis commands per turn: ${plain.steady} without retention, ${retained.steady} with it ` +
        `(a user's first turn, which creates the keys: ${plain.first} and ${retained.first})`,
    );
    expect(retained.steady).toBe(plain.steady);
  });
});
