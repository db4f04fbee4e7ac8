import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTypingBot } from '../../examples/typing';
import { address, errorsOf, recorder, stackOf } from './recorder';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('examples/typing (countItems)', () => {
  it('shows the typing indicator while the lookup runs, then counts', async () => {
    const { options, texts } = recorder();
    const bot = createTypingBot(options);
    await bot.receive({ address: address(), text: 'hi' });
    const turn = bot.receive({ address: address(), text: 'socks' });
    await vi.advanceTimersByTimeAsync(1000);
    const during = texts();
    await vi.advanceTimersByTimeAsync(500);
    await turn;
    expect([during, texts()]).toEqual([
      ['What shall I count?', '(typing)'],
      ['What shall I count?', '(typing)', '3 items found'],
    ]);
  });

  it('ends /countItems with the count, so the next message starts over', async () => {
    const { options } = recorder();
    const bot = createTypingBot(options, async () => ['one']);
    await bot.receive({ address: address(), text: 'hi' });
    await bot.receive({ address: address(), text: 'anything' });
    expect(await stackOf(bot)).toEqual([]);
  });

  it('reports a failed lookup, tells the user, and ends the conversation (v3 session.error)', async () => {
    const { options, texts } = recorder();
    const bot = createTypingBot(options, () => Promise.reject(new Error('catalogue offline')));
    const errors = errorsOf(bot);
    await bot.receive({ address: address(), text: 'hi' });
    await bot.receive({ address: address(), text: 'socks' });
    expect([errors.map((e) => e.code), texts(), await stackOf(bot)]).toEqual([
      ['DIALOG_FAILED'],
      ['What shall I count?', '(typing)', 'Oops. Something went wrong and we need to start over.'],
      [],
    ]);
  });
});
