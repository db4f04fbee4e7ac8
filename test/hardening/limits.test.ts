// Limits with typed errors: message size, state size, turns queued per session key.
import { describe, expect, it, vi } from 'vitest';
import { SessionManager, type IncomingMessage, type JsonObject, type SessionManagerOptions } from '../../src';
import { thrown } from '../support/bot';
import { address } from '../support/fixtures';
import { makeBot, outcome, recordsOf, rejection, useFakeTime, watchProcess } from '../support/hardening';

useFakeTime(0);
const watch = watchProcess();

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => (resolve = res));
  return { promise, resolve };
}

/** A bot that counts turns in entities and says the count. */
function counter(options: Partial<SessionManagerOptions<{ n?: number }>> = {}) {
  const made = makeBot<{ n?: number }>(options);
  let runs = 0;
  made.bot.dialog('/', (session) => {
    runs++;
    session.entities.n = (session.entities.n ?? 0) + 1;
    session.send('turn %d', session.entities.n);
  });
  return { ...made, runs: () => runs };
}

describe('maxMessageBytes', () => {
  it('rejects a message over the default 64 KiB of JSON with MESSAGE_TOO_LARGE', async () => {
    const { bot } = counter();
    await expect(bot.receive({ address: address(), text: 'x'.repeat(66_000) })).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
      message: expect.stringContaining('maxMessageBytes (65536)'),
    });
  });

  it('takes a message of exactly maxMessageBytes', async () => {
    const message: IncomingMessage = { address: address(), text: 'x'.repeat(1000) };
    const { bot } = counter({ maxMessageBytes: JSON.stringify(message).length });
    await expect(bot.receive(message)).resolves.toMatchObject({ session: { turnCount: 1 } });
  });

  it('rejects a message one byte over maxMessageBytes', async () => {
    const message: IncomingMessage = { address: address(), text: 'x'.repeat(1000) };
    const { bot } = counter({ maxMessageBytes: JSON.stringify(message).length - 1 });
    await expect(bot.receive(message)).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE' });
  });

  it('counts UTF-8 bytes, not characters', async () => {
    // 10,000 euro signs are 10,000 characters but 30,000 bytes.
    const { bot } = counter({ maxMessageBytes: 20_000 });
    await expect(bot.receive({ address: address(), text: '€'.repeat(10_000) })).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
      message: expect.stringContaining('30'),
    });
  });

  it('counts every field, not only the text', async () => {
    const { bot } = counter({ maxMessageBytes: 1024 });
    await expect(bot.receive({ address: address(), value: { blob: 'x'.repeat(2000) } })).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
  });

  it('runs no dialog and changes no state for a message that is too large', async () => {
    const made = counter({ maxMessageBytes: 1024 });
    await made.bot.receive({ address: address(), text: 'hi' });
    const before = recordsOf(made.bot, address());
    await made.bot.receive({ address: address(), text: 'x'.repeat(2000) }).catch(() => undefined);
    expect([made.runs(), recordsOf(made.bot, address()), made.texts()]).toEqual([1, before, ['turn 1']]);
  });

  it.each([0, -1, 1.5, '64k'])('rejects maxMessageBytes %j with INVALID_OPTIONS', (value) => {
    expect(
      thrown(() => new SessionManager({ deliver: () => undefined, maxMessageBytes: value as number })),
    ).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('maxMessageBytes'),
    });
  });

  it('rejects a message that is not JSON (a BigInt) with INVALID_MESSAGE', async () => {
    const { bot } = counter();
    await expect(bot.receive({ address: address(), value: 10n })).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
      message: expect.stringContaining('JSON'),
    });
  });

  it('rejects a message with a cycle with INVALID_MESSAGE', async () => {
    const { bot } = counter();
    const value: JsonObject = {};
    value.self = value;
    await expect(bot.receive({ address: address(), value })).rejects.toMatchObject({ code: 'INVALID_MESSAGE' });
  });

  it('rejects an address with a non-JSON extra field with INVALID_MESSAGE instead of failing at save time', async () => {
    const { bot } = counter();
    await expect(bot.receive({ address: { ...address(), extra: 1n } as never, text: 'hi' })).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
    });
  });
});

describe('maxStateBytes', () => {
  /** A bot whose dialog puts `size` characters into `scope` when told "grow", and counts otherwise. */
  function grower(scope: 'entities' | 'userData' | 'conversationData' | 'privateConversationData') {
    const made = makeBot({ maxStateBytes: 10_000 });
    made.bot.dialog('/', (session: any) => {
      session.entities.n = (session.entities.n ?? 0) + 1;
      if (session.message.text === 'grow') session[scope].blob = 'x'.repeat(20_000);
      session.send('turn %d', session.entities.n);
    });
    return made;
  }

  it.each(['entities', 'userData', 'conversationData', 'privateConversationData'] as const)(
    'rejects a turn that grows %s past maxStateBytes with STATE_TOO_LARGE',
    async (scope) => {
      const { bot } = grower(scope);
      await expect(bot.receive({ address: address(), text: 'grow' })).rejects.toMatchObject({
        code: 'STATE_TOO_LARGE',
        message: expect.stringContaining('maxStateBytes (10000)'),
      });
    },
  );

  it('keeps the previous state, delivers no reply of the rejected turn, and takes the next turn', async () => {
    const made = grower('userData');
    await made.bot.receive({ address: address(), text: 'hi' });
    const before = recordsOf(made.bot, address());
    await made.bot.receive({ address: address(), text: 'grow' }).catch(() => undefined);
    expect(recordsOf(made.bot, address())).toEqual(before);
    await made.bot.receive({ address: address(), text: 'hi' });
    expect(made.texts()).toEqual(['turn 1', 'turn 2']);
  });

  it('rejects a turn that puts a BigInt in the session with INVALID_ARGUMENT, keeping the previous state', async () => {
    const made = makeBot();
    made.bot.dialog('/', (session) => {
      if (session.message?.text === 'bad') session.entities.big = 10n as never;
    });
    await made.bot.receive({ address: address(), text: 'hi' });
    const before = recordsOf(made.bot, address());
    await expect(made.bot.receive({ address: address(), text: 'bad' })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('JSON'),
    });
    expect(recordsOf(made.bot, address())).toEqual(before);
  });
});

