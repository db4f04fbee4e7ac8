import { z } from 'zod';
import { PalaverError } from './errors';
import { formatText } from './format';

/**
 * Every text palaver says by itself, by key. Replace any of them per locale with the manager's `texts` option.
 * Templates use the `send` syntax; the placeholders each key is given are named in its doc.
 */
export interface Texts {
  /** Put before the question when a prompt did not understand the answer (and has no `retryPrompt`). */
  notUnderstood: string;
  /** The confirm prompt's yes button; also read as yes. */
  yes: string;
  /** The confirm prompt's no button; also read as no. */
  no: string;
  /** Answers a confirm prompt reads as yes (case, accents and punctuation ignored; the first word is enough). */
  yesWords: readonly string[];
  /** Answers a confirm prompt reads as no. */
  noWords: readonly string[];
  /** Joins the last two items of a list: `1. North, 2. South or 3. East`. */
  or: string;
  /** Ordinal words a choice prompt reads as a position: the first is choice 1, the second choice 2, and so on. */
  ordinals: readonly string[];
  /** Words a choice prompt reads as the last choice. */
  lastWords: readonly string[];
  /** Asked when an answer fits several choices equally well. `%(choices)s`: those choices, joined with `or`. */
  choiceAmbiguous: string;
  /** Why a number prompt asks again, when the answer had no number and the prompt sets no bounds. */
  numberInvalid: string;
  /** ...when the prompt wants a whole number (`integerOnly`). */
  numberWhole: string;
  /** ...when it has `min` and `max`. `%(min)s`, `%(max)s`. */
  numberRange: string;
  /** ...when it has `min` and `max` and wants a whole number. `%(min)s`, `%(max)s`. */
  numberWholeRange: string;
  /** ...when it has only `min`. `%(min)s`. */
  numberMin: string;
  /** ...when it has only `min` and wants a whole number. `%(min)s`. */
  numberWholeMin: string;
  /** ...when it has only `max`. `%(max)s`. */
  numberMax: string;
  /** ...when it has only `max` and wants a whole number. `%(max)s`. */
  numberWholeMax: string;
  /** Why a time prompt asks again. */
  timeInvalid: string;
  /** Why an attachment prompt asks again. */
  attachmentMissing: string;
  /** Said when a dialog throws (unless the manager's `dialogErrorMessage` option is set). */
  dialogError: string;
}

/** The built-in English texts, used for every key a locale does not replace. */
export const DEFAULT_TEXTS: Readonly<Texts> = Object.freeze({
  notUnderstood: "I didn't understand.",
  yes: 'Yes',
  no: 'No',
  yesWords: [
    'yes',
    'y',
    'yep',
    'yeah',
    'yup',
    'sure',
    'ok',
    'okay',
    'true',
    'correct',
    'right',
    'affirmative',
    'of course',
  ],
  noWords: ['no', 'n', 'nope', 'nah', 'false', 'wrong', 'negative', 'cancel', 'not really'],
  or: 'or',
  ordinals: ['first', 'second', 'third', 'fourth', 'fifth', 'sixth', 'seventh', 'eighth', 'ninth', 'tenth'],
  lastWords: ['last'],
  choiceAmbiguous: 'Did you mean %(choices)s?',
  numberInvalid: 'Please give a number.',
  numberWhole: 'Please give a whole number.',
  numberRange: 'Please give a number from %(min)s to %(max)s.',
  numberWholeRange: 'Please give a whole number from %(min)s to %(max)s.',
  numberMin: 'Please give a number of at least %(min)s.',
  numberWholeMin: 'Please give a whole number of at least %(min)s.',
  numberMax: 'Please give a number of at most %(max)s.',
  numberWholeMax: 'Please give a whole number of at most %(max)s.',
  timeInvalid: 'Please give a date or a time, like "tomorrow at 5pm".',
  attachmentMissing: 'Please send a file.',
  dialogError: 'Oops. Something went wrong and we need to start over.',
});

/** The manager's `texts` option: per locale (`'fr'`, `'fr-CA'`), the texts it replaces. */
export type TextsOption = Readonly<Record<string, Partial<Texts>>>;

// The placeholders each template key is given, to check a translation when the manager is built, not mid-conversation.
const TEMPLATE_ARGS: Partial<Record<keyof Texts, Record<string, string>>> = {
  choiceAmbiguous: { choices: 'A or B' },
  numberRange: { min: '1', max: '2' },
  numberWholeRange: { min: '1', max: '2' },
  numberMin: { min: '1' },
  numberWholeMin: { min: '1' },
  numberMax: { max: '2' },
  numberWholeMax: { max: '2' },
};

const words = z.array(z.string().min(1)).min(1);
const text = z.string().min(1);
const textsShape = {
  notUnderstood: z.string(),
  yes: text,
  no: text,
  yesWords: words,
  noWords: words,
  or: text,
  ordinals: words,
  lastWords: z.array(z.string().min(1)),
  choiceAmbiguous: text,
  numberInvalid: text,
  numberWhole: text,
  numberRange: text,
  numberWholeRange: text,
  numberMin: text,
  numberWholeMin: text,
  numberMax: text,
  numberWholeMax: text,
  timeInvalid: text,
  attachmentMissing: text,
  dialogError: text,
} satisfies Record<keyof Texts, z.ZodType>;

/** The zod schema of the `texts` option (unknown keys are refused, so a misspelt key is not silently ignored). */
export const textsOptionSchema = z.record(z.string().min(1), z.object(textsShape).partial().strict());

/** The texts in force per locale: the locale's own, then its language's (`fr` for `fr-CA`), then the defaults. */
export class TextCatalog {
  readonly #byLocale = new Map<string, Partial<Texts>>();
  readonly #resolved = new Map<string, Readonly<Texts>>();

  /** @throws PalaverError `INVALID_OPTIONS` when a template does not fit the placeholders its key is given. */
  constructor(option: TextsOption = {}) {
    for (const [locale, texts] of Object.entries(option)) {
      for (const [key, args] of Object.entries(TEMPLATE_ARGS)) {
        const template = texts[key as keyof Texts];
        if (typeof template !== 'string') continue;
        try {
          formatText(template, [args]);
        } catch (error) {
          throw new PalaverError(
            'INVALID_OPTIONS',
            `Invalid option \`texts.${locale}.${key}\`: ${JSON.stringify(template)} must be a template that uses only ` +
              `${Object.keys(args)
                .map((name) => `%(${name})s`)
                .join(', ')} (${(error as Error).message})`,
            { cause: error },
          );
        }
      }
      this.#byLocale.set(normalize(locale), texts);
    }
  }

  /** The texts for `locale` (`undefined`: the defaults, with any `texts.default` replacements). */
  for(locale: string | undefined): Readonly<Texts> {
    const key = locale === undefined ? '' : normalize(locale);
    const cached = this.#resolved.get(key);
    if (cached !== undefined) return cached;
    const language = key.split('-')[0]!;
    const resolved = Object.freeze({
      ...DEFAULT_TEXTS,
      ...this.#byLocale.get('default'),
      ...this.#byLocale.get(language),
      ...this.#byLocale.get(key),
    });
    // Locales come from users' messages: remember a bounded number of them.
    if (this.#resolved.size < 256) this.#resolved.set(key, resolved);
    return resolved;
  }
}

function normalize(locale: string): string {
  return locale.trim().toLowerCase().replace(/_/g, '-');
}
