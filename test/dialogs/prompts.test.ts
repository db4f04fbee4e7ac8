import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Message, Prompts, ResumeReason, findChoice, type DialogResult, type Session } from '../../src';
import { makeBot } from '../support/bot';
import { address } from '../support/fixtures';

/** A bot whose root asks with `ask`, then records what the prompt returned. */
function promptBot(ask: (session: Session) => void, options: Parameters<typeof makeBot>[0] = {}) {
  const h = makeBot(options);
  const results: DialogResult[] = [];
  h.bot.dialog('/', [ask, (_session, result: DialogResult) => void results.push(result)]);
  return { ...h, results };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Prompts.text', () => {
  it('returns the trimmed text as results.response', async () => {
    const { say, results } = promptBot((session) => Prompts.text(session, 'Your name?'));
    await say('hi');
    await say('  Lars ');
    expect(results).toEqual([{ resumed: ResumeReason.completed, response: 'Lars', childId: 'palaver:prompt:text' }]);
  });

  it('asks with an expectingInput hint', async () => {
    const { say, delivered } = promptBot((session) => Prompts.text(session, 'Your name?'));
    await say('hi');
    expect(delivered[0]?.messages).toEqual([{ type: 'message', text: 'Your name?', inputHint: 'expectingInput' }]);
  });

  it('asks again, saying it did not understand, when the answer is empty', async () => {
    const { say, texts, results } = promptBot((session) => Prompts.text(session, 'Your name?'));
    await say('hi');
    await say('   ');
    expect([texts(), results]).toEqual([['Your name?', "I didn't understand. Your name?"], []]);
  });

  it('takes a Message builder as the prompt', async () => {
    const { say, delivered } = promptBot((session) => Prompts.text(session, new Message().text('Name, %s?', 'please')));
    await say('hi');
    expect(delivered[0]?.messages[0]).toMatchObject({ text: 'Name, please?', inputHint: 'expectingInput' });
  });

  it('rejects a prompt that is neither a string nor a message with INVALID_ARGUMENT naming the prompt', async () => {
    const { say } = promptBot((session) => Prompts.text(session, 42 as never));
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('Prompts.text expects the prompt'),
    });
  });

  it('rejects a null prompt with INVALID_ARGUMENT', async () => {
    const { say } = promptBot((session) => Prompts.text(session, null as never));
    expect((await say('hi')).error).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('asks again when the answer has no text at all', async () => {
    const { say, texts, results } = promptBot((session) => Prompts.text(session, 'Your name?'));
    await say('hi');
    await say('', undefined, {
      text: undefined,
      attachments: [{ contentType: 'image/png', contentUrl: 'https://example.com/a.png' }],
    });
    expect([texts(), results]).toEqual([['Your name?', "I didn't understand. Your name?"], []]);
  });

  it('delivers the question without the batching delay', async () => {
    const { say, texts } = promptBot((session) => Prompts.text(session, 'Your name?'), { autoBatchDelay: 10_000 });
    await say('hi');
    expect(texts()).toEqual(['Your name?']);
  });
});

