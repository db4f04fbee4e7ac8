import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLlmBot, fakeModel, type ChatMessage } from '../../examples/llm-history';
import { address, recorder } from './recorder';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** The fake model, with the prompts it was given. */
function spyModel() {
  const prompts: ChatMessage[][] = [];
  return { prompts, model: (prompt: readonly ChatMessage[]) => (prompts.push([...prompt]), fakeModel(prompt)) };
}

describe('examples/llm-history', () => {
  it('asks the model once for a burst, with the three messages in the prompt', async () => {
    const { options, texts } = recorder();
    const { prompts, model } = spyModel();
    const bot = createLlmBot(options, model);
    const burst = Promise.all(
      ['hi', 'I need help', 'with my order'].map((text) => bot.receive({ address: address(), text })),
    );
    await vi.advanceTimersByTimeAsync(1200);
    await burst;
    await bot.flush();
    expect(prompts).toHaveLength(1);
    expect(prompts[0]!.slice(1)).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'user', content: 'I need help' },
      { role: 'user', content: 'with my order' },
    ]);
    expect(texts()).toEqual(['(typing)', 'Sure, what is your order number? (3 messages of context)']);
  });

  it('gives the next turn the transcript, its own answer included', async () => {
    const { options, texts } = recorder();
    const { prompts, model } = spyModel();
    const bot = createLlmBot(options, model);
    for (const text of ['hi', '1234']) {
      const turn = bot.receive({ address: address(), text });
      await vi.advanceTimersByTimeAsync(1200);
      await turn;
    }
    expect(prompts[1]!.slice(1)).toEqual([
      { role: 'user', content: 'hi' },
      { role: 'assistant', content: 'Hello! How can I help? (1 messages of context)' },
      { role: 'user', content: '1234' },
    ]);
    expect(texts().at(-1)).toBe('Order 1234 is in the oven. (3 messages of context)');
  });
});
