import { describe, expect, it } from 'vitest';
import { createEnsureProfileBot } from '../../examples/ensure-profile';
import { address, recorder, stackOf } from './recorder';

describe('examples/ensure-profile', () => {
  it('asks for the name and the email, then greets', async () => {
    const { options, texts } = recorder();
    const bot = createEnsureProfileBot(options);
    for (const text of ['hi', 'Lars', 'lars@example.com']) await bot.receive({ address: address(), text });
    expect(texts()).toEqual(['Hi! What is your name?', "What's your email address?", 'Hello Lars!']);
  });

  it('remembers the profile in userData and skips every question next time, even in another conversation', async () => {
    const { options, texts } = recorder();
    const bot = createEnsureProfileBot(options);
    for (const text of ['hi', 'Lars', 'lars@example.com']) await bot.receive({ address: address(), text });
    await bot.receive({ address: address('lars', 'another'), text: 'hello' });
    expect(texts().slice(3)).toEqual(['Hello Lars!']);
  });

  it('returns to an empty stack once the user is greeted', async () => {
    const { options } = recorder();
    const bot = createEnsureProfileBot(options);
    for (const text of ['hi', 'Lars', 'lars@example.com']) await bot.receive({ address: address(), text });
    expect(await stackOf(bot)).toEqual([]);
  });
});
