import { isMessageSource, type MessageLike } from '../cards';
import { PalaverError, describe } from '../errors';
import { formatText } from '../format';
import type { Templated } from '../template';
import { DEFAULT_TEXTS, TextCatalog, type Texts } from '../texts';
import type { Attachment, CardAction, OutgoingMessage } from '../types';
import { HOST, ResumeReason, type Dialog, type DialogResult, type DialogSession } from './dialog';
import {
  DEFAULT_MIN_SCORE,
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
  isChoiceItem,
  type ChoiceItem,
  type TimeResult,
  type TimeSettings,
} from './recognize';
import type { DialogRegistry } from './registry';
import type { Prompted } from './typed';

export type { ChoiceItem, TimeResult } from './recognize';

/** How a choice prompt shows its choices. */
export type ListStyle = 'button' | 'inline' | 'list' | 'none';

/**
 * What a prompt says: text, a message, a builder, or a template with its arguments in one tuple,
 * `['What can I do, %s?', name]`, checked by the compiler like `send`'s (see {@link TemplateArgs}).
 */
export type PromptText<T extends string = string> = MessageLike | Templated<T>;

/** Options every prompt takes. */
export interface PromptOptions {
  /** Said when the answer was not understood (a template tuple is filled in when the prompt begins). @default the locale's `notUnderstood` text (or the reason) followed by the prompt */
  retryPrompt?: MessageLike | Templated;
  /** Failed answers allowed before the prompt gives up with `ResumeReason.notCompleted`. @default unlimited */
  maxRetries?: number;
}

/** Options of a number prompt. With any bound, a retry says what is wanted ("Please give a whole number from 1 to 10."). */
export interface NumberPromptOptions extends PromptOptions {
  /** The smallest number accepted. */
  min?: number;
  /** The largest number accepted. */
  max?: number;
  /** Accept whole numbers only. @default false */
  integerOnly?: boolean;
  /** @deprecated use `min` */
  minValue?: number;
  /** @deprecated use `max` */
  maxValue?: number;
}

/** Options of a choice prompt. */
export interface ChoicePromptOptions extends PromptOptions {
  /** @default 'button' */
  listStyle?: ListStyle;
  /** How well an answer's words must match a choice, from 0 to 1 (an exact match, a number or a position is 1). @default 0.3 */
  minScore?: number;
}

/** Options of a time prompt. */
export interface TimePromptOptions extends PromptOptions, TimeSettings {}

/** Options of an attachment prompt. */
export interface AttachmentPromptOptions extends PromptOptions {
  /** The content types accepted (`'image/*'` for any image). @default any */
  contentTypes?: readonly string[];
}

/** The choices of a choice prompt: a list (of values, or `{ value, synonyms }`), the keys of an object, or `'a|b|c'`. */
export type Choices = readonly (string | ChoiceItem)[] | Readonly<Record<string, unknown>> | string;

/**
 * What a choice prompt returns as `results.response`. `entity` is typed by the choices when they are literals:
 * `Prompts.choice(session, 'Size?', ['Small', 'Large'])` gives `FoundChoice<'Small' | 'Large'>`.
 */
export interface FoundChoice<C extends string = string> {
  entity: C;
  index: number;
  score: number;
}

/** The choice names that `Choices` stand for: the list's items (or their values), the object's keys, or the parts of `'a|b|c'`. */
export type ChoiceOf<T> = T extends readonly (infer C)[]
  ? C extends string
    ? C
    : C extends { readonly value: infer V extends string }
      ? V
      : string
  : T extends string
    ? string extends T
      ? string
      : SplitChoices<T>
    : T extends Readonly<Record<string, unknown>>
      ? keyof T & string
      : string;

type SplitChoices<T extends string> = T extends `${infer Head}|${infer Tail}`
  ? Trim<Head> | SplitChoices<Tail>
  : Trim<T>;
type Trim<T extends string> = T extends ` ${infer R}` ? Trim<R> : T extends `${infer R} ` ? Trim<R> : T;

/**
 * Ids under which the manager registers the prompt dialogs. Stored sessions name a built-in prompt by its position
 * here (codec.ts): add new kinds at the end, never reorder.
 */
export const PromptIds = {
  text: 'palaver:prompt:text',
  number: 'palaver:prompt:number',
  confirm: 'palaver:prompt:confirm',
  choice: 'palaver:prompt:choice',
  time: 'palaver:prompt:time',
  attachment: 'palaver:prompt:attachment',
} as const;

