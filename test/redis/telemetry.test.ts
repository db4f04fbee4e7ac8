// Telemetry on RedisStore: the same spans as in memory, with the store calls as real round trips under the turn.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { SessionManager, type Address } from '../../src';
import { RedisStore } from '../../src/redis';
import { MINUTE } from '../support/fixtures';
import { otel, parentOf, pointValue } from '../support/telemetry';
import { describeRedis, RedisServer } from './server';

const address: Address = { channelId: 'test', user: { id: 'lars' }, conversation: { id: 'c1' } };
let server: RedisServer;

describeRedis('telemetry on Redis', () => {
  beforeAll(async () => {
    server = await RedisServer.start();
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  });

  afterAll(async () => {
    context.disable();
    await server?.dispose();
  });

  function make(prefix: string) {
    const o = otel();
    const bot = new SessionManager({
      store: new RedisStore({ url: server.url, prefix, commandTimeout: 2000 }),
      deliver: () => undefined,
      autoBatchDelay: 0,
      timeout: MINUTE,
      sweepInterval: 3_600_000,
      telemetry: { tracerProvider: o.tracerProvider, meterProvider: o.meterProvider },
    });
    return { bot, o, tracer: o.tracerProvider.getTracer('my-bot') };
  }

  it("puts the store's open and commit and the bot's own span under the turn span", async () => {
    const { bot, o, tracer } = make('otel-turn');
    bot.dialog('/', async (session) => {
      await tracer.startActiveSpan('lookup', async (span) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        span.end();
      });
      session.send('ok');
    });
    await bot.receive({ address, text: 'hi' });
    await bot.close();
    const turn = o.named('palaver.turn')[0]!;
    const children = ['palaver.store.open', 'lookup', 'palaver.store.commit', 'palaver.deliver'].map(
      (name) => o.named(name).map(parentOf)[0],
    );
    expect(children).toEqual(Array(4).fill(turn.spanContext().spanId));
    expect(turn.attributes).toMatchObject({ 'palaver.outcome': 'ok', 'palaver.commit.attempts': 1 });
  });

  it('records store latency on Redis and makes an expiry a palaver.expire span', async () => {
    const { bot, o } = make('otel-expire');
    bot.dialog('/', (session) => session.send('ok'));
    const { session } = await bot.receive({ address, text: 'hi' });
    await bot.sweepExpired(Date.now() + 2 * MINUTE);
    const points = await o.points('palaver.store.duration');
    await bot.close();
    expect(o.named('palaver.expire')[0]!.attributes).toMatchObject({
      'palaver.session.id': session.id,
      'palaver.end_reason': 'timeout',
    });
    expect(
      (pointValue(points, { 'palaver.store.operation': 'commit', 'palaver.outcome': 'ok' }) as { count: number }).count,
    ).toBe(2);
  });
});
