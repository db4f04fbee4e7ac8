// Faults: a store that fails, a deliver that throws or hangs, hooks and listeners that throw, close() mid-flight.
import { describe, expect, it, vi } from 'vitest';
import {
  DeliveryError,
  MemoryStore,
  SessionManager,
  type Address,
  type CommitOptions,
  type CommitResult,
  type CommitWrite,
  type EndReason,
  type OutgoingMessage,
  type PalaverError,
  type SessionManagerOptions,
} from '../../src';
import { address, MINUTE } from '../support/fixtures';
import {
  type FaultRule,
  FaultyStore,
  makeBot,
  outcome,
  recordsOf,
  rejection,
  useFakeTime,
  watchProcess,
} from '../support/hardening';
import { decodeState } from '../../src/codec';

useFakeTime(0);
const watch = watchProcess();

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => (resolve = res));
  return { promise, resolve };
}

type Entities = { n?: number };

/** A bot on a FaultyStore whose dialog counts turns (entities and userData) and replies with a token naming the turn. */
function faultyBot(options: Partial<SessionManagerOptions<Entities>> = {}, async = false) {
  const store = new FaultyStore();
  store.async = async;
  const made = makeBot<Entities>({ store, ...options });
  made.bot.dialog('/', (session) => {
    session.entities.n = (session.entities.n ?? 0) + 1;
    session.userData.n = ((session.userData.n as number | undefined) ?? 0) + 1;
    session.send('%s#%s', session.address.user.id, session.message?.text ?? '');
  });
  return { ...made, store };
}

/** Runs `turns` turns for each of `users` (round-robin), recording which were saved. */
async function drive(bot: SessionManager<Entities>, users: string[], turns: number) {
  const saved = new Map<string, string[]>(users.map((u) => [u, []]));
  const failures: unknown[] = [];
  for (let t = 0; t < turns; t++) {
    for (const user of users) {
      const result = await outcome(bot.receive({ address: address(user), text: String(t) }));
      if (result.status === 'fulfilled') saved.get(user)!.push(`${user}#${t}`);
      else failures.push(rejection(result));
    }
  }
  return { saved, failures };
}