type PromptKind = keyof typeof PromptIds;

// A prompt's dialogData, stored with the session while it waits: what it needs and nothing it can work out (its kind is
// the dialog's; `retries` appears after the first answer it could not read).
interface PromptData {
  prompt: string | OutgoingMessage;
  retryPrompt?: string | OutgoingMessage;
  maxRetries?: number;
  retries?: number;
  // Sessions stored before `min`/`max` may still hold minValue/maxValue.
  minValue?: number;
  maxValue?: number;
  min?: number;
  max?: number;
  integerOnly?: boolean;
  choices?: string[];
  // Per choice (same order), its synonyms; only when some choice has them.
  synonyms?: string[][];
  listStyle?: ListStyle;
  minScore?: number;
  timezone?: string;
  forwardDate?: boolean;
  contentTypes?: string[];
}

/**
 * Built-in prompts: each begins a prompt dialog that asks, checks the answer, retries, and returns `{ response }`.
 * Return the prompt from a waterfall step and the next step's `results` is typed with the answer ({@link PromptResult}).
 * The prompt may be a template with its arguments in one tuple: `Prompts.text(session, ['Hi %s, your email?', name])`.
 * @throws PalaverError `INVALID_ARGUMENT` when the prompt or the options have the wrong shape (e.g. a template's
 * argument passed where the options go); `INVALID_TEMPLATE` when a template and its arguments do not fit.
 */
export const Prompts = {
  /** Asks for any non-empty text; `results.response` is the text, trimmed. */
  text<T extends string = string>(
    session: DialogSession,
    prompt: PromptText<T>,
    options: PromptOptions = {},
  ): Prompted<string> {
    return begin(session, 'text', prompt, options);
  },
  /**
   * Asks for a number; `results.response` is a number (`'1,5'` reads as 1.5).
   * @throws PalaverError `INVALID_ARGUMENT` when a bound is not a finite number, or `min` is above `max`.
   */
  number<T extends string = string>(
    session: DialogSession,
    prompt: PromptText<T>,
    options: NumberPromptOptions = {},
  ): Prompted<number> {
    const { minValue, maxValue, ...rest } = options;
    const min = options.min ?? minValue;
    const max = options.max ?? maxValue;
    for (const [name, value] of [
      ['min', min],
      ['max', max],
    ] as const) {
      if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value))) {
        throw new PalaverError(
          'INVALID_ARGUMENT',
          `Prompts.number expects \`${name}\` to be a finite number, got ${describe(value)}.`,
        );
      }
    }
    if (min !== undefined && max !== undefined && min > max) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `Prompts.number expects \`min\` (${min}) to be at most \`max\` (${max}).`,
      );
    }
    checkOptions('number', options);
    return begin(session, 'number', prompt, { ...rest, min, max });
  },
  /** Asks a yes/no question (the locale's yes and no words: yes, sure, ok... / no, nope...); `results.response` is a boolean. */
  confirm<T extends string = string>(
    session: DialogSession,
    prompt: PromptText<T>,
    options: PromptOptions = {},
  ): Prompted<boolean> {
    return begin(session, 'confirm', prompt, options);
  },
  /**
   * Asks to pick one of `choices`: by its words or a synonym's (case and accents ignored), its number ("2") or its
   * position ("the second", "the last"). When the answer fits several choices equally well, it asks which one it meant.
   * `results.response` is `{ entity, index, score }`.
   * @throws PalaverError `INVALID_ARGUMENT` when the choices are not strings or `{ value, synonyms }`, an object, or
   * `'a|b|c'`, or when `minScore` is not between 0 and 1.
   */
  choice<const Ch extends Choices, T extends string = string>(
    session: DialogSession,
    prompt: PromptText<T>,
    choices: Ch,
    options: ChoicePromptOptions = {},
  ): Prompted<FoundChoice<ChoiceOf<Ch>>> {
    const items = toChoiceItems(choices);
    checkOptions('choice', options);
    const { minScore } = options;
    if (minScore !== undefined && !(typeof minScore === 'number' && minScore >= 0 && minScore <= 1)) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `Prompts.choice expects \`minScore\` to be a number from 0 to 1, got ${describe(minScore)}.`,
      );
    }
    const synonyms = items.some((item) => item.synonyms !== undefined && item.synonyms.length > 0)
      ? items.map((item) => [...(item.synonyms ?? [])])
      : undefined;
    return begin(session, 'choice', prompt, { ...options, choices: items.map((item) => item.value), synonyms });
  },
  /**
   * Asks for a date or a time in everyday words ("tomorrow at 5pm", "next friday", "in 2 hours"), read in the message's
   * locale and the `timezone` option's zone; `results.response` is a {@link TimeResult} (`{ iso, text, end? }`).
   * @throws PalaverError `INVALID_ARGUMENT` when `timezone` is not an IANA time zone.
   */
  time<T extends string = string>(
    session: DialogSession,
    prompt: PromptText<T>,
    options: TimePromptOptions = {},
  ): Prompted<TimeResult> {
    checkOptions('time', options);
    checkTimezone(options.timezone);
    return begin(session, 'time', prompt, options);
  },
  /**
   * Asks for a file, an image or any attachment; `results.response` is the list of attachments the answer carried
   * (those of `contentTypes`, when given).
   * @throws PalaverError `INVALID_ARGUMENT` when `contentTypes` is not a list of content types.
   */
  attachment<T extends string = string>(
    session: DialogSession,
    prompt: PromptText<T>,
    options: AttachmentPromptOptions = {},
  ): Prompted<Attachment[]> {
    checkOptions('attachment', options);
    const { contentTypes } = options;
    if (
      contentTypes !== undefined &&
      !(Array.isArray(contentTypes) && contentTypes.every((t) => typeof t === 'string' && t.includes('/')))
    ) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `Prompts.attachment expects \`contentTypes\` as a list such as ['image/*', 'application/pdf'], got ${describe(contentTypes)}.`,
      );
    }
    return begin(session, 'attachment', prompt, {
      ...options,
      contentTypes: contentTypes === undefined ? undefined : [...contentTypes],
    });
  },
};

