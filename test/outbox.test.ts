import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeliveryError } from '../src';
import { defaultRetry, Outbox, type DeliverFn, type DeliveryRetryOptions } from '../src/outbox';
import type { Address, OutgoingMessage } from '../src/types';
import { deferred } from './support/bot';
import { address } from './support/fixtures';

const A = address('a');
const B = address('b');
const msg = (text: string): OutgoingMessage => ({ type: 'message', text });

function outbox(options: { deliver?: DeliverFn; delay?: number; retry?: Partial<DeliveryRetryOptions> } = {}) {
  const calls: { at: number; address: Address; texts: (string | undefined)[] }[] = [];
  const errors: DeliveryError[] = [];
  const trace: string[] = [];
  const deliver = options.deliver ?? (() => undefined);
  const box = new Outbox({
    deliver: (to, messages) => {
      calls.push({ at: Date.now(), address: to, texts: messages.map((m) => m.text) });
      return deliver(to, messages);
    },
    delay: options.delay ?? 250,
    retry: { ...defaultRetry, ...options.retry },
    onError: (error) => errors.push(error),
    trace: (line) => trace.push(line),
  });
  return { box, calls, errors, trace };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('batching', () => {
  it('waits the delay after the last replies, then delivers them in one call', async () => {
    const { box, calls } = outbox();
    box.enqueue('a', A, [msg('one'), msg('two')], false);
    await vi.advanceTimersByTimeAsync(249);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([{ at: 250, address: A, texts: ['one', 'two'] }]);
  });

  it('restarts the wait on every enqueue and sends everything together, in order', async () => {
    const { box, calls } = outbox();
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(200);
    box.enqueue('a', A, [msg('two')], false);
    await vi.advanceTimersByTimeAsync(249);
    expect(calls).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(calls).toEqual([{ at: 450, address: A, texts: ['one', 'two'] }]);
  });

  it('delivers at once with flush, taking the replies that were waiting along', () => {
    const { box, calls } = outbox();
    box.enqueue('a', A, [msg('one')], false);
    box.enqueue('a', A, [msg('two')], true);
    expect(calls).toEqual([{ at: 0, address: A, texts: ['one', 'two'] }]);
  });

  it('delivers at once when the delay is 0', () => {
    const { box, calls } = outbox({ delay: 0 });
    box.enqueue('a', A, [msg('one')], false);
    expect(calls.map((c) => c.texts)).toEqual([['one']]);
  });

  it('serves every waiting address with one timer', () => {
    const { box } = outbox();
    for (let i = 0; i < 50; i++) box.enqueue(`k${i}`, address(`u${i}`), [msg('hi')], false);
    expect(vi.getTimerCount()).toBe(1);
  });

  it('delivers each address when its own wait is over', async () => {
    const { box, calls } = outbox();
    box.enqueue('a', A, [msg('a')], false);
    await vi.advanceTimersByTimeAsync(100);
    box.enqueue('b', B, [msg('b')], false);
    await vi.advanceTimersByTimeAsync(150);
    expect(calls.map((c) => [c.at, c.texts])).toEqual([[250, ['a']]]);
    await vi.advanceTimersByTimeAsync(100);
    expect(calls.map((c) => [c.at, c.texts])).toEqual([
      [250, ['a']],
      [350, ['b']],
    ]);
  });

  it('delivers to the address given last for a key', async () => {
    const { box, calls } = outbox();
    const moved = address('a', 'c2');
    box.enqueue('a', A, [msg('one')], false);
    box.enqueue('a', moved, [msg('two')], false);
    await vi.advanceTimersByTimeAsync(250);
    expect(calls).toEqual([{ at: 250, address: moved, texts: ['one', 'two'] }]);
  });

  it('ignores an empty enqueue', () => {
    const { box } = outbox();
    box.enqueue('a', A, [], false);
    expect([vi.getTimerCount(), box.activeLanes]).toEqual([0, 0]);
  });

  it('writes the trace line of a batch that waited, after its label', async () => {
    const { box, trace } = outbox();
    box.enqueue('a', A, [msg('one'), msg('two')], false, 'Prompts.text - ');
    await vi.advanceTimersByTimeAsync(250);
    expect(trace).toEqual(['Prompts.text - sendBatch() sending 2 messages']);
  });

  it('says "message" in the trace line of a batch of one', () => {
    const { box, trace } = outbox({ delay: 0 });
    box.enqueue('a', A, [msg('one')], false, 'x.');
    expect(trace).toEqual(['x.sendBatch() sending 1 message']);
  });

  it('starts the trace line with nothing when no label is given', () => {
    const { box, trace } = outbox({ delay: 0 });
    box.enqueue('a', A, [msg('one')], false);
    void box.send('b', B, [msg('two')]);
    expect(trace).toEqual(['sendBatch() sending 1 message', 'sendBatch() sending 1 message']);
  });

  it('starts the trace line of a send() batch with its label', () => {
    const { box, trace } = outbox();
    void box.send('a', A, [msg('one')], 'proactive - ');
    expect(trace).toEqual(['proactive - sendBatch() sending 1 message']);
  });

  it('delivers without a trace function', async () => {
    const delivered: (string | undefined)[][] = [];
    const box = new Outbox({
      deliver: (_to, messages) => void delivered.push(messages.map((m) => m.text)),
      delay: 250,
      retry: defaultRetry,
      onError: () => undefined,
    });
    box.enqueue('a', A, [msg('at once')], true);
    box.enqueue('b', B, [msg('batched')], false);
    await vi.advanceTimersByTimeAsync(250);
    expect(delivered).toEqual([['at once'], ['batched']]);
  });

  it('clears the batching timer on stop', async () => {
    const { box, calls } = outbox();
    box.enqueue('a', A, [msg('one')], false);
    box.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls).toEqual([]);
  });

  it('keeps the label of waiting replies when an empty send() takes them out', () => {
    const { box, trace } = outbox();
    box.enqueue('a', A, [msg('one')], false, 'Prompts.text - ');
    void box.send('a', A, []);
    expect(trace).toEqual(['Prompts.text - sendBatch() sending 1 message']);
  });

  it('writes a trace line per batch, after its label', () => {
    const { box, trace } = outbox({ delay: 0 });
    box.enqueue('a', A, [msg('one'), msg('two')], false, '..Prompts.text - session.');
    expect(trace).toEqual(['..Prompts.text - session.sendBatch() sending 2 messages']);
  });
});

