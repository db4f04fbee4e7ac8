// The SessionStore contract, as one suite that every store runs (MemoryStore in conformance.test.ts, RedisStore in
// test/redis/store.test.ts): what the manager relies on, checked the same way whatever holds the data.
import { describe, expect, it } from 'vitest';
import type { CommitWrite, SessionStore, StoredRecord } from '../../src';
import { lifecycleConformance } from './lifecycle-conformance';

export interface ConformanceTarget {
  /** A fresh, empty store (its own namespace). */
  make(): Promise<SessionStore>;
  /** Lets real time pass, so that a deadline `ms` from now has come due on the store's clock. */
  wait(ms: number): Promise<void>;
}

let n = 0;
function key(): string {
  return `s:conf:${process.pid}:${++n}`;
}

const ref = (record: StoredRecord | undefined) =>
  record === undefined ? null : { version: record.version, generation: record.generation };

export function storeConformance(name: string, target: ConformanceTarget): void {
  describe(`${name} (SessionStore conformance)`, () => {
    it('reads back what it committed, at version 1 and generation 0', async () => {
      const store = await target.make();
      const k = key();
      expect(await store.commit([{ key: k, expected: null, data: '{"a":1}' }])).toEqual({ ok: true, versions: [1] });
      expect(await store.get(k)).toEqual({ data: '{"a":1}', version: 1, generation: 0 });
    });

    it('adds 1 to the version on every commit', async () => {
      const store = await target.make();
      const k = key();
      await store.commit([{ key: k, expected: null, data: '1' }]);
      expect(await store.commit([{ key: k, expected: { version: 1, generation: 0 }, data: '2' }])).toEqual({
        ok: true,
        versions: [2],
      });
      expect(await store.get(k)).toMatchObject({ data: '2', version: 2 });
    });

    it('rejects a stale version every time and keeps the stored value', async () => {
      const store = await target.make();
      const k = key();
      await store.commit([{ key: k, expected: null, data: '0' }]);
      for (let v = 1; v <= 20; v++)
        await store.commit([{ key: k, expected: { version: v, generation: 0 }, data: String(v) }]);
      let rejected = 0;
      for (let v = 1; v <= 20; v++) {
        const result = await store.commit([{ key: k, expected: { version: v, generation: 0 }, data: 'stale' }]);
        if (!result.ok && result.reason === 'conflict') rejected++;
      }
      console.log(`[conformance ${name}] stale versions rejected: ${rejected}/20`);
      expect(rejected).toBe(20);
      expect(await store.get(k)).toMatchObject({ data: '20', version: 21 });
    });

    it('lets exactly one of 50 concurrent creates of one key win', async () => {
      const store = await target.make();
      const k = key();
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) => store.commit([{ key: k, expected: null, data: String(i) }])),
      );
      const winners = results.filter((r) => r.ok);
      console.log(
        `[conformance ${name}] concurrent creates: ${winners.length} won, ${results.length - winners.length} conflicted`,
      );
      expect(winners).toHaveLength(1);
    });

    it('reports a create over an existing key, and an update of an absent key, as conflicts', async () => {
      const store = await target.make();
      const k = key();
      await store.commit([{ key: k, expected: null, data: '1' }]);
      expect(await store.commit([{ key: k, expected: null, data: 'again' }])).toEqual({
        ok: false,
        reason: 'conflict',
        key: k,
      });
      const absent = key();
      expect(await store.commit([{ key: absent, expected: { version: 1, generation: 0 }, data: 'x' }])).toEqual({
        ok: false,
        reason: 'conflict',
        key: absent,
      });
    });

    it('writes nothing of a commit when one of its writes is stale', async () => {
      const store = await target.make();
      const a = key();
      const b = `u:conf:${process.pid}:${++n}`;
      await store.commit([{ key: a, expected: null, data: 'a1' }]);
      await store.commit([{ key: b, expected: null, data: 'b1' }]);
      await store.commit([{ key: b, expected: { version: 1, generation: 0 }, data: 'b2' }]);
      const result = await store.commit([
        { key: a, expected: { version: 1, generation: 0 }, data: 'a2' },
        { key: b, expected: { version: 1, generation: 0 }, data: 'stale' },
      ]);
      expect(result).toEqual({ ok: false, reason: 'conflict', key: b });
      expect(await store.get(a)).toMatchObject({ data: 'a1', version: 1 });
      expect(await store.get(b)).toMatchObject({ data: 'b2', version: 2 });
    });

    it('keeps snapshots: changing a record it returned, or the writes it took, changes nothing stored', async () => {
      const store = await target.make();
      const k = key();
      const write = { key: k, expected: null, data: '{"n":1}' } as { key: string; expected: null; data: string };
      const writes: CommitWrite[] = [write];
      await store.commit(writes);
      write.data = '{"n":2}';
      writes.length = 0;
      const record = (await store.get(k)) as { data: string; version: number };
      record.data = 'mutated';
      record.version = 99;
      expect(await store.get(k)).toEqual({ data: '{"n":1}', version: 1, generation: 0 });
    });

    it('deletes a key with a null write, and creates it again afterwards', async () => {
      const store = await target.make();
      const k = key();
      await store.commit([{ key: k, expected: null, data: '1' }]);
      expect(await store.commit([{ key: k, expected: { version: 1, generation: 0 }, data: null }])).toMatchObject({
        ok: true,
      });
      expect(await store.get(k)).toBeUndefined();
      expect(await store.commit([{ key: k, expected: { version: 1, generation: 0 }, data: 'stale' }])).toMatchObject({
        ok: false,
        reason: 'conflict',
      });
      expect(await store.commit([{ key: k, expected: null, data: 'new' }])).toMatchObject({ ok: true });
      expect((await store.get(k))?.data).toBe('new');
    });

    it('claims a due key exactly once among 10 concurrent sweepers', async () => {
      const store = await target.make();
      const keys = Array.from({ length: 20 }, key);
      for (const k of keys) await store.commit([{ key: k, expected: null, data: '{}', idleMs: 0 }]);
      await target.wait(5);
      const batches = await Promise.all(Array.from({ length: 10 }, () => store.claimDue(5)));
      const more = await store.claimDue(100);
      const claimed = [...batches.flat(), ...more].map((c) => c.key).filter((k) => keys.includes(k));
      console.log(`[conformance ${name}] claims: ${claimed.length} for 20 due keys, ${new Set(claimed).size} distinct`);
      expect(claimed.sort()).toEqual([...keys].sort());
    });

    it('bumps the generation on a claim, so a commit computed before it fails with reason ended', async () => {
      const store = await target.make();
      const k = key();
      await store.commit([{ key: k, expected: null, data: '{}', idleMs: 0 }]);
      await target.wait(5);
      const claims = (await store.claimDue(1000)).filter((c) => c.key === k);
      expect(claims).toMatchObject([{ key: k, generation: 1, version: 1, deadline: expect.any(Number) }]);
      expect(claims).toHaveLength(1);
      expect(await store.commit([{ key: k, expected: { version: 1, generation: 0 }, data: 'late' }])).toEqual({
        ok: false,
        reason: 'ended',
        key: k,
      });
      expect(await store.commit([{ key: k, expected: { version: 1, generation: 1 }, data: 'ended' }])).toEqual({
        ok: true,
        versions: [2],
      });
    });

    it('does not claim a key whose deadline was cleared with idleMs null', async () => {
      const store = await target.make();
      const k = key();
      await store.commit([{ key: k, expected: null, data: '{}', idleMs: 0 }]);
      await store.commit([{ key: k, expected: { version: 1, generation: 0 }, data: '{}', idleMs: null }]);
      await target.wait(5);
      expect((await store.claimDue(1000)).filter((c) => c.key === k)).toEqual([]);
    });

    it('does not claim a key before its deadline', async () => {
      const store = await target.make();
      const k = key();
      await store.commit([{ key: k, expected: null, data: '{}', idleMs: 60_000 }]);
      expect((await store.claimDue(1000)).filter((c) => c.key === k)).toEqual([]);
    });

    it('answers a commit retried with the same turn id with its first versions, applying nothing twice', async () => {
      const store = await target.make();
      const k = key();
      const u = `u:conf:${process.pid}:${++n}`;
      await store.commit([{ key: k, expected: null, data: '1' }]);
      const writes: CommitWrite[] = [
        { key: k, expected: { version: 1, generation: 0 }, data: '2' },
        { key: u, expected: null, data: '{"x":1}' },
      ];
      const first = await store.commit(writes, { turnId: 'turn-a' });
      const retried = await store.commit(writes, { turnId: 'turn-a' });
      expect(retried).toEqual(first);
      expect(await store.get(k)).toMatchObject({ data: '2', version: 2 });
      expect(await store.get(u)).toMatchObject({ version: 1 });
    });

    it('reports a retry under another turn id as a conflict', async () => {
      const store = await target.make();
      const k = key();
      await store.commit([{ key: k, expected: null, data: '1' }]);
      await store.commit([{ key: k, expected: { version: 1, generation: 0 }, data: '2' }], { turnId: 'turn-a' });
      expect(
        await store.commit([{ key: k, expected: { version: 1, generation: 0 }, data: '2' }], { turnId: 'turn-b' }),
      ).toMatchObject({ ok: false, reason: 'conflict' });
    });

    it('applies a later commit of the same turn (a checkpoint, then the end) normally', async () => {
      const store = await target.make();
      const k = key();
      await store.commit([{ key: k, expected: null, data: '1' }], { turnId: 'turn-a' });
      expect(
        await store.commit([{ key: k, expected: { version: 1, generation: 0 }, data: '2' }], { turnId: 'turn-a' }),
      ).toEqual({ ok: true, versions: [2] });
      expect(await store.get(k)).toMatchObject({ data: '2', version: 2 });
    });

    it('quarantines a record without changing the stored one', async () => {
      const store = await target.make();
      const k = key();
      await store.commit([{ key: k, expected: null, data: 'not json' }]);
      const record = (await store.get(k))!;
      await store.quarantine?.(k, record);
      expect(typeof store.quarantine).toBe('function');
      expect(await store.get(k)).toEqual(record);
      expect(await store.commit([{ key: k, expected: ref(record), data: '{}' }])).toMatchObject({ ok: true });
    });

    describe('opening a unit of work', () => {
      it('reads every key asked for in one call, absent keys as undefined', async () => {
        const store = await target.make();
        const [k, u] = [key(), `u:conf:${process.pid}:${++n}`];
        await store.commit([
          { key: k, expected: null, data: '{"s":1}' },
          { key: u, expected: null, data: '{"u":1}' },
        ]);
        const opened = await openOf(store)([k, u, `c:conf:absent:${++n}`]);
        expect(opened).toMatchObject({
          records: [
            { data: '{"s":1}', version: 1, generation: 0 },
            { data: '{"u":1}', version: 1, generation: 0 },
            undefined,
          ],
        });
        expect(opened.busy).toBeUndefined();
      });

      it('answers a commit that lost a race with a conflict after the open, and writes nothing', async () => {
        const store = await target.make();
        const k = key();
        await store.commit([{ key: k, expected: null, data: '1' }]);
        const [opened] = (await openOf(store)([k])).records;
        await store.commit([{ key: k, expected: ref(opened), data: '2' }]);
        expect(await store.commit([{ key: k, expected: ref(opened), data: 'stale' }])).toMatchObject({
          ok: false,
          reason: 'conflict',
        });
        expect(await store.get(k)).toMatchObject({ data: '2', version: 2 });
      });

      it('applies a commit whose reply was lost only once when it is sent again with its turn id', async () => {
        const store = await target.make();
        const k = key();
        await store.commit([{ key: k, expected: null, data: '1' }]);
        const write = { key: k, expected: { version: 1, generation: 0 }, data: '2' };
        const first = await store.commit([write], { turnId: 'lost-reply' });
        const again = await store.commit([write], { turnId: 'lost-reply' });
        expect([first, again]).toEqual([
          { ok: true, versions: [2] },
          { ok: true, versions: [2] },
        ]);
        expect(await store.get(k)).toMatchObject({ data: '2', version: 2 });
      });
    });

    lifecycleConformance(target);

    describe('turn leases (stores that have them)', () => {
      it('gives a lease to one holder at a time', async () => {
        const store = await target.make();
        if (store.renew === undefined) return void expect(store.release).toBeUndefined();
        const k = key();
        const opened = await Promise.all(
          Array.from({ length: 10 }, (_, i) => store.open!([k], { lease: { token: `t${i}`, ttlMs: 10_000 } })),
        );
        expect(opened.filter((o) => o.busy === undefined)).toHaveLength(1);
      });

      it('says who holds a busy lease and for how long, and reads nothing', async () => {
        const store = await target.make();
        if (store.renew === undefined) return void expect(store.release).toBeUndefined();
        const k = key();
        await store.commit([{ key: k, expected: null, data: '1' }]);
        await store.open!([k], { lease: { token: 'holder-a', ttlMs: 10_000 } });
        const busy = await store.open!([k], { lease: { token: 'holder-b', ttlMs: 10_000 } });
        expect(busy.records).toEqual([]);
        expect(busy.busy?.holder).toBe('holder-a');
        expect(busy.busy?.ttlMs).toBeGreaterThan(9_000);
      });

      it('lets the holder of a lease open again (a lease left behind never blocks its own holder)', async () => {
        const store = await target.make();
        if (store.renew === undefined) return void expect(store.release).toBeUndefined();
        const k = key();
        await store.open!([k], { lease: { token: 'me', ttlMs: 10_000 } });
        expect((await store.open!([k], { lease: { token: 'me', ttlMs: 10_000 } })).busy).toBeUndefined();
      });

      it('renews only for the holder of the token', async () => {
        const store = await target.make();
        if (store.renew === undefined) return void expect(store.release).toBeUndefined();
        const k = key();
        await store.open!([k], { lease: { token: 'me', ttlMs: 10_000 } });
        expect(await store.renew(k, 'not-the-token', 10_000)).toBe(false);
        expect(await store.renew(k, 'me', 10_000)).toBe(true);
      });

      it('releases only for the holder of the token', async () => {
        const store = await target.make();
        if (store.renew === undefined) return void expect(store.release).toBeUndefined();
        const k = key();
        await store.open!([k], { lease: { token: 'me', ttlMs: 10_000 } });
        await store.release!(k, 'not-the-token');
        expect((await store.open!([k], { lease: { token: 'other', ttlMs: 10_000 } })).busy).toBeDefined();
        await store.release!(k, 'me');
        expect((await store.open!([k], { lease: { token: 'other', ttlMs: 10_000 } })).busy).toBeUndefined();
      });

      it('gives the lease up in the commit that carries its release', async () => {
        const store = await target.make();
        if (store.renew === undefined) return void expect(store.release).toBeUndefined();
        const k = key();
        await store.open!([k], { lease: { token: 'me', ttlMs: 10_000 } });
        expect(
          await store.commit([{ key: k, expected: null, data: '1' }], { release: { key: k, token: 'me' } }),
        ).toMatchObject({ ok: true });
        expect((await store.open!([k], { lease: { token: 'other', ttlMs: 10_000 } })).busy).toBeUndefined();
      });

      it('keeps the lease when the commit that carries its release conflicts', async () => {
        const store = await target.make();
        if (store.renew === undefined) return void expect(store.release).toBeUndefined();
        const k = key();
        await store.commit([{ key: k, expected: null, data: '1' }]);
        await store.open!([k], { lease: { token: 'me', ttlMs: 10_000 } });
        const stale = await store.commit([{ key: k, expected: null, data: 'x' }], { release: { key: k, token: 'me' } });
        expect(stale).toMatchObject({ ok: false });
        expect((await store.open!([k], { lease: { token: 'other', ttlMs: 10_000 } })).busy?.holder).toBe('me');
      });

      it('gives the lease up with a commit of no writes', async () => {
        const store = await target.make();
        if (store.renew === undefined) return void expect(store.release).toBeUndefined();
        const k = key();
        await store.open!([k], { lease: { token: 'me', ttlMs: 10_000 } });
        expect(await store.commit([], { release: { key: k, token: 'me' } })).toEqual({ ok: true, versions: [] });
        expect((await store.open!([k], { lease: { token: 'other', ttlMs: 10_000 } })).busy).toBeUndefined();
      });

      it('lets a lease lapse after its ttl, between open and commit', async () => {
        const store = await target.make();
        if (store.renew === undefined) return void expect(store.release).toBeUndefined();
        const k = key();
        await store.open!([k], { lease: { token: 'me', ttlMs: 30 } });
        await target.wait(60);
        expect(await store.renew(k, 'me', 1000)).toBe(false);
        expect((await store.open!([k], { lease: { token: 'other', ttlMs: 1000 } })).busy).toBeUndefined();
        // The compare-and-set, not the lease, decides: the late holder's commit still applies only on the version it read.
        expect(
          await store.commit([{ key: k, expected: null, data: 'late' }], { release: { key: k, token: 'me' } }),
        ).toMatchObject({ ok: true });
        expect((await store.open!([k], { lease: { token: 'third', ttlMs: 1000 } })).busy?.holder).toBe('other');
      });
    });
  });
}

/** The store's `open`, or the one the manager builds from `get` for stores without it. */
function openOf(store: SessionStore) {
  return async (keys: string[]) =>
    store.open !== undefined
      ? await store.open(keys)
      : { records: await Promise.all(keys.map((k) => store.get(k))), busy: undefined };
}
