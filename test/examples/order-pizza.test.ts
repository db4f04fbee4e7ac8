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
    expect([before, delivered.slice(before)]).toEqual([
      2,
      [{ address: address(), messages: [{ type: 'message', text: 'Your margherita pizza is on its way!' }] }],
    ]);
  });

  it('puts the proactive message behind replies still waiting for the user, in the same batch', async () => {
    const { delivered } = await order('hawaiian', new Kitchen(100), { autoBatchDelay: 250 });
    await vi.advanceTimersByTimeAsync(100);
    expect(delivered.map((d) => d.messages.map((m) => m.text))).toEqual([
      ['Which pizza would you like?'],
      ['Starting your hawaiian pizza order...', 'Your hawaiian pizza is on its way!'],
    ]);
  });

  it('answers "help" while the pizza question waits, then asks it again', async () => {
    const rec = recorder();
    const bot = createPizzaBot(rec.options, new Kitchen(2000));
    for (const text of ['hi', 'help', 'pepperoni']) await bot.receive({ address: address(), text });
    expect(rec.texts()).toEqual([
      'Which pizza would you like?',
      'Pick a pizza from the list, or say "cancel" to stop.',
      'Which pizza would you like?',
      'Starting your pepperoni pizza order...',
    ]);
  });

  it('cancels the order once the user confirms, and starts no order', async () => {
    const rec = recorder();
    const kitchen = new Kitchen(2000);
    const started = vi.spyOn(kitchen, 'startOrder');
    const bot = createPizzaBot(rec.options, kitchen);
    for (const text of ['hi', 'cancel', 'yes']) await bot.receive({ address: address(), text });
    expect({ texts: rec.texts(), started: started.mock.calls.length }).toEqual({
      texts: ['Which pizza would you like?', 'Cancel your order?', 'Order canceled.'],
      started: 0,
    });
  });

  it('goes back to the pizza question when the user does not confirm the cancel', async () => {
    const rec = recorder();
    const bot = createPizzaBot(rec.options, new Kitchen(2000));
    for (const text of ['hi', 'cancel', 'no', 'hawaiian']) await bot.receive({ address: address(), text });
    expect(rec.texts()).toEqual([
      'Which pizza would you like?',
      'Cancel your order?',
      'Which pizza would you like?',
      'Starting your hawaiian pizza order...',
    ]);
  });
});
