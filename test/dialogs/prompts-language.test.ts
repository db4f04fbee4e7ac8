// Prompts as a user meets them: choices by words and positions, ties, number reasons, time and attachment prompts,
// and every built-in text in the user's language.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Prompts, ResumeReason, SessionManager, type DialogResult, type Session, type TextsOption } from '../../src';
import { makeBot } from '../support/bot';
import { address } from '../support/fixtures';

function promptBot(ask: (session: Session) => void, options: Parameters<typeof makeBot>[0] = {}) {
  const h = makeBot(options);
  const results: DialogResult[] = [];
  h.bot.dialog('/', [ask, (_session, result: DialogResult) => void results.push(result)]);
  return { ...h, results };
}

const FRENCH: TextsOption = {
  fr: {
    notUnderstood: "Je n'ai pas compris.",
    yes: 'Oui',
    no: 'Non',
    yesWords: ['oui', 'bien sûr'],
    noWords: ['non'],
    or: 'ou',
    ordinals: ['premier', 'deuxième', 'troisième'],
    choiceAmbiguous: 'Vouliez-vous dire %(choices)s ?',
    numberWholeRange: 'Donnez un nombre entier de %(min)s à %(max)s.',
    dialogError: 'Oups, recommençons.',
  },
  'fr-CA': { notUnderstood: "J'ai pas compris." },
};

const fr = { locale: 'fr' };

beforeEach(() => {
  // Friday 2026-12-04 10:00 UTC.
  vi.useFakeTimers({ now: Date.UTC(2026, 11, 4, 10) });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Prompts.choice, read as people answer', () => {
  it('returns the choice named by one of its words', async () => {
    const { say, results } = promptBot((s) => Prompts.choice(s, 'What can I do?', ['Order a pizza', 'Get support']));
    await say('hi');
    await say('pizza');
    expect(results[0]?.response).toMatchObject({ entity: 'Order a pizza', index: 0 });
  });

  it('returns the choice named by a synonym, kept with the prompt across turns', async () => {
    const { say, results } = promptBot((s) =>
      Prompts.choice(s, 'What can I do?', [{ value: 'Get support', synonyms: ['agent', 'help'] }, 'Order a pizza']),
    );
    await say('hi');
    await say('an agent please');
    expect(results[0]?.response).toMatchObject({ entity: 'Get support', index: 0 });
  });

  it('shows a choice with synonyms by its value only', async () => {
    const { say, delivered } = promptBot((s) =>
      Prompts.choice(s, 'Pick', [{ value: 'Get support', synonyms: ['agent'] }]),
    );
    await say('hi');
    expect(delivered[0]?.messages[0]?.suggestedActions).toEqual([
      { type: 'imBack', title: 'Get support', value: 'Get support' },
    ]);
  });

  it('returns the choice at the position named', async () => {
    const { say, results } = promptBot((s) => Prompts.choice(s, 'Size?', ['Small', 'Medium', 'Large']));
    await say('hi');
    await say('the second one');
    expect(results[0]?.response).toEqual({ entity: 'Medium', index: 1, score: 1 });
  });

  it('asks which one was meant, naming only the tied choices as buttons', async () => {
    const { say, delivered } = promptBot((s) =>
      Prompts.choice(s, 'What can I do?', ['Order a pizza', 'Order a salad', 'Get support']),
    );
    await say('hi');
    await say('order');
    expect(delivered[1]?.messages).toEqual([
      {
        type: 'message',
        text: 'Did you mean Order a pizza or Order a salad?',
        inputHint: 'expectingInput',
        suggestedActions: [
          { type: 'imBack', title: 'Order a pizza', value: 'Order a pizza' },
          { type: 'imBack', title: 'Order a salad', value: 'Order a salad' },
        ],
      },
    ]);
  });

  it('takes the answer to the which-one question among all the choices', async () => {
    const { say, results } = promptBot((s) =>
      Prompts.choice(s, 'What can I do?', ['Order a pizza', 'Order a salad', 'Get support']),
    );
    await say('hi');
    await say('order');
    await say('salad');
    expect(results[0]?.response).toMatchObject({ entity: 'Order a salad', index: 1 });
  });

  it('counts the which-one question as a retry', async () => {
    const { say, results } = promptBot((s) =>
      Prompts.choice(s, 'What can I do?', ['Order a pizza', 'Order a salad'], { maxRetries: 0 }),
    );
    await say('hi');
    await say('order');
    expect(results).toEqual([{ resumed: ResumeReason.notCompleted, childId: 'palaver:prompt:choice' }]);
  });

  it('asks the which-one question in text only when the choices were listed in text', async () => {
    const { say, delivered } = promptBot((s) =>
      Prompts.choice(s, 'What?', ['Order a pizza', 'Order a salad'], { listStyle: 'list' }),
    );
    await say('hi');
    await say('order');
    expect(delivered[1]?.messages).toEqual([
      { type: 'message', text: 'Did you mean Order a pizza or Order a salad?', inputHint: 'expectingInput' },
    ]);
  });

  it('asks again for an answer under minScore', async () => {
    const { say, texts, results } = promptBot((s) =>
      Prompts.choice(s, 'What?', ['Order a pizza', 'Get support'], { minScore: 0.9, listStyle: 'none' }),
    );
    await say('hi');
    await say('pizza');
    expect([texts(), results]).toEqual([['What?', "I didn't understand. What?"], []]);
  });

  it.each([-0.1, 1.5, '0.5'])('rejects minScore %j with INVALID_ARGUMENT', async (minScore) => {
    const { say } = promptBot((s) => Prompts.choice(s, 'What?', ['a'], { minScore: minScore as number }));
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('`minScore`'),
    });
  });

  it('rejects a choice whose synonyms are not strings with INVALID_ARGUMENT', async () => {
    const { say } = promptBot((s) => Prompts.choice(s, 'What?', [{ value: 'a', synonyms: [1] } as never]));
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('{ value: string, synonyms?: string[] }'),
    });
  });
});