// What a prompt returns: the answer's type lives only in Prompted's type; the value names the dialog begun.
const PROMPTED: Record<PromptKind, Prompted<never>> = {
  text: Object.freeze({ dialogId: PromptIds.text }),
  number: Object.freeze({ dialogId: PromptIds.number }),
  confirm: Object.freeze({ dialogId: PromptIds.confirm }),
  choice: Object.freeze({ dialogId: PromptIds.choice }),
  time: Object.freeze({ dialogId: PromptIds.time }),
  attachment: Object.freeze({ dialogId: PromptIds.attachment }),
};

/** Registers every built-in prompt dialog under its `PromptIds` id, saying its texts from `texts`. */
export function registerPrompts(registry: DialogRegistry, texts: TextCatalog): void {
  for (const kind of Object.keys(PromptIds) as PromptKind[])
    registry.add(PromptIds[kind], new PromptDialog(kind, texts), `Prompts.${kind}`);
}

function begin(
  session: DialogSession,
  kind: PromptKind,
  source: PromptText,
  options: PromptOptions & Omit<Partial<PromptData>, 'retryPrompt'> & { contentTypes?: readonly string[] | undefined },
): Prompted<never> {
  checkOptions(kind, options);
  // The prompt lives in dialogData until it is answered: keep it as plain JSON.
  const prompt = plain(kind, source);
  const retryPrompt = options.retryPrompt === undefined ? undefined : plain(kind, options.retryPrompt);
  if (options.maxRetries !== undefined && !(Number.isInteger(options.maxRetries) && options.maxRetries >= 0)) {
    throw new PalaverError(
      'INVALID_ARGUMENT',
      `Expected \`maxRetries\` to be a non-negative integer, got ${describe(options.maxRetries)}.`,
    );
  }
  const data = { prompt } as PromptData;
  for (const key in options) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined && key !== 'retryPrompt') (data as unknown as Record<string, unknown>)[key] = value;
  }
  if (retryPrompt !== undefined) data.retryPrompt = retryPrompt;
  session.beginDialog(PromptIds[kind], data);
  return PROMPTED[kind];
}

// v3 habits put a template's argument where the options go (`Prompts.text(session, 'Hi %s', name)`): say what to do.
function checkOptions(kind: PromptKind, options: unknown): void {
  if (typeof options === 'object' && options !== null && !Array.isArray(options)) return;
  throw new PalaverError(
    'INVALID_ARGUMENT',
    `Prompts.${kind} takes its options as an object, got ${describe(options)}. To fill a template, pass it with its ` +
      `arguments as one tuple: Prompts.${kind}(session, ['Hello %s, what next?', name]${kind === 'choice' ? ', choices' : ''}).`,
  );
}

