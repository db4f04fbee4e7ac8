import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PromptIds, Prompts, ResumeReason, type DialogResult } from '../../src';
import { makeBot } from '../support/bot';

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('prompts with a template tuple', () => {
  it('fills in the template before asking', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', (session) => void Prompts.choice(session, ['What can I do, %s?', 'Lars'], ['Order', 'Support']));
    await say('hi');
    expect(texts()).toEqual(['What can I do, Lars?']);
  });

  it('fills in named placeholders', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', (session) => void Prompts.text(session, ['%(name)s, your email?', { name: 'Ada' }]));
    await say('hi');
    expect(texts()).toEqual(['Ada, your email?']);
  });

  it('fills in a retry prompt given as a tuple', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog(
      '/',
      (session) => void Prompts.number(session, 'How many?', { retryPrompt: ['A number from 1 to %d, please.', 10] }),
    );
    await say('hi');
    await say('lots');
    expect(texts()).toEqual(['How many?', 'A number from 1 to 10, please.']);
  });

  it('sends a plain string prompt as written, % and all', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', (session) => void Prompts.confirm(session, 'Is 100% ok?'));
    await say('hi');
    expect(texts()).toEqual(['Is 100% ok?']);
  });

  it('answers with the same result as a plain prompt', async () => {
    const { bot, say } = makeBot();
    const results: DialogResult[] = [];
    bot.dialog('/', [
      (session) => Prompts.number(session, ['How many, %s?', 'Lars']),
      (_session, result) => void results.push(result),
    ]);
    await say('hi');
    await say('3');
    expect(results).toEqual([{ resumed: ResumeReason.completed, response: 3, childId: PromptIds.number }]);
  });

  it('throws INVALID_TEMPLATE when the tuple does not fit its template', async () => {
    const { bot, say } = makeBot();
    const template: string = 'Hello %s and %s';
    bot.dialog('/', (session) => void Prompts.text(session, [template, 'Lars']));
    expect((await say('hi')).error).toMatchObject({ code: 'INVALID_TEMPLATE' });
  });

  it('throws INVALID_ARGUMENT when the tuple does not start with the template text', async () => {
    const { bot, say } = makeBot();
    bot.dialog('/', (session) => void Prompts.text(session, [42 as unknown as string]));
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('template text'),
    });
  });
});

describe('the options slot', () => {
  it('throws INVALID_ARGUMENT that shows the tuple form when a template argument is passed as options', async () => {
    const { bot, say } = makeBot();
    const untyped = Prompts.confirm as (...args: unknown[]) => unknown;
    bot.dialog('/', (session) => void untyped(session, 'Open a ticket for "%s"?', 'printer'));
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining(`Prompts.confirm(session, ['Hello %s, what next?', name])`),
    });
  });

  it('throws INVALID_ARGUMENT for choice options that are not an object', async () => {
    const { bot, say } = makeBot();
    const untyped = Prompts.choice as (...args: unknown[]) => unknown;
    bot.dialog('/', (session) => void untyped(session, 'Pick', ['a', 'b'], 'b'));
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('takes its options as an object'),
    });
  });
});

describe('what a prompt returns', () => {
  it('names the prompt dialog it began', async () => {
    const { bot, say } = makeBot();
    const returned: unknown[] = [];
    bot.dialog('/', (session) => void returned.push(Prompts.text(session, 'Name?')));
    await say('hi');
    expect(returned).toEqual([{ dialogId: PromptIds.text }]);
  });
});
