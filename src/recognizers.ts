// Recognizers: what the user means, found once per message turn. Recognizers that need no session run as soon as the
// message comes in, before its turn waits for the key's queue and lease (a slow NLU call holds no session); those that
// declare `needsSession` run inside the turn. Each is bounded by `recognizerTimeout`; a failure is reported and the turn
// goes on without that recognizer. With no recognizer registered nothing here runs.
import { describe, errorText, PalaverError } from './errors';
import { isThenable, type Awaitable, type IncomingMessage, type JsonObject } from './types';

/** An intent and how sure the recognizer is of it (0 to 1). */
export interface NlpIntent {
  name: string;
  score: number;
}

/** Something a recognizer found in the text: its `type` (`size`, `city`, `datetime`) and whatever else it knows. */
export interface NlpEntity {
  type: string;
  value?: unknown;
  [key: string]: unknown;
}

/** What one recognizer returns for a message (or nothing, when it recognizes nothing). */
export interface RecognizerResult {
  /** The intent it found; a result without one may still carry entities, a sentiment or a language. */
  intent?: string;
  /** How sure it is of `intent`, from 0 to 1. @default 1 */
  score?: number;
  /** Every intent it scored (the best one included). */
  intents?: readonly NlpIntent[];
  entities?: readonly NlpEntity[];
  /** `{ name: 'positive', score: 0.52 }`. */
  sentiment?: { name: string; score: number };
  /** The language of the text (`'fr'`): sets `session.info.preferredLanguage`. */
  language?: string;
}

/**
 * What was recognized in the turn's message (`session.info.nlp`), in Chatlayer's shape: the text, the best intent, every
 * intent scored (best first), the entities of every recognizer, and a sentiment.
 */
export interface Nlp {
  /** The text that was recognized. */
  readonly expression: string;
  /** The best-scoring intent; `undefined` when no recognizer found one. */
  readonly intent: NlpIntent | undefined;
  readonly intents: readonly NlpIntent[];
  readonly entities: readonly NlpEntity[];
  readonly sentiment: { name: string; score: number } | undefined;
  /** The language a recognizer detected, if any. */
  readonly language: string | undefined;
}

/**
 * A recognizer as a function. Its `session` is `undefined` unless it was added with `{ needsSession: true }` (then it
 * runs inside the turn and gets the session the message lands in).
 */
export type RecognizerFunction<S = unknown> = (
  message: IncomingMessage,
  session: S | undefined,
) => Awaitable<RecognizerResult | undefined | void>;

/** A recognizer as an object: `recognize`, and `needsSession` when it reads the session. */
export interface RecognizerObject<S = unknown> {
  recognize(message: IncomingMessage, session: S | undefined): Awaitable<RecognizerResult | undefined | void>;
  /** It reads the session: it runs inside the turn, under the session's lease, instead of before it. @default false */
  readonly needsSession?: boolean;
}

/** What `bot.recognizer()` takes. */
export type Recognizer<S = unknown> = RecognizerFunction<S> | RecognizerObject<S>;

/** Options of `bot.recognizer()`. */
export interface RecognizerOptions {
  /** It reads the session: it runs inside the turn (overrides the recognizer object's own `needsSession`). */
  needsSession?: boolean;
}

/** `matches: { intent, minScore }` of a trigger or an action: the turn's best intent is `intent`, scored at least `minScore`. */
export interface IntentMatcher {
  intent: string;
  /** @default 0 */
  minScore?: number;
}

/**
 * Recognizes one intent by a regular expression, per locale if you like (`{ en: /^hi\b/i, fr: /^salut\b/i }`; the
 * message's locale picks one: the exact tag, then its language, then `'*'`). Its score is the share of the text the
 * match covers (a match of the whole text scores 1), as botbuilder v3's; named groups become entities.
 * @example bot.recognizer(new RegExpRecognizer('Greeting', /^(hi|hello|hey)\b/i));
 */
export class RegExpRecognizer implements RecognizerObject {
  readonly intent: string;
  readonly #patterns: ReadonlyMap<string, RegExp>;

