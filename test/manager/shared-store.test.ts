// What the manager does with a shared store (the contract's optional parts): turn leases, turn ids, quarantine, and a
// sweeper that polls. An in-memory stand-in with leases drives it under fake timers; test/redis/ runs the real thing.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  MemoryStore,
  type CommitOptions,
  type CommitResult,
  type CommitWrite,
  type OpenOptions,
  type OpenResult,
  type SessionStore,
  type StoredRecord,
} from '../../src';
import { address } from '../support/fixtures';
import { elapse, harness } from '../support/manager';
import { decodeState } from '../../src/codec';
import type { SessionStateRecord } from '../../src/schema';

/** A MemoryStore shared "with other processes": leases on the global clock, no nextDeadline (so it is polled), a call log. */
class SharedStore implements SessionStore {
  readonly inner = new MemoryStore();
  readonly log: string[] = [];
  readonly turnIds: (string | undefined)[] = [];
  readonly leases = new Map<string, { token: string; until: number }>();
  /** Commits still to answer with a conflict. */
  conflicts = 0;
  /** While true, every call throws. */
  down = false;
  /** While true, releases throw (in a commit too: the commit is then lost as well). */
  releaseFails = false;

  open(keys: readonly string[], options?: OpenOptions): OpenResult {
    this.check();
    this.log.push('open');
    const lease = options?.lease;
    if (lease !== undefined) {
      const held = this.leases.get(keys[0]!);
      if (held !== undefined && held.until > Date.now() && held.token !== lease.token) {
        return { records: [], busy: { holder: held.token, ttlMs: held.until - Date.now() } };
      }
      this.leases.set(keys[0]!, { token: lease.token, until: Date.now() + lease.ttlMs });
    }
    return this.inner.open(keys);
  }
  get(key: string): StoredRecord | undefined {
    this.check();
    return this.inner.get(key);
  }
  commit(writes: readonly CommitWrite[], options?: CommitOptions): CommitResult {
    this.check();
    this.log.push('commit');
    this.turnIds.push(options?.turnId);
    if (this.conflicts > 0) {
      this.conflicts--;
      return { ok: false, reason: 'conflict', key: writes[0]!.key };
    }
    if (options?.release !== undefined && this.releaseFails) throw new Error('connection reset');
    const result = this.inner.commit(writes, options);
    if (result.ok && options?.release !== undefined) this.drop(options.release.key, options.release.token);
    return result;
  }
  delete(key: string): void {
    this.inner.delete(key);
  }
  claimDue(limit: number, now?: number) {
    this.check();
    return this.inner.claimDue(limit, now);
  }
  quarantine(key: string, record: StoredRecord): void {
    this.inner.quarantine(key, record);
  }
  async renew(key: string, token: string, ttlMs: number): Promise<boolean> {
    this.log.push('renew');
    const held = this.leases.get(key);
    if (held === undefined || held.token !== token || held.until <= Date.now()) return false;
    held.until = Date.now() + ttlMs;
    return true;
  }
  async release(key: string, token: string): Promise<void> {
    this.check();
    if (this.releaseFails) throw new Error('connection reset');
    this.log.push('release');
    this.drop(key, token);
  }
  /** Another process takes the lease. */
  steal(key: string, ttlMs = 60_000): void {
    this.leases.set(key, { token: 'other-host:4242:abc', until: Date.now() + ttlMs });
  }
  /** Whether anyone holds the lease of `key` now. */
  held(key: string): boolean {
    const lease = this.leases.get(key);
    return lease !== undefined && lease.until > Date.now();
  }
  private drop(key: string, token: string): void {
    if (this.leases.get(key)?.token === token) this.leases.delete(key);
  }
  private check(): void {
    if (this.down) throw new Error('connection refused');
  }
}

const KEY = 's:test:c1:lars';