describe('Prompts.number', () => {
  it('returns a number', async () => {
    const { say, results } = promptBot((session) => Prompts.number(session, 'How many?'));
    await say('hi');
    await say('about 12 please');
    expect(results[0]?.response).toBe(12);
  });

  it('reads a decimal comma', async () => {
    const { say, results } = promptBot((session) => Prompts.number(session, 'How much?'));
    await say('hi');
    await say('1,5');
    expect(results[0]?.response).toBe(1.5);
  });

  it('reads every digit after the decimal comma', async () => {
    const { say, results } = promptBot((session) => Prompts.number(session, 'How much?'));
    await say('hi');
    await say('2,75');
    expect(results[0]?.response).toBe(2.75);
  });

  it('retries on a number too large to represent', async () => {
    const { say, texts, results } = promptBot((session) => Prompts.number(session, 'How many?'));
    await say('hi');
    await say('1' + '0'.repeat(400));
    expect([texts(), results]).toEqual([['How many?', "I didn't understand. How many?"], []]);
  });

  it('retries on text without a number', async () => {
    const { say, texts } = promptBot((session) => Prompts.number(session, 'How many?'));
    await say('hi');
    await say('lots');
    expect(texts()).toEqual(['How many?', "I didn't understand. How many?"]);
  });

  it('retries outside minValue and maxValue', async () => {
    const { say, results, texts } = promptBot((session) =>
      Prompts.number(session, 'Pick 1-10', { minValue: 1, maxValue: 10 }),
    );
    await say('hi');
    await say('0');
    await say('11');
    await say('10');
    expect([texts().length, results[0]?.response]).toEqual([3, 10]);
  });

  it('accepts minValue itself', async () => {
    const { say, results } = promptBot((session) =>
      Prompts.number(session, 'Pick 1-10', { minValue: 1, maxValue: 10 }),
    );
    await say('hi');
    await say('1');
    expect(results.map((r) => r.response)).toEqual([1]);
  });

  it('retries on a fraction when integerOnly', async () => {
    const { say, results } = promptBot((session) => Prompts.number(session, 'How many?', { integerOnly: true }));
    await say('hi');
    await say('2.5');
    await say('2');
    expect(results.map((r) => r.response)).toEqual([2]);
  });
});

describe('Prompts.confirm', () => {
  it('returns true for yes and false for no', async () => {
    const answers: unknown[] = [];
    for (const answer of ['yes', 'Yep!', 'no', 'nope']) {
      const { say, results } = promptBot((session) => Prompts.confirm(session, 'Sure?'));
      await say('hi');
      await say(answer);
      answers.push(results[0]?.response);
    }
    expect(answers).toEqual([true, true, false, false]);
  });

  it('reads every yes word as true and every no word as false', async () => {
    const yes = ['yes', 'y', 'yep', 'yeah', 'yup', 'sure', 'ok', 'okay', 'true', 'correct', 'right', 'affirmative'];
    const no = ['no', 'n', 'nope', 'nah', 'false', 'wrong', 'negative', 'cancel'];
    const answers: unknown[] = [];
    for (const answer of [...yes, ...no]) {
      const { say, results } = promptBot((session) => Prompts.confirm(session, 'Sure?'));
      await say('hi');
      await say(answer);
      answers.push(results[0]?.response);
    }
    expect(answers).toEqual([...yes.map(() => true), ...no.map(() => false)]);
  });

  it('ignores several punctuation marks at the end of the answer', async () => {
    const { say, results } = promptBot((session) => Prompts.confirm(session, 'Sure?'));
    await say('hi');
    await say('Sure?!');
    expect(results.map((r) => r.response)).toEqual([true]);
  });

  it('does not ignore punctuation inside the answer', async () => {
    const { say, texts, results } = promptBot((session) => Prompts.confirm(session, 'Sure?'));
    await say('hi');
    await say('o.k');
    expect([texts(), results]).toEqual([['Sure?', "I didn't understand. Sure?"], []]);
  });

  it('offers Yes and No as suggested actions', async () => {
    const { say, delivered } = promptBot((session) => Prompts.confirm(session, 'Sure?'));
    await say('hi');
    expect(delivered[0]?.messages[0]?.suggestedActions).toEqual([
      { type: 'imBack', title: 'Yes', value: 'Yes' },
      { type: 'imBack', title: 'No', value: 'No' },
    ]);
  });

  it('retries on an answer that is neither', async () => {
    const { say, texts } = promptBot((session) => Prompts.confirm(session, 'Sure?'));
    await say('hi');
    await say('maybe');
    expect(texts()).toEqual(['Sure?', "I didn't understand. Sure?"]);
  });
});

