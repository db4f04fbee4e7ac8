import { describe, expect, it } from 'vitest';
import {
  ambiguousText,
  checkTimezone,
  joinOr,
  loadChrono,
  numberRetryText,
  recognizeAttachments,
  recognizeChoice,
  recognizeConfirm,
  recognizeNumber,
  recognizeTime,
  words,
  type ChoiceItem,
} from '../../src/dialogs/recognize';
import { DEFAULT_TEXTS } from '../../src/texts';

const MENU: ChoiceItem[] = [{ value: 'Order a pizza' }, { value: 'Get support' }];

function pick(choices: readonly (string | ChoiceItem)[], answer: string, minScore?: number) {
  const items = choices.map((c) => (typeof c === 'string' ? { value: c } : c));
  return recognizeChoice(items, answer, DEFAULT_TEXTS, minScore);
}

function entity(choices: readonly (string | ChoiceItem)[], answer: string): string | undefined {
  const found = pick(choices, answer);
  return found.kind === 'found' ? found.choice.entity : undefined;
}

describe('words', () => {
  it('lowers case, drops accents and splits on anything but letters and digits', () => {
    expect(words('  Crème BRÛLÉE, s’il-vous-plaît!')).toEqual(['creme', 'brulee', 's', 'il', 'vous', 'plait']);
  });
});

describe('recognizeChoice', () => {
  it.each(['pizza', 'order', 'order pizza', 'Order a pizza please'])('reads "%s" as the pizza choice', (answer) => {
    expect(entity(MENU, answer)).toBe('Order a pizza');
  });

  it('reads "get" as the support choice', () => {
    expect(entity(MENU, 'get')).toBe('Get support');
  });

  it('scores an exact answer 1, ignoring case and accents', () => {
    expect(pick(['Crème brûlée', 'Tiramisu'], 'CREME BRULEE')).toEqual({
      kind: 'found',
      choice: { entity: 'Crème brûlée', index: 0, score: 1 },
    });
  });

  it('scores a partial answer below 1', () => {
    const found = pick(MENU, 'pizza');
    expect(found.kind === 'found' ? found.choice.score : 'none').toBeLessThan(1);
  });

  it('reads a plural as the singular choice', () => {
    expect(entity(['Pizza', 'Salad'], 'two pizzas')).toBe('Pizza');
  });

  it('picks a choice by one of its synonyms', () => {
    expect(
      entity(
        [{ value: 'Get support', synonyms: ['help', 'talk to a human'] }, { value: 'Order a pizza' }],
        'I need HELP',
      ),
    ).toBe('Get support');
  });

  it('picks a choice by a synonym said exactly, with a score of 1', () => {
    expect(pick([{ value: 'Get support', synonyms: ['agent'] }, 'Order'], 'agent')).toMatchObject({
      choice: { index: 0, score: 1 },
    });
  });

  it.each([
    ['2', 1],
    ['#2', 1],
    ['number 2', 1],
    ['the 2nd', 1],
    ['the second', 1],
    ['Second one please', 1],
    ['first', 0],
    ['the last', 2],
  ])('reads "%s" as choice %i', (answer, index) => {
    expect(pick(['Small', 'Medium', 'Large'], answer)).toMatchObject({ kind: 'found', choice: { index, score: 1 } });
  });

  it('reads a number that is part of a choice by the choice’s words, not as a position', () => {
    expect(entity(['1 pizza', '2 pizzas', '3 pizzas'], '2 pizzas please')).toBe('2 pizzas');
  });

  it('reads an ordinal that is part of a choice by the choice’s words', () => {
    expect(entity(['Second breakfast', 'Lunch'], 'second breakfast')).toBe('Second breakfast');
  });

  it('finds nothing for two positions at once', () => {
    expect(pick(['Small', 'Medium', 'Large'], '2 or 3')).toEqual({ kind: 'none' });
  });

  it('finds nothing for a position past the last choice', () => {
    expect(pick(['Small', 'Medium'], 'the third')).toEqual({ kind: 'none' });
  });

  it('reports a tie between choices that fit equally well, with their indices', () => {
    expect(pick(['Order a pizza', 'Order a salad', 'Get support'], 'order')).toEqual({ kind: 'tie', indices: [0, 1] });
  });

  it('does not match on short words alone', () => {
    expect(pick(MENU, 'a')).toEqual({ kind: 'none' });
  });

  it('finds nothing for unrelated words', () => {
    expect(pick(MENU, 'banana')).toEqual({ kind: 'none' });
  });

  it('finds nothing for an empty answer or one of punctuation only', () => {
    expect([pick(MENU, ''), pick(MENU, '?!')]).toEqual([{ kind: 'none' }, { kind: 'none' }]);
  });

  it('refuses a match under minScore that it takes at the default', () => {
    expect([entity(MENU, 'pizza'), pick(MENU, 'pizza', 0.9)]).toEqual(['Order a pizza', { kind: 'none' }]);
  });

  it('reads ordinals in the words it is given', () => {
    const french = { ordinals: ['premier', 'deuxième', 'troisième'], lastWords: ['dernier'] };
    expect([
      recognizeChoice([{ value: 'A' }, { value: 'B' }, { value: 'C' }], 'le deuxieme', french),
      recognizeChoice([{ value: 'A' }, { value: 'B' }], 'le dernier', french),
    ]).toEqual([
      { kind: 'found', choice: { entity: 'B', index: 1, score: 1 } },
      { kind: 'found', choice: { entity: 'B', index: 1, score: 1 } },
    ]);
  });
});