describe('a store that fails', () => {
  const rules: [string, FaultRule][] = [
    ['get fails every 3rd call', ({ op, n }) => op === 'get' && n % 3 === 0],
    ['commit fails every 2nd call', ({ op, n }) => op === 'commit' && n % 2 === 0],
    ['get and commit fail every 5th call', ({ op, n }) => op !== 'claimDue' && n % 5 === 0],
    ['everything fails for a while', ({ op, n }) => op !== 'claimDue' && n > 10 && n <= 30],
  ];

  for (const async of [false, true]) {
    describe(async ? 'asynchronously' : 'synchronously', () => {
      it.each(rules)('rejects only the failing turns, with STORE_UNAVAILABLE, when %s', async (_what, rule) => {
        const { bot, store } = faultyBot({}, async);
        store.rule = rule;
        const { failures } = await drive(bot, ['ann', 'bob', 'cy'], 10);
        expect(failures.length).toBeGreaterThan(0);
        expect(new Set(failures.map((f) => (f as PalaverError).code))).toEqual(new Set(['STORE_UNAVAILABLE']));
      });

      it.each(rules)('delivers the replies of saved turns only, when %s', async (_what, rule) => {
        const made = faultyBot({}, async);
        made.store.rule = rule;
        const { saved } = await drive(made.bot, ['ann', 'bob', 'cy'], 10);
        await made.bot.close();
        expect(made.texts()).toEqual(expect.arrayContaining([...saved.values()].flat()));
        expect(made.texts().length).toBe([...saved.values()].flat().length);
      });

      it.each(rules)(
        'keeps state intact: each counter equals the saved turns, and the next turn works, when %s',
        async (_what, rule) => {
          const made = faultyBot({}, async);
          made.store.rule = rule;
          const { saved } = await drive(made.bot, ['ann', 'bob', 'cy'], 10);
          made.store.rule = () => false;
          const next = await Promise.all(
            ['ann', 'bob', 'cy'].map((user) => made.bot.receive({ address: address(user), text: 'next' })),
          );
          const counts = next.map((r) => r.replies[0]?.text);
          expect(counts).toEqual(['ann#next', 'bob#next', 'cy#next']);
          const stored = ['ann', 'bob', 'cy']
            .map((user) => [made.bot.keyOf(address(user)), ...recordsOf(made.bot, address(user)).slice(0, 2)] as const)
            .map(([key, session, user]) => [decodeState(session!, key), JSON.parse(user!)] as const);
          expect(stored.map(([session, user]) => [session.entities.n, user.n])).toEqual(
            ['ann', 'bob', 'cy'].map((u) => [saved.get(u)!.length + 1, saved.get(u)!.length + 1]),
          );
        },
      );
    });
  }

  it('keeps what a sendBatch() saved and delivers its replies when the end of the turn fails to save', async () => {
    const store = new FaultyStore();
    const made = makeBot<Entities>({ store });
    made.bot.dialog('/', async (session) => {
      session.entities.n = 1;
      session.send('saved and sent');
      await session.sendBatch();
      session.entities.n = 2;
      session.send('never sent');
      store.rule = ({ op }) => op === 'commit';
    });
    const result = await outcome(made.bot.receive({ address: address(), text: 'hi' }));
    store.rule = () => false;
    const stored = decodeState(recordsOf(made.bot, address())[0]!, made.bot.keyOf(address())).entities;
    await made.bot.close();
    expect([rejection(result), made.texts(), stored]).toEqual([
      expect.objectContaining({ code: 'STORE_UNAVAILABLE' }),
      ['saved and sent'],
      { n: 1 },
    ]);
  });

  it('commits a sendBatch() that onSessionEnd did not await before the end itself, sending its reply once', async () => {
    const store = new (class extends FaultyStore {
      override commit(writes: readonly CommitWrite[], options?: CommitOptions): Promise<CommitResult> {
        return new Promise((resolve) => setTimeout(() => resolve(this.inner.commit(writes, options)), 10));
      }
    })();
    const made = makeBot({
      store,
      onSessionEnd: (session) => {
        session.send('bye');
        void session.sendBatch();
      },
    });
    made.bot.dialog('/', () => undefined);
    const first = made.bot.receive({ address: address(), text: 'hi' });
    await vi.advanceTimersByTimeAsync(100);
    await first;
    const end = made.bot.endSession(address());
    await vi.advanceTimersByTimeAsync(1000);
    await end;
    expect([made.texts(), made.errors]).toEqual([['bye'], []]);
    await made.bot.close();
  });

  it('runs onSessionEnd once when the turn that ended the session failed to save and is sent again', async () => {
    const store = new FaultyStore();
    const ends: EndReason[] = [];
    const made = makeBot({
      store,
      closePolicy: 'lazy',
      timeout: MINUTE,
      onSessionEnd: (_s, reason) => void ends.push(reason),
    });
    made.bot.dialog('/', () => undefined);
    await made.bot.receive({ address: address(), text: 'hi' });
    vi.advanceTimersByTime(2 * MINUTE);
    store.rule = ({ op }) => op === 'commit';
    const failed = await outcome(made.bot.receive({ address: address(), text: 'again' }));
    store.rule = () => false;
    await made.bot.receive({ address: address(), text: 'again' });
    expect([rejection(failed), ends]).toEqual([expect.objectContaining({ code: 'STORE_UNAVAILABLE' }), ['timeout']]);
  });

  it('ends an idle session once, after the store comes back, when the store failed while the scheduler expired it', async () => {
    const store = new FaultyStore();
    const ends: string[] = [];
    const made = makeBot({ store, timeout: MINUTE });
    made.bot.on('sessionEnd', ({ session, reason }) => ends.push(`${session.user.id}:${reason}`));
    made.bot.dialog('/', () => undefined);
    await made.bot.receive({ address: address('ann'), text: 'hi' });
    await made.bot.receive({ address: address('bob'), text: 'hi' });
    store.rule = ({ op }) => op === 'get';
    await vi.advanceTimersByTimeAsync(2 * MINUTE);
    store.rule = () => false;
    await vi.advanceTimersByTimeAsync(2 * MINUTE);
    expect([ends.sort(), made.errors.some((e) => e.code === 'STORE_UNAVAILABLE')]).toEqual([
      ['ann:timeout', 'bob:timeout'],
      true,
    ]);
    await made.bot.close();
  });

  it('reports a store outage in the scheduler once, and keeps polling at a gentle pace', async () => {
    const store = new FaultyStore();
    const made = makeBot({ store, timeout: MINUTE });
    const ended: string[] = [];
    made.bot.on('sessionEnd', ({ reason }) => ended.push(reason));
    made.bot.dialog('/', () => undefined);
    await made.bot.receive({ address: address(), text: 'hi' });
    store.rule = ({ op }) => op === 'claimDue';
    await vi.advanceTimersByTimeAsync(11 * MINUTE);
    const claims = store.calls.claimDue;
    store.rule = () => false;
    await vi.advanceTimersByTimeAsync(MINUTE);
    // About one sweep a second while the store is down (not a tight loop), then the session ends.
    expect([claims <= 10 * 60 + 5, made.errors.filter((e) => e.code === 'STORE_UNAVAILABLE').length, ended]).toEqual([
      true,
      1,
      ['timeout'],
    ]);
    await made.bot.close();
  });

  it('rejects startSession and endSession with STORE_UNAVAILABLE while the store is down, then serves them', async () => {
    const store = new FaultyStore();
    const made = makeBot({ store });
    made.bot.dialog('/', () => undefined);
    store.rule = ({ op }) => op === 'get';
    const failed = [await outcome(made.bot.startSession(address())), await outcome(made.bot.endSession(address()))].map(
      rejection,
    );
    store.rule = () => false;
    await made.bot.startSession(address());
    expect([failed, await made.bot.endSession(address())]).toEqual([
      [expect.objectContaining({ code: 'STORE_UNAVAILABLE' }), expect.objectContaining({ code: 'STORE_UNAVAILABLE' })],
      true,
    ]);
  });
});

