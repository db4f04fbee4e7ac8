// Context propagation: palaver's unit span is the active span while the bot's code runs, and a child of the caller's.
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { address } from '../support/fixtures';
import { harness } from '../support/manager';
import { otel, parentOf } from '../support/telemetry';

const manager = new AsyncLocalStorageContextManager();

beforeAll(() => {
  context.setGlobalContextManager(manager.enable());
});

afterAll(() => {
  context.disable();
});

function traced() {
  const o = otel();
  const h = harness({ telemetry: { tracerProvider: o.tracerProvider, meterProvider: false } });
  return { ...h, o, tracer: o.tracerProvider.getTracer('my-bot') };
}

describe('telemetry context', () => {
  it("makes the bot's own spans in a dialog step children of the turn span, also after an await", async () => {
    const { bot, o, tracer } = traced();
    bot.dialog('/', async (session) => {
      await tracer.startActiveSpan('lookup', async (span) => {
        await new Promise((resolve) => setImmediate(resolve));
        span.end();
      });
      await new Promise((resolve) => setImmediate(resolve));
      tracer.startSpan('after-await').end();
      session.send('done');
    });
    await bot.receive({ address: address(), text: 'hi' });
    const turn = o.named('palaver.turn')[0]!.spanContext();
    const mine = [...o.named('lookup'), ...o.named('after-await')];
    expect(mine.map(parentOf)).toEqual([turn.spanId, turn.spanId]);
    expect(mine.map((span) => span.spanContext().traceId)).toEqual([turn.traceId, turn.traceId]);
  });

  it('makes the turn span a child of the span active where receive was called', async () => {
    const { bot, o, tracer } = traced();
    bot.dialog('/', (session) => session.send('hello'));
    await tracer.startActiveSpan('http request', async (span) => {
      await bot.receive({ address: address(), text: 'hi' });
      span.end();
    });
    const request = o.named('http request')[0]!;
    expect(parentOf(o.named('palaver.turn')[0]!)).toBe(request.spanContext().spanId);
  });

  it('makes a turn that waited behind another turn of its session a child of its own caller, not of the earlier turn', async () => {
    const { bot, o, tracer } = traced();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    bot.dialog('/', async (session) => {
      if (session.message?.text === 'first') await gate;
      session.send('ok');
    });
    const calls = ['first', 'second'].map((text) =>
      tracer.startActiveSpan(`request ${text}`, (span) =>
        bot.receive({ address: address(), text }).finally(() => span.end()),
      ),
    );
    release();
    await Promise.all(calls);
    const requests = ['request first', 'request second'].map((name) => o.named(name)[0]!.spanContext().spanId);
    expect(o.named('palaver.turn').map(parentOf)).toEqual(requests);
  });

  it('makes the spans of a sendBatch() delivery inside a step children of the turn span', async () => {
    const { bot, o } = traced();
    bot.dialog('/', async (session) => {
      session.send('one');
      await session.sendBatch();
      session.send('two');
    });
    await bot.receive({ address: address(), text: 'hi' });
    const turn = o.named('palaver.turn')[0]!.spanContext().spanId;
    expect(o.named('palaver.deliver').map(parentOf)).toEqual([turn, turn]);
  });

  it('leaves no active span behind once the turn is done', async () => {
    const { bot } = traced();
    bot.dialog('/', (session) => session.send('hello'));
    await bot.receive({ address: address(), text: 'hi' });
    expect(trace.getActiveSpan()).toBeUndefined();
  });
});
