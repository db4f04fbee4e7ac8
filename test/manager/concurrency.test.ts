import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, type CommitWrite } from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { elapse, FlakyStore, harness } from '../support/manager';

type Entities = { log?: string[] };

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

describe('turns of one session key', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('applies 100 concurrent receive() calls for one user in arrival order, losing none', async () => {
    const { bot } = harness<Entities>();
    bot.dialog('/', async (session) => {
      const log = session.entities.log ?? [];
      await Promise.resolve(); // give other turns every chance to interleave
      session.entities.log = [...log, session.message!.text!];
      session.send('got %s', session.message!.text!);
    });
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => bot.receive({ address: address(), text: String(i) })),
    );
    expect(results.map((r) => r.session.turnCount)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    let final: unknown;
    bot.on('sessionEnd', ({ entities }) => void (final = entities.log));
    await bot.endSession(address());
    expect(final).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    await bot.close();
  });

  it('delivers the replies of 100 concurrent turns in arrival order', async () => {
    const { bot, texts } = harness<Entities>();
    bot.dialog('/', async (session) => {
      await Promise.resolve();
      session.send(session.message!.text!);
    });
    await Promise.all(Array.from({ length: 100 }, (_, i) => bot.receive({ address: address(), text: String(i) })));
    expect(texts()).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    await bot.close();
  });

  it('runs turns of different users in parallel', async () => {
    const { bot } = harness();
    const gate = deferred();
    bot.dialog('/', async (session) => {
      if (session.info.user.id === 'slow') await gate.promise;
    });
    const slow = bot.receive({ address: address('slow'), text: 'hi' });
    await expect(bot.receive({ address: address('fast'), text: 'hi' })).resolves.toMatchObject({
      session: { turnCount: 1 },
    });
    gate.resolve();
    await slow;
    await bot.close();
  });

  it('rejects a message with TURN_QUEUE_FULL when maxQueuedTurns turns already wait for its session', async () => {
    const { bot } = harness({ maxQueuedTurns: 2 });
    const gate = deferred();
    bot.dialog('/', () => gate.promise);
    const accepted = [0, 1, 2].map(() => bot.receive({ address: address(), text: 'hi' }));
    await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({ code: 'TURN_QUEUE_FULL' });
    gate.resolve();
    await expect(Promise.all(accepted)).resolves.toHaveLength(3);
    await bot.close();
  });
});