describe('Prompts.number bounds', () => {
  it('says why it asks again: a whole number between the bounds', async () => {
    const { say, texts } = promptBot((s) =>
      Prompts.number(s, 'How many pizzas?', { min: 1, max: 10, integerOnly: true }),
    );
    await say('hi');
    await say('12');
    await say('2.5');
    expect(texts()).toEqual([
      'How many pizzas?',
      'Please give a whole number from 1 to 10. How many pizzas?',
      'Please give a whole number from 1 to 10. How many pizzas?',
    ]);
  });

  it('returns a number inside min and max', async () => {
    const { say, results } = promptBot((s) => Prompts.number(s, 'How many?', { min: 1, max: 10 }));
    await say('hi');
    await say('0');
    await say('7');
    expect(results.map((r) => r.response)).toEqual([7]);
  });

  it('still reads minValue and maxValue, saying why with them', async () => {
    const { say, texts } = promptBot((s) => Prompts.number(s, 'How many?', { minValue: 2, maxValue: 4 }));
    await say('hi');
    await say('5');
    expect(texts()[1]).toBe('Please give a number from 2 to 4. How many?');
  });

  it('says its retryPrompt, when given, instead of why', async () => {
    const { say, texts } = promptBot((s) => Prompts.number(s, 'How many?', { min: 1, retryPrompt: 'At least one!' }));
    await say('hi');
    await say('0');
    expect(texts()[1]).toBe('At least one!');
  });

  it('rejects min above max with INVALID_ARGUMENT', async () => {
    const { say } = promptBot((s) => Prompts.number(s, 'How many?', { min: 5, max: 1 }));
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: 'Prompts.number expects `min` (5) to be at most `max` (1).',
    });
  });

  it('rejects a bound that is not a finite number with INVALID_ARGUMENT', async () => {
    const { say } = promptBot((s) => Prompts.number(s, 'How many?', { max: Number.POSITIVE_INFINITY }));
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('`max` to be a finite number'),
    });
  });
});

