// The metrics of the `telemetry` option, read through the SDK's metric reader.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, SessionManager, type SessionManagerOptions } from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { harness } from '../support/manager';
import { otel, pointValue } from '../support/telemetry';

function metered(options: Partial<SessionManagerOptions> = {}) {
  const o = otel();
  const h = harness({ telemetry: { tracerProvider: false, meterProvider: o.meterProvider }, ...options });
  return { ...h, o };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('telemetry metrics', () => {
  it('counts message turns by outcome', async () => {
    const { bot, o } = metered();
    bot.dialog('/', (session) => {
      if (session.message?.text === 'boom') throw new Error('broken step');
      session.send('ok');
    });
    await bot.receive({ address: address('ann'), text: 'hi' });
    await bot.receive({ address: address('bob'), text: 'hi' });
    await bot.receive({ address: address('cid'), text: 'boom' });
    const points = await o.points('palaver.turns');
    expect([
      pointValue(points, { 'palaver.outcome': 'ok' }),
      pointValue(points, { 'palaver.outcome': 'dialog_error' }),
    ]).toEqual([2, 1]);
  });

  it('records how long each turn took, in seconds', async () => {
    vi.useFakeTimers();
    const { bot, o } = metered();
    bot.dialog('/', async (session) => {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      session.send('slow answer');
    });
    const turn = bot.receive({ address: address(), text: 'hi' });
    await vi.advanceTimersByTimeAsync(2000);
    await turn;
    const point = pointValue(await o.points('palaver.turn.duration'), { 'palaver.outcome': 'ok' }) as {
      count: number;
      sum: number;
    };
    expect(point.count).toBe(1);
    expect(point.sum).toBeGreaterThanOrEqual(2);
  });

  it('buckets durations in seconds, down to a tenth of a millisecond', async () => {
    const { bot, o } = metered();
    bot.dialog('/', (session) => session.send('ok'));
    await bot.receive({ address: address(), text: 'hi' });
    const point = pointValue(await o.points('palaver.turn.duration')) as { buckets: { boundaries: number[] } };
    expect(point.buckets.boundaries.slice(0, 4)).toEqual([0.0001, 0.00025, 0.0005, 0.001]);
  });

  it('records the latency of store opens and commits', async () => {
    const { bot, o } = metered();
    bot.dialog('/', (session) => session.send('ok'));
    await bot.receive({ address: address(), text: 'hi' });
    await bot.receive({ address: address(), text: 'again' });
    const points = await o.points('palaver.store.duration');
    const count = (operation: string) =>
      (pointValue(points, { 'palaver.store.operation': operation, 'palaver.outcome': 'ok' }) as { count: number })
        .count;
    expect([count('open'), count('commit')]).toEqual([2, 2]);
  });

  it('reports the live sessions of the manager', async () => {
    const { bot, o } = metered();
    bot.dialog('/', (session) => session.send('ok'));
    for (const user of ['ann', 'bob', 'cid']) await bot.receive({ address: address(user), text: 'hi' });
    await bot.endSession(address('bob'));
    expect(pointValue(await o.points('palaver.sessions.live'))).toBe(2);
  });

  it('counts session ends by reason', async () => {
    vi.useFakeTimers();
    const { bot, o } = metered({ timeout: MINUTE });
    bot.dialog('/', (session) => session.send('ok'));
    for (const user of ['ann', 'bob', 'cid']) await bot.receive({ address: address(user), text: 'hi' });
    await bot.endSession(address('bob'));
    await vi.advanceTimersByTimeAsync(MINUTE + 1000);
    const points = await o.points('palaver.sessions.ended');
    expect([
      pointValue(points, { 'palaver.end_reason': 'endSession' }),
      pointValue(points, { 'palaver.end_reason': 'timeout' }),
    ]).toEqual([1, 2]);
  });

  it('counts the batches given up on after every delivery retry failed', async () => {
    vi.useFakeTimers();
    const o = otel();
    const bot = new SessionManager({
      store: new MemoryStore({ maxSessions: 10 }),
      autoBatchDelay: 0,
      deliveryRetry: { retries: 1, minDelay: 10 },
      telemetry: { tracerProvider: false, meterProvider: o.meterProvider },
      deliver: () => {
        throw new Error('channel down');
      },
    });
    bot.on('error', () => undefined);
    bot.dialog('/', (session) => session.send('ok'));
    await bot.receive({ address: address('ann'), text: 'hi' });
    await bot.receive({ address: address('bob'), text: 'hi' });
    await vi.advanceTimersByTimeAsync(100);
    expect(pointValue(await o.points('palaver.delivery.failures'))).toBe(2);
  });

  it('stops reporting the live sessions once the manager is closed', async () => {
    const { bot, o } = metered({ shutdown: 'persist' });
    bot.dialog('/', (session) => session.send('ok'));
    await bot.receive({ address: address(), text: 'hi' });
    await bot.close();
    expect(await o.points('palaver.sessions.live')).toEqual([]);
  });

  it('records no metrics with meterProvider false, while spans go on', async () => {
    const o = otel();
    const { bot } = harness({ telemetry: { tracerProvider: o.tracerProvider, meterProvider: false } });
    bot.dialog('/', (session) => session.send('ok'));
    await bot.receive({ address: address(), text: 'hi' });
    expect(await o.points('palaver.turns')).toEqual([]);
    expect(o.named('palaver.turn')).toHaveLength(1);
  });
});
