// How prompts read answers: pure functions of the answer's text, the prompt's settings and the locale's texts.
import type * as Chrono from 'chrono-node';
import { PalaverError, describe } from '../errors';
import { formatText } from '../format';
import type { Texts } from '../texts';
import type { Attachment } from '../types';

/** A choice with other words that pick it: `{ value: 'Get support', synonyms: ['help', 'agent'] }`. */
export interface ChoiceItem {
  value: string;
  synonyms?: readonly string[];
}

/** What a choice prompt returns as `results.response`. */
export interface FoundChoice {
  /** The choice's value. */
  entity: string;
  /** Its position in the list (0-based). */
  index: number;
  /** How well the answer matched it, from 0 to 1 (1: exactly, or by its number or position). */
  score: number;
}

/** What a time prompt returns as `results.response` (ISO strings: state stays plain JSON). */
export interface TimeResult {
  /** The moment the answer names, as an ISO 8601 string in UTC (`2026-12-07T16:00:00.000Z`). */
  iso: string;
  /** The end of a range (`from 5 to 7pm`), as an ISO string. */
  end?: string;
  /** The words that were read as the time (`tomorrow at 5pm`). */
  text: string;
}

/** How a choice answer was read: one choice, several that fit equally well, or none. */
export type ChoiceRecognition =
  | { readonly kind: 'found'; readonly choice: FoundChoice }
  | { readonly kind: 'tie'; readonly indices: readonly number[] }
  | { readonly kind: 'none' };

