// RedisStore's deadlines: session records that expire on their own, a deadlines set that holds lower bounds (checked
// and filed again by the claim script), and the lease a commit gives up with one command.
import { beforeEach, expect, it } from 'vitest';
import type { RedisStoreOptions } from '../../src/redis';
import { describeRedis } from './server';
import { redisSuite, type AdminClient, type RedisSuite } from './suite';

let suite: RedisSuite;
let admin: AdminClient;
const makeStore = (options: Partial<RedisStoreOptions> = {}) => suite.makeStore(options);

/** Redis's clock, in ms. */
async function redisNow(): Promise<number> {
  const [seconds, micros] = (await admin.time()) as unknown as [string, string] | [number, number];
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

const GRACE = 3_600_000;

describeRedis('RedisStore deadlines', () => {
  suite = redisSuite('d');
  beforeEach(() => {
    admin = suite.admin;
  });

  it('lets a session record expire sessionGrace after its idle deadline, counted from its last write', async () => {
    const { store, prefix } = makeStore({ sessionGrace: GRACE });
    await store.commit([{ key: 's:ttl', expected: null, data: '{}', idleMs: 60_000 }]);
    const pttl = await admin.pTTL(`${prefix}:{s:ttl}`);
    expect(pttl).toBeGreaterThan(60_000 + GRACE - 2_000);
    expect(pttl).toBeLessThanOrEqual(60_000 + GRACE);
  });

  it('keeps a session record without a deadline, and a data record, until they are deleted', async () => {
    const { store, prefix } = makeStore({ sessionGrace: GRACE });
    await store.commit([
      { key: 's:forever', expected: null, data: '{}', idleMs: null },
      { key: 'u:forever', expected: null, data: '{}' },
    ]);
    expect(await admin.pTTL(`${prefix}:{s:forever}`)).toBe(-1);
    expect(await admin.pTTL(`${prefix}:{u:forever}`)).toBe(-1);
  });

  it('stops the expiry of a session record written again without a deadline', async () => {
    const { store, prefix } = makeStore({ sessionGrace: GRACE });
    await store.commit([{ key: 's:stop', expected: null, data: '{}', idleMs: 60_000 }]);
    await store.commit([{ key: 's:stop', expected: { version: 1, generation: 0 }, data: '{}', idleMs: null }]);
    expect(await admin.pTTL(`${prefix}:{s:stop}`)).toBe(-1);
    expect(await store.claimDue(10, (await redisNow()) + 10 * GRACE)).toEqual([]);
    expect(await admin.zScore(`${prefix}:deadlines`, 's:stop')).toBeNull();
  });

  it('never claims a session that kept talking at its first deadline, and files it again at its true one', async () => {
    const { store, prefix } = makeStore({ sessionGrace: GRACE });
    const t0 = await redisNow();
    await store.commit([{ key: 's:talk', expected: null, data: '{}', idleMs: 1_000 }]);
    await store.commit([{ key: 's:talk', expected: { version: 1, generation: 0 }, data: '{}', idleMs: 60_000 }]);
    expect(await store.claimDue(10, t0 + 30_000)).toEqual([]);
    const refiled = Number(await admin.zScore(`${prefix}:deadlines`, 's:talk'));
    expect(Math.abs(refiled - (t0 + 60_000))).toBeLessThan(1_000);
  });

  it('claims a session that stopped talking at its true deadline', async () => {
    const { store } = makeStore({ sessionGrace: GRACE });
    const t0 = await redisNow();
    await store.commit([{ key: 's:quiet', expected: null, data: '{}', idleMs: 1_000 }]);
    await store.commit([{ key: 's:quiet', expected: { version: 1, generation: 0 }, data: '{}', idleMs: 60_000 }]);
    const [claim] = await store.claimDue(10, t0 + 61_500);
    expect(claim).toMatchObject({ key: 's:quiet', version: 2, generation: 1 });
    expect(Math.abs(claim!.deadline - (t0 + 60_000))).toBeLessThan(1_000);
  });

  it('files a deadline again when a write shortens the idle time', async () => {
    const { store } = makeStore({ sessionGrace: GRACE });
    const t0 = await redisNow();
    await store.commit([{ key: 's:short', expected: null, data: '{}', idleMs: 600_000 }]);
    await store.commit([{ key: 's:short', expected: { version: 1, generation: 0 }, data: '{}', idleMs: 1_000 }]);
    expect(await store.claimDue(10, t0 + 3_000)).toMatchObject([{ key: 's:short', version: 2 }]);
  });

  it('leaves the filed deadline alone while idle times shorten by the few ms a turn takes', async () => {
    const { store, prefix } = makeStore({ sessionGrace: GRACE });
    await store.commit([{ key: 's:jitter', expected: null, data: '{}', idleMs: 60_000 }]);
    const filed = await admin.zScore(`${prefix}:deadlines`, 's:jitter');
    await store.commit([{ key: 's:jitter', expected: { version: 1, generation: 0 }, data: '{}', idleMs: 59_990 }]);
    await store.commit([{ key: 's:jitter', expected: { version: 2, generation: 0 }, data: '{}', idleMs: 59_980 }]);
    expect(await admin.zScore(`${prefix}:deadlines`, 's:jitter')).toBe(filed);
  });

  it('claims a session record of an earlier release (no idle field) at the deadline in the set', async () => {
    const { store, prefix } = makeStore();
    await admin.hSet(`${prefix}:{s:old}`, { v: '4', g: '0', d: '{}', t: '' });
    await admin.zAdd(`${prefix}:deadlines`, { score: 5_000, value: 's:old' });
    expect(await store.claimDue(10, 4_999)).toEqual([]);
    expect(await store.claimDue(10, 5_000)).toMatchObject([
      { key: 's:old', version: 4, generation: 1, deadline: 5_000 },
    ]);
  });

  it('keeps a session whose deadline had already passed when it was written, and claims it', async () => {
    const { store, prefix } = makeStore({ sessionGrace: GRACE });
    await store.commit([{ key: 's:late', expected: null, data: '{}', idleMs: -2 * GRACE }]);
    expect(await admin.pTTL(`${prefix}:{s:late}`)).toBeGreaterThan(GRACE - 2_000);
    expect(await store.claimDue(10)).toMatchObject([{ key: 's:late', version: 1, generation: 1 }]);
  });

  it('claims at the deadline in the set a record whose grace field was lost', async () => {
    const { store, prefix } = makeStore();
    await store.commit([{ key: 's:nograce', expected: null, data: '{}', idleMs: 60_000 }]);
    // The header's fields: version, generation, turn, x (idle:grace:drift), claim version, claim deadline.
    const [header, data] = ((await admin.get(`${prefix}:{s:nograce}`)) as string).split('\n');
    const fields = header!.split(' ');
    fields[3] = '60000::0';
    await admin.set(`${prefix}:{s:nograce}`, `${fields.join(' ')}\n${data}`, { KEEPTTL: true });
    await admin.zAdd(`${prefix}:deadlines`, { score: 5_000, value: 's:nograce' });
    expect(await store.claimDue(10, 5_000)).toMatchObject([{ key: 's:nograce', deadline: 5_000 }]);
  });

  it('drops a deadline whose record expired or was removed', async () => {
    const { store, prefix } = makeStore();
    await store.commit([{ key: 's:gone', expected: null, data: '{}', idleMs: 1_000 }]);
    await admin.del(`${prefix}:{s:gone}`);
    expect(await store.claimDue(10, (await redisNow()) + 5_000)).toEqual([]);
    expect(await admin.exists(`${prefix}:deadlines`)).toBe(0);
  });

  it('gives its lease up in the commit', async () => {
    const { store, prefix } = makeStore();
    await store.open(['s:lease'], { lease: { token: 'me', ttlMs: 5_000 } });
    await store.commit([{ key: 's:lease', expected: null, data: '{}' }], { release: { key: 's:lease', token: 'me' } });
    expect(await admin.exists(`${prefix}:{s:lease}:lease`)).toBe(0);
  });

  it('leaves the lease of another holder in place when its own had lapsed', async () => {
    const { store, prefix } = makeStore();
    await store.open(['s:taken'], { lease: { token: 'me', ttlMs: 5_000 } });
    await admin.set(`${prefix}:{s:taken}:lease`, 'other', { PX: 5_000 }); // ours lapsed; another turn took it
    await store.commit([{ key: 's:taken', expected: null, data: '{}' }], { release: { key: 's:taken', token: 'me' } });
    expect(await admin.get(`${prefix}:{s:taken}:lease`)).toBe('other');
    expect(await admin.pTTL(`${prefix}:{s:taken}:lease`)).toBeGreaterThan(0);
  });
});