  /** @throws PalaverError `INVALID_ARGUMENT` for an empty intent or something that is not a RegExp (or a map of them). */
  constructor(intent: string, pattern: RegExp | Readonly<Record<string, RegExp>>) {
    if (typeof intent !== 'string' || intent.length === 0)
      throw new PalaverError('INVALID_ARGUMENT', `RegExpRecognizer: expected an intent name, got ${describe(intent)}.`);
    const patterns = new Map<string, RegExp>();
    if (pattern instanceof RegExp) patterns.set('*', pattern);
    else if (typeof pattern === 'object' && pattern !== null && !Array.isArray(pattern)) {
      for (const [locale, each] of Object.entries(pattern)) {
        if (!(each instanceof RegExp)) {
          throw new PalaverError(
            'INVALID_ARGUMENT',
            `RegExpRecognizer "${intent}": expected a RegExp for locale "${locale}", got ${describe(each)}.`,
          );
        }
        patterns.set(locale.toLowerCase(), each);
      }
    }
    if (patterns.size === 0) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `RegExpRecognizer "${intent}": expected a RegExp or { [locale]: RegExp }, got ${describe(pattern)}.`,
      );
    }
    this.intent = intent;
    this.#patterns = patterns;
  }

  recognize(message: IncomingMessage): RecognizerResult | undefined {
    const text = message.text?.trim();
    if (text === undefined || text.length === 0) return undefined;
    const pattern = this.#patternFor(message.locale);
    if (pattern === undefined) return undefined;
    pattern.lastIndex = 0; // a /g or /y RegExp remembers where it stopped
    const found = pattern.exec(text);
    if (found === null || found[0].length === 0) return undefined;
    const result: RecognizerResult = { intent: this.intent, score: Math.min(1, found[0].length / text.length) };
    if (found.groups !== undefined) {
      const entities: NlpEntity[] = [];
      for (const [type, value] of Object.entries(found.groups)) if (value !== undefined) entities.push({ type, value });
      if (entities.length > 0) result.entities = entities;
    }
    return result;
  }

  #patternFor(locale: string | undefined): RegExp | undefined {
    const patterns = this.#patterns;
    if (locale !== undefined) {
      const tag = locale.toLowerCase();
      const exact = patterns.get(tag) ?? patterns.get(tag.split(/[-_]/)[0]!);
      if (exact !== undefined) return exact;
    }
    return patterns.get('*');
  }
}

/** Reports a recognizer's failure (the engine's `error` event). */
export type ReportFailure = (error: PalaverError) => void;

interface Entry {
  readonly index: number;
  readonly name: string;
  readonly run: (message: IncomingMessage, session: unknown) => Awaitable<RecognizerResult | undefined | void>;
}

/** What the recognizers that run before the turn found: one slot per recognizer, in registration order. */
export interface EarlyRecognition {
  readonly results: (RecognizerResult | undefined)[];
  /** Series order: one of them scored at or above the stop score, so the rest do not run. */
  readonly stopped: boolean;
}

/** How the recognizers of a manager run: the `recognizerTimeout`, `recognizeOrder` and `recognizeStopScore` options. */
export interface RecognizeSettings {
  readonly recognizerTimeout: number;
  readonly recognizeOrder: 'parallel' | 'series';
  readonly recognizeStopScore: number;
}

/** The recognizers of one manager. */
export class Recognizers {
  /** True once any recognizer is registered. */
  active = false;
  readonly #early: Entry[] = [];
  readonly #inTurn: Entry[] = [];
  #count = 0;

  constructor(
    private readonly settings: RecognizeSettings,
    private readonly report: ReportFailure,
  ) {}

