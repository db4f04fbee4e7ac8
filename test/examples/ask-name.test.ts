import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createAskNameBot } from '../../examples/ask-name';
import { address, recorder } from './recorder';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('examples/ask-name', () => {
  it('asks the name, then greets the user by it', async () => {
    const { options, texts } = recorder();
    const bot = createAskNameBot(options);
    await bot.receive({ address: address(), text: 'hi' });
    await bot.receive({ address: address(), text: 'Lars' });
    expect(texts()).toEqual(['Hi! What is your name?', 'Hello Lars!']);
  });

  it('sends the prompt at once and the greeting after the batching delay', async () => {
    const { options, texts } = recorder();
    const bot = createAskNameBot({ ...options, autoBatchDelay: 250 });
    await bot.receive({ address: address(), text: 'hi' });
    await bot.receive({ address: address(), text: 'Lars' });
    const before = texts();
    await vi.advanceTimersByTimeAsync(250);
    expect([before, texts()]).toEqual([['Hi! What is your name?'], ['Hi! What is your name?', 'Hello Lars!']]);
  });

  it('traces like the v3 console output', async () => {
    const { options } = recorder();
    const trace: string[] = [];
    const bot = createAskNameBot({ ...options, trace: (line) => trace.push(line) });
    await bot.receive({ address: address(), text: 'hi' });
    await bot.receive({ address: address(), text: 'Lars' });
    expect(trace.filter((line) => line.includes('waterfall()'))).toEqual([
      '/ - waterfall() step 1 of 2',
      './askName - waterfall() step 1 of 2',
      './askName - waterfall() step 2 of 2',
      '/ - waterfall() step 2 of 2',
    ]);
  });
});