/** The prompt dialog: one class for every kind, since they differ only in how they read the answer. */
export class PromptDialog implements Dialog {
  readonly type = 'prompt';

  constructor(
    private readonly kind: PromptKind,
    private readonly texts: TextCatalog = new TextCatalog(),
  ) {}

  begin(session: DialogSession, args: unknown): void {
    const data = args as PromptData;
    session.dialogData = { ...data };
    this.ask(session, data.prompt, data);
  }

  reply(session: DialogSession): Promise<void> | void {
    const data = session.dialogData as unknown as PromptData;
    const texts = this.texts.for(session[HOST].locale);
    if (this.kind === 'time') {
      const answer = (session.message?.text ?? '').trim();
      return loadChrono().then((chrono) =>
        this.conclude(session, data, texts, ok(recognizeTime(chrono, answer, session[HOST].locale, data))),
      );
    }
    this.conclude(session, data, texts, recognize(this.kind, data, session, texts));
  }

  /** Returns the answer, or asks again (saying why) until `maxRetries` runs out. */
  private conclude(session: DialogSession, data: PromptData, texts: Texts, found: Recognized): void {
    if (found.ok) {
      session.endDialogWithResult({ resumed: ResumeReason.completed, response: found.value });
      return;
    }
    data.retries = (data.retries ?? 0) + 1;
    if (data.maxRetries !== undefined && data.retries > data.maxRetries) {
      session.endDialogWithResult({ resumed: ResumeReason.notCompleted });
      return;
    }
    if (found.tie !== undefined) {
      // Asked with only the choices that fit, whatever the retryPrompt: the user did pick, just not one of them.
      const tied = found.tie.map((i) => data.choices![i]!);
      this.ask(
        session,
        { text: ambiguousText(tied, texts) },
        {
          ...data,
          choices: tied,
          listStyle: data.listStyle === 'button' || data.listStyle === undefined ? 'button' : 'none',
        },
        texts,
      );
      return;
    }
    this.ask(
      session,
      data.retryPrompt ?? withPrefix(`${retryReason(this.kind, data, texts)} `, data.prompt),
      data,
      texts,
    );
  }

  resume(session: DialogSession, _result: DialogResult): void {
    this.reprompt(session);
  }

  reprompt(session: DialogSession): void {
    const data = session.dialogData as unknown as PromptData;
    this.ask(session, data.prompt, data, this.texts.for(session[HOST].locale));
  }

  private ask(session: DialogSession, prompt: string | OutgoingMessage, data: PromptData, texts?: Texts): void {
    const message: OutgoingMessage = typeof prompt === 'string' ? { text: prompt } : { ...prompt };
    message.inputHint = 'expectingInput';
    if (this.kind === 'confirm') {
      const { yes, no } = texts ?? this.texts.for(session[HOST].locale);
      message.suggestedActions = [imBack(yes), imBack(no)];
    }
    if (this.kind === 'choice' && data.choices) {
      const style = data.listStyle ?? 'button';
      const numbered = data.choices.map((c, i) => `${i + 1}. ${c}`);
      if (style === 'button') message.suggestedActions = data.choices.map(imBack);
      else if (style === 'inline') {
        const { or } = texts ?? this.texts.for(session[HOST].locale);
        message.text = `${message.text ?? ''} (${joinOr(numbered, or)})`.trim();
      } else if (style === 'list') message.text = `${message.text ?? ''}\n${numbered.join('\n')}`.trim();
    }
    session.send(message);
    session[HOST].requestFlush();
  }
}

type Recognized = { ok: true; value: unknown; tie?: undefined } | { ok: false; tie?: readonly number[] };

function ok(value: unknown): Recognized {
  return value === undefined ? { ok: false } : { ok: true, value };
}