describe('a deliver that throws or hangs', () => {
  const retry = { retries: 3, minDelay: 100, maxDelay: 1000, factor: 2, timeout: 5000 };

  /** A bot whose deliver runs `behave` for each call (after recording it); replies go out at the end of each turn. */
  function deliveryBot(behave: (to: Address, messages: OutgoingMessage[], call: number) => unknown) {
    const calls: { at: number; user: string; texts: (string | undefined)[] }[] = [];
    const errors: PalaverError[] = [];
    const bot = new SessionManager({
      deliver: (to, messages) => {
        calls.push({ at: Date.now(), user: to.user.id, texts: messages.map((m) => m.text) });
        return behave(to, messages, calls.length) as void;
      },
      autoBatchDelay: 0,
      deliveryRetry: retry,
      store: new MemoryStore({ maxSessions: 100 }),
    });
    bot.on('error', (error) => errors.push(error));
    bot.dialog('/', (session) => void session.send('%s', session.message?.text ?? ''));
    return { bot, calls, errors };
  }

  it('retries a throwing deliver as configured (backoff 100, 200, 400 ms), then reports DELIVERY_FAILED with the undelivered messages', async () => {
    const { bot, calls, errors } = deliveryBot(() => {
      throw new Error('channel down');
    });
    await bot.receive({ address: address(), text: 'hello' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect([calls.map((c) => c.at), errors]).toEqual([
      [0, 100, 300, 700],
      [
        expect.objectContaining({
          code: 'DELIVERY_FAILED',
          messages: [expect.objectContaining({ text: 'hello' })],
          address: address(),
        }),
      ],
    ]);
    expect(errors[0]).toBeInstanceOf(DeliveryError);
  });

  it('counts a deliver that hangs past deliveryRetry.timeout as failed, retries, then reports it', async () => {
    const { bot, calls, errors } = deliveryBot(() => new Promise(() => undefined));
    await bot.receive({ address: address(), text: 'hello' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect([calls.map((c) => c.at), errors.map((e) => [e.code, e.message.includes('5000 ms')])]).toEqual([
      [0, 5100, 10_300, 15_700],
      [['DELIVERY_FAILED', true]],
    ]);
  });

  it('resolves receive() at once, without waiting for the retries', async () => {
    const { bot } = deliveryBot(() => new Promise(() => undefined));
    expect((await outcome(bot.receive({ address: address(), text: 'hello' }))).status).toBe('fulfilled');
  });

  it('keeps later batches for the address in order behind a failing one', async () => {
    const { bot, calls } = deliveryBot((_to, messages) => {
      if (messages[0]?.text === 'first') throw new Error('down for this one');
    });
    await bot.receive({ address: address(), text: 'first' });
    await bot.receive({ address: address(), text: 'second' });
    await bot.receive({ address: address(), text: 'third' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.map((c) => c.texts[0])).toEqual(['first', 'first', 'first', 'first', 'second', 'third']);
  });

  it('keeps later batches for the address in order behind a hanging one', async () => {
    const { bot, calls } = deliveryBot((_to, messages) =>
      messages[0]?.text === 'first' ? new Promise(() => undefined) : undefined,
    );
    await bot.receive({ address: address(), text: 'first' });
    await bot.receive({ address: address(), text: 'second' });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(calls.map((c) => c.texts[0])).toEqual(['first', 'first', 'first', 'first', 'second']);
  });

  it('delivers to other addresses at once while one address hangs', async () => {
    const { bot, calls } = deliveryBot((to) => (to.user.id === 'stuck' ? new Promise(() => undefined) : undefined));
    await bot.receive({ address: address('stuck'), text: 'a' });
    await bot.receive({ address: address('fine'), text: 'b' });
    await bot.receive({ address: address('also-fine'), text: 'c' });
    expect(calls.map((c) => `${c.user}@${c.at}`)).toEqual(['stuck@0', 'fine@0', 'also-fine@0']);
  });

  it('delivers a batch once, in order, when deliver fails twice and then works', async () => {
    const { bot, calls, errors } = deliveryBot((_to, _m, call) => {
      if (call <= 2) throw new Error('blip');
    });
    await bot.receive({ address: address(), text: 'one' });
    await bot.receive({ address: address(), text: 'two' });
    await vi.advanceTimersByTimeAsync(10_000);
    expect([calls.map((c) => c.texts[0]), errors]).toEqual([['one', 'one', 'one', 'two'], []]);
  });

  it('rejects manager.send with a DeliveryError after the retries', async () => {
    const { bot } = deliveryBot(() => {
      throw new Error('down');
    });
    const sent = bot.send(address(), 'proactive');
    const settled = outcome(sent, 200);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(rejection(await settled)).toMatchObject({ code: 'DELIVERY_FAILED', messages: [{ text: 'proactive' }] });
  });
});

describe('hooks and listeners that throw', () => {
  const boom = () => {
    throw new Error('hook bug');
  };
  const reject = async () => {
    throw new Error('async hook bug');
  };

  /** A bot with a 1-minute timeout that records session ends (by the hook's side effect and the event). */
  function hookBot(options: Partial<SessionManagerOptions> = {}) {
    const made = makeBot({ timeout: MINUTE, ...options });
    const ended: string[] = [];
    made.bot.on('sessionEnd', ({ session, reason }) => ended.push(`${session.user.id}:${reason}`));
    made.bot.dialog('/', (session) => {
      if (session.message?.text === 'end') session.endSession();
      else session.send('ok');
    });
    return { ...made, ended };
  }

  it.each([
    ['onSessionStart throws', { onSessionStart: boom }, 2],
    ['onSessionStart rejects', { onSessionStart: reject }, 2],
    ['onSessionEnd throws', { onSessionEnd: boom }, 1],
    ['onSessionEnd rejects', { onSessionEnd: reject }, 1],
  ])('reports HOOK_FAILED and goes on when %s in a turn', async (_what, options, calls) => {
    const made = hookBot(options as Partial<SessionManagerOptions>);
    // Two sessions start (hi, then hi after the end) and one ends.
    const results = [
      await made.bot.receive({ address: address(), text: 'hi' }),
      await made.bot.receive({ address: address(), text: 'end' }),
      await made.bot.receive({ address: address(), text: 'hi' }),
    ];
    expect([
      results.map((r) => r.session.turnCount),
      made.errors.map((e) => e.code),
      made.ended,
      watch.unhandled,
    ]).toEqual([[1, 2, 1], Array(calls).fill('HOOK_FAILED'), ['lars:endSession'], []]);
  });

  it.each([
    ['throws', boom],
    ['rejects', reject],
  ])('ends every idle session once when onSessionEnd %s inside the scheduler', async (_what, hook) => {
    const made = hookBot({ onSessionEnd: hook });
    for (const user of ['a', 'b', 'c']) await made.bot.receive({ address: address(user), text: 'hi' });
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    expect([made.ended.sort(), made.errors.map((e) => e.code), watch.unhandled]).toEqual([
      ['a:timeout', 'b:timeout', 'c:timeout'],
      ['HOOK_FAILED', 'HOOK_FAILED', 'HOOK_FAILED'],
      [],
    ]);
  });

  it('ends every idle session once when a sessionEnd listener throws inside the scheduler', async () => {
    const made = hookBot();
    made.bot.on('sessionEnd', boom);
    for (const user of ['a', 'b', 'c']) await made.bot.receive({ address: address(user), text: 'hi' });
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    expect([made.ended.sort(), made.errors.map((e) => e.code), watch.unhandled]).toEqual([
      ['a:timeout', 'b:timeout', 'c:timeout'],
      ['HOOK_FAILED', 'HOOK_FAILED', 'HOOK_FAILED'],
      [],
    ]);
  });

  it.each(['sessionStart', 'sessionEnd', 'turn'] as const)(
    'reports an async %s listener that rejects as HOOK_FAILED, with no unhandled rejection',
    async (event) => {
      const made = hookBot();
      made.bot.on(event, reject);
      await made.bot.receive({ address: address(), text: 'end' });
      await vi.advanceTimersByTimeAsync(0);
      await new Promise((resolve) => setImmediate(resolve));
      expect([made.errors.map((e) => [e.code, e.message.includes('async hook bug')]), watch.unhandled]).toEqual([
        [['HOOK_FAILED', true]],
        [],
      ]);
    },
  );

  it('reports an async listener that rejects inside the scheduler, with no unhandled rejection', async () => {
    const made = hookBot();
    made.bot.on('sessionEnd', reject);
    await made.bot.receive({ address: address(), text: 'hi' });
    await vi.advanceTimersByTimeAsync(5 * MINUTE);
    await new Promise((resolve) => setImmediate(resolve));
    expect([made.ended, made.errors.map((e) => e.code), watch.unhandled]).toEqual([
      ['lars:timeout'],
      ['HOOK_FAILED'],
      [],
    ]);
  });

  it('survives an error listener that throws or rejects, printing what it could not report', async () => {
    const printed = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const made = hookBot({ onSessionStart: boom });
    made.bot.on('error', boom);
    made.bot.on('error', reject);
    const result = await outcome(made.bot.receive({ address: address(), text: 'hi' }));
    await new Promise((resolve) => setImmediate(resolve));
    const lines = printed.mock.calls.map((call) => String(call[0]));
    printed.mockRestore();
    expect([result.status, lines, watch.unhandled]).toEqual([
      'fulfilled',
      ['[palaver] an "error" listener threw:', '[palaver] an "error" listener threw:'],
      [],
    ]);
  });

  it('fails no turn and loses no reply when the trace function throws', async () => {
    const made = makeBot({ trace: boom, autoBatchDelay: 250 });
    made.bot.dialog('/', [(session) => session.send('one'), (session) => session.send('two')]);
    const results = [
      await outcome(made.bot.receive({ address: address(), text: 'a' })),
      await outcome(made.bot.receive({ address: address(), text: 'b' })),
    ];
    await made.bot.close();
    expect([results.map((r) => r.status), made.texts(), watch.unhandled]).toEqual([
      ['fulfilled', 'fulfilled'],
      ['one', 'two'],
      [],
    ]);
  });

  it('treats a continueIf that throws as false: the old session ends once, a new one starts', async () => {
    const made = hookBot({ closePolicy: 'lazy', continueIf: boom });
    await made.bot.receive({ address: address(), text: 'hi' });
    vi.advanceTimersByTime(2 * MINUTE);
    const { session } = await made.bot.receive({ address: address(), text: 'hi' });
    expect([session.turnCount, made.ended, made.errors.map((e) => e.code)]).toEqual([
      1,
      ['lars:timeout'],
      ['HOOK_FAILED'],
    ]);
  });

  it('closes cleanly when a sessionEnd listener throws during shutdown', async () => {
    const made = hookBot();
    made.bot.on('sessionEnd', boom);
    await made.bot.receive({ address: address(), text: 'hi' });
    expect((await outcome(made.bot.close())).status).toBe('fulfilled');
    expect([made.ended, vi.getTimerCount(), watch.unhandled]).toEqual([['lars:shutdown'], 0, []]);
  });

  it('never ends one session twice when the end hook throws and the scheduler, the user and close() race for it', async () => {
    const made = hookBot({ onSessionEnd: boom });
    const ids: string[] = [];
    made.bot.on('sessionEnd', ({ session }) => ids.push(session.id));
    for (const user of ['a', 'b', 'c']) await made.bot.receive({ address: address(user), text: 'hi' });
    vi.advanceTimersByTime(MINUTE + 1); // the scheduler starts its sweep
    const racing: Promise<unknown>[] = ['a', 'b', 'c'].flatMap((user) => [
      made.bot.receive({ address: address(user), text: 'end' }),
      made.bot.endSession(address(user)),
    ]);
    racing.push(made.bot.close());
    await vi.advanceTimersByTimeAsync(MINUTE);
    await Promise.allSettled(racing);
    expect([ids.length >= 3, ids.length - new Set(ids).size, watch.unhandled]).toEqual([true, 0, []]);
  });
});

describe('close() while turns are in flight', () => {
  it('lets running turns finish, flushes their batched replies, and leaves no timer', async () => {
    const gate = deferred();
    const made = makeBot({ autoBatchDelay: 250 });
    made.bot.dialog('/', async (session) => {
      session.send('before %s', session.message?.text ?? '');
      if (session.message?.text === 'slow') await gate.promise;
      session.send('after %s', session.message?.text ?? '');
    });
    const slow = made.bot.receive({ address: address('a'), text: 'slow' });
    const queued = made.bot.receive({ address: address('a'), text: 'queued' });
    await made.bot.receive({ address: address('b'), text: 'fast' });
    const closing = made.bot.close();
    const late = await outcome(made.bot.receive({ address: address('c'), text: 'late' }));
    gate.resolve();
    await Promise.all([slow, queued, closing]);
    expect([rejection(late), made.texts(), vi.getTimerCount()]).toEqual([
      expect.objectContaining({ code: 'CLOSED' }),
      ['before fast', 'after fast', 'before slow', 'after slow', 'before queued', 'after queued'],
      0,
    ]);
  });

  it('fails an in-flight turn whose save fails with STORE_UNAVAILABLE, and still closes with no timer left', async () => {
    const gate = deferred();
    const store = new FaultyStore();
    const made = makeBot({ store });
    made.bot.dialog('/', async (session) => {
      await gate.promise;
      session.send('never');
    });
    const turn = made.bot.receive({ address: address(), text: 'hi' });
    const closing = made.bot.close();
    store.rule = ({ op }) => op === 'commit';
    gate.resolve();
    const [result, closed] = [await outcome(turn), await outcome(closing)];
    expect([rejection(result), closed.status, made.texts(), vi.getTimerCount()]).toEqual([
      expect.objectContaining({ code: 'STORE_UNAVAILABLE' }),
      'fulfilled',
      [],
      0,
    ]);
  });

  it('waits for a retrying delivery, reports it, then leaves no timer', async () => {
    const made = makeBot({
      deliver: () => Promise.reject(new Error('down')),
      deliveryRetry: { retries: 2, minDelay: 1000, timeout: 0 },
    });
    made.bot.dialog('/', (session) => void session.send('hi'));
    await made.bot.receive({ address: address(), text: 'hi' });
    let closed = false;
    const closing = made.bot.close().then(() => (closed = true));
    await vi.advanceTimersByTimeAsync(10_000);
    await closing;
    expect([closed, made.errors.map((e) => e.code), vi.getTimerCount()]).toEqual([true, ['DELIVERY_FAILED'], 0]);
  });

  it('ends live sessions at close with reason shutdown, once', async () => {
    const made = makeBot();
    const ended: string[] = [];
    made.bot.on('sessionEnd', ({ session, reason }) => ended.push(`${session.user.id}:${reason}`));
    made.bot.dialog('/', () => undefined);
    await Promise.all(['a', 'b', 'c'].map((user) => made.bot.receive({ address: address(user), text: 'hi' })));
    await Promise.all([made.bot.close(), made.bot.close()]);
    expect([ended.sort(), vi.getTimerCount()]).toEqual([['a:shutdown', 'b:shutdown', 'c:shutdown'], 0]);
  });
});