  /** `bot.recognizer(...)`. */
  add(recognizer: Recognizer<any>, options: RecognizerOptions = {}): void {
    if (typeof options !== 'object' || options === null) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `bot.recognizer(): expected options as an object, got ${describe(options)}.`,
      );
    }
    let run: Entry['run'];
    let name: string;
    let needsSession = options.needsSession;
    if (typeof recognizer === 'function') {
      run = recognizer;
      name = recognizer.name === '' ? `recognizer ${this.#count + 1}` : `recognizer "${recognizer.name}"`;
    } else if (typeof recognizer === 'object' && recognizer !== null && typeof recognizer.recognize === 'function') {
      run = (message, session) => recognizer.recognize(message, session);
      const intent = (recognizer as Partial<RegExpRecognizer>).intent;
      name = typeof intent === 'string' ? `recognizer "${intent}"` : `recognizer ${this.#count + 1}`;
      needsSession ??= recognizer.needsSession;
    } else {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `bot.recognizer(): expected a function (message, session) => result or an object with recognize(), got ${describe(recognizer)}.`,
      );
    }
    const entry: Entry = { index: this.#count++, name, run };
    (needsSession === true ? this.#inTurn : this.#early).push(entry);
    this.active = true;
  }

  /**
   * Runs the recognizers that need no session, as the message comes in: `undefined` when there are none (or the
   * message is an event); synchronous when they all answer synchronously.
   */
  begin(message: IncomingMessage): EarlyRecognition | Promise<EarlyRecognition> | undefined {
    if (this.#early.length === 0 || !recognizable(message)) return undefined;
    return this.#runAll(this.#early, message, undefined, {
      results: new Array(this.#count).fill(undefined),
      stopped: false,
    });
  }

  /** True when recognizers remain that run inside the turn (with the session). */
  needsSession(early: EarlyRecognition | undefined): boolean {
    return this.#inTurn.length > 0 && early?.stopped !== true;
  }

  /** Runs the recognizers that need the session (if any still should), then puts every result together. */
  finish(
    early: EarlyRecognition | undefined,
    message: IncomingMessage,
    session: unknown,
  ): Nlp | undefined | Promise<Nlp | undefined> {
    if (!recognizable(message)) return undefined;
    const so: EarlyRecognition = early ?? { results: new Array(this.#count).fill(undefined), stopped: false };
    if (!this.needsSession(so)) return compose(so.results, message);
    const running = this.#runAll(this.#inTurn, message, session, { results: so.results.slice(), stopped: false });
    return isThenable(running)
      ? running.then((all) => compose(all.results, message))
      : compose(running.results, message);
  }

  #runAll(
    entries: readonly Entry[],
    message: IncomingMessage,
    session: unknown,
    into: EarlyRecognition & { stopped: boolean },
  ): EarlyRecognition | Promise<EarlyRecognition> {
    if (this.settings.recognizeOrder === 'series') return this.#series(entries, 0, message, session, into);
    let waiting: Promise<void>[] | undefined;
    for (const entry of entries) {
      const answer = this.#one(entry, message, session);
      if (isThenable(answer)) (waiting ??= []).push(answer.then((result) => void (into.results[entry.index] = result)));
      else into.results[entry.index] = answer;
    }
    return waiting === undefined ? into : Promise.all(waiting).then(() => into);
  }

  #series(
    entries: readonly Entry[],
    from: number,
    message: IncomingMessage,
    session: unknown,
    into: EarlyRecognition & { stopped: boolean },
  ): EarlyRecognition | Promise<EarlyRecognition> {
    for (let i = from; i < entries.length; i++) {
      const entry = entries[i]!;
      const answer = this.#one(entry, message, session);
      if (isThenable(answer)) {
        return answer.then((result) => {
          if (this.#keep(into, entry, result)) return into;
          return this.#series(entries, i + 1, message, session, into);
        });
      }
      if (this.#keep(into, entry, answer)) return into;
    }
    return into;
  }

  /** Files a series result; true when it reaches the stop score. */
  #keep(into: EarlyRecognition & { stopped: boolean }, entry: Entry, result: RecognizerResult | undefined): boolean {
    into.results[entry.index] = result;
    if (result?.intent !== undefined && scoreOf(result) >= this.settings.recognizeStopScore) into.stopped = true;
    return into.stopped;
  }

  /** One recognizer: its checked result, or `undefined` after reporting a throw, a bad result or a timeout. */
  #one(
    entry: Entry,
    message: IncomingMessage,
    session: unknown,
  ): RecognizerResult | undefined | Promise<RecognizerResult | undefined> {
    let answer: Awaitable<RecognizerResult | undefined | void>;
    try {
      answer = entry.run(message, session);
    } catch (error) {
      this.#fail(entry, `threw: ${errorText(error)}`, error);
      return undefined;
    }
    if (!isThenable(answer)) return this.#checked(entry, answer);
    const ms = this.settings.recognizerTimeout;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#fail(entry, `did not answer within ${ms} ms (recognizerTimeout)`);
        resolve(undefined);
      }, ms);
      timer.unref?.();
      answer.then(
        (result) => {
          clearTimeout(timer);
          resolve(this.#checked(entry, result));
        },
        (error: unknown) => {
          clearTimeout(timer);
          this.#fail(entry, `failed: ${errorText(error)}`, error);
          resolve(undefined);
        },
      );
    });
  }

  #checked(entry: Entry, result: unknown): RecognizerResult | undefined {
    if (result === undefined || result === null) return undefined;
    const problem = problemOf(result);
    if (problem === undefined) return result as RecognizerResult;
    this.#fail(entry, `returned ${problem}`);
    return undefined;
  }

  #fail(entry: Entry, what: string, cause?: unknown): void {
    this.report(
      new PalaverError('RECOGNIZER_FAILED', `The ${entry.name} ${what}; the turn went on without it.`, { cause }),
    );
  }
}

/** Only messages (not events) are recognized. */
function recognizable(message: IncomingMessage): boolean {
  return (message.type ?? 'message') === 'message';
}

function scoreOf(result: RecognizerResult): number {
  return result.score ?? 1;
}

