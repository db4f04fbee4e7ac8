import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createListItemsBot } from '../../examples/list-items';
import { address, recorder, stackOf } from './recorder';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('examples/list-items', () => {
  it('sends typing at once and the list once the lookup answers', async () => {
    const { options, texts } = recorder();
    const bot = createListItemsBot(options);
    const turn = bot.receive({ address: address(), text: 'what do I have?' });
    await vi.advanceTimersByTimeAsync(0);
    const during = texts();
    await vi.advanceTimersByTimeAsync(1000);
    await turn;
    expect([during, texts()]).toEqual([['(typing)'], ['(typing)', 'You have 3 items: socks, a hat and a scarf.']]);
  });

  it('ends the dialog in the callback, after the answer is in', async () => {
    const { options } = recorder();
    const bot = createListItemsBot(options, async () => ({ message: 'nothing' }));
    await bot.receive({ address: address(), text: 'list' });
    expect(await stackOf(bot)).toEqual([]);
  });

  it('resolves the turn only once the lookup is done, so the state saved is the final one', async () => {
    const { options } = recorder();
    const bot = createListItemsBot(options);
    let done = false;
    const turn = bot.receive({ address: address(), text: 'list' }).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(999);
    const early = done;
    await vi.advanceTimersByTimeAsync(1);
    await turn;
    expect([early, done]).toEqual([false, true]);
  });
});