/** Reads the answer for every kind but `time`, which needs chrono-node loaded first. */
function recognize(
  kind: Exclude<PromptKind, 'time'>,
  data: PromptData,
  session: DialogSession,
  texts: Texts,
): Recognized {
  const input = (session.message?.text ?? '').trim();
  switch (kind) {
    case 'text':
      return ok(input.length > 0 ? input : undefined);
    case 'number':
      return ok(recognizeNumber(input, numberBounds(data)));
    case 'confirm':
      return ok(recognizeConfirm(input, texts));
    case 'choice': {
      const found = recognizeChoice(choiceItems(data), input, texts, data.minScore);
      if (found.kind === 'tie') return { ok: false, tie: found.indices };
      return ok(found.kind === 'found' ? found.choice : undefined);
    }
    case 'attachment':
      return ok(recognizeAttachments(session.message?.attachments as Attachment[] | undefined, data.contentTypes));
  }
}

function numberBounds(data: PromptData): {
  min?: number | undefined;
  max?: number | undefined;
  integerOnly?: boolean | undefined;
} {
  return { min: data.min ?? data.minValue, max: data.max ?? data.maxValue, integerOnly: data.integerOnly };
}

/** What a retry says before the question: why, where the prompt can say it, else that it did not understand. */
function retryReason(kind: PromptKind, data: PromptData, texts: Texts): string {
  if (kind === 'number') {
    const bounds = numberBounds(data);
    if (bounds.min !== undefined || bounds.max !== undefined || bounds.integerOnly === true)
      return numberRetryText(bounds, texts);
  }
  if (kind === 'time') return texts.timeInvalid;
  if (kind === 'attachment') return texts.attachmentMissing;
  return texts.notUnderstood;
}

function choiceItems(data: PromptData): ChoiceItem[] {
  return (data.choices ?? []).map((value, i) => {
    const synonyms = data.synonyms?.[i];
    return synonyms === undefined || synonyms.length === 0 ? { value } : { value, synonyms };
  });
}

/**
 * Finds the choice `input` names, as a choice prompt does (in English, or with `texts` for ordinal words); `undefined`
 * when none does or several fit equally well.
 */
export function findChoice(
  choices: readonly (string | ChoiceItem)[],
  input: string,
  options: { minScore?: number; texts?: Pick<Texts, 'ordinals' | 'lastWords'> } = {},
): FoundChoice | undefined {
  const items = choices.map((c) => (typeof c === 'string' ? { value: c } : c));
  const found = recognizeChoice(items, input, options.texts ?? DEFAULT_TEXTS, options.minScore ?? DEFAULT_MIN_SCORE);
  return found.kind === 'found' ? found.choice : undefined;
}

function toChoiceItems(choices: Choices): ChoiceItem[] {
  if (typeof choices === 'string')
    return choices
      .split('|')
      .map((c) => c.trim())
      .filter(Boolean)
      .map((value) => ({ value }));
  if (Array.isArray(choices)) {
    return choices.map((c: unknown, i) => {
      if (typeof c === 'string') return { value: c };
      if (isChoiceItem(c))
        return c.synonyms === undefined ? { value: c.value } : { value: c.value, synonyms: [...c.synonyms] };
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `Prompts.choice expects each choice as a string or { value: string, synonyms?: string[] }, got ${describe(c)} at index ${i}.`,
      );
    });
  }
  if (typeof choices === 'object' && choices !== null) return Object.keys(choices).map((value) => ({ value }));
  throw new PalaverError(
    'INVALID_ARGUMENT',
    `Prompts.choice expects choices as a list, an object or "a|b|c", got ${describe(choices)}.`,
  );
}

function plain(kind: PromptKind, message: PromptText): string | OutgoingMessage {
  if (Array.isArray(message)) {
    const [template, ...args] = message as readonly unknown[];
    if (typeof template !== 'string') {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `Prompts.${kind} expects a template tuple to start with the template text, got ${describe(template)}.`,
      );
    }
    return formatText(template, args);
  }
  const prompt = isMessageSource(message) ? message.toMessage() : (message as string | OutgoingMessage);
  if (typeof prompt !== 'string' && (typeof prompt !== 'object' || prompt === null)) {
    throw new PalaverError(
      'INVALID_ARGUMENT',
      `Prompts.${kind} expects the prompt as a string, a message or a [template, ...args] tuple, got ${describe(prompt)}.`,
    );
  }
  return prompt;
}

function imBack(title: string): CardAction {
  return { type: 'imBack', title, value: title };
}

function withPrefix(prefix: string, prompt: string | OutgoingMessage): string | OutgoingMessage {
  if (typeof prompt === 'string') return prefix + prompt;
  return { ...prompt, text: prefix + (prompt.text ?? '') };
}
