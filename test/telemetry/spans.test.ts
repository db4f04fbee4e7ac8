// The spans of the `telemetry` option: one per unit of work, children for its store calls and deliveries.
import { SpanStatusCode } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, PromptIds, Prompts, SessionManager, type SessionManagerOptions } from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { FlakyStore, harness } from '../support/manager';
import { otel, parentOf, type Otel } from '../support/telemetry';

function traced(options: Partial<SessionManagerOptions> = {}) {
  const o = otel();
  const h = harness({
    telemetry: { tracerProvider: o.tracerProvider, meterProvider: false },
    ...options,
  });
  return { ...h, o };
}

function only(o: Otel, name: string) {
  const spans = o.named(name);
  expect(spans).toHaveLength(1);
  return spans[0]!;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('telemetry spans', () => {
  it('makes each message turn a palaver.turn span with its session, dialog on top, outcome and commit attempts', async () => {
    const { bot, o } = traced();
    bot.dialog('/', [(session) => Prompts.text(session, 'Name?'), (session) => session.endDialog('ok')]);
    const result = await bot.receive({ address: address(), text: 'hi' });
    const span = only(o, 'palaver.turn');
    expect(span.attributes).toMatchObject({
      'palaver.session.id': result.session.id,
      'palaver.dialog': PromptIds.text,
      'palaver.outcome': 'ok',
      'palaver.commit.attempts': 1,
      'palaver.replies': 1,
    });
  });

  it('gives the session key as a hash, never as the key itself', async () => {
    const { bot, o } = traced();
    bot.dialog('/', (session) => session.send('hello'));
    await bot.receive({ address: address('lars'), text: 'hi' });
    const hash = only(o, 'palaver.turn').attributes['palaver.session.key_hash'];
    expect(hash).toMatch(/^[0-9a-f]{16}$/);
    expect(hash).not.toContain('lars');
  });

  it('puts no message text and no user or conversation id into any span', async () => {
    const { bot, o } = traced();
    bot.dialog('/', (session) => session.send('you said %s', session.message?.text ?? ''));
    await bot.receive({ address: address('user-4711', 'conv-0815'), text: 'my secret order' });
    const everything = JSON.stringify(o.spans().map((span) => [span.name, span.attributes, span.events, span.status]));
    for (const secret of ['user-4711', 'conv-0815', 'secret']) expect(everything).not.toContain(secret);
  });

  it('hashes the session key with the hashKey option, and leaves the attribute out when it returns undefined', async () => {
    const custom = otel();
    const none = otel();
    const bots = [
      harness({ telemetry: { tracerProvider: custom.tracerProvider, hashKey: (key) => `k${key.length}` } }).bot,
      harness({ telemetry: { tracerProvider: none.tracerProvider, hashKey: () => undefined } }).bot,
    ];
    for (const bot of bots) {
      bot.dialog('/', (session) => session.send('hello'));
      await bot.receive({ address: address(), text: 'hi' });
    }
    expect(only(custom, 'palaver.turn').attributes['palaver.session.key_hash']).toMatch(/^k\d+$/);
    expect(only(none, 'palaver.turn').attributes).not.toHaveProperty('palaver.session.key_hash');
  });

  it('leaves the key hash out, and the turn alone, when hashKey throws', async () => {
    const o = otel();
    const { bot } = harness({
      telemetry: {
        tracerProvider: o.tracerProvider,
        hashKey: () => {
          throw new Error('no secret configured');
        },
      },
    });
    bot.dialog('/', (session) => session.send('hello'));
    await expect(bot.receive({ address: address(), text: 'hi' })).resolves.toMatchObject({
      replies: [{ text: 'hello' }],
    });
    expect(only(o, 'palaver.turn').attributes).not.toHaveProperty('palaver.session.key_hash');
  });

  it('makes the store open and commit child spans of the unit of work', async () => {
    const { bot, o } = traced();
    bot.dialog('/', (session) => session.send('hello'));
    await bot.receive({ address: address(), text: 'hi' });
    const turn = only(o, 'palaver.turn');
    const open = only(o, 'palaver.store.open');
    const commit = only(o, 'palaver.store.commit');
    expect([parentOf(open), parentOf(commit)]).toEqual([turn.spanContext().spanId, turn.spanContext().spanId]);
    expect([open.spanContext().traceId, commit.attributes['palaver.outcome']]).toEqual([
      turn.spanContext().traceId,
      'ok',
    ]);
  });

  it('makes the commit of a sendBatch() inside a step a palaver.store.checkpoint child span', async () => {
    const { bot, o } = traced();
    bot.dialog('/', async (session) => {
      session.send('one');
      await session.sendBatch();
      session.send('two');
    });
    await bot.receive({ address: address(), text: 'hi' });
    const turn = only(o, 'palaver.turn');
    expect(parentOf(only(o, 'palaver.store.checkpoint'))).toBe(turn.spanContext().spanId);
    expect(turn.attributes['palaver.commit.attempts']).toBe(1);
  });

  it('counts the commits of a turn that lost a race and ran again', async () => {
    const store = new FlakyStore();
    store.conflicts = 1;
    const { bot, o } = traced({ store });
    bot.dialog('/', (session) => session.send('hello'));
    await bot.receive({ address: address(), text: 'hi' });
    expect(only(o, 'palaver.turn').attributes['palaver.commit.attempts']).toBe(2);
    expect(o.named('palaver.store.commit').map((span) => span.attributes['palaver.outcome'])).toEqual([
      'conflict',
      'ok',
    ]);
  });

  it('marks a turn whose dialog threw as dialog_error with the code, and its span as an error', async () => {
    const { bot, o } = traced();
    bot.dialog('/', () => {
      throw new Error('step broke with user text');
    });
    await bot.receive({ address: address(), text: 'hi' });
    const span = only(o, 'palaver.turn');
    expect([span.attributes['palaver.outcome'], span.attributes['palaver.error.code'], span.status]).toEqual([
      'dialog_error',
      'DIALOG_FAILED',
      { code: SpanStatusCode.ERROR, message: 'DIALOG_FAILED' },
    ]);
  });

  it('marks a turn whose store failed as error with the code, and its commit span as an error', async () => {
    const store = new FlakyStore();
    store.failures = 1;
    const { bot, o } = traced({ store });
    bot.dialog('/', (session) => session.send('hello'));
    await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({
      code: 'STORE_UNAVAILABLE',
    });
    const span = only(o, 'palaver.turn');
    expect([span.attributes['palaver.outcome'], span.attributes['palaver.error.code']]).toEqual([
      'error',
      'STORE_UNAVAILABLE',
    ]);
    expect(only(o, 'palaver.store.commit').status.code).toBe(SpanStatusCode.ERROR);
  });

  it('makes startSession a palaver.start span and endSession a palaver.end span with the ended session and reason', async () => {
    const { bot, o } = traced();
    bot.dialog('/', (session) => session.send('hello'));
    const info = await bot.startSession(address());
    await bot.endSession(address());
    expect(only(o, 'palaver.start').attributes).toMatchObject({
      'palaver.session.id': info.id,
      'palaver.outcome': 'ok',
    });
    expect(only(o, 'palaver.end').attributes).toMatchObject({
      'palaver.session.id': info.id,
      'palaver.end_reason': 'endSession',
      'palaver.outcome': 'ok',
    });
  });

  it('marks an endSession with no live session as noop', async () => {
    const { bot, o } = traced();
    await bot.endSession(address());
    expect(only(o, 'palaver.end').attributes['palaver.outcome']).toBe('noop');
  });

  it('makes a beginDialog from outside a turn a palaver.begin_dialog span', async () => {
    const { bot, o } = traced();
    bot.dialog('/', (session) => session.send('hello'));
    bot.dialog('/remind', (session) => session.endDialog('reminder'));
    await bot.receive({ address: address(), text: 'hi' });
    await bot.beginDialog(address(), '/remind');
    expect(only(o, 'palaver.begin_dialog').attributes).toMatchObject({ 'palaver.outcome': 'ok', 'palaver.replies': 1 });
  });

  it('makes the close of an idle session a palaver.expire span with the reason timeout', async () => {
    vi.useFakeTimers();
    const { bot, o } = traced({ timeout: MINUTE });
    bot.dialog('/', (session) => session.send('hello'));
    const { session } = await bot.receive({ address: address(), text: 'hi' });
    await vi.advanceTimersByTimeAsync(MINUTE + 1000);
    expect(only(o, 'palaver.expire').attributes).toMatchObject({
      'palaver.session.id': session.id,
      'palaver.end_reason': 'timeout',
      'palaver.outcome': 'ok',
    });
  });

  it('names the expiry deadline that stood for a nudge a palaver.nudge span', async () => {
    vi.useFakeTimers();
    const { bot, o } = traced({ timeout: 10 * MINUTE, nudge: { after: MINUTE, message: 'Still there?' } });
    bot.dialog('/', (session) => session.send('hello'));
    await bot.receive({ address: address(), text: 'hi' });
    await vi.advanceTimersByTimeAsync(MINUTE + 1000);
    expect(only(o, 'palaver.nudge').attributes).toMatchObject({ 'palaver.outcome': 'ok', 'palaver.replies': 1 });
    expect(o.named('palaver.expire')).toEqual([]);
  });

  it('makes each delivery a palaver.deliver child span of the turn whose replies it carries', async () => {
    vi.useFakeTimers();
    const { bot, o } = traced({ autoBatchDelay: 100 });
    bot.dialog('/', (session) => session.send('hello'));
    await bot.receive({ address: address('ann'), text: 'hi' });
    await bot.receive({ address: address('bob'), text: 'hi' });
    await vi.advanceTimersByTimeAsync(200);
    const turns = o.named('palaver.turn').map((span) => span.spanContext().spanId);
    const deliveries = o.named('palaver.deliver');
    expect(deliveries.map(parentOf)).toEqual(turns);
    expect(deliveries[0]!.attributes).toEqual({
      'palaver.channel': 'test',
      'palaver.delivery.messages': 1,
      'palaver.delivery.attempt': 1,
    });
  });

  it('links a delivery that carries the replies of several turns to each of them', async () => {
    vi.useFakeTimers();
    const { bot, o } = traced({ autoBatchDelay: 100 });
    bot.dialog('/', (session) => session.send('hello'));
    await bot.receive({ address: address(), text: 'one' });
    await bot.receive({ address: address(), text: 'two' });
    await vi.advanceTimersByTimeAsync(200);
    const [first, second] = o.named('palaver.turn').map((span) => span.spanContext().spanId);
    const delivery = only(o, 'palaver.deliver');
    expect([parentOf(delivery), delivery.links.map((link) => link.context.spanId)]).toEqual([first, [second]]);
  });

  it('makes a failed delivery attempt an error span, and numbers the retries', async () => {
    vi.useFakeTimers();
    const o = otel();
    let calls = 0;
    const bot = new SessionManager({
      store: new MemoryStore({ maxSessions: 10 }),
      autoBatchDelay: 0,
      deliveryRetry: { retries: 1, minDelay: 10 },
      telemetry: { tracerProvider: o.tracerProvider, meterProvider: false },
      deliver: () => {
        if (calls++ === 0) throw new Error('channel down for lars');
      },
    });
    bot.dialog('/', (session) => session.send('hello'));
    await bot.receive({ address: address(), text: 'hi' });
    await vi.advanceTimersByTimeAsync(50);
    const [failed, retried] = o.named('palaver.deliver');
    expect([failed!.status, failed!.attributes['error.type'], retried!.attributes['palaver.delivery.attempt']]).toEqual(
      [{ code: SpanStatusCode.ERROR, message: 'Error' }, 'Error', 2],
    );
  });

  it('emits no spans with tracerProvider false', async () => {
    const o = otel();
    const { bot } = harness({ telemetry: { tracerProvider: false, meterProvider: o.meterProvider } });
    bot.dialog('/', (session) => session.send('hello'));
    await bot.receive({ address: address(), text: 'hi' });
    expect(await o.points('palaver.turns')).toHaveLength(1);
    expect(o.spans()).toEqual([]);
  });

  it('rejects a telemetry option that is not a provider', () => {
    expect(() => new SessionManager({ deliver: () => undefined, telemetry: { tracerProvider: {} as never } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});