describe('ordering', () => {
  it('never lets a later batch overtake an earlier one while deliver is slow', async () => {
    const first = deferred();
    const { box, calls } = outbox({
      delay: 0,
      deliver: (_to, messages) => (messages[0]!.text === 'one' ? first.promise : undefined),
    });
    box.enqueue('a', A, [msg('one')], false);
    box.enqueue('a', A, [msg('two')], false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls.map((c) => c.texts)).toEqual([['one']]);
    first.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.map((c) => c.texts)).toEqual([['one'], ['two']]);
  });

  it('keeps addresses independent: a slow one does not hold another back', async () => {
    const slow = deferred();
    const { box, calls } = outbox({ delay: 0, deliver: (to) => (to === A ? slow.promise : undefined) });
    box.enqueue('a', A, [msg('a1')], false);
    box.enqueue('b', B, [msg('b1')], false);
    expect(calls.map((c) => c.texts)).toEqual([['a1'], ['b1']]);
    slow.resolve();
  });

  it('sends each enqueue behind a slow delivery as its own batch when the delay is 0', async () => {
    const first = deferred();
    const { box, calls } = outbox({
      delay: 0,
      deliver: (_to, messages) => (messages[0]!.text === 'one' ? first.promise : undefined),
    });
    box.enqueue('a', A, [msg('one')], false);
    box.enqueue('a', A, [msg('two')], false);
    box.enqueue('a', A, [msg('three')], false);
    first.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.map((c) => c.texts)).toEqual([['one'], ['two'], ['three']]);
  });

  it('resolves send() once its batch is delivered', async () => {
    const gate = deferred();
    const { box } = outbox({ deliver: () => gate.promise });
    let done = false;
    const sent = box.send('a', A, [msg('now')]).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(false);
    gate.resolve();
    await sent;
    expect(done).toBe(true);
  });

  it('sends what was waiting before the message given to send(), in one batch', () => {
    const { box, calls } = outbox();
    box.enqueue('a', A, [msg('waiting')], false);
    void box.send('a', A, [msg('proactive')]);
    expect(calls.map((c) => c.texts)).toEqual([['waiting', 'proactive']]);
  });

  it('resolves an empty send() once earlier batches have settled', async () => {
    const gate = deferred();
    const { box } = outbox({ delay: 0, deliver: () => gate.promise });
    box.enqueue('a', A, [msg('one')], false);
    let done = false;
    const idle = box.send('a', A, []).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(done).toBe(false);
    gate.resolve();
    await idle;
    expect(done).toBe(true);
  });

  it('delivers nothing for an empty send()', async () => {
    const { box, calls } = outbox();
    await box.send('a', A, []);
    expect(calls).toEqual([]);
  });

  it('keeps no lane after an empty send() to an idle address', async () => {
    const { box } = outbox();
    await box.send('a', A, []);
    expect(box.activeLanes).toBe(0);
  });

  it('counts an address whose replies wait behind a batch that has settled', async () => {
    const gate = deferred();
    const { box } = outbox({ deliver: (_to, messages) => (messages[0]!.text === 'one' ? gate.promise : undefined) });
    void box.send('a', A, [msg('one')]);
    box.enqueue('a', A, [msg('two')], false);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(box.activeLanes).toBe(1);
  });

  it('keeps three batches in order when the first settles while the second is in flight', async () => {
    const gates = [deferred(), deferred()];
    const { box, calls } = outbox({
      delay: 0,
      deliver: (_to, messages) => (messages[0]!.text === 'three' ? undefined : gates[calls.length - 1]!.promise),
    });
    box.enqueue('a', A, [msg('one')], false);
    box.enqueue('a', A, [msg('two')], false);
    gates[0]!.resolve();
    await vi.advanceTimersByTimeAsync(0);
    box.enqueue('a', A, [msg('three')], false);
    expect(calls.map((c) => c.texts)).toEqual([['one'], ['two']]);
    gates[1]!.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.map((c) => c.texts)).toEqual([['one'], ['two'], ['three']]);
  });

  it('forgets an address once its batches are delivered', async () => {
    const gate = deferred();
    const { box } = outbox({ delay: 0, deliver: () => gate.promise });
    box.enqueue('a', A, [msg('one')], false);
    expect(box.activeLanes).toBe(1);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(box.activeLanes).toBe(0);
  });

  it('keeps no lane for an address whose batch a synchronous deliver took at once', () => {
    const { box, calls } = outbox({ delay: 0 });
    box.enqueue('a', A, [msg('one')], false);
    expect([calls.length, box.activeLanes]).toEqual([1, 0]);
  });

  it('hands deliver its own array, not the one given to enqueue', () => {
    const given: OutgoingMessage[][] = [];
    const { box } = outbox({ delay: 0, deliver: (_to, messages) => void given.push(messages) });
    const replies = [msg('one')];
    box.enqueue('a', A, replies, true);
    expect(given[0]).not.toBe(replies);
    expect(given[0]).toEqual(replies);
  });

  it('delivers in order what a synchronous deliver enqueues for its own address', () => {
    const texts: string[] = [];
    let box!: Outbox;
    ({ box } = outbox({
      delay: 0,
      deliver: (to, messages) => {
        texts.push(messages[0]!.text!);
        if (messages[0]!.text === 'one') box.enqueue('a', to, [msg('two')], false);
      },
    }));
    box.enqueue('a', A, [msg('one')], false);
    expect([texts, box.activeLanes]).toEqual([['one', 'two'], 0]);
  });

  it('lets no later reply overtake one that deliver itself sent to the same address while that one is still being delivered', async () => {
    const gate = deferred();
    let box!: Outbox;
    let calls!: { texts: (string | undefined)[] }[];
    ({ box, calls } = outbox({
      deliver: (to, messages) => {
        if (messages[0]!.text === 'one') box.enqueue('a', to, [msg('two')], true);
        if (messages[0]!.text === 'two') return gate.promise;
      },
    }));
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(250);
    box.enqueue('a', A, [msg('three')], true);
    expect([calls.map((c) => c.texts), box.activeLanes]).toEqual([[['one'], ['two']], 1]);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.map((c) => c.texts)).toEqual([['one'], ['two'], ['three']]);
  });

  it('lets no later reply overtake the last of several that deliver itself sent to the same address while that one is still being delivered', async () => {
    const gate = deferred();
    let box!: Outbox;
    let calls!: { texts: (string | undefined)[] }[];
    ({ box, calls } = outbox({
      deliver: (to, messages) => {
        if (messages[0]!.text === 'one') {
          box.enqueue('a', to, [msg('two')], true);
          box.enqueue('a', to, [msg('three')], true);
        }
        if (messages[0]!.text === 'three') return gate.promise;
      },
    }));
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(250);
    box.enqueue('a', A, [msg('four')], true);
    expect(calls.map((c) => c.texts)).toEqual([['one'], ['two'], ['three']]);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(calls.map((c) => c.texts)).toEqual([['one'], ['two'], ['three'], ['four']]);
  });

  it('delivers every waiting batch on flushAll and waits for those in flight', async () => {
    const gate = deferred();
    const { box, calls } = outbox({ deliver: (to) => (to === B ? gate.promise : undefined) });
    box.enqueue('a', A, [msg('a')], false);
    box.enqueue('b', B, [msg('b')], false);
    let flushed = false;
    const all = box.flushAll().then(() => (flushed = true));
    expect(calls.map((c) => c.texts)).toEqual([['a'], ['b']]);
    await vi.advanceTimersByTimeAsync(0);
    expect(flushed).toBe(false);
    gate.resolve();
    await all;
    expect([flushed, vi.getTimerCount()]).toEqual([true, 0]);
  });
});