describe('Prompts.choice', () => {
  it('returns the chosen entity with its index', async () => {
    const { say, results } = promptBot((session) => Prompts.choice(session, 'command?', ['north', 'look']));
    await say('hi');
    await say('look');
    expect(results[0]?.response).toEqual({ entity: 'look', index: 1, score: 1 });
  });

  it('accepts the number of a choice', async () => {
    const { say, results } = promptBot((session) => Prompts.choice(session, 'command?', ['north', 'look']));
    await say('hi');
    await say('1');
    expect(results[0]?.response).toMatchObject({ entity: 'north' });
  });

  it('accepts part of a choice', async () => {
    const { say, results } = promptBot((session) => Prompts.choice(session, 'command?', ['open gate', 'south']));
    await say('hi');
    await say('open');
    expect(results[0]?.response).toMatchObject({ entity: 'open gate' });
  });

  it('takes the keys of an object as the choices', async () => {
    const { say, results } = promptBot((session) =>
      Prompts.choice(session, 'command?', { north: 'room1', look: 'room0' }),
    );
    await say('hi');
    await say('north');
    expect(results[0]?.response).toMatchObject({ entity: 'north', index: 0 });
  });

  it("takes 'a|b|c' as the choices", async () => {
    const { say, results } = promptBot((session) => Prompts.choice(session, 'color?', 'red|green|blue'));
    await say('hi');
    await say('blue');
    expect(results[0]?.response).toMatchObject({ entity: 'blue', index: 2 });
  });

  it('shows the choices as buttons by default', async () => {
    const { say, delivered } = promptBot((session) => Prompts.choice(session, 'command?', ['north', 'look']));
    await say('hi');
    expect(delivered[0]?.messages[0]).toEqual({
      type: 'message',
      text: 'command?',
      inputHint: 'expectingInput',
      suggestedActions: [
        { type: 'imBack', title: 'north', value: 'north' },
        { type: 'imBack', title: 'look', value: 'look' },
      ],
    });
  });

  it('lists the choices inline or one a line when asked', async () => {
    const inline = promptBot((session) =>
      Prompts.choice(session, 'command?', ['north', 'look'], { listStyle: 'inline' }),
    );
    const list = promptBot((session) => Prompts.choice(session, 'command?', ['north', 'look'], { listStyle: 'list' }));
    await inline.say('hi');
    await list.say('hi');
    expect([inline.texts(), list.texts()]).toEqual([
      ['command? (1. north or 2. look)'],
      ['command?\n1. north\n2. look'],
    ]);
  });

  it('retries on an answer that matches no choice', async () => {
    const { say, texts, results } = promptBot((session) =>
      Prompts.choice(session, 'command?', ['north', 'look'], { listStyle: 'none' }),
    );
    await say('hi');
    await say('banana');
    expect([texts(), results]).toEqual([['command?', "I didn't understand. command?"], []]);
  });

  it("drops blank entries and trims the choices of 'a|b|c'", async () => {
    const { say, delivered } = promptBot((session) => Prompts.choice(session, 'color?', ' red | | blue '));
    await say('hi');
    expect(delivered[0]?.messages[0]?.suggestedActions?.map((a) => a.title)).toEqual(['red', 'blue']);
  });

  it('shows the question alone, without buttons, with listStyle none', async () => {
    const { say, delivered } = promptBot((session) =>
      Prompts.choice(session, 'command?', ['north', 'look'], { listStyle: 'none' }),
    );
    await say('hi');
    expect(delivered[0]?.messages).toEqual([{ type: 'message', text: 'command?', inputHint: 'expectingInput' }]);
  });

  it('lists the choices without a leading space or line when the question has no text', async () => {
    const image = { contentType: 'image/png', contentUrl: 'https://example.com/map.png' };
    const inline = promptBot((session) =>
      Prompts.choice(session, { attachments: [image] }, ['north', 'look'], { listStyle: 'inline' }),
    );
    const list = promptBot((session) =>
      Prompts.choice(session, { attachments: [image] }, ['north', 'look'], { listStyle: 'list' }),
    );
    await inline.say('hi');
    await list.say('hi');
    expect([inline.texts(), list.texts()]).toEqual([['(1. north or 2. look)'], ['1. north\n2. look']]);
  });

  it('rejects choices that are not strings with INVALID_ARGUMENT', async () => {
    const { say } = promptBot((session) => Prompts.choice(session, 'pick', [1, 2] as never));
    expect((await say('hi')).error).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('rejects a list with a choice that is not a string with INVALID_ARGUMENT naming Prompts.choice and the index', async () => {
    const { say } = promptBot((session) => Prompts.choice(session, 'pick', ['a', 2] as never));
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/^Prompts\.choice expects each choice .* got 2 \(number\) at index 1\.$/),
    });
  });

  it('rejects choices given as a number or null with INVALID_ARGUMENT', async () => {
    const errors: unknown[] = [];
    for (const choices of [42, null]) {
      const { say } = promptBot((session) => Prompts.choice(session, 'pick', choices as never));
      errors.push((await say('hi')).error);
    }
    expect(errors).toEqual([
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('Prompts.choice expects choices'),
      }),
      expect.objectContaining({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('Prompts.choice expects choices'),
      }),
    ]);
  });
});

