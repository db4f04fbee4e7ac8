import type { Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { classify, createNluBot, startNluService } from '../../examples/nlu-http';
import { MINUTE } from '../support/fixtures';
import { address, recorder } from './recorder';

let service: { url: string; server: Server };

beforeAll(async () => {
  service = await startNluService();
});
afterAll(() => {
  service.server.close();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('examples/nlu-http: the NLU service', () => {
  it('classifies by keywords, surer with more of them, and finds the size', () => {
    expect([classify('pizza?'), classify('order a LARGE pizza'), classify('hmm')]).toEqual([
      { intent: 'OrderPizza', confidence: 0.55, entities: [] },
      { intent: 'OrderPizza', confidence: 0.8, entities: [{ kind: 'size', value: 'large' }] },
      { intent: null, confidence: 0, entities: [] },
    ]);
  });
});

describe('examples/nlu-http: the bot', () => {
  it('greets by RegExpRecognizer, per locale', async () => {
    const { options, texts } = recorder();
    const bot = createNluBot(options, service.url);
    await bot.receive({ address: address(), text: 'Hello there' });
    const french = await bot.receive({ address: address(), text: 'bonjour', locale: 'fr-FR' });
    expect([texts(), french.session.nlp?.intent]).toEqual([
      ['Hello! Hungry? Ask me for a pizza.', 'Hello! Hungry? Ask me for a pizza.'],
      { name: 'Greeting', score: 1 },
    ]);
    await bot.close();
  });

  it('orders by intent over HTTP, with the size from the entities', async () => {
    const { options, texts } = recorder();
    const bot = createNluBot(options, service.url);
    const result = await bot.receive({ address: address(), text: 'order a large pizza' });
    expect([texts(), result.session.nlp?.entities]).toEqual([
      ['A large pizza is on its way.'],
      [{ type: 'size', value: 'large' }],
    ]);
    await bot.close();
  });

  it('asks for the size when the message names none', async () => {
    const { options, texts } = recorder();
    const bot = createNluBot(options, service.url);
    await bot.receive({ address: address(), text: 'order a pizza' });
    await bot.receive({ address: address(), text: 'small' });
    expect(texts()).toEqual(['Which size?', 'A small pizza is on its way.']);
    await bot.close();
  });

  it('does not begin the order below the minimum score of its trigger', async () => {
    const { options, texts } = recorder();
    const bot = createNluBot(options, service.url);
    await bot.receive({ address: address(), text: 'pizza?' });
    expect(texts()).toEqual(['Do you want to order? Say: order a pizza.']);
    await bot.close();
  });

  it('continues an expired order when the user comes back wanting pizza', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { options } = recorder();
    const bot = createNluBot(options, service.url);
    const first = await bot.receive({ address: address(), text: 'order a pizza' });
    vi.setSystemTime(Date.now() + 45 * MINUTE);
    const back = await bot.receive({ address: address(), text: 'I am hungry for pizza' });
    expect([back.session.id, back.session.turnCount]).toEqual([first.session.id, 2]);
    await bot.close();
  });

  it('starts a new session when the user comes back about something else', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { options, texts } = recorder();
    const bot = createNluBot(options, service.url);
    const first = await bot.receive({ address: address(), text: 'order a pizza' });
    vi.setSystemTime(Date.now() + 45 * MINUTE);
    const back = await bot.receive({ address: address(), text: 'rain forecast?' });
    expect([back.session.id === first.session.id, texts()]).toEqual([
      false,
      ['Which size?', 'I only know about pizza, sorry.'],
    ]);
    await bot.close();
  });
});
