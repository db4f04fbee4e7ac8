// RegExpRecognizer and how the results of several recognizers are put together (no manager involved).
import { describe, expect, it } from 'vitest';
import { decodeState, RegExpRecognizer, type IncomingMessage, type StoredSessionState } from '../src';
import { encodeState } from '../src/codec';
import { compose, languageOf, matchesIntent } from '../src/recognizers';
import { address } from './support/fixtures';
import { thrown } from './support/bot';

const say = (text: string, locale?: string): IncomingMessage =>
  locale === undefined ? { address: address(), text } : { address: address(), text, locale };

describe('RegExpRecognizer', () => {
  it('recognizes its intent with score 1 when the match covers the whole text', () => {
    expect(new RegExpRecognizer('Greeting', /^(hi|hello|hey)\b/i).recognize(say('Hello'))).toEqual({
      intent: 'Greeting',
      score: 1,
    });
  });

  it('scores a partial match by the share of the text it covers', () => {
    expect(new RegExpRecognizer('Pizza', /pizza/i).recognize(say('one pizza please'))?.score).toBeCloseTo(5 / 16);
  });

  it('recognizes nothing when the pattern does not match', () => {
    expect(new RegExpRecognizer('Greeting', /^hi\b/i).recognize(say('bye'))).toBeUndefined();
  });

  it('recognizes nothing in a message without text', () => {
    expect(new RegExpRecognizer('Greeting', /.*/).recognize({ address: address() })).toBeUndefined();
  });

  it('turns named groups into entities', () => {
    expect(
      new RegExpRecognizer('Order', /(?<size>small|large) (?<dish>pizza|pasta)/).recognize(say('a large pizza'))
        ?.entities,
    ).toEqual([
      { type: 'size', value: 'large' },
      { type: 'dish', value: 'pizza' },
    ]);
  });

  it('starts afresh with a global RegExp, whatever it matched before', () => {
    const recognizer = new RegExpRecognizer('Hi', /hi/g);
    recognizer.recognize(say('hi'));
    expect(recognizer.recognize(say('hi'))?.intent).toBe('Hi');
  });

  it('picks the pattern of the message locale, then of its language, then the "*" one', () => {
    const recognizer = new RegExpRecognizer('Greeting', { 'fr-ca': /^allo\b/i, fr: /^salut\b/i, '*': /^hi\b/i });
    expect([
      recognizer.recognize(say('allo', 'fr-CA'))?.intent,
      recognizer.recognize(say('salut', 'fr-FR'))?.intent,
      recognizer.recognize(say('salut', 'fr-CA')),
      recognizer.recognize(say('hi', 'de'))?.intent,
      recognizer.recognize(say('hi'))?.intent,
    ]).toEqual(['Greeting', 'Greeting', undefined, 'Greeting', 'Greeting']);
  });

  it('recognizes nothing for a locale it has no pattern for and no "*" one', () => {
    expect(new RegExpRecognizer('Greeting', { fr: /^salut\b/i }).recognize(say('salut', 'de'))).toBeUndefined();
  });

  it('refuses an empty intent name with INVALID_ARGUMENT', () => {
    expect(thrown(() => new RegExpRecognizer('', /x/))).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses a pattern that is not a RegExp with INVALID_ARGUMENT naming the locale', () => {
    expect(thrown(() => new RegExpRecognizer('X', { en: 'hi' as unknown as RegExp }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('locale "en"'),
    });
  });
});

describe('putting results together', () => {
  it('takes the best score as the intent, and the earlier recognizer on a tie', () => {
    const nlp = compose(
      [
        { intent: 'A', score: 0.5 },
        { intent: 'B', score: 0.8 },
        { intent: 'C', score: 0.8 },
      ],
      say('x'),
    );
    expect(nlp.intent).toEqual({ name: 'B', score: 0.8 });
  });

  it('lists every intent scored once, at its best score, best first', () => {
    const nlp = compose(
      [
        {
          intent: 'A',
          score: 0.5,
          intents: [
            { name: 'A', score: 0.5 },
            { name: 'B', score: 0.3 },
          ],
        },
        { intent: 'B', score: 0.7 },
        undefined,
      ],
      say('x'),
    );
    expect(nlp.intents).toEqual([
      { name: 'B', score: 0.7 },
      { name: 'A', score: 0.5 },
    ]);
  });

  it('keeps the entities of every recognizer, those without an intent too', () => {
    const nlp = compose(
      [{ intent: 'Order', score: 0.9, entities: [{ type: 'size', value: 'large' }] }, { entities: [{ type: 'city' }] }],
      say('x'),
    );
    expect([nlp.intent?.name, nlp.entities]).toEqual(['Order', [{ type: 'size', value: 'large' }, { type: 'city' }]]);
  });

  it("takes the winner's sentiment and language, else the first given", () => {
    const nlp = compose(
      [
        { sentiment: { name: 'negative', score: 0.9 }, language: 'de' },
        { intent: 'A', score: 0.4, language: 'fr' },
      ],
      say('x'),
    );
    expect([nlp.sentiment, nlp.language]).toEqual([{ name: 'negative', score: 0.9 }, 'fr']);
  });

  it('counts an intent without a score as scored 1', () => {
    expect(compose([{ intent: 'A', score: 0.99 }, { intent: 'B' }], say('x')).intent).toEqual({ name: 'B', score: 1 });
  });

  it('has no intent, and the text as the expression, when nothing was recognized', () => {
    expect(compose([undefined], say('hmm'))).toEqual({
      expression: 'hmm',
      intent: undefined,
      intents: [],
      entities: [],
      sentiment: undefined,
      language: undefined,
    });
  });
});

describe('intent matchers', () => {
  const nlp = compose([{ intent: 'OrderPizza', score: 0.5 }], say('x'));

  it('match the best intent by name, at any score without minScore', () => {
    expect([matchesIntent({ intent: 'OrderPizza' }, nlp), matchesIntent({ intent: 'Greeting' }, nlp)]).toEqual([
      true,
      false,
    ]);
  });

  it('match only at minScore or above', () => {
    expect([
      matchesIntent({ intent: 'OrderPizza', minScore: 0.5 }, nlp),
      matchesIntent({ intent: 'OrderPizza', minScore: 0.6 }, nlp),
    ]).toEqual([true, false]);
  });

  it('match nothing when nothing was recognized', () => {
    expect(matchesIntent({ intent: 'OrderPizza' }, undefined)).toBe(false);
  });
});

describe('languageOf', () => {
  it('is the language part of a locale, in lower case', () => {
    expect([languageOf('en-US'), languageOf('pt_BR'), languageOf('fr'), languageOf(undefined)]).toEqual([
      'en',
      'pt',
      'fr',
      undefined,
    ]);
  });
});

describe('the stored marks of recognition', () => {
  const state = (extra: Partial<StoredSessionState>): StoredSessionState => ({
    v: 1,
    id: 's1',
    startedAt: 1000,
    lastActiveAt: 2000,
    turnCount: 1,
    interactive: true,
    developer: false,
    address: address(),
    entities: {},
    stack: [{ id: '/order', data: {} }],
    privateConversationData: {},
    ...extra,
  });

  it('round-trip: the task intent and the detected language are read back as written', () => {
    const written = state({ taskIntent: 'OrderPizza', preferredLanguage: 'fr' });
    expect(decodeState(encodeState(written))).toEqual(written);
  });

  it('are refused when stored as something other than text', () => {
    const text = encodeState(state({ taskIntent: 'OrderPizza' })).replace('"OrderPizza"', '7');
    expect(thrown(() => decodeState(text))).toMatchObject({
      code: 'CORRUPT_STATE',
      message: expect.stringContaining('rest.taskIntent'),
    });
  });
});
