import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createPizzaBot, Kitchen } from '../../examples/order-pizza';
import { address, recorder } from './recorder';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

async function order(pizza: string, kitchen: Kitchen, extra: { autoBatchDelay?: number } = {}) {
  const rec = recorder();
  const bot = createPizzaBot({ ...rec.options, ...extra }, kitchen);
  await bot.receive({ address: address(), text: 'hi' });
  await bot.receive({ address: address(), text: pizza });
  return { ...rec, bot };
}

describe('examples/order-pizza', () => {
  it('asks which pizza, then starts the order', async () => {
    const { texts } = await order('pepperoni', new Kitchen(2000));
    expect(texts()).toEqual(['Which pizza would you like?', 'Starting your pepperoni pizza order...']);
  });

  it('sends a proactive message to the saved address when the kitchen is done', async () => {
    const { delivered } = await order('margherita', new Kitchen(2000));
    await vi.advanceTimersByTimeAsync(1999);
    const before = delivered.length;
    await vi.advanceTimersByTimeAsync(1);
    expect([before, delivered.slice(before)]).toEqual([2, [{ address: address(), messages: [{ type: 'message', text: 'Your margherita pizza is on its way!' }] }]]);
  });

  it('puts the proactive message behind replies still waiting for the user, in the same batch', async () => {
    const { delivered } = await order('hawaiian', new Kitchen(100), { autoBatchDelay: 250 });
    await vi.advanceTimersByTimeAsync(100);
    expect(delivered.map((d) => d.messages.map((m) => m.text))).toEqual([
      ['Which pizza would you like?'],
      ['Starting your hawaiian pizza order...', 'Your hawaiian pizza is on its way!'],
    ]);
  });
});