describe('retries', () => {
  it('says retryPrompt when the answer was not understood', async () => {
    const { say, texts } = promptBot((session) =>
      Prompts.number(session, 'How many?', { retryPrompt: 'A number, please: how many?' }),
    );
    await say('hi');
    await say('lots');
    expect(texts()).toEqual(['How many?', 'A number, please: how many?']);
  });

  it('gives up after maxRetries failed answers with ResumeReason.notCompleted', async () => {
    const { say, results, texts } = promptBot((session) => Prompts.number(session, 'How many?', { maxRetries: 2 }));
    await say('hi');
    await say('a');
    await say('b');
    await say('c');
    expect([texts().length, results]).toEqual([
      3,
      [{ resumed: ResumeReason.notCompleted, childId: 'palaver:prompt:number' }],
    ]);
  });

  it('allows maxRetries failed answers before giving up', async () => {
    const { say, results, texts } = promptBot((session) => Prompts.number(session, 'How many?', { maxRetries: 1 }));
    await say('hi');
    await say('a');
    expect([texts(), results]).toEqual([['How many?', "I didn't understand. How many?"], []]);
  });

  it('retries a message prompt with the apology before its text, keeping its other fields', async () => {
    const { say, delivered } = promptBot((session) =>
      Prompts.text(session, { text: 'Your *name*?', textFormat: 'markdown' }),
    );
    await say('hi');
    await say('');
    expect(delivered[1]?.messages).toEqual([
      {
        type: 'message',
        text: "I didn't understand. Your *name*?",
        textFormat: 'markdown',
        inputHint: 'expectingInput',
      },
    ]);
  });

  it('retries a message prompt without text with the apology alone', async () => {
    const image = { contentType: 'image/png', contentUrl: 'https://example.com/q.png' };
    const { say, delivered } = promptBot((session) => Prompts.text(session, { attachments: [image] }));
    await say('hi');
    await say('');
    expect(delivered[1]?.messages[0]).toMatchObject({ text: "I didn't understand. ", attachments: [image] });
  });

  it('gives up at the first failure with maxRetries 0', async () => {
    const { say, results } = promptBot((session) => Prompts.text(session, 'Name?', { maxRetries: 0 }));
    await say('hi');
    await say('');
    expect(results.map((r) => r.resumed)).toEqual([ResumeReason.notCompleted]);
  });

  it('rejects a negative maxRetries with INVALID_ARGUMENT', async () => {
    const { say } = promptBot((session) => Prompts.text(session, 'Name?', { maxRetries: -1 }));
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('`maxRetries`'),
    });
  });

  it('asks its question again when an interruption on top of it ends, then takes the answer', async () => {
    const { bot, say, texts, results } = promptBot((session) => Prompts.text(session, 'Your name?'));
    bot.dialog('/alert', (session) => session.endDialog('Alert!'));
    await say('hi');
    await bot.beginDialog(address(), '/alert', undefined, { interrupt: true });
    await vi.advanceTimersByTimeAsync(10);
    await say('Lars');
    expect([texts(), results.map((r) => r.response)]).toEqual([['Your name?', 'Alert!', 'Your name?'], ['Lars']]);
  });

  it('saves a waiting prompt’s options and question, without its kind or a retries count', async () => {
    const { say, stored } = promptBot((session) =>
      Prompts.choice(session, 'Tea or coffee?', ['tea', 'coffee'], { maxRetries: 5 }),
    );
    await say('hi');
    expect((await stored())?.stack[1]).toEqual({
      id: 'palaver:prompt:choice',
      data: { prompt: 'Tea or coffee?', choices: ['tea', 'coffee'], maxRetries: 5 },
    });
  });

  it('saves a retries count of 1 after the first answer it could not read', async () => {
    const { say, stored } = promptBot((session) => Prompts.number(session, 'How many?'));
    await say('hi');
    await say('lots');
    expect((await stored())?.stack[1]?.data).toEqual({ prompt: 'How many?', retries: 1 });
  });

  it('keeps counting retries across turns (the count is saved with the prompt)', async () => {
    const { say, stored } = promptBot((session) => Prompts.text(session, 'Name?', { maxRetries: 5 }));
    await say('hi');
    await say('');
    await say('');
    expect((await stored())?.stack[1]?.data).toMatchObject({ retries: 2, maxRetries: 5 });
  });
});

