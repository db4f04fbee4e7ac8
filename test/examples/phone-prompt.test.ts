import { describe, expect, it } from 'vitest';
import { createPhonePromptBot } from '../../examples/phone-prompt';
import { address, recorder, stackOf } from './recorder';

const FORMAT = "Enter the number using a format of either: '(555) 123-4567' or '555-123-4567' or '5551234567'";

describe('examples/phone-prompt', () => {
  it('accepts a formatted 10-digit number and keeps the digits', async () => {
    const { options, texts } = recorder();
    const bot = createPhonePromptBot(options);
    for (const text of ['hi', '(555) 123-4567']) await bot.receive({ address: address(), text });
    expect(texts()).toEqual(["What's your phone number?", 'Got it... Setting number to 5551234567']);
  });

  it('accepts 11 digits', async () => {
    const { options, texts } = recorder();
    const bot = createPhonePromptBot(options);
    for (const text of ['hi', '+1 555 123 4567']) await bot.receive({ address: address(), text });
    expect(texts()[1]).toBe('Got it... Setting number to 15551234567');
  });

  it('asks again with the accepted formats until the number fits', async () => {
    const { options, texts } = recorder();
    const bot = createPhonePromptBot(options);
    for (const text of ['hi', '555-1234', 'no idea', '555-123-4567']) await bot.receive({ address: address(), text });
    expect(texts()).toEqual(["What's your phone number?", FORMAT, FORMAT, 'Got it... Setting number to 5551234567']);
  });

  it('loops with replaceDialog without growing the stack', async () => {
    const { options } = recorder();
    const bot = createPhonePromptBot(options);
    const stacks: string[][] = [];
    for (const text of ['hi', '1', '2', '3']) {
      await bot.receive({ address: address(), text });
      stacks.push(await stackOf(bot));
    }
    expect(new Set(stacks.map((s) => s.join(' > ')))).toEqual(new Set(['/ > /phonePrompt > palaver:prompt:text']));
  });
});