/** The words of a text: lower case, accents and punctuation removed. */
export function words(text: string): string[] {
  return text
    .normalize('NFD')
    .replace(/\p{M}+/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter(Boolean);
}

// Short words ("a", "of", "to") say little about which choice was meant: they count a quarter of a longer word.
function weight(word: string): number {
  return word.length >= 3 ? 1 : 0.25;
}

// "pizzas" matches "pizza", "colours" matches "colour": a long enough word and a short extra ending.
function sameWord(a: string, b: string): boolean {
  if (a === b) return true;
  const [short, long] = a.length < b.length ? [a, b] : [b, a];
  return short.length >= 4 && long.length - short.length <= 2 && long.startsWith(short);
}

/**
 * How well `answer` (as words) names a choice given as `phrase` (as words), below 1 (an exact match is 1): the share
 * of the phrase's words the answer has (a little less when the answer says more), or, when the answer's own words are
 * all in the phrase ("billing" for "Ask about billing"), at least half, since one word of a choice means that choice.
 */
function phraseScore(phrase: readonly string[], answer: readonly string[]): number {
  if (phrase.length === 0) return 0;
  let phraseTotal = 0;
  let phraseMatched = 0;
  for (const word of phrase) {
    phraseTotal += weight(word);
    if (answer.some((w) => sameWord(w, word))) phraseMatched += weight(word);
  }
  let answerTotal = 0;
  let answerMatched = 0;
  for (const word of answer) {
    answerTotal += weight(word);
    if (phrase.some((w) => sameWord(w, word))) answerMatched += weight(word);
  }
  // Only short words in common ("a", "to"): not a match.
  if (answerMatched < 1) return 0;
  const precision = answerMatched / answerTotal;
  return Math.min(0.99, Math.max((phraseMatched / phraseTotal) * (0.9 + 0.1 * precision), precision * 0.5));
}

/** The default `minScore` of a choice prompt. */
export const DEFAULT_MIN_SCORE = 0.3;

/**
 * Reads a choice answer: an exact value or synonym, a position ("2", "#2", "the 2nd", "the second", "the last"), or the
 * words of a value or synonym (case and accents ignored; see {@link DEFAULT_MIN_SCORE}). Choices that score the same
 * best score are a tie.
 */
export function recognizeChoice(
  choices: readonly ChoiceItem[],
  answer: string,
  texts: Pick<Texts, 'ordinals' | 'lastWords'>,
  minScore: number = DEFAULT_MIN_SCORE,
): ChoiceRecognition {
  const said = words(answer);
  if (said.length === 0) return { kind: 'none' };
  const phrases = choices.map((choice) => [choice.value, ...(choice.synonyms ?? [])].map(words));
  const found = (index: number, score: number): ChoiceRecognition => ({
    kind: 'found',
    choice: { entity: choices[index]!.value, index, score },
  });

  const whole = said.join(' ');
  const exact = phrases.findIndex((list) => list.some((phrase) => phrase.join(' ') === whole));
  if (exact >= 0) return found(exact, 1);

  // A position, unless a choice has that very word (then "2 pizzas" is read by its words).
  const inAChoice = (word: string): boolean => phrases.some((list) => list.some((phrase) => phrase.includes(word)));
  const position = positionOf(said, choices.length, texts, inAChoice);
  if (position !== undefined) return found(position, 1);

  let best = 0;
  let indices: number[] = [];
  phrases.forEach((list, index) => {
    const score = Math.max(...list.map((phrase) => phraseScore(phrase, said)));
    if (score > best + 1e-9) {
      best = score;
      indices = [index];
    } else if (score > 0 && Math.abs(score - best) <= 1e-9) indices.push(index);
  });
  if (indices.length === 0 || best < minScore) return { kind: 'none' };
  if (indices.length > 1) return { kind: 'tie', indices };
  return found(indices[0]!, Math.round(best * 1000) / 1000);
}

function positionOf(
  said: readonly string[],
  count: number,
  texts: Pick<Texts, 'ordinals' | 'lastWords'>,
  inAChoice: (word: string) => boolean,
): number | undefined {
  const ordinals = texts.ordinals.map((w) => words(w).join(' '));
  const last = new Set(texts.lastWords.map((w) => words(w).join(' ')));
  const positions = new Set<number>();
  for (const word of said) {
    if (inAChoice(word)) continue;
    const numeric = /^(\d+)(?:st|nd|rd|th|e|er|re|eme|ème|º|ª)?$/.exec(word);
    if (numeric) positions.add(Number(numeric[1]) - 1);
    const ordinal = ordinals.indexOf(word);
    if (ordinal >= 0) positions.add(ordinal);
    if (last.has(word)) positions.add(count - 1);
  }
  // "2 or 3" names no single choice.
  if (positions.size !== 1) return undefined;
  const [index] = positions;
  return index! >= 0 && index! < count ? index : undefined;
}

/** Reads a yes/no answer: the whole answer or its first word among the locale's yes or no words (or its buttons). */
export function recognizeConfirm(
  answer: string,
  texts: Pick<Texts, 'yes' | 'no' | 'yesWords' | 'noWords'>,
): boolean | undefined {
  const said = words(answer);
  if (said.length === 0) return undefined;
  const whole = said.join(' ');
  const yes = new Set([texts.yes, ...texts.yesWords].map((w) => words(w).join(' ')));
  const no = new Set([texts.no, ...texts.noWords].map((w) => words(w).join(' ')));
  for (const candidate of [whole, said[0]!]) {
    if (yes.has(candidate)) return true;
    if (no.has(candidate)) return false;
  }
  return undefined;
}

/** The bounds of a number prompt. */
export interface NumberBounds {
  min?: number | undefined;
  max?: number | undefined;
  integerOnly?: boolean | undefined;
}

/** Reads the first number in an answer (`'1,5'` is 1.5); `undefined` when there is none or it breaks a bound. */
export function recognizeNumber(answer: string, bounds: NumberBounds): number | undefined {
  const match = /-?\d+(?:[.,]\d+)?/.exec(answer);
  if (!match) return undefined;
  const value = Number(match[0].replace(',', '.'));
  if (!Number.isFinite(value)) return undefined;
  if (bounds.integerOnly === true && !Number.isInteger(value)) return undefined;
  if (bounds.min !== undefined && value < bounds.min) return undefined;
  if (bounds.max !== undefined && value > bounds.max) return undefined;
  return value;
}

/** Why a number prompt asks again, in the locale's words: what kind of number, between which bounds. */
export function numberRetryText(bounds: NumberBounds, texts: Texts): string {
  const whole = bounds.integerOnly === true;
  const { min, max } = bounds;
  if (min !== undefined && max !== undefined)
    return fill(whole ? texts.numberWholeRange : texts.numberRange, { min, max });
  if (min !== undefined) return fill(whole ? texts.numberWholeMin : texts.numberMin, { min });
  if (max !== undefined) return fill(whole ? texts.numberWholeMax : texts.numberMax, { max });
  return whole ? texts.numberWhole : texts.numberInvalid;
}

function fill(template: string, values: Record<string, string | number>): string {
  return formatText(template, [values]);
}

/** Joins items as the locale does: `A`, `A or B`, `A, B or C`. */
export function joinOr(items: readonly string[], or: string): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} ${or} ${items[items.length - 1]}`;
}

/** `Did you mean A or B?` for the tied choices. */
export function ambiguousText(choices: readonly string[], texts: Pick<Texts, 'choiceAmbiguous' | 'or'>): string {
  return fill(texts.choiceAmbiguous, { choices: joinOr(choices, texts.or) });
}

/** Options of a time answer's reading. */
export interface TimeSettings {
  /** An IANA time zone (`'Europe/Paris'`): where "5pm" is. @default the process's time zone */
  timezone?: string | undefined;
  /** Read a weekday or a date without a year as the next one to come, never one just past. @default false */
  forwardDate?: boolean | undefined;
}

/** @throws PalaverError `INVALID_ARGUMENT` when `timezone` is not a time zone this Node.js knows. */
export function checkTimezone(timezone: unknown): void {
  if (timezone === undefined) return;
  try {
    if (typeof timezone !== 'string') throw new TypeError('not a string');
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
  } catch (error) {
    throw new PalaverError(
      'INVALID_ARGUMENT',
      `Expected \`timezone\` to be an IANA time zone such as 'Europe/Paris', got ${describe(timezone)}.`,
      {
        cause: error,
      },
    );
  }
}