describe('retries', () => {
  it('retries a failing deliver with exponential backoff', async () => {
    let failures = 2;
    const { box, calls, errors } = outbox({
      delay: 0,
      deliver: async () => {
        if (failures-- > 0) throw new Error('channel down');
      },
    });
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect([calls.map((c) => c.at), errors]).toEqual([[0, 200, 600], []]);
  });

  it('retries a deliver that throws synchronously', async () => {
    let failures = 1;
    const { box, calls } = outbox({
      delay: 0,
      deliver: () => {
        if (failures-- > 0) throw new Error('boom');
      },
    });
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(200);
    expect(calls.map((c) => c.at)).toEqual([0, 200]);
  });

  it('backs off exponentially from a deliver that keeps throwing synchronously', async () => {
    let failures = 2;
    const { box, calls, errors } = outbox({
      delay: 0,
      deliver: () => {
        if (failures-- > 0) throw new Error('boom');
      },
    });
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect([calls.map((c) => c.at), errors]).toEqual([[0, 200, 600], []]);
  });

  it('retries a batch that waited when its deliver throws synchronously', async () => {
    let failures = 1;
    const { box, calls, errors } = outbox({
      deliver: () => {
        if (failures-- > 0) throw new Error('boom');
      },
    });
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect([calls.map((c) => c.at), errors]).toEqual([[250, 450], []]);
  });

  it('caps the backoff at maxDelay', async () => {
    const { box, calls } = outbox({
      delay: 0,
      retry: { retries: 4, minDelay: 100, factor: 10, maxDelay: 1000 },
      deliver: () => Promise.reject(new Error('down')),
    });
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(calls.map((c) => c.at)).toEqual([0, 100, 1100, 2100, 3100]);
  });

  it('reports a DeliveryError with the undelivered messages once the retries run out', async () => {
    const { box, errors } = outbox({
      delay: 0,
      retry: { retries: 2 },
      deliver: () => Promise.reject(new Error('channel down')),
    });
    box.enqueue('a', A, [msg('one'), msg('two')], false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'DELIVERY_FAILED',
        address: A,
        messages: [msg('one'), msg('two')],
        cause: expect.objectContaining({ message: 'channel down' }),
      }),
    ]);
  });

  it('says how often it tried in the DeliveryError', async () => {
    const { box, errors } = outbox({
      delay: 0,
      retry: { retries: 2 },
      deliver: () => Promise.reject(new Error('channel down')),
    });
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(errors[0]?.message).toMatch(/deliver failed 3 times for 1 message to test\/c1\/a: channel down/);
  });

  it('says "1 time" in the DeliveryError of a single failed attempt', async () => {
    const { box, errors } = outbox({
      delay: 0,
      retry: { retries: 0 },
      deliver: () => Promise.reject(new Error('channel down')),
    });
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(0);
    expect(errors[0]?.message).toMatch(/deliver failed 1 time for 1 message to test\/c1\/a: channel down/);
  });

  it('says "messages" in the DeliveryError of a batch of two', async () => {
    const { box, errors } = outbox({
      delay: 0,
      retry: { retries: 2 },
      deliver: () => Promise.reject(new Error('channel down')),
    });
    box.enqueue('a', A, [msg('one'), msg('two')], false);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(errors[0]?.message).toMatch(/deliver failed 3 times for 2 messages to test\/c1\/a: channel down/);
  });

  it('rejects send() with the DeliveryError too', async () => {
    const { box } = outbox({ retry: { retries: 0 }, deliver: () => Promise.reject(new Error('down')) });
    await expect(box.send('a', A, [msg('one')])).rejects.toMatchObject({
      code: 'DELIVERY_FAILED',
      messages: [msg('one')],
    });
  });

  it('goes on with the next batch after one was given up', async () => {
    const { box, calls, errors } = outbox({
      delay: 0,
      retry: { retries: 0 },
      deliver: (_to, messages) => (messages[0]!.text === 'bad' ? Promise.reject(new Error('down')) : undefined),
    });
    box.enqueue('a', A, [msg('bad')], false);
    box.enqueue('a', A, [msg('good')], false);
    await vi.advanceTimersByTimeAsync(0);
    expect([calls.map((c) => c.texts), errors.length]).toEqual([[['bad'], ['good']], 1]);
  });

  it('counts a deliver that never settles as failed after the timeout', async () => {
    const { box, calls, errors } = outbox({
      delay: 0,
      retry: { retries: 1, timeout: 1000 },
      deliver: () => new Promise<void>(() => undefined),
    });
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(5000);
    expect([calls.map((c) => c.at), errors.map((e) => e.code)]).toEqual([[0, 1200], ['DELIVERY_FAILED']]);
  });

  it('says in the DeliveryError that a deliver did not settle in time', async () => {
    const { box, errors } = outbox({
      delay: 0,
      retry: { retries: 0, timeout: 1000 },
      deliver: () => new Promise<void>(() => undefined),
    });
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(errors[0]?.cause).toMatchObject({
      code: 'DELIVERY_FAILED',
      message: 'deliver did not settle within 1000 ms',
    });
  });

  it('waits forever for a deliver with a timeout of 0', async () => {
    const { box, calls, errors } = outbox({
      delay: 0,
      retry: { timeout: 0 },
      deliver: () => new Promise<void>(() => undefined),
    });
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(24 * 3600_000);
    expect([calls.length, errors, box.activeLanes]).toEqual([1, [], 1]);
  });

  it('frees the address once a deliver with a timeout of 0 settles, however late', async () => {
    const gate = deferred();
    const { box, errors } = outbox({ delay: 0, retry: { timeout: 0 }, deliver: () => gate.promise });
    box.enqueue('a', A, [msg('one')], false);
    await vi.advanceTimersByTimeAsync(24 * 3600_000);
    gate.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect([errors, box.activeLanes]).toEqual([[], 0]);
  });

  it('batches, times and retries where setTimeout returns a plain number, as in a browser', async () => {
    let failures = 1;
    const { box, calls, errors } = outbox({
      deliver: () => (failures-- > 0 ? Promise.reject(new Error('down')) : Promise.resolve()),
    });
    const timers = new Map<number, ReturnType<typeof setTimeout>>();
    const { setTimeout: set, clearTimeout: clear } = globalThis;
    const setSpy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((run: () => void, ms: number) => {
      timers.set(timers.size + 1, set(run, ms));
      return timers.size;
    }) as never);
    const clearSpy = vi
      .spyOn(globalThis, 'clearTimeout')
      .mockImplementation(((id: number) => clear(timers.get(id))) as never);
    try {
      box.enqueue('a', A, [msg('one')], false);
      await vi.advanceTimersByTimeAsync(10_000);
    } finally {
      setSpy.mockRestore();
      clearSpy.mockRestore();
    }
    expect([calls.map((c) => c.at), errors]).toEqual([[250, 450], []]);
  });

  it('holds later batches of the address back while retrying', async () => {
    let failures = 1;
    const { box, calls } = outbox({
      delay: 0,
      deliver: async () => {
        if (failures-- > 0) throw new Error('down');
      },
    });
    box.enqueue('a', A, [msg('one')], false);
    box.enqueue('a', A, [msg('two')], false);
    await vi.advanceTimersByTimeAsync(1000);
    expect(calls.map((c) => c.texts)).toEqual([['one'], ['one'], ['two']]);
  });
});
