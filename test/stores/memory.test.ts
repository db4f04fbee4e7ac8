import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, type StoredRecord } from '../../src';

describe('MemoryStore', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lists a default session key under its own user key, and forgets that listing with the user', () => {
    const store = new MemoryStore();
    store.commit([
      { key: 's:web:c1:u1', expected: null, data: '{}', owner: 'u:web:u1' },
      { key: 's:web:c2:u1', expected: null, data: '{}', owner: 'u:web:u2' },
      { key: 's:web:c1:u2', expected: null, data: '{}', owner: 'u:web:u2' },
    ]);
    expect([store.userKeys('u:web:u1'), store.userKeys('u:web:u2').sort()]).toEqual([
      ['s:web:c1:u1'],
      ['s:web:c1:u2', 's:web:c2:u1'],
    ]);
    store.forget('u:web:u1', 'u:web:u1');
    expect([store.userKeys('u:web:u1'), store.get('s:web:c1:u1')?.data]).toEqual([[], '{}']);
  });

  it('returns undefined for a key it does not hold', () => {
    expect(new MemoryStore({ maxSessions: 100 }).get('s:none')).toBeUndefined();
  });

  it('creates a key at version 1 and generation 0 when it was expected absent', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    expect(store.commit([{ key: 's:a', expected: null, data: '{"n":1}' }])).toEqual({ ok: true, versions: [1] });
    expect(store.get('s:a')).toEqual({ data: '{"n":1}', version: 1, generation: 0 });
  });

  it('adds 1 to the version on every commit', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 's:a', expected: null, data: '1' }]);
    expect(store.commit([{ key: 's:a', expected: { version: 1, generation: 0 }, data: '2' }])).toEqual({
      ok: true,
      versions: [2],
    });
    expect(store.get('s:a')).toEqual({ data: '2', version: 2, generation: 0 });
  });

  it('reports a stale version as a conflict and keeps the stored value', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 's:a', expected: null, data: '1' }]);
    store.commit([{ key: 's:a', expected: { version: 1, generation: 0 }, data: '2' }]);
    expect(store.commit([{ key: 's:a', expected: { version: 1, generation: 0 }, data: 'stale' }])).toEqual({
      ok: false,
      reason: 'conflict',
      key: 's:a',
    });
    expect(store.get('s:a')?.data).toBe('2');
  });

  it('reports a create over an existing key as a conflict', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 's:a', expected: null, data: '1' }]);
    expect(store.commit([{ key: 's:a', expected: null, data: 'again' }])).toMatchObject({
      ok: false,
      reason: 'conflict',
    });
    expect(store.get('s:a')?.data).toBe('1');
  });

  it('reports an update of a key that is gone as a conflict', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    expect(store.commit([{ key: 's:a', expected: { version: 1, generation: 0 }, data: 'x' }])).toMatchObject({
      ok: false,
      reason: 'conflict',
    });
    expect(store.get('s:a')).toBeUndefined();
  });

  it('writes nothing of a commit when one of its writes is stale', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 'u:a', expected: null, data: '"user"' }]);
    const result = store.commit([
      { key: 's:a', expected: null, data: '"session"' },
      { key: 'u:a', expected: null, data: '"stale"' },
    ]);
    expect(result).toMatchObject({ ok: false, reason: 'conflict', key: 'u:a' });
    expect(store.get('s:a')).toBeUndefined();
    expect(store.get('u:a')?.data).toBe('"user"');
  });

  it('deletes a key with a null write', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 's:a', expected: null, data: '1', idleMs: 1000 }]);
    expect(store.commit([{ key: 's:a', expected: { version: 1, generation: 0 }, data: null }])).toEqual({
      ok: true,
      versions: [0],
    });
    expect(store.get('s:a')).toBeUndefined();
    expect(store.pendingDeadlines).toBe(0);
  });

  it('keeps a key written again after a null write of it in the same commit', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 's:a', expected: null, data: '1', idleMs: 1000 }]);
    const expected = { version: 1, generation: 0 };
    store.commit([
      { key: 's:a', expected, data: null },
      { key: 's:a', expected, data: '2', idleMs: 1000 },
    ]);
    expect({ record: store.get('s:a'), deadlines: store.pendingDeadlines }).toEqual({
      record: { data: '2', version: 1, generation: 0 },
      deadlines: 1,
    });
  });

  it('hands out snapshots that a caller cannot change', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 's:a', expected: null, data: '1' }]);
    const record = store.get('s:a') as { -readonly [K in keyof StoredRecord]: StoredRecord[K] };
    record.data = 'changed';
    record.version = 99;
    expect(store.get('s:a')).toEqual({ data: '1', version: 1, generation: 0 });
  });

  it('deletes a key and its deadline with delete()', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 's:a', expected: null, data: '1', idleMs: 1000 }]);
    store.delete('s:a');
    expect(store.get('s:a')).toBeUndefined();
    expect(store.nextDeadline()).toBeUndefined();
  });

  it('records a deadline idleMs from now and reports the earliest', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    const now = Date.now();
    store.commit([{ key: 's:a', expected: null, data: '1', idleMs: 5000 }]);
    store.commit([{ key: 's:b', expected: null, data: '1', idleMs: 3000 }]);
    expect(store.nextDeadline()).toBe(now + 3000);
    expect(store.pendingDeadlines).toBe(2);
  });

  it('moves the deadline on a later commit and clears it with idleMs null', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    const now = Date.now();
    store.commit([{ key: 's:a', expected: null, data: '1', idleMs: 1000 }]);
    store.commit([{ key: 's:a', expected: { version: 1, generation: 0 }, data: '2', idleMs: 9000 }]);
    expect(store.nextDeadline()).toBe(now + 9000);
    store.commit([{ key: 's:a', expected: { version: 2, generation: 0 }, data: '3', idleMs: null }]);
    expect(store.nextDeadline()).toBeUndefined();
  });

  it('claims nothing before a deadline passes', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 's:a', expected: null, data: '1', idleMs: 1000 }]);
    vi.advanceTimersByTime(999);
    expect(store.claimDue(10)).toEqual([]);
  });

  it('claims a due key once, bumping its generation', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    const now = Date.now();
    store.commit([{ key: 's:a', expected: null, data: '1', idleMs: 1000 }]);
    vi.advanceTimersByTime(1000);
    expect(store.claimDue(10)).toEqual([{ key: 's:a', generation: 1, version: 1, deadline: now + 1000 }]);
    expect(store.claimDue(10)).toEqual([]);
    expect(store.get('s:a')?.generation).toBe(1);
  });

  it('claims due keys earliest first, at most `limit` at a time', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    for (const [key, idle] of [
      ['s:c', 30],
      ['s:a', 10],
      ['s:b', 20],
    ] as const)
      store.commit([{ key, expected: null, data: '1', idleMs: idle }]);
    expect(store.claimDue(2, Date.now() + 100).map((c) => c.key)).toEqual(['s:a', 's:b']);
    expect(store.claimDue(2, Date.now() + 100).map((c) => c.key)).toEqual(['s:c']);
  });

  it('refuses a write computed before an expiry claim with reason ended', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 's:a', expected: null, data: '1', idleMs: 1000 }]);
    store.claimDue(10, Date.now() + 1000);
    expect(store.commit([{ key: 's:a', expected: { version: 1, generation: 0 }, data: '2' }])).toEqual({
      ok: false,
      reason: 'ended',
      key: 's:a',
    });
    expect(store.commit([{ key: 's:a', expected: { version: 1, generation: 1 }, data: '2' }])).toEqual({
      ok: true,
      versions: [2],
    });
  });

  it('recognises a commit retried with the same turn id after 1,000 writes of other turns', () => {
    const store = new MemoryStore({ maxSessions: 2000 });
    const writes = [
      { key: 's:a', expected: null, data: '1' },
      { key: 'u:a', expected: null, data: '{}' },
    ];
    const first = store.commit(writes, { turnId: 'turn-a' });
    for (let i = 0; i < 1000; i++)
      store.commit([{ key: `s:${i}`, expected: null, data: '1' }], { turnId: `turn-${i}` });
    expect(store.commit(writes, { turnId: 'turn-a' })).toEqual(first);
  });

  it('forgets a turn id after 2,048 later writes, so that a retry that late is a conflict', () => {
    const store = new MemoryStore({ maxSessions: 3000 });
    const writes = [{ key: 's:a', expected: null, data: '1' }];
    store.commit(writes, { turnId: 'turn-a' });
    for (let i = 0; i < 2048; i++)
      store.commit([{ key: `s:${i}`, expected: null, data: '1' }], { turnId: `turn-${i}` });
    expect(store.commit(writes, { turnId: 'turn-a' })).toEqual({ ok: false, reason: 'conflict', key: 's:a' });
  });

  it('does not take an update for a retry once a later write of the same turn moved its version on', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 's:a', expected: null, data: '1' }]);
    const writes = [{ key: 's:a', expected: { version: 1, generation: 0 }, data: '2' }];
    store.commit(writes, { turnId: 'turn-a' });
    store.commit([{ key: 's:a', expected: { version: 2, generation: 0 }, data: '3' }], { turnId: 'turn-a' });
    expect(store.commit(writes, { turnId: 'turn-a' })).toEqual({ ok: false, reason: 'conflict', key: 's:a' });
  });

  it('does not take a write of no turn for a retry of a turn id that has aged into the older generation', () => {
    const store = new MemoryStore({ maxSessions: 2000 });
    const writes = [{ key: 's:a', expected: null, data: '1' }];
    store.commit(writes, { turnId: 'turn-a' });
    for (let i = 0; i < 1024; i++)
      store.commit([{ key: `s:${i}`, expected: null, data: '1' }], { turnId: `turn-${i}` });
    store.delete('s:a');
    store.commit(writes);
    expect(store.commit(writes, { turnId: 'turn-a' })).toEqual({ ok: false, reason: 'conflict', key: 's:a' });
  });

  it('does not take a commit that deleted a key for a retry', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    const writes = [
      { key: 's:a', expected: null, data: null },
      { key: 's:a', expected: null, data: '1' },
    ];
    store.commit(writes, { turnId: 'turn-a' });
    expect(store.commit(writes, { turnId: 'turn-a' })).toEqual({ ok: false, reason: 'conflict', key: 's:a' });
  });

  it('reports a retried update of a record deleted since as a conflict', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 's:a', expected: null, data: '1' }]);
    const writes = [{ key: 's:a', expected: { version: 1, generation: 0 }, data: '2' }];
    store.commit(writes, { turnId: 'turn-a' });
    store.delete('s:a');
    expect(store.commit(writes, { turnId: 'turn-a' })).toEqual({ ok: false, reason: 'conflict', key: 's:a' });
  });

  it('does not take a write of another turn (or of none) for a retry', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    const writes = [{ key: 's:a', expected: null, data: '1' }];
    store.commit(writes, { turnId: 'turn-a' });
    store.commit([{ key: 's:a', expected: { version: 1, generation: 0 }, data: null }], { turnId: 'turn-b' });
    store.commit(writes);
    expect(store.commit(writes, { turnId: 'turn-a' })).toEqual({ ok: false, reason: 'conflict', key: 's:a' });
  });

  it('keeps the generation of user and conversation records at 0', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([{ key: 'u:a', expected: null, data: '{}' }]);
    store.claimDue(10, Infinity);
    expect(store.commit([{ key: 'u:a', expected: { version: 1, generation: 0 }, data: '{"n":1}' }])).toEqual({
      ok: true,
      versions: [2],
    });
    expect(store.get('u:a')).toEqual({ data: '{"n":1}', version: 2, generation: 0 });
  });

  it('evicts the least recently used session past maxSessions and tells its listener', () => {
    const store = new MemoryStore({ maxSessions: 2 });
    const evicted: [string, StoredRecord][] = [];
    store.listen({ evicted: (key, record) => evicted.push([key, record]) });
    store.commit([{ key: 's:a', expected: null, data: '"a"', idleMs: 1000 }]);
    store.commit([{ key: 's:b', expected: null, data: '"b"', idleMs: 1000 }]);
    store.get('s:a');
    store.commit([{ key: 's:c', expected: null, data: '"c"', idleMs: 1000 }]);
    expect(evicted).toEqual([['s:b', { data: '"b"', version: 1, generation: 0 }]]);
    expect(store.size).toBe(2);
    expect(store.pendingDeadlines).toBe(2);
  });

  it('counts an update as a use when it picks the session to evict', () => {
    const store = new MemoryStore({ maxSessions: 2 });
    const evicted: string[] = [];
    store.listen({ evicted: (key) => evicted.push(key) });
    store.commit([{ key: 's:a', expected: null, data: '"a"' }]);
    store.commit([{ key: 's:b', expected: null, data: '"b"' }]);
    store.commit([{ key: 's:a', expected: { version: 1, generation: 0 }, data: '"a2"' }]);
    store.commit([{ key: 's:c', expected: null, data: '"c"' }]);
    expect(evicted).toEqual(['s:b']);
    expect(store.get('s:a')?.data).toBe('"a2"');
  });

  it('spares a session used since eviction last passed it once, then evicts it when it is still unused', () => {
    const store = new MemoryStore({ maxSessions: 2 });
    const evicted: string[] = [];
    store.listen({ evicted: (key) => evicted.push(key) });
    store.commit([{ key: 's:a', expected: null, data: '"a"' }]);
    store.commit([{ key: 's:b', expected: null, data: '"b"' }]);
    store.get('s:a');
    store.get('s:b');
    store.commit([{ key: 's:c', expected: null, data: '"c"' }]);
    store.commit([{ key: 's:d', expected: null, data: '"d"' }]);
    expect(evicted).toEqual(['s:a', 's:b']);
  });

  it('keeps a session read between two evictions over one that was not', () => {
    const store = new MemoryStore({ maxSessions: 2 });
    const evicted: string[] = [];
    store.listen({ evicted: (key) => evicted.push(key) });
    store.commit([{ key: 's:a', expected: null, data: '"a"' }]);
    store.commit([{ key: 's:b', expected: null, data: '"b"' }]);
    store.commit([{ key: 's:c', expected: null, data: '"c"' }]);
    store.get('s:b');
    store.commit([{ key: 's:d', expected: null, data: '"d"' }]);
    expect([evicted, store.sessionKeys().sort()]).toEqual([
      ['s:a', 's:c'],
      ['s:b', 's:d'],
    ]);
  });

  it('keeps versions counting across uses and evictions that pass a record over', () => {
    const store = new MemoryStore({ maxSessions: 2 });
    store.commit([{ key: 's:a', expected: null, data: '1' }]);
    store.commit([{ key: 's:b', expected: null, data: '1' }]);
    store.get('s:a');
    store.commit([{ key: 's:c', expected: null, data: '1' }]);
    store.get('s:a');
    expect(store.commit([{ key: 's:a', expected: { version: 1, generation: 0 }, data: '2' }])).toEqual({
      ok: true,
      versions: [2],
    });
    expect(store.get('s:a')).toEqual({ data: '2', version: 2, generation: 0 });
  });

  it('keeps one session with a maxSessions of 1, evicting the previous one with its deadline', () => {
    const store = new MemoryStore({ maxSessions: 1 });
    const evicted: [string, StoredRecord][] = [];
    store.listen({ evicted: (key, record) => evicted.push([key, record]) });
    store.commit([{ key: 's:a', expected: null, data: '"a"', idleMs: 1000 }]);
    store.commit([{ key: 's:b', expected: null, data: '"b"', idleMs: 2000 }]);
    expect(evicted).toEqual([['s:a', { data: '"a"', version: 1, generation: 0 }]]);
    expect({ size: store.size, pending: store.pendingDeadlines, next: store.nextDeadline() }).toEqual({
      size: 1,
      pending: 1,
      next: Date.now() + 2000,
    });
  });

  it('works with a huge maxSessions (its index grows as sessions come)', () => {
    const store = new MemoryStore({ maxSessions: 1e9 });
    store.commit([{ key: 's:a', expected: null, data: '"a"', idleMs: 1000 }]);
    store.commit([{ key: 's:a', expected: { version: 1, generation: 0 }, data: '"a2"', idleMs: 1000 }]);
    expect(store.get('s:a')).toEqual({ data: '"a2"', version: 2, generation: 0 });
    expect(store.claimDue(10, Date.now() + 1000)).toMatchObject([{ key: 's:a', version: 2, generation: 1 }]);
    store.delete('s:a');
    expect(store.size).toBe(0);
  });

  it('gives back text built in parts exactly as it was committed', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    const data = JSON.stringify({ text: 'é'.repeat(80), list: Array.from({ length: 40 }, (_, i) => i) });
    store.commit([
      { key: 's:a', expected: null, data },
      { key: 'u:a', expected: null, data },
    ]);
    expect([store.get('s:a')?.data, store.get('u:a')?.data]).toEqual([data, data]);
  });

  it('does not count user and conversation records against maxSessions', () => {
    const store = new MemoryStore({ maxSessions: 1 });
    const evicted: string[] = [];
    store.listen({ evicted: (key) => evicted.push(key) });
    store.commit([
      { key: 's:a', expected: null, data: '1' },
      { key: 'u:a', expected: null, data: '{}' },
      { key: 'c:a', expected: null, data: '{}' },
    ]);
    expect(evicted).toEqual([]);
    expect(store.size).toBe(1);
  });

  it('does not report a deleted session as evicted', () => {
    const store = new MemoryStore({ maxSessions: 1 });
    const evicted: string[] = [];
    store.listen({ evicted: (key) => evicted.push(key) });
    store.commit([{ key: 's:a', expected: null, data: '1' }]);
    store.delete('s:a');
    store.commit([{ key: 's:b', expected: null, data: '1' }]);
    expect(evicted).toEqual([]);
  });

  it('lists the session keys it holds', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.commit([
      { key: 's:a', expected: null, data: '1' },
      { key: 'u:a', expected: null, data: '{}' },
    ]);
    store.commit([{ key: 's:b', expected: null, data: '1' }]);
    expect([...store.sessionKeys()].sort()).toEqual(['s:a', 's:b']);
  });

  it('evicts the least recently used data record past maxDataRecords', () => {
    const store = new MemoryStore({ maxDataRecords: 2 });
    store.commit([{ key: 'u:a', expected: null, data: '"a"' }]);
    store.commit([{ key: 'u:b', expected: null, data: '"b"' }]);
    store.commit([{ key: 'c:c', expected: null, data: '"c"' }]);
    expect([store.get('u:a'), store.get('u:b')?.data, store.get('c:c')?.data]).toEqual([undefined, '"b"', '"c"']);
  });

  it('gives back a data record whose text starts with digits and colons exactly as committed', () => {
    const store = new MemoryStore();
    store.commit([{ key: 'u:a', expected: null, data: '12:34:' }]);
    store.commit([{ key: 'u:a', expected: { version: 1, generation: 0 }, data: '' }]);
    store.commit([{ key: 'c:a', expected: null, data: '9:' }]);
    expect([store.get('u:a'), store.get('c:a')]).toEqual([
      { data: '', version: 2, generation: 0 },
      { data: '9:', version: 1, generation: 0 },
    ]);
  });

  it('keeps a data record read since the last eviction and its version through the sweep that spares it', () => {
    const store = new MemoryStore({ maxDataRecords: 2 });
    const evicted: [string, StoredRecord][] = [];
    store.listen({ evicted: (key, record) => evicted.push([key, record]) });
    store.commit([{ key: 'u:a', expected: null, data: '"a"' }]);
    store.commit([{ key: 'u:b', expected: null, data: '"b"' }]);
    store.get('u:a');
    store.commit([{ key: 'c:c', expected: null, data: '"c"' }]);
    expect(store.commit([{ key: 'u:a', expected: { version: 1, generation: 0 }, data: '"a2"' }])).toEqual({
      ok: true,
      versions: [2],
    });
    expect([evicted, store.get('u:a')]).toEqual([
      [['u:b', { data: '"b"', version: 1, generation: 0 }]],
      { data: '"a2"', version: 2, generation: 0 },
    ]);
  });

  it('tells its listener the key and record of a data record it evicts', () => {
    const store = new MemoryStore({ maxDataRecords: 2 });
    const evicted: [string, StoredRecord][] = [];
    store.listen({ evicted: (key, record) => evicted.push([key, record]) });
    store.commit([{ key: 'u:a', expected: null, data: '"a"' }]);
    store.commit([{ key: 'u:b', expected: null, data: '"b"' }]);
    store.commit([{ key: 'c:c', expected: null, data: '"c"' }]);
    expect(evicted).toEqual([['u:a', { data: '"a"', version: 1, generation: 0 }]]);
  });

  it('does not report a deleted data record as evicted', () => {
    const store = new MemoryStore({ maxDataRecords: 2 });
    const evicted: string[] = [];
    store.listen({ evicted: (key) => evicted.push(key) });
    store.commit([{ key: 'u:a', expected: null, data: '"a"' }]);
    store.commit([{ key: 'u:a', expected: { version: 1, generation: 0 }, data: null }]);
    expect(evicted).toEqual([]);
  });

  it('evicts without a listener', () => {
    const store = new MemoryStore({ maxSessions: 1, maxDataRecords: 2 });
    for (const key of ['s:a', 's:b', 'u:a', 'u:b', 'u:c']) store.commit([{ key, expected: null, data: '1' }]);
    expect([store.sessionKeys(), store.get('u:a'), store.get('u:c')?.version]).toEqual([['s:b'], undefined, 1]);
  });

  it('keeps each quarantined version of a record, oldest first', () => {
    const store = new MemoryStore({ maxSessions: 100 });
    store.quarantine('s:a', { data: 'bad1', version: 1, generation: 0 });
    store.quarantine('s:a', { data: 'bad2', version: 2, generation: 0 });
    store.quarantine('s:a', { data: 'bad3', version: 2, generation: 1 });
    expect(store.quarantinedRecords().map(({ key, record }) => [key, record.data])).toEqual([
      ['s:a', 'bad1'],
      ['s:a', 'bad2'],
      ['s:a', 'bad3'],
    ]);
  });

  it('rejects a maxSessions that is not a positive integer with INVALID_OPTIONS', () => {
    expect(() => new MemoryStore({ maxSessions: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('maxSessions') }),
    );
  });

  it('rejects a maxDataRecords under 2 with INVALID_OPTIONS (a turn may write userData and conversationData)', () => {
    expect(() => new MemoryStore({ maxDataRecords: 1 })).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringMatching(/^Invalid MemoryStore options: `maxDataRecords` must be at least 2/),
      }),
    );
  });

  it('keeps an update whose record an earlier write of the same commit evicted to make room', () => {
    const store = new MemoryStore({ maxDataRecords: 2 });
    store.commit([{ key: 'c:old', expected: null, data: '"old"' }]);
    store.commit([{ key: 'c:other', expected: null, data: '"other"' }]);
    const result = store.commit([
      { key: 'u:new', expected: null, data: '"new"' },
      { key: 'c:old', expected: { version: 1, generation: 0 }, data: '"updated"' },
    ]);
    expect({ result, updated: store.get('c:old')?.data, created: store.get('u:new')?.data }).toEqual({
      result: { ok: true, versions: [1, 1] },
      updated: '"updated"',
      created: '"new"',
    });
  });

  it('keeps a session update whose record an earlier write of the same commit evicted to make room', () => {
    const store = new MemoryStore({ maxSessions: 2 });
    store.commit([{ key: 's:old', expected: null, data: '"old"' }]);
    store.commit([{ key: 's:other', expected: null, data: '"other"' }]);
    const result = store.commit([
      { key: 's:new', expected: null, data: '"new"' },
      { key: 's:old', expected: { version: 1, generation: 0 }, data: '"updated"' },
    ]);
    expect({ result, updated: store.get('s:old')?.data, created: store.get('s:new')?.data }).toEqual({
      result: { ok: true, versions: [1, 1] },
      updated: '"updated"',
      created: '"new"',
    });
  });

  it('says it is not persistent', () => {
    expect(new MemoryStore().persistent).toBe(false);
  });

  it('rejects an unknown option with INVALID_OPTIONS', () => {
    expect(() => new MemoryStore({ maxSession: 5 } as never)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('maxSession') }),
    );
  });
});