describe('maxQueuedTurns', () => {
  it('rejects a flood of 5,000 turns from one user beyond the default 1,000 waiting with TURN_QUEUE_FULL', async () => {
    const gate = deferred();
    const made = counter({ onSessionStart: () => gate.promise });
    const flood = Array.from({ length: 5000 }, () => made.bot.receive({ address: address(), text: 'hi' }));
    const early = await Promise.all(flood.map((turn) => outcome(turn, 1)));
    gate.resolve();
    const results = await Promise.allSettled(flood);
    const rejected = results
      .filter((r) => r.status === 'rejected')
      .map((r) => (r as PromiseRejectedResult).reason.code);
    // One turn runs and 1,000 wait; the other 3,999 are turned away at once, before the first turn is done.
    expect([
      results.length - rejected.length,
      new Set(rejected),
      rejected.length,
      early.filter((r) => r.status === 'rejected').length,
      made.runs(),
    ]).toEqual([1001, new Set(['TURN_QUEUE_FULL']), 3999, 3999, 1001]);
  });

  it('holds a flood to maxQueuedTurns waiting turns', async () => {
    const gate = deferred();
    const made = counter({ maxQueuedTurns: 10, onSessionStart: () => gate.promise });
    const flood = Array.from({ length: 100 }, () => made.bot.receive({ address: address(), text: 'hi' }));
    gate.resolve();
    const results = await Promise.allSettled(flood);
    expect(results.filter((r) => r.status === 'fulfilled').length).toBe(11);
  });

  it('serves another user while one user floods', async () => {
    const gate = deferred();
    const made = counter({
      onSessionStart: (session) => (session.info.user.id === 'flooder' ? gate.promise : undefined),
    });
    const flood = Array.from({ length: 3000 }, () =>
      made.bot.receive({ address: address('flooder'), text: 'hi' }).catch(() => undefined),
    );
    const other = await outcome(made.bot.receive({ address: address('calm'), text: 'hi' }));
    gate.resolve();
    await Promise.all(flood);
    expect(other).toMatchObject({ status: 'fulfilled', value: { replies: [{ text: 'turn 1' }] } });
  });

  it('takes turns from the flooding user again once the queue drains', async () => {
    const gate = deferred();
    const made = counter({ maxQueuedTurns: 5, onSessionStart: () => gate.promise });
    const flood = Array.from({ length: 50 }, () =>
      made.bot.receive({ address: address(), text: 'hi' }).catch(() => undefined),
    );
    gate.resolve();
    await Promise.all(flood);
    await expect(made.bot.receive({ address: address(), text: 'hi' })).resolves.toMatchObject({
      replies: [{ text: 'turn 7' }],
    });
    expect(watch.unhandled).toEqual([]);
  });

  it('rejects the 1,002nd turn with a message naming the key and the limit', async () => {
    const gate = deferred();
    const made = counter({ onSessionStart: () => gate.promise });
    const accepted = Array.from({ length: 1001 }, () => made.bot.receive({ address: address(), text: 'hi' }));
    const result = await outcome(made.bot.receive({ address: address(), text: 'hi' }), 1);
    gate.resolve();
    await Promise.all(accepted);
    expect(rejection(result)).toMatchObject({
      code: 'TURN_QUEUE_FULL',
      message: expect.stringMatching(
        /1000 turns are already waiting for session "s:test:c1:lars" \(maxQueuedTurns is 1000\)/,
      ),
    });
  });
});

describe('delays longer than a timer can wait', () => {
  it.each([
    ['autoBatchDelay', { autoBatchDelay: 2 ** 31 }],
    ['deliveryRetry.timeout', { deliveryRetry: { timeout: 2 ** 31 } }],
    ['deliveryRetry.minDelay', { deliveryRetry: { minDelay: 2 ** 32 } }],
    ['deliveryRetry.maxDelay', { deliveryRetry: { maxDelay: 2 ** 40 } }],
  ])('rejects a %s past 2^31-1 ms (Node would fire it after 1 ms) with INVALID_OPTIONS', (field, options) => {
    expect(
      thrown(() => new SessionManager({ deliver: () => undefined, ...(options as Partial<SessionManagerOptions>) })),
    ).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining(`\`${field}\` must be at most 2147483647 ms`),
    });
  });

  it('waits the full autoBatchDelay at the largest delay it takes', async () => {
    const made = makeBot({ autoBatchDelay: 2 ** 31 - 1 });
    made.bot.dialog('/', (session) => void session.send('later'));
    await made.bot.receive({ address: address(), text: 'hi' });
    await vi.advanceTimersByTimeAsync(1000);
    expect(made.texts()).toEqual([]);
  });
});