describe('the store under a turn', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function countingBot(store: FlakyStore, options: Parameters<typeof harness>[0] = {}) {
    const h = harness({ store, ...options });
    const runs = vi.fn();
    h.bot.dialog('/', (session) => {
      runs();
      session.userData.count = Number(session.userData.count ?? 0) + 1;
      session.send('count %d', session.userData.count as number);
    });
    return { ...h, runs };
  }

  it('re-runs a turn whose commit met a conflict, and delivers and emits once', async () => {
    const store = new FlakyStore();
    const { bot, runs, texts } = countingBot(store);
    const turns = vi.fn();
    bot.on('turn', turns);
    await bot.receive({ address: address(), text: 'hi' });
    store.conflicts = 1;
    const { replies } = await bot.receive({ address: address(), text: 'hi' });
    expect(runs).toHaveBeenCalledTimes(3);
    expect(replies.map((m) => m.text)).toEqual(['count 2']);
    expect(texts()).toEqual(['count 1', 'count 2']);
    expect(turns).toHaveBeenCalledTimes(2);
    await bot.close();
  });

  it('gives up with CONFLICT after maxCommitRetries re-runs and delivers nothing', async () => {
    const store = new FlakyStore();
    const { bot, runs, delivered, errors } = countingBot(store, { maxCommitRetries: 2 });
    store.conflicts = 3;
    await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('3 attempts'),
    });
    expect(runs).toHaveBeenCalledTimes(3);
    expect(delivered).toEqual([]);
    expect(errors).toEqual([]); // the rejection is the report: it is not emitted too
    await bot.close();
  });

  it('does not re-run a turn whose sendBatch() committed when its last commit meets a conflict', async () => {
    const store = new FlakyStore();
    const { bot, texts } = harness({ store });
    const runs = vi.fn();
    bot.dialog('/', async (session) => {
      runs();
      session.send('working on it');
      await session.sendBatch();
      session.userData.done = true;
      store.conflicts = 1; // another conversation of this user wrote userData meanwhile
    });
    await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({
      code: 'CONFLICT',
      message: expect.stringContaining('sendBatch()'),
    });
    await elapse(1000);
    expect(runs).toHaveBeenCalledTimes(1);
    expect(texts()).toEqual(['working on it']);
    await bot.close();
  });

  it('delivers the replies of a sendBatch() whose save failed with the turn, in order, when the turn is saved', async () => {
    const store = new FlakyStore();
    const { bot, texts } = harness({ store });
    bot.dialog('/', async (session) => {
      session.send('first');
      store.failures = 1;
      void session.sendBatch(); // not awaited, and its save fails
      await Promise.resolve();
      session.send('second');
    });
    const { replies } = await bot.receive({ address: address(), text: 'hi' });
    await elapse(1000);
    expect(replies.map((m) => m.text)).toEqual(['first', 'second']);
    expect(texts()).toEqual(['first', 'second']);
    await bot.close();
  });

  it('keeps what onSessionEnd wrote to userData when the end is re-run after a conflict, without running it twice', async () => {
    const store = new FlakyStore();
    const hook = vi.fn((session: { userData: Record<string, unknown> }) => {
      session.userData.ends = Number(session.userData.ends ?? 0) + 1;
      delete session.userData.draft;
    });
    const { bot } = harness({ store, onSessionEnd: hook });
    const seen: unknown[] = [];
    bot.dialog('/', (session) => {
      if (session.message?.text === 'hi') session.userData.draft = 'half an order';
      else seen.push({ ...session.userData });
    });
    await bot.receive({ address: address(), text: 'hi' });
    store.conflicts = 1;
    await bot.endSession(address());
    await bot.receive({ address: address(), text: 'back' });
    expect(hook).toHaveBeenCalledTimes(1);
    expect(store.commits).toBeGreaterThanOrEqual(3); // the end was committed twice: a conflict, then the re-run
    expect(seen).toEqual([{ ends: 1 }]);
    await bot.close();
  });

  it('rejects with STORE_UNAVAILABLE when the commit throws, delivers nothing and keeps the previous state', async () => {
    const store = new FlakyStore();
    const { bot, delivered } = countingBot(store);
    await bot.receive({ address: address(), text: 'hi' });
    delivered.length = 0;
    store.failures = 1;
    await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('disk on fire'),
    });
    await elapse(1000);
    expect(delivered).toEqual([]);
    const next = await bot.receive({ address: address(), text: 'hi' });
    expect(next.session.turnCount).toBe(2);
    expect(next.replies.map((m) => m.text)).toEqual(['count 2']);
    await bot.close();
  });

  it('rejects with STORE_UNAVAILABLE when loading throws', async () => {
    const store = new FlakyStore();
    const { bot } = countingBot(store);
    vi.spyOn(store, 'get').mockImplementationOnce(() => {
      throw new Error('connection refused');
    });
    await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
      message: expect.stringContaining('connection refused'),
    });
    await expect(bot.receive({ address: address(), text: 'hi' })).resolves.toMatchObject({ session: { turnCount: 1 } });
    await bot.close();
  });

  it('delivers a turn’s replies only after its commit succeeded', async () => {
    const inner = new MemoryStore({ maxSessions: 100 });
    const gate = deferred();
    let gated = false;
    const store = new FlakyStore(inner);
    store.commit = ((writes: readonly CommitWrite[], options?: Parameters<FlakyStore['commit']>[1]) => {
      if (!gated) return inner.commit(writes, options);
      return gate.promise.then(() => inner.commit(writes, options));
    }) as unknown as FlakyStore['commit'];
    const { bot, delivered } = harness({ store });
    bot.dialog('/', (session) => void session.send('hello'));
    gated = true;
    const turn = bot.receive({ address: address(), text: 'hi' });
    await elapse(1000);
    expect(delivered).toEqual([]);
    gate.resolve();
    await turn;
    expect(delivered.flatMap((d) => d.messages.map((m) => m.text))).toEqual(['hello']);
    await bot.close();
  });

  it('resolves receive() once the state is saved, without waiting for the batching delay', async () => {
    const { bot, texts } = harness({ autoBatchDelay: 250 });
    bot.dialog('/', (session) => void session.send('hello'));
    const { replies } = await bot.receive({ address: address(), text: 'hi' });
    expect(replies.map((m) => m.text)).toEqual(['hello']);
    expect(texts()).toEqual([]);
    await elapse(250);
    expect(texts()).toEqual(['hello']);
    await bot.close();
  });

  it('reports stored state that is not a session as CORRUPT_STATE and starts a fresh session', async () => {
    const store = new MemoryStore({ maxSessions: 100 });
    const { bot, errors } = harness({ store });
    bot.dialog('/', () => undefined);
    const key = bot.keyOf(address());
    store.commit([{ key, expected: null, data: JSON.stringify({ v: 1, entities: 'not an object' }) }]);
    const { session } = await bot.receive({ address: address(), text: 'hi' });
    expect(session.turnCount).toBe(1);
    expect(errors).toMatchObject([
      { code: 'CORRUPT_STATE', message: expect.stringContaining('does not match the session schema') },
    ]);
    await bot.close();
  });

  it('reports stored text that is not JSON as CORRUPT_STATE', async () => {
    const store = new MemoryStore({ maxSessions: 100 });
    const { bot, errors } = harness({ store });
    bot.dialog('/', () => undefined);
    store.commit([{ key: bot.keyOf(address()), expected: null, data: '{not json' }]);
    await bot.receive({ address: address(), text: 'hi' });
    expect(errors.map((e) => e.code)).toEqual(['CORRUPT_STATE']);
    await bot.close();
  });
});