/** What is wrong with a recognizer's result, or `undefined`. */
function problemOf(result: unknown): string | undefined {
  if (typeof result !== 'object' || Array.isArray(result))
    return `${describe(result)}; expected { intent, score } or nothing`;
  const { intent, score, intents, entities, language } = result as JsonObject;
  if (intent !== undefined && (typeof intent !== 'string' || intent.length === 0))
    return `an intent of ${describe(intent)}; expected a non-empty string`;
  if (score !== undefined && !(typeof score === 'number' && score >= 0 && score <= 1))
    return `a score of ${describe(score)}; expected a number from 0 to 1`;
  if (intents !== undefined && !(Array.isArray(intents) && intents.every(isIntent)))
    return `intents that are not [{ name, score }] (${describe(intents)})`;
  if (entities !== undefined && !(Array.isArray(entities) && entities.every(isEntity)))
    return `entities that are not [{ type, ... }] (${describe(entities)})`;
  if (language !== undefined && typeof language !== 'string')
    return `a language of ${describe(language)}; expected a string`;
  return undefined;
}

function isIntent(value: unknown): value is NlpIntent {
  const intent = value as Partial<NlpIntent> | null;
  return (
    typeof intent === 'object' && intent !== null && typeof intent.name === 'string' && typeof intent.score === 'number'
  );
}

function isEntity(value: unknown): value is NlpEntity {
  return typeof value === 'object' && value !== null && typeof (value as NlpEntity).type === 'string';
}

/**
 * Puts the results together, in registration order: the best score wins (the earlier recognizer on a tie); every
 * intent scored, best first (each name once, at its best score); every entity; the winner's sentiment and language,
 * else the first given.
 */
export function compose(results: readonly (RecognizerResult | undefined)[], message: IncomingMessage): Nlp {
  let best: RecognizerResult | undefined;
  const scored = new Map<string, number>();
  const entities: NlpEntity[] = [];
  let sentiment: RecognizerResult['sentiment'];
  let language: string | undefined;
  for (const result of results) {
    if (result === undefined) continue;
    if (result.intent !== undefined && (best === undefined || scoreOf(result) > scoreOf(best))) best = result;
    const intents =
      result.intents ?? (result.intent === undefined ? [] : [{ name: result.intent, score: scoreOf(result) }]);
    for (const { name, score } of intents) if (!(score <= (scored.get(name) ?? -1))) scored.set(name, score);
    if (result.entities !== undefined) for (const entity of result.entities) entities.push(entity);
    sentiment ??= result.sentiment;
    language ??= result.language;
  }
  const intent = best === undefined ? undefined : { name: best.intent!, score: scoreOf(best) };
  if (intent !== undefined && !(intent.score <= (scored.get(intent.name) ?? -1))) scored.set(intent.name, intent.score);
  const intents = Array.from(scored, ([name, score]) => ({ name, score })).sort((a, b) => b.score - a.score);
  return {
    expression: message.text ?? '',
    intent,
    intents,
    entities,
    sentiment: best?.sentiment ?? sentiment,
    language: best?.language ?? language,
  };
}

/** True for `matches: { intent }`. */
export function isIntentMatcher(matcher: unknown): matcher is IntentMatcher {
  return typeof matcher === 'object' && matcher !== null && !(matcher instanceof RegExp) && 'intent' in matcher;
}

/** What is wrong with an intent matcher, or `undefined`. */
export function intentMatcherProblem(matcher: IntentMatcher): string | undefined {
  const { intent, minScore } = matcher;
  if (typeof intent !== 'string' || intent.length === 0)
    return `\`matches.intent\` must be an intent name, got ${describe(intent)}`;
  if (minScore !== undefined && !(typeof minScore === 'number' && minScore >= 0 && minScore <= 1))
    return `\`matches.minScore\` must be a number from 0 to 1, got ${describe(minScore)}`;
  return undefined;
}

/** True when the turn's best intent is the matcher's, scored at least its `minScore`. */
export function matchesIntent(matcher: IntentMatcher, nlp: Nlp | undefined): boolean {
  const intent = nlp?.intent;
  return intent !== undefined && intent.name === matcher.intent && intent.score >= (matcher.minScore ?? 0);
}

/** `continueIf: 'sameIntent'`: the message's best intent is the one the session's current task began with. */
export function sameIntent(session: {
  readonly info: { readonly nlp: Nlp | undefined; readonly taskIntent: string | undefined };
}): boolean {
  const info = session.info;
  const now = info.nlp?.intent?.name;
  return now !== undefined && now === info.taskIntent;
}

// session.info is built on every turn: the language of a locale is worked out once, not once per turn.
const languages = new Map<string, string>();

/** The language part of a locale: `'en'` for `'en-US'`. */
export function languageOf(locale: string | undefined): string | undefined {
  if (locale === undefined || locale.length === 0) return undefined;
  let language = languages.get(locale);
  if (language === undefined) {
    language = locale.split(/[-_]/)[0]!.toLowerCase();
    if (languages.size >= 1000) languages.clear(); // locales come from messages: keep the cache bounded
    languages.set(locale, language);
  }
  return language;
}
