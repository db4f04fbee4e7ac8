// examples/telemetry.ts: the bot's own span is a child of palaver's turn span; the example runs by itself and prints
// its spans and metrics through the console exporters.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTelemetryBot } from '../../examples/telemetry';
import { otel, parentOf, pointValue } from '../support/telemetry';
import { address, recorder } from './recorder';
import { run } from './run-example';

beforeAll(() => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
});

afterAll(() => {
  context.disable();
});

describe('examples/telemetry', () => {
  it('makes the menu lookup a child of the turn that asked, and counts both turns', async () => {
    const o = otel();
    const { options, texts } = recorder();
    const bot = createTelemetryBot(
      { ...options, telemetry: { tracerProvider: o.tracerProvider, meterProvider: o.meterProvider } },
      o.tracerProvider.getTracer('pizza-bot'),
    );
    await bot.receive({ address: address(), text: 'hi' });
    await bot.receive({ address: address(), text: 'funghi' });
    const [first] = o.named('palaver.turn');
    expect(texts()).toEqual([expect.stringContaining('Which pizza?'), 'One funghi, coming up.']);
    expect(o.named('menu.lookup').map(parentOf)).toEqual([first!.spanContext().spanId]);
    expect(pointValue(await o.points('palaver.turns'), { 'palaver.outcome': 'ok' })).toBe(2);
  });

  it('runs by itself, printing its conversation, its spans and its metrics', { timeout: 60_000 }, async () => {
    const { code, stdout, stderr } = await run('examples/telemetry.ts');
    const names = [...stdout.matchAll(/^ {2}name: '([\w.]+)'/gm)].map((match) => match[1]);
    expect({
      code,
      stderr,
      said: stdout.split('\n').filter((line) => line.includes('bot>')),
      spans: [...new Set(names)].filter((name) => !name!.startsWith('palaver.s')),
      metrics: [...stdout.matchAll(/^ {4}name: '([\w.]+)'/gm)].map((match) => match[1]),
    }).toEqual({
      code: 0,
      stderr: '',
      said: ['  bot> Which pizza? [margherita] [funghi] [diavola]', '  bot> One funghi, coming up.'],
      spans: ['menu.lookup', 'palaver.deliver', 'palaver.turn', 'palaver.end'],
      metrics: expect.arrayContaining(['palaver.turns', 'palaver.turn.duration', 'palaver.sessions.live']),
    });
  });
});