describe('SessionManager on a shared store', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('takes the turn lease and reads in one store call, then saves and gives the lease up in one', async () => {
    const store = new SharedStore();
    const { bot } = harness({ store });
    bot.dialog('/', (session) => session.send('hi'));
    await bot.receive({ address: address(), text: 'hi' });
    expect(store.log).toEqual(['open', 'commit']);
    expect(store.leases.size).toBe(0);
    await bot.close();
  });

  it('renews the lease every third of leaseTtl while the turn runs, and stops after', async () => {
    const store = new SharedStore();
    const { bot } = harness({ store, leaseTtl: 3_000 });
    let finish!: () => void;
    bot.dialog('/', () => new Promise<void>((resolve) => (finish = resolve)));
    const turn = bot.receive({ address: address(), text: 'hi' });
    await elapse(3_100);
    finish();
    await turn;
    const renewals = store.log.filter((call) => call === 'renew').length;
    await elapse(10_000);
    expect(renewals).toBe(3);
    expect(store.log.filter((call) => call === 'renew')).toHaveLength(3);
    await bot.close();
  });

  it('waits while another process holds the lease, then runs the turn', async () => {
    const store = new SharedStore();
    const { bot, texts } = harness({ store });
    bot.dialog('/', (session) => session.send('done'));
    store.steal(KEY, 500);
    const turn = bot.receive({ address: address(), text: 'hi' });
    await elapse(2_000); // the backoff between tries is at most 300 ms
    await turn;
    expect(store.log.filter((call) => call === 'open').length).toBeGreaterThan(2);
    expect(texts()).toEqual(['done']);
    await bot.close();
  });

  it('fails with LEASE_TIMEOUT naming the other holder when the lease stays taken past leaseWait', async () => {
    const store = new SharedStore();
    const { bot, errors } = harness({ store, leaseWait: 1_000 });
    bot.dialog('/', (session) => session.send('never'));
    store.steal(KEY);
    const turn = bot.receive({ address: address(), text: 'hi' });
    const outcome = expect(turn).rejects.toMatchObject({
      code: 'LEASE_TIMEOUT',
      message: expect.stringContaining('other-host:4242:abc'),
    });
    await elapse(1_500);
    await outcome;
    expect(errors).toEqual([]); // the rejection is the report
    await bot.close();
  });

  it('fails with STORE_UNAVAILABLE, and only rejects, when the store cannot be opened', async () => {
    const store = new SharedStore();
    store.down = true;
    const { bot, errors } = harness({ store });
    bot.dialog('/', (session) => session.send('never'));
    await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(errors).toEqual([]);
    await bot.close();
  });

  it('re-runs a turn that lost its lease and its commit under a new lease, never sending the lost attempt’s replies', async () => {
    const store = new SharedStore();
    const { bot, texts } = harness<{ n?: number }>({ store, leaseTtl: 300 });
    let pause: Promise<void> | undefined;
    bot.dialog('/', async (session) => {
      session.entities.n = (session.entities.n ?? 0) + 1;
      session.send(`n=${session.entities.n}`);
      if (pause !== undefined) {
        const waiting = pause;
        pause = undefined;
        await waiting;
      }
    });
    await bot.receive({ address: address(), text: 'one' });
    let resume!: () => void;
    pause = new Promise((resolve) => (resume = resolve));
    const turn = bot.receive({ address: address(), text: 'two' });
    await elapse(0);
    // Meanwhile another process takes the lease (this one's lapsed) and saves a turn of its own.
    store.steal(KEY, 50);
    const record = store.inner.get(KEY)!;
    const state = decodeState(record.data, KEY) as SessionStateRecord & { entities: { n: number } };
    state.entities.n = 10;
    store.inner.commit([
      {
        key: KEY,
        expected: { version: record.version, generation: record.generation },
        data: JSON.stringify(state),
        idleMs: 60_000,
      },
    ]);
    await elapse(200);
    resume();
    await elapse(100);
    await turn;
    expect(texts()).toEqual(['n=1', 'n=11']);
    expect(store.log.filter((call) => call === 'open').length).toBeGreaterThanOrEqual(3);
    await bot.close();
  });

  it('takes over its own lease left behind by an outage at once, instead of waiting for it to lapse', async () => {
    const store = new SharedStore();
    const { bot, texts } = harness({ store, leaseTtl: 30_000 });
    let outage = true;
    bot.dialog('/', (session) => {
      session.send(`turn ${session.info.turnCount}`);
      if (outage) store.down = true; // the store dies while the turn runs: its commit and its release both fail
    });
    await expect(bot.receive({ address: address(), text: 'one' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(store.held(KEY)).toBe(true);
    store.down = false;
    outage = false;
    await bot.receive({ address: address(), text: 'two' }); // no time passes: the lease is this manager's own
    expect(texts()).toEqual(['turn 1']);
    expect(store.held(KEY)).toBe(false);
    await bot.close();
  });

  it('gives up a lease it could not release as soon as the store answers again, so other processes need not wait', async () => {
    const store = new SharedStore();
    const { bot } = harness({ store, leaseTtl: 30_000 });
    bot.dialog('/', (session) => {
      if (session.address.user.id === 'lars') store.down = true;
      session.send('ok');
    });
    await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    store.down = false;
    expect(store.held(KEY)).toBe(true);
    await bot.receive({ address: address('someone-else'), text: 'hi' }); // any call the store answers
    await elapse(0);
    expect(store.held(KEY)).toBe(false);
    await bot.close();
  });

  it('gives each attempt of a turn its own turn id, shared by the attempt’s checkpoint', async () => {
    const store = new SharedStore();
    const { bot } = harness({ store });
    bot.dialog('/', async (session) => {
      session.send('first');
      await session.sendBatch();
      session.send('second');
    });
    await bot.receive({ address: address(), text: 'warm up' });
    store.turnIds.length = 0;
    await bot.receive({ address: address(), text: 'hi' });
    const [checkpoint, final] = store.turnIds;
    expect(store.turnIds).toHaveLength(2);
    expect(checkpoint).toEqual(expect.any(String));
    expect(final).toBe(checkpoint);
    await bot.close();
  });

  it('gives a re-run attempt a new turn id', async () => {
    const store = new SharedStore();
    const { bot } = harness({ store });
    bot.dialog('/', (session) => session.send('hi'));
    store.conflicts = 1;
    await bot.receive({ address: address(), text: 'hi' });
    const [lost, won] = store.turnIds;
    expect(lost).toEqual(expect.any(String));
    expect(won).toEqual(expect.any(String));
    expect(won).not.toBe(lost);
    await bot.close();
  });

  it('quarantines a session record that is not JSON, reports it, and starts a fresh session', async () => {
    const store = new SharedStore();
    store.inner.commit([{ key: KEY, expected: null, data: '{not json' }]);
    const { bot, errors, texts } = harness({ store });
    bot.dialog('/', (session) => session.send(`turn ${session.info.turnCount}`));
    await bot.receive({ address: address(), text: 'hi' });
    expect(store.inner.quarantinedRecords()).toEqual([
      { key: KEY, record: { data: '{not json', version: 1, generation: 0 } },
    ]);
    expect(errors.map((e) => e.code)).toContain('CORRUPT_STATE');
    expect(texts()).toEqual(['turn 1']);
    await bot.close();
  });

  it('quarantines a session record that does not match the session schema', async () => {
    const store = new SharedStore();
    store.inner.commit([{ key: KEY, expected: null, data: '{"v":99}' }]);
    const { bot, errors } = harness({ store });
    bot.dialog('/', (session) => session.send('hi'));
    await bot.receive({ address: address(), text: 'hi' });
    expect(store.inner.quarantinedRecords().map((q) => q.record.data)).toEqual(['{"v":99}']);
    expect(errors.map((e) => e.code)).toContain('CORRUPT_STATE');
    await bot.close();
  });

  it('leaves the sessions of other users alone when one record is corrupt', async () => {
    const store = new SharedStore();
    const { bot, texts } = harness<{ n?: number }>({ store });
    bot.dialog('/', (session) => {
      session.entities.n = (session.entities.n ?? 0) + 1;
      session.send(`${session.address.user.id}:${session.entities.n}`);
    });
    await bot.receive({ address: address('ada'), text: 'hi' });
    store.inner.commit([{ key: KEY, expected: null, data: 'garbage' }]);
    await bot.receive({ address: address(), text: 'hi' });
    await bot.receive({ address: address('ada'), text: 'hi' });
    expect(texts()).toEqual(['ada:1', 'lars:1', 'ada:2']);
    await bot.close();
  });

  it('reports a store outage to the sweeper once, not on every sweep, and again after a recovery', async () => {
    const store = new SharedStore();
    const { bot, errors } = harness({ store, sweepInterval: 1_000 });
    store.down = true;
    await elapse(10_000);
    const firstOutage = errors.length;
    store.down = false;
    await elapse(3_000);
    store.down = true;
    await elapse(5_000);
    expect(firstOutage).toBe(1);
    expect(errors.map((e) => e.code)).toEqual(['STORE_UNAVAILABLE', 'STORE_UNAVAILABLE']);
    store.down = false;
    await bot.close();
  });

  it('sweeps a polled store from the start, ending sessions an earlier process left due', async () => {
    const store = new SharedStore();
    const first = harness({ store, timeout: 5_000 });
    first.bot.dialog('/', (session) => session.send('hi'));
    await first.bot.receive({ address: address(), text: 'hi' });
    await first.bot.close();
    const onSessionEnd = vi.fn();
    const second = harness({ store, timeout: 5_000, sweepInterval: 1_000, onSessionEnd });
    await elapse(7_000);
    expect(onSessionEnd).toHaveBeenCalledTimes(1);
    await second.bot.close();
  });

  it('rejects a leaseTtl that is not a positive whole number of ms', () => {
    expect(() => harness({ leaseTtl: 0 })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});