describe('turns and the expiry scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('does not end a session under a turn that is still running when its deadline passes', async () => {
    const onSessionEnd = vi.fn();
    const { bot } = harness({ onSessionEnd });
    const gate = deferred();
    bot.dialog('/', async (session) => {
      if (session.message?.text === 'slow') await gate.promise;
    });
    const first = await bot.receive({ address: address(), text: 'hi' });
    const slow = bot.receive({ address: address(), text: 'slow' });
    await elapse(10 * MINUTE);
    await elapse(25 * MINUTE); // the deadline of the first message passes while 'slow' runs
    gate.resolve();
    await expect(slow).resolves.toMatchObject({ session: { id: first.session.id, turnCount: 2 } });
    expect(onSessionEnd).not.toHaveBeenCalled();
    await bot.close();
  });

  it('handles a message that arrives while its session is being closed in a new session, after the close', async () => {
    const log: string[] = [];
    const gate = deferred();
    const { bot } = harness({
      onSessionEnd: async (_session, reason) => {
        log.push(`end ${reason}`);
        await gate.promise;
        log.push('end done');
      },
    });
    bot.dialog('/', (session) => void log.push(`turn ${session.message?.text} #${session.info.turnCount}`));
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(30 * MINUTE);
    const late = bot.receive({ address: address(), text: 'late' });
    await elapse(0);
    gate.resolve();
    await late;
    expect(log).toEqual(['turn hi #1', 'end timeout', 'end done', 'turn late #1']);
    await bot.close();
  });

  it('rejects a turn whose state would exceed maxStateBytes with STATE_TOO_LARGE and keeps the previous state', async () => {
    const { bot, delivered } = harness<{ blob?: string }>({ maxStateBytes: 2000 });
    bot.dialog('/', (session) => {
      if (session.message?.text === 'big') session.entities.blob = 'x'.repeat(5000);
      session.send('turn %d', session.info.turnCount);
    });
    await bot.receive({ address: address(), text: 'hi' });
    await expect(bot.receive({ address: address(), text: 'big' })).rejects.toMatchObject({
      code: 'STATE_TOO_LARGE',
      message: expect.stringContaining('maxStateBytes'),
    });
    const next = await bot.receive({ address: address(), text: 'hi' });
    expect(next.session.turnCount).toBe(2);
    expect(delivered.flatMap((d) => d.messages.map((m) => m.text))).toEqual(['turn 1', 'turn 2']);
    await bot.close();
  });
});

