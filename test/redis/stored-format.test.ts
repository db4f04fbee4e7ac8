// RedisStore's stored format: a record is one string (header, newline, data). Records an earlier release kept as hashes
// are upgraded in place when a script meets them, with their expiry; a value that is no record is refused, not
// overwritten.
import { beforeEach, expect, it } from 'vitest';
import { SessionManager, type Address } from '../../src';
import { RedisStore } from '../../src/redis';
import { ROLLBACK, STAGE } from '../../src/stores/redis-cluster-scripts';
import { describeRedis } from './server';
import { redisSuite, type AdminClient, type RedisSuite } from './suite';

let suite: RedisSuite;
let admin: AdminClient;
const makeStore = () => suite.makeStore();

/** Rewrites a record as the release before kept it: a hash of v, g, t, x, cv, cd and d, with the same expiry. */
async function toHash(redisKey: string): Promise<void> {
  const value = (await admin.get(redisKey))!;
  const end = value.indexOf('\n');
  const [v, g, t, x, cv, cd] = value.slice(0, end).split(' ');
  const fields: Record<string, string> = { v: v!, g: g!, t: t!, d: value.slice(end + 1) };
  if (x !== '') fields.x = x!;
  if (cv !== '') Object.assign(fields, { cv, cd });
  const ttl = await admin.pTTL(redisKey);
  await admin.del(redisKey);
  await admin.hSet(redisKey, fields);
  if (ttl > 0) await admin.pExpire(redisKey, ttl);
}

const address: Address = { channelId: 'f', user: { id: 'ann' }, conversation: { id: 'c1' } };

function counterBot(store: RedisStore) {
  const replies: string[] = [];
  const starts: string[] = [];
  const bot = new SessionManager<{ n?: number }, { visits?: number }, { seen?: number }>({
    store,
    autoBatchDelay: 0,
    deliver: (_to, messages) => void replies.push(...messages.map((m) => m.text ?? '')),
    onSessionStart: (session) => void starts.push(session.info.id),
  });
  bot.dialog('/', (session) => {
    session.dialogData.n = Number(session.dialogData.n ?? 0) + 1;
    session.userData.visits = (session.userData.visits ?? 0) + 1;
    session.conversationData.seen = (session.conversationData.seen ?? 0) + 1;
    session.send(`${session.dialogData.n}/${session.userData.visits}/${session.conversationData.seen}`);
  });
  return { bot, replies, starts };
}