describe('Prompts.time', () => {
  it('returns the moment named, as an ISO string, in the timezone option', async () => {
    const { say, results } = promptBot((s) => Prompts.time(s, 'When?', { timezone: 'Europe/Berlin' }));
    await say('hi');
    await say('tomorrow at 5pm');
    expect(results).toEqual([
      {
        resumed: ResumeReason.completed,
        response: { iso: '2026-12-05T16:00:00.000Z', text: 'tomorrow at 5pm' },
        childId: 'palaver:prompt:time',
      },
    ]);
  });

  it('reads the answer in the message’s locale', async () => {
    const { say, results } = promptBot((s) => Prompts.time(s, 'Quand ?', { timezone: 'UTC' }));
    await say('salut', address(), fr);
    await say('demain à 9h', address(), fr);
    expect(results[0]?.response).toMatchObject({ iso: '2026-12-05T09:00:00.000Z' });
  });

  it('asks again, saying what it wants, for an answer without a time', async () => {
    const { say, texts, results } = promptBot((s) => Prompts.time(s, 'When?', { timezone: 'UTC' }));
    await say('hi');
    await say('whenever');
    expect([texts(), results]).toEqual([['When?', 'Please give a date or a time, like "tomorrow at 5pm". When?'], []]);
  });

  it('rejects a timezone that is not an IANA zone with INVALID_ARGUMENT', async () => {
    const { say } = promptBot((s) => Prompts.time(s, 'When?', { timezone: 'Moon/Base' }));
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('got "Moon/Base" (string)'),
    });
  });
});

describe('Prompts.attachment', () => {
  const png = { contentType: 'image/png', contentUrl: 'https://example.com/a.png' };
  const pdf = { contentType: 'application/pdf', contentUrl: 'https://example.com/a.pdf' };

  it('returns the attachments of the answer', async () => {
    const { say, results } = promptBot((s) => Prompts.attachment(s, 'Send a photo'));
    await say('hi');
    await say('', address(), { text: undefined, attachments: [png] });
    expect(results).toEqual([
      { resumed: ResumeReason.completed, response: [png], childId: 'palaver:prompt:attachment' },
    ]);
  });

  it('asks again, saying what it wants, for an answer without an attachment of the asked-for type', async () => {
    const { say, texts, results } = promptBot((s) =>
      Prompts.attachment(s, 'Send a photo', { contentTypes: ['image/*'] }),
    );
    await say('hi');
    await say('here', address(), { attachments: [pdf] });
    expect([texts(), results]).toEqual([['Send a photo', 'Please send a file. Send a photo'], []]);
  });

  it('rejects contentTypes that are not content types with INVALID_ARGUMENT', async () => {
    const { say } = promptBot((s) => Prompts.attachment(s, 'Send', { contentTypes: ['png'] }));
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('`contentTypes`'),
    });
  });
});