describe('recognizeConfirm', () => {
  it.each([
    ['yes', true],
    ['Yes please', true],
    ['of course', true],
    ['OK!', true],
    ['no thanks', false],
    ['Nope.', false],
    ['not really', false],
  ])('reads "%s" as %s', (answer, expected) => {
    expect(recognizeConfirm(answer, DEFAULT_TEXTS)).toBe(expected);
  });

  it('reads neither from an answer that is not a yes or no word', () => {
    expect([recognizeConfirm('maybe', DEFAULT_TEXTS), recognizeConfirm('', DEFAULT_TEXTS)]).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('reads the locale’s words and buttons, accents ignored', () => {
    const french = {
      ...DEFAULT_TEXTS,
      yes: 'Oui',
      no: 'Non',
      yesWords: ['oui', 'bien sûr', "d'accord"],
      noWords: ['non', 'pas du tout'],
    };
    expect(['oui', 'Bien sur', "d'accord", 'Non merci', 'pas du tout'].map((a) => recognizeConfirm(a, french))).toEqual(
      [true, true, true, false, false],
    );
  });
});

describe('recognizeNumber', () => {
  it('takes a number inside the bounds, the bounds included', () => {
    expect([recognizeNumber('1', { min: 1, max: 10 }), recognizeNumber('10', { min: 1, max: 10 })]).toEqual([1, 10]);
  });

  it('refuses a number outside the bounds', () => {
    expect([recognizeNumber('0', { min: 1 }), recognizeNumber('11', { max: 10 })]).toEqual([undefined, undefined]);
  });

  it('refuses a fraction when integerOnly', () => {
    expect(recognizeNumber('2,5', { integerOnly: true })).toBeUndefined();
  });
});

describe('numberRetryText', () => {
  it.each([
    [{ min: 1, max: 10, integerOnly: true }, 'Please give a whole number from 1 to 10.'],
    [{ min: 1, max: 10 }, 'Please give a number from 1 to 10.'],
    [{ min: 0.5 }, 'Please give a number of at least 0.5.'],
    [{ min: 2, integerOnly: true }, 'Please give a whole number of at least 2.'],
    [{ max: 99 }, 'Please give a number of at most 99.'],
    [{ max: 99, integerOnly: true }, 'Please give a whole number of at most 99.'],
    [{ integerOnly: true }, 'Please give a whole number.'],
    [{}, 'Please give a number.'],
  ])('says why for %j', (bounds, text) => {
    expect(numberRetryText(bounds, DEFAULT_TEXTS)).toBe(text);
  });
});

describe('joinOr and ambiguousText', () => {
  it('joins none, one, two and three items', () => {
    expect([joinOr([], 'or'), joinOr(['A'], 'or'), joinOr(['A', 'B'], 'or'), joinOr(['A', 'B', 'C'], 'ou')]).toEqual([
      '',
      'A',
      'A or B',
      'A, B ou C',
    ]);
  });

  it('asks which of the tied choices was meant', () => {
    expect(ambiguousText(['Order a pizza', 'Order a salad'], DEFAULT_TEXTS)).toBe(
      'Did you mean Order a pizza or Order a salad?',
    );
  });
});

describe('recognizeTime', () => {
  // Friday 2026-12-04 10:00 UTC.
  const NOW = Date.UTC(2026, 11, 4, 10, 0, 0);

  async function at(
    answer: string,
    locale: string | undefined,
    settings: Parameters<typeof recognizeTime>[3],
    now = NOW,
  ) {
    const chrono = await loadChrono();
    const realNow = Date.now;
    Date.now = () => now;
    try {
      return recognizeTime(chrono, answer, locale, settings);
    } finally {
      Date.now = realNow;
    }
  }

  it('reads "tomorrow at 5pm" in the given time zone', async () => {
    expect(await at('tomorrow at 5pm', 'en-US', { timezone: 'America/New_York' })).toEqual({
      iso: '2026-12-05T22:00:00.000Z',
      text: 'tomorrow at 5pm',
    });
  });

  it('reads a time range with its end', async () => {
    expect(await at('tomorrow from 5 to 7pm', 'en', { timezone: 'UTC' })).toMatchObject({
      iso: '2026-12-05T17:00:00.000Z',
      end: '2026-12-05T19:00:00.000Z',
    });
  });

  it('reads French in a French locale', async () => {
    expect(await at('demain à 17h', 'fr-FR', { timezone: 'Europe/Paris' })).toMatchObject({
      iso: '2026-12-05T16:00:00.000Z',
    });
  });

  it('reads the day first in British English and the month first in American English', async () => {
    const gb = await at('05/01/2027 10:00', 'en-GB', { timezone: 'UTC' });
    const us = await at('05/01/2027 10:00', 'en-US', { timezone: 'UTC' });
    expect([gb?.iso, us?.iso]).toEqual(['2027-01-05T10:00:00.000Z', '2027-05-01T10:00:00.000Z']);
  });

  it('uses the offset of the day it names across a daylight saving change', async () => {
    // 2027-03-28 is the day Paris moves from UTC+1 to UTC+2.
    expect(
      await at('March 29 2027 at 9am', 'en', { timezone: 'Europe/Paris' }, Date.UTC(2027, 2, 27, 12)),
    ).toMatchObject({ iso: '2027-03-29T07:00:00.000Z' });
  });

  it('reads a weekday as the next one when forwardDate is on', async () => {
    // A Friday: "wednesday" is two days ago, or five days ahead.
    const back = await at('wednesday at noon', 'en', { timezone: 'UTC' });
    const ahead = await at('wednesday at noon', 'en', { timezone: 'UTC', forwardDate: true });
    expect([back?.iso, ahead?.iso]).toEqual(['2026-12-02T12:00:00.000Z', '2026-12-09T12:00:00.000Z']);
  });

  it('reads nothing from an answer without a date or time', async () => {
    expect(await at('whenever', 'en', { timezone: 'UTC' })).toBeUndefined();
  });

  it('reads a language it does not know as English', async () => {
    expect(await at('tomorrow at 5pm', 'tlh', { timezone: 'UTC' })).toMatchObject({ iso: '2026-12-05T17:00:00.000Z' });
  });
});

describe('checkTimezone', () => {
  it('accepts an IANA time zone and no time zone', () => {
    expect(() => [checkTimezone('Europe/Paris'), checkTimezone(undefined)]).not.toThrow();
  });

  it.each(['Mars/Olympus', 60, ''])('rejects %j with INVALID_ARGUMENT naming the option', (zone) => {
    expect(() => checkTimezone(zone)).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('`timezone`') }),
    );
  });
});

describe('recognizeAttachments', () => {
  const png = { contentType: 'image/png', contentUrl: 'https://example.com/a.png' };
  const pdf = { contentType: 'application/pdf; charset=binary', contentUrl: 'https://example.com/a.pdf' };

  it('keeps every attachment when no content type is asked for', () => {
    expect(recognizeAttachments([png, pdf], undefined)).toEqual([png, pdf]);
  });

  it('keeps only the asked-for types, with wildcards and parameters', () => {
    expect([
      recognizeAttachments([png, pdf], ['image/*']),
      recognizeAttachments([png, pdf], ['application/pdf']),
    ]).toEqual([[png], [pdf]]);
  });

  it('finds nothing without attachments or without one of the asked-for types', () => {
    expect([recognizeAttachments(undefined, undefined), recognizeAttachments([pdf], ['image/*'])]).toEqual([
      undefined,
      undefined,
    ]);
  });
});