describeRedis('RedisStore stored format', () => {
  suite = redisSuite('f');
  beforeEach(() => {
    admin = suite.admin;
  });

  it('stores a record as one string: version, generation, turn id and deadline fields, a newline, the data', async () => {
    const { store, prefix } = makeStore();
    await store.commit([{ key: 's:one', expected: null, data: '{"a":1}\nsecond line', idleMs: 60_000 }], {
      turnId: 't1',
    });
    expect(await admin.type(`${prefix}:{s:one}`)).toBe('string');
    expect(await admin.get(`${prefix}:{s:one}`)).toBe(`1 0 t1 60000:259200000:0  \n{"a":1}\nsecond line`);
    expect(await store.get('s:one')).toEqual({ data: '{"a":1}\nsecond line', version: 1, generation: 0 });
  });

  it('escapes whitespace in a turn id, which the header keeps as one field', async () => {
    const { store, prefix } = makeStore();
    await store.commit([{ key: 'u:ws', expected: null, data: 'x' }], { turnId: 'a b\nc%' });
    expect(await admin.get(`${prefix}:{u:ws}`)).toBe('1 0 a%0020b%000ac%0025   \nx');
  });

  it('goes on with a session, userData and conversationData that the release before stored as hashes', async () => {
    const { store, prefix } = makeStore();
    const { bot, replies, starts } = counterBot(store);
    await bot.receive({ address, text: 'one' });
    const keys = [`${prefix}:{s:f:c1:ann}`, `${prefix}:{u:f:ann}`, `${prefix}:{c:f:c1}`];
    for (const key of keys) await toHash(key);
    await bot.receive({ address, text: 'two' });
    await bot.close();
    expect(replies).toEqual(['1/1/1', '2/2/2']);
    expect(starts).toHaveLength(1);
    for (const key of keys) expect(await admin.type(key)).toBe('string');
  });

  it('does not read two turn ids that differ as one after escaping them', async () => {
    const { store } = makeStore();
    await store.commit([{ key: 'u:ids', expected: null, data: 'first' }], { turnId: '\n0' });
    expect(await store.commit([{ key: 'u:ids', expected: null, data: 'stale' }], { turnId: '\u00a0' })).toMatchObject({
      ok: false,
      reason: 'conflict',
    });
  });

  it('opens no records at all when asked for none', async () => {
    const { store } = makeStore();
    expect(await store.open([])).toEqual({ records: [] });
  });

  it('reads the data records beside a session that a claim upgraded on its own', async () => {
    const { store, prefix } = makeStore();
    const { bot, replies } = counterBot(store);
    await bot.receive({ address, text: 'one' });
    for (const key of [`${prefix}:{s:f:c1:ann}`, `${prefix}:{u:f:ann}`]) await toHash(key);
    // The deadlines set holds an early bound: the sweep meets the session, upgrades it and files it again.
    await admin.zAdd(`${prefix}:deadlines`, { score: 1, value: 's:f:c1:ann' });
    expect(await store.claimDue(10)).toEqual([]);
    expect(await admin.type(`${prefix}:{s:f:c1:ann}`)).toBe('string');
    await bot.receive({ address, text: 'two' });
    await bot.close();
    expect(replies).toEqual(['1/1/1', '2/2/2']);
    expect(await admin.type(`${prefix}:{u:f:ann}`)).toBe('string');
  });

  it('keeps the expiry of a hash it upgrades', async () => {
    const { store, prefix } = makeStore();
    await store.commit([{ key: 'u:ttl', expected: null, data: 'kept', ttlMs: 600_000 }]);
    await toHash(`${prefix}:{u:ttl}`);
    expect(await store.get('u:ttl')).toEqual({ data: 'kept', version: 1, generation: 0 });
    expect(await admin.type(`${prefix}:{u:ttl}`)).toBe('string');
    expect(await admin.pTTL(`${prefix}:{u:ttl}`)).toBeGreaterThan(590_000);
  });

  it('upgrades the absent-looking records of a turn that finds no session', async () => {
    const { store, prefix } = makeStore();
    await store.commit([{ key: 'u:data', expected: null, data: 'old data' }]);
    await toHash(`${prefix}:{u:data}`);
    const opened = await store.open(['s:new', 'u:data', 'c:none']);
    expect(opened.records).toEqual([undefined, { data: 'old data', version: 1, generation: 0 }, undefined]);
  });

  it('refuses to create a record over a hash of the release before: it upgrades it and answers a conflict', async () => {
    const { store, prefix } = makeStore();
    await store.commit([{ key: 'u:over', expected: null, data: 'precious' }]);
    await toHash(`${prefix}:{u:over}`);
    expect(await store.commit([{ key: 'u:over', expected: null, data: 'blank' }])).toMatchObject({
      ok: false,
      reason: 'conflict',
      key: 'u:over',
    });
    expect(await store.get('u:over')).toEqual({ data: 'precious', version: 1, generation: 0 });
  });

  it('claims a due session the release before stored as a hash, with its pending claim kept', async () => {
    const { store, prefix } = makeStore();
    await store.commit([{ key: 's:due', expected: null, data: '{}', idleMs: 0 }]);
    await toHash(`${prefix}:{s:due}`);
    const [claim] = await store.claimDue(10, Date.now() + 60_000);
    expect(claim).toMatchObject({ key: 's:due', version: 1, generation: 1 });
    await toHash(`${prefix}:{s:due}`);
    // Not completed: claimed again after the claim timeout, with the same generation.
    expect(await store.claimDue(10, Date.now() + 120_000)).toMatchObject([{ key: 's:due', generation: 1 }]);
  });

  it('deletes a record the release before stored as a hash, leaving its version in a tombstone', async () => {
    const { store, prefix } = makeStore();
    await store.commit([{ key: 'u:del', expected: null, data: 'x' }]);
    await toHash(`${prefix}:{u:del}`);
    await store.delete('u:del');
    expect(await admin.exists(`${prefix}:{u:del}`)).toBe(0);
    expect(await store.commit([{ key: 'u:del', expected: null, data: 'y' }])).toEqual({ ok: true, versions: [2] });
  });

  it('refuses to create a record over a key of another type, rather than conflict forever', async () => {
    const { store, prefix } = makeStore();
    await admin.sAdd(`${prefix}:{u:set}`, 'x');
    await expect(store.commit([{ key: 'u:set', expected: null, data: '{}' }])).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    expect(await admin.type(`${prefix}:{u:set}`)).toBe('set');
  });

  it('refuses to delete or forget a key that holds something else than a record, and leaves it', async () => {
    const { store, prefix } = makeStore();
    await admin.set(`${prefix}:{u:alien}`, 'not a record');
    await expect(store.delete('u:alien')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(store.forget('u:alien', 'u:alien')).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(await admin.get(`${prefix}:{u:alien}`)).toBe('not a record');
  });

  it('drops from the deadlines a member whose key holds something else, and sweeps on', async () => {
    const { store, prefix } = makeStore();
    await admin.sAdd(`${prefix}:{s:odd}`, 'x');
    await admin.zAdd(`${prefix}:deadlines`, { score: 1, value: 's:odd' });
    await store.commit([{ key: 's:due', expected: null, data: '{}', idleMs: 0 }]);
    expect(await store.claimDue(10, Date.now() + 60_000)).toMatchObject([{ key: 's:due' }]);
    expect(await admin.zScore(`${prefix}:deadlines`, 's:odd')).toBeNull();
  });

  it('leaves a staged write in place when its undo key has expired', async () => {
    const { store, prefix } = makeStore();
    await store.commit([{ key: 'c:staged', expected: null, data: 'before' }]);
    const record = `${prefix}:{c:staged}`;
    const keys = [record, `${record}:tomb`, `${record}:undo`];
    await admin.eval(STAGE.source, { keys, arguments: ['t1', '60000', '1', '0', 'after'] });
    await admin.del(`${record}:undo`);
    expect(await admin.eval(ROLLBACK.source, { keys, arguments: ['t1', '2', '60000'] })).toBe(0);
    expect(await store.get('c:staged')).toEqual({ data: 'after', version: 2, generation: 0 });
  });

  it('deletes, leaving a tombstone, a record a staged write created when it is undone', async () => {
    const { store, prefix } = makeStore();
    const record = `${prefix}:{c:created}`;
    const keys = [record, `${record}:tomb`, `${record}:undo`];
    await admin.eval(STAGE.source, { keys, arguments: ['t1', '60000', '', '', 'new'] });
    expect(await admin.eval(ROLLBACK.source, { keys, arguments: ['t1', '1', '60000'] })).toBe(1);
    expect(await store.get('c:created')).toBeUndefined();
    expect(await store.commit([{ key: 'c:created', expected: null, data: 'next' }])).toEqual({
      ok: true,
      versions: [2],
    });
  });

  it('refuses a key that holds something else than a record rather than read it as absent', async () => {
    const { store, prefix } = makeStore();
    await admin.set(`${prefix}:{s:alien}`, 'not a record');
    await expect(store.open(['s:alien'])).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    await expect(store.commit([{ key: 's:alien', expected: null, data: '{}' }])).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    expect(await admin.get(`${prefix}:{s:alien}`)).toBe('not a record');
  });
});
