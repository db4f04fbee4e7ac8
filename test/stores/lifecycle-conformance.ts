// The data-lifecycle part of the SessionStore contract (key expiry, the user index, forget, quarantined copies), run by
// storeConformance() on every store.
import { describe, expect, it } from 'vitest';
import type { SessionStore } from '../../src';
import type { ConformanceTarget } from './conformance';

let n = 0;
const session = () => `s:life:${process.pid}:${++n}`;
const user = () => `u:life:${process.pid}:${++n}`;

export function lifecycleConformance(target: ConformanceTarget): void {
  describe('data lifecycle', () => {
    it('drops a record whose ttlMs ran out, and lets it be created again', async () => {
      const store = await target.make();
      const k = user();
      await store.commit([{ key: k, expected: null, data: '{"a":1}', ttlMs: 40 }]);
      const before = await store.get(k);
      await target.wait(90);
      expect([before?.data, await store.get(k)]).toEqual(['{"a":1}', undefined]);
      expect(await store.commit([{ key: k, expected: null, data: '{}' }])).toMatchObject({ ok: true });
    });

    it('keeps the expiry through a later write without ttlMs', async () => {
      const store = await target.make();
      const k = user();
      await store.commit([{ key: k, expected: null, data: '1', ttlMs: 60 }]);
      await store.commit([{ key: k, expected: { version: 1, generation: 0 }, data: '2' }]);
      await target.wait(110);
      expect(await store.get(k)).toBeUndefined();
    });

    it('stops expiring a record written with ttlMs null', async () => {
      const store = await target.make();
      const k = user();
      await store.commit([{ key: k, expected: null, data: '1', ttlMs: 40 }]);
      await store.commit([{ key: k, expected: { version: 1, generation: 0 }, data: '2', ttlMs: null }]);
      await target.wait(90);
      expect(await store.get(k)).toMatchObject({ data: '2', version: 2 });
    });

    it('lists the keys created with an owner, until they are deleted', async () => {
      const store = await target.make();
      const [owner, a, b, other] = [user(), session(), session(), session()];
      await store.commit([
        { key: a, expected: null, data: '{}', owner },
        { key: b, expected: null, data: '{}', owner },
        { key: other, expected: null, data: '{}', owner: user() },
      ]);
      await store.commit([{ key: b, expected: { version: 1, generation: 0 }, data: null, owner }]);
      expect(await keysOf(store, owner)).toEqual([a]);
    });

    it('forgets a record with its deadline and quarantined copies, and fails a commit that read it before', async () => {
      const store = await target.make();
      const [owner, k] = [user(), session()];
      await store.commit([{ key: k, expected: null, data: 'bad', idleMs: 0, owner }]);
      const record = (await store.get(k))!;
      await store.quarantine!(k, record);
      const copies = await store.quarantinedOf!(k);
      const forgotten = await store.forget!(k, owner);
      await target.wait(5);
      expect({ copies, forgotten }).toEqual({
        copies: [{ data: 'bad', version: 1, generation: 0 }],
        forgotten: { record: true, quarantined: 1 },
      });
      expect([await store.get(k), await store.claimDue(10), await store.quarantinedOf!(k)]).toEqual([
        undefined,
        [],
        [],
      ]);
      expect(await keysOf(store, owner)).toEqual([]);
      expect(await store.commit([{ key: k, expected: { version: 1, generation: 0 }, data: 'back' }])).toMatchObject({
        ok: false,
        reason: 'conflict',
      });
    });

    it('drops the whole index when the owner’s own record is forgotten', async () => {
      const store = await target.make();
      const [owner, k] = [user(), session()];
      await store.commit([
        { key: owner, expected: null, data: '{}' },
        { key: k, expected: null, data: '{}', owner },
      ]);
      expect(await store.forget!(owner, owner)).toEqual({ record: true, quarantined: 0 });
      expect([await store.get(owner), await store.get(k)]).toEqual([undefined, expect.anything()]);
      expect(await keysOf(store, owner)).toEqual([]);
    });

    it('answers a forget of an absent key with nothing deleted', async () => {
      const store = await target.make();
      expect(await store.forget!(session())).toEqual({ record: false, quarantined: 0 });
    });
  });
}

async function keysOf(store: SessionStore, owner: string): Promise<string[]> {
  return [...(await store.userKeys!(owner))].sort();
}