describe('texts in the user’s language', () => {
  it('says it did not understand in the message’s locale', async () => {
    const { say, texts } = promptBot((s) => Prompts.text(s, 'Votre nom ?'), { texts: FRENCH });
    await say('salut', address(), fr);
    await say('  ', address(), fr);
    expect(texts()).toEqual(['Votre nom ?', "Je n'ai pas compris. Votre nom ?"]);
  });

  it('takes a region’s text first, then its language’s, then the default', async () => {
    const { say, delivered } = promptBot((s) => Prompts.confirm(s, 'Sûr ?'), { texts: FRENCH });
    await say('salut', address(), { locale: 'fr-CA' });
    await say('peut-être', address(), { locale: 'fr-CA' });
    expect(delivered[1]?.messages[0]).toMatchObject({
      text: "J'ai pas compris. Sûr ?",
      suggestedActions: [{ title: 'Oui' }, { title: 'Non' }],
    });
  });

  it('speaks English to a locale it has no texts for', async () => {
    const { say, texts } = promptBot((s) => Prompts.text(s, 'Name?'), { texts: FRENCH });
    await say('hi', address(), { locale: 'de-DE' });
    await say(' ', address(), { locale: 'de-DE' });
    expect(texts()[1]).toBe("I didn't understand. Name?");
  });

  it('uses the manager’s locale option when messages carry none', async () => {
    const { say, texts } = promptBot((s) => Prompts.text(s, 'Nom ?'), { texts: FRENCH, locale: 'fr' });
    await say('salut');
    await say(' ');
    expect(texts()[1]).toBe("Je n'ai pas compris. Nom ?");
  });

  it('replaces a text for every locale under the default key', async () => {
    const { say, texts } = promptBot((s) => Prompts.text(s, 'Name?'), {
      texts: { default: { notUnderstood: 'Sorry?' } },
    });
    await say('hi', address(), { locale: 'en-US' });
    await say(' ', address(), { locale: 'en-US' });
    expect(texts()[1]).toBe('Sorry? Name?');
  });

  it('reads yes and no in the locale’s words', async () => {
    const { say, results } = promptBot((s) => Prompts.confirm(s, 'Sûr ?'), { texts: FRENCH });
    await say('salut', address(), fr);
    await say('Bien sûr !', address(), fr);
    expect(results.map((r) => r.response)).toEqual([true]);
  });

  it('joins an inline choice list with the locale’s or', async () => {
    const { say, texts } = promptBot(
      (s) => Prompts.choice(s, 'Taille ?', ['Petite', 'Moyenne', 'Grande'], { listStyle: 'inline' }),
      { texts: FRENCH },
    );
    await say('salut', address(), fr);
    expect(texts()).toEqual(['Taille ? (1. Petite, 2. Moyenne ou 3. Grande)']);
  });

  it('reads positions in the locale’s ordinal words', async () => {
    const { say, results } = promptBot((s) => Prompts.choice(s, 'Taille ?', ['Petite', 'Moyenne', 'Grande']), {
      texts: FRENCH,
    });
    await say('salut', address(), fr);
    await say('la deuxième', address(), fr);
    expect(results[0]?.response).toMatchObject({ entity: 'Moyenne' });
  });

  it('asks which choice was meant in the locale', async () => {
    const { say, texts } = promptBot(
      (s) => Prompts.choice(s, 'Quoi ?', ['Pizza végétarienne', 'Pizza royale'], { listStyle: 'none' }),
      { texts: FRENCH },
    );
    await say('salut', address(), fr);
    await say('pizza', address(), fr);
    expect(texts()[1]).toBe('Vouliez-vous dire Pizza végétarienne ou Pizza royale ?');
  });

  it('says why a number was refused in the locale', async () => {
    const { say, texts } = promptBot((s) => Prompts.number(s, 'Combien ?', { min: 1, max: 5, integerOnly: true }), {
      texts: FRENCH,
    });
    await say('salut', address(), fr);
    await say('9', address(), fr);
    expect(texts()[1]).toBe('Donnez un nombre entier de 1 à 5. Combien ?');
  });

  it('says the dialog error in the locale', async () => {
    const h = makeBot({ texts: FRENCH });
    h.bot.dialog('/', () => {
      throw new Error('boom');
    });
    await h.say('salut', address(), fr);
    expect(h.texts()).toEqual(['Oups, recommençons.']);
  });

  it('says the dialogErrorMessage option, when set, in every locale', async () => {
    const h = makeBot({ texts: FRENCH, dialogErrorMessage: 'Broken.' });
    h.bot.dialog('/', () => {
      throw new Error('boom');
    });
    await h.say('salut', address(), fr);
    expect(h.texts()).toEqual(['Broken.']);
  });

  it('rejects an unknown text key with INVALID_OPTIONS', () => {
    expect(() => new SessionManager({ deliver: () => {}, texts: { fr: { notUnderstod: 'x' } as never } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('rejects a template with a placeholder its key is not given, naming the key', () => {
    expect(
      () => new SessionManager({ deliver: () => {}, texts: { fr: { numberRange: 'De %(from)s à %(max)s.' } } }),
    ).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('`texts.fr.numberRange`') }),
    );
  });
});
