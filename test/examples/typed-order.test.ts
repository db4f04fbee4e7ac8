import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTypedOrderBot } from '../../examples/typed-order';
import { address, recorder } from './recorder';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

async function run(answers: string[]) {
  const { options, texts } = recorder();
  const bot = createTypedOrderBot(options);
  for (const text of answers) await bot.receive({ address: address(), text });
  return texts();
}

describe('examples/typed-order', () => {
  it('takes an order, filling the prompt templates with what it learnt', async () => {
    expect(await run(['hi', 'Ada', 'large', '2', 'yes'])).toEqual([
      'Hi! What is your name?',
      'Which size, Ada?',
      'How many?',
      '2 Large pizzas, is that right?',
      'Ordered. Thank you, Ada!',
    ]);
  });

  it('asks again with its retry prompt when the quantity is not a whole number', async () => {
    expect(await run(['hi', 'Ada', 'small', 'two', '1', 'no'])).toEqual([
      'Hi! What is your name?',
      'Which size, Ada?',
      'How many?',
      'A whole number from 1 to 10, please.',
      '1 Small pizza, is that right?',
      'Cancelled.',
    ]);
  });

  it('refuses a quantity its entity schema does not allow, at the assignment', async () => {
    expect((await run(['hi', 'Ada', 'medium', '12'])).at(-1)).toBe('We bake at most 10 at a time: please start again.');
  });

  it('remembers the user’s name for the next order', async () => {
    const texts = await run(['hi', 'Ada', 'large', '1', 'yes', 'hi again']);
    expect(texts.at(-1)).toBe('Which size, Ada?');
  });
});