/**
 * Reads a date or time ("tomorrow at 5pm", "next friday", "in 2 hours", "12/24 10:30") in the locale's language
 * (English, French, German, Spanish, Italian, Dutch, Portuguese, Japanese, Chinese, Russian, Swedish, Ukrainian, ...;
 * others are read as English), relative to now.
 */
export function recognizeTime(
  chrono: ChronoModule,
  answer: string,
  locale: string | undefined,
  settings: TimeSettings,
): TimeResult | undefined {
  const parser = parserFor(chrono, locale);
  const now = new Date(Date.now());
  const read = (offset: number | undefined) =>
    parser.parse(answer, offset === undefined ? now : { instant: now, timezone: offset }, {
      forwardDate: settings.forwardDate === true,
    })[0];
  const zone = settings.timezone;
  let found = read(zone === undefined ? undefined : offsetMinutes(zone, now));
  if (found === undefined) return undefined;
  if (zone !== undefined) {
    // Across a daylight saving change "tomorrow 9am" is in the offset of that day, not today's.
    const offset = offsetMinutes(zone, found.start.date());
    if (offset !== offsetMinutes(zone, now)) found = read(offset) ?? found;
  }
  const result: TimeResult = { iso: found.start.date().toISOString(), text: found.text };
  if (found.end) result.end = found.end.date().toISOString();
  return result;
}

/** chrono-node, the date parser behind time prompts. */
export type ChronoModule = typeof Chrono;
type Parser = Pick<Chrono.Chrono, 'parse'>;

let chronoModule: Promise<ChronoModule> | undefined;

/** Loads chrono-node on the first time prompt's answer: it takes a few hundred ms to load, which bots without time prompts should not pay. */
export function loadChrono(): Promise<ChronoModule> {
  chronoModule ??= import('chrono-node');
  return chronoModule;
}

const LANGUAGES = ['en', 'de', 'fr', 'es', 'it', 'nl', 'pt', 'ja', 'zh', 'ru', 'sv', 'uk'] as const;

// English outside the US writes the day first: 05/12 is the fifth of December.
const DAY_FIRST_ENGLISH = new Set(['gb', 'au', 'nz', 'ie', 'in', 'za']);

function parserFor(chrono: ChronoModule, locale: string | undefined): Parser {
  const [language = 'en', region] = (locale ?? 'en').toLowerCase().split(/[-_]/);
  if (language === 'en' && region !== undefined && DAY_FIRST_ENGLISH.has(region)) return chrono.en.GB;
  const known = LANGUAGES.find((l) => l === language);
  return known === undefined ? chrono.en.casual : chrono[known].casual;
}

/** The offset of `timeZone` from UTC at `at`, in minutes (east positive). */
function offsetMinutes(timeZone: string, at: Date): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(at);
  const part = (type: Intl.DateTimeFormatPartTypes): number => Number(parts.find((p) => p.type === type)?.value);
  const local = Date.UTC(part('year'), part('month') - 1, part('day'), part('hour'), part('minute'), part('second'));
  return Math.round((local - Math.floor(at.getTime() / 1000) * 1000) / 60_000);
}

/** Keeps the attachments whose content type is one of `contentTypes` (`'image/*'` for any image; none given: all). */
export function recognizeAttachments(
  attachments: readonly Attachment[] | undefined,
  contentTypes: readonly string[] | undefined,
): Attachment[] | undefined {
  const kept = (attachments ?? []).filter(
    (a) => contentTypes === undefined || contentTypes.some((type) => typeMatches(type, a.contentType)),
  );
  return kept.length > 0 ? kept : undefined;
}

function typeMatches(pattern: string, contentType: string | undefined): boolean {
  if (contentType === undefined) return false;
  const want = pattern.toLowerCase();
  const have = contentType.toLowerCase().split(';')[0]!.trim();
  return want.endsWith('/*') ? have.startsWith(want.slice(0, -1)) : have === want;
}

/** A choice given as `{ value, synonyms? }`. */
export function isChoiceItem(value: unknown): value is ChoiceItem {
  if (typeof value !== 'object' || value === null) return false;
  const { value: v, synonyms } = value as Record<string, unknown>;
  return (
    typeof v === 'string' &&
    (synonyms === undefined || (Array.isArray(synonyms) && synonyms.every((s) => typeof s === 'string')))
  );
}