describe('findChoice', () => {
  it('prefers an exact match over a partial one', () => {
    expect(findChoice(['red wine', 'red'], 'red')).toEqual({ entity: 'red', index: 1, score: 1 });
  });

  it('finds nothing for an unrelated answer', () => {
    expect(findChoice(['north', 'south'], 'banana')).toBeUndefined();
  });

  it('matches regardless of case and surrounding spaces', () => {
    expect(findChoice(['North', 'South'], '  SOUTH ')).toEqual({ entity: 'South', index: 1, score: 1 });
  });

  it('finds nothing for an empty answer, even among empty choices', () => {
    expect(findChoice(['', 'north'], '  ')).toBeUndefined();
  });

  it('reads a number of two digits as the number of a choice', () => {
    const choices = Array.from({ length: 12 }, (_, i) => `room ${String.fromCharCode(97 + i)}`);
    expect(findChoice(choices, '11')).toEqual({ entity: 'room k', index: 10, score: 1 });
  });

  it('reads only plain digits as the number of a choice', () => {
    const choices = Array.from({ length: 10 }, (_, i) => `room ${String.fromCharCode(97 + i)}`);
    expect([findChoice(choices, '1e1'), findChoice(choices, '0x2')]).toEqual([undefined, undefined]);
  });

  it('finds nothing for a number past the last choice', () => {
    expect(findChoice(['north', 'south'], '3')).toBeUndefined();
  });

  it('finds a choice inside a longer answer, scored below an exact match', () => {
    expect(findChoice(['north', 'south'], 'go north')).toEqual({ entity: 'north', index: 0, score: 0.98 });
  });

  it('keeps the best match when a weaker one comes later', () => {
    expect(findChoice(['red', 'red wine'], 'red')).toEqual({ entity: 'red', index: 0, score: 1 });
  });

  it('finds nothing when two choices fit equally well', () => {
    expect(findChoice(['red one', 'red two'], 'red')).toBeUndefined();
  });

  it('finds nothing for a single letter of a choice', () => {
    expect(findChoice(['north', 'south'], 'n')).toBeUndefined();
  });
});