describe('the expiry scheduler at scale', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('expires 100,000 sessions with only a handful of pending timers', async () => {
    const store = new MemoryStore({ maxSessions: 100_000 });
    let ended = 0;
    const { bot } = harness({
      store,
      onSessionEnd: () => void ended++,
      persistUserData: false,
      persistConversationData: false,
    });
    bot.dialog('/', () => undefined);
    const timers: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      await bot.receive({ address: address(`u${i}`), text: 'hi' });
      if (i % 10_000 === 0) {
        timers.push(vi.getTimerCount());
        vi.advanceTimersByTime(1); // spread the deadlines a little
      }
    }
    expect(store.pendingDeadlines).toBe(100_000);
    expect(Math.max(...timers, vi.getTimerCount())).toBeLessThanOrEqual(2);
    await elapse(30 * MINUTE + 10);
    expect(ended).toBe(100_000);
    expect(store.pendingDeadlines).toBe(0);
    expect(vi.getTimerCount()).toBeLessThanOrEqual(2);
    await bot.close();
  });
});

describe('close()', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('leaves no timer behind', async () => {
    const { bot } = harness({ autoBatchDelay: 250, closeMessage: 'bye' });
    bot.dialog('/', (session) => void session.send('hello'));
    for (const user of ['a', 'b', 'c']) await bot.receive({ address: address(user), text: 'hi' });
    expect(vi.getTimerCount()).toBeGreaterThan(0);
    await bot.close();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('delivers the replies still waiting for the batching delay', async () => {
    const { bot, texts } = harness({ autoBatchDelay: 60_000 });
    bot.dialog('/', (session) => void session.send('hello'));
    await bot.receive({ address: address(), text: 'hi' });
    await bot.close();
    expect(texts()).toEqual(['hello']);
  });

  it('ends every live session with reason shutdown by default', async () => {
    const ended: string[] = [];
    const { bot } = harness({
      onSessionEnd: (session, reason) => void ended.push(`${session.info.user.id} ${reason}`),
    });
    bot.dialog('/', (session) => void (session.info.user.id === 'gone' && session.endSession()));
    for (const user of ['a', 'b', 'gone']) await bot.receive({ address: address(user), text: 'hi' });
    await bot.close();
    expect(ended.sort()).toEqual(['a shutdown', 'b shutdown', 'gone endSession']);
  });

  it('leaves sessions in the store and runs no hook with shutdown: persist', async () => {
    const store = new MemoryStore({ maxSessions: 100 });
    const onSessionEnd = vi.fn();
    const { bot } = harness({ store, onSessionEnd, shutdown: 'persist' });
    bot.dialog('/', () => undefined);
    await bot.receive({ address: address(), text: 'hi' });
    await bot.close();
    expect(onSessionEnd).not.toHaveBeenCalled();
    expect(store.size).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets running turns finish first', async () => {
    const { bot } = harness();
    const gate = deferred();
    bot.dialog('/', () => gate.promise);
    const turn = bot.receive({ address: address(), text: 'hi' });
    const closing = bot.close();
    gate.resolve();
    await expect(turn).resolves.toMatchObject({ session: { turnCount: 1 } });
    await closing;
  });

  it('rejects later messages with CLOSED', async () => {
    const { bot } = harness();
    bot.dialog('/', () => undefined);
    await bot.close();
    await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(bot.startSession(address())).rejects.toMatchObject({ code: 'CLOSED' });
  });

  it('returns the same promise when called twice', async () => {
    const { bot } = harness();
    const first = bot.close();
    expect(bot.close()).toBe(first);
    await first;
  });
});
