import { isMessageSource, type MessageLike } from '../cards';
import { PalaverError, describe } from '../errors';
import { formatText } from '../format';
import type { Templated } from '../template';
import type { CardAction, OutgoingMessage } from '../types';
import { HOST, ResumeReason, type Dialog, type DialogResult, type DialogSession } from './dialog';
import type { Prompted } from './typed';

/** How a choice prompt shows its choices. */
export type ListStyle = 'button' | 'inline' | 'list' | 'none';

/**
 * What a prompt says: text, a message, a builder, or a template with its arguments in one tuple,
 * `['What can I do, %s?', name]`, checked by the compiler like `send`'s (see {@link TemplateArgs}).
 */
export type PromptText<T extends string = string> = MessageLike | Templated<T>;

/** Options every prompt takes. */
export interface PromptOptions {
  /** Said when the answer was not understood (a template tuple is filled in when the prompt begins). @default "I didn't understand." followed by the prompt */
  retryPrompt?: MessageLike | Templated;
  /** Failed answers allowed before the prompt gives up with `ResumeReason.notCompleted`. @default unlimited */
  maxRetries?: number;
}

/** Options of a number prompt. */
export interface NumberPromptOptions extends PromptOptions {
  minValue?: number;
  maxValue?: number;
  integerOnly?: boolean;
}

/** Options of a choice prompt. */
export interface ChoicePromptOptions extends PromptOptions {
  /** @default 'button' */
  listStyle?: ListStyle;
}

/** The choices of a choice prompt: a list, the keys of an object, or `'a|b|c'`. */
export type Choices = readonly string[] | Readonly<Record<string, unknown>> | string;

/**
 * What a choice prompt returns as `results.response`. `entity` is typed by the choices when they are literals:
 * `Prompts.choice(session, 'Size?', ['Small', 'Large'])` gives `FoundChoice<'Small' | 'Large'>`.
 */
export interface FoundChoice<C extends string = string> {
  entity: C;
  index: number;
  score: number;
}

/** The choice names that `Choices` stand for: the list's items, the object's keys, or the parts of `'a|b|c'`. */
export type ChoiceOf<T> = T extends readonly (infer C extends string)[]
  ? C
  : T extends string
    ? string extends T
      ? string
      : SplitChoices<T>
    : T extends Readonly<Record<string, unknown>>
      ? keyof T & string
      : string;

type SplitChoices<T extends string> = T extends `${infer Head}|${infer Tail}` ? Trim<Head> | SplitChoices<Tail> : Trim<T>;
type Trim<T extends string> = T extends ` ${infer R}` ? Trim<R> : T extends `${infer R} ` ? Trim<R> : T;

/** Ids under which the manager registers the prompt dialogs. */
export const PromptIds = {
  text: 'palaver:prompt:text',
  number: 'palaver:prompt:number',
  confirm: 'palaver:prompt:confirm',
  choice: 'palaver:prompt:choice',
} as const;

type PromptKind = keyof typeof PromptIds;

// A prompt's dialogData, stored with the session while it waits: what it needs and nothing it can work out (its kind is
// the dialog's; `retries` appears after the first answer it could not read).
interface PromptData {
  prompt: string | OutgoingMessage;
  retryPrompt?: string | OutgoingMessage;
  maxRetries?: number;
  retries?: number;
  minValue?: number;
  maxValue?: number;
  integerOnly?: boolean;
  choices?: string[];
  listStyle?: ListStyle;
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
  text<T extends string = string>(session: DialogSession, prompt: PromptText<T>, options: PromptOptions = {}): Prompted<string> {
    return begin(session, 'text', prompt, options);
  },
  /** Asks for a number; `results.response` is a number (`'1,5'` reads as 1.5). */
  number<T extends string = string>(session: DialogSession, prompt: PromptText<T>, options: NumberPromptOptions = {}): Prompted<number> {
    return begin(session, 'number', prompt, options);
  },
  /** Asks a yes/no question (yes, y, sure, ok... / no, n, nope...); `results.response` is a boolean. */
  confirm<T extends string = string>(session: DialogSession, prompt: PromptText<T>, options: PromptOptions = {}): Prompted<boolean> {
    return begin(session, 'confirm', prompt, options);
  },
  /**
   * Asks to pick one of `choices` (by its text, part of it, or its number); `results.response` is `{ entity, index, score }`,
   * its `entity` typed by literal choices.
   * @throws PalaverError `INVALID_ARGUMENT` when the choices are not strings, an object, or `'a|b|c'`.
   */
  choice<const Ch extends Choices, T extends string = string>(
    session: DialogSession,
    prompt: PromptText<T>,
    choices: Ch,
    options: ChoicePromptOptions = {},
  ): Prompted<FoundChoice<ChoiceOf<Ch>>> {
    const list = toChoiceList(choices);
    checkOptions('choice', options);
    return begin(session, 'choice', prompt, { ...options, choices: list });
  },
};

// What a prompt returns: the answer's type lives only in Prompted's type; the value names the dialog begun.
const PROMPTED: Record<PromptKind, Prompted<never>> = {
  text: Object.freeze({ dialogId: PromptIds.text }),
  number: Object.freeze({ dialogId: PromptIds.number }),
  confirm: Object.freeze({ dialogId: PromptIds.confirm }),
  choice: Object.freeze({ dialogId: PromptIds.choice }),
};

function begin(
  session: DialogSession,
  kind: PromptKind,
  source: PromptText,
  options: PromptOptions & Omit<Partial<PromptData>, 'retryPrompt'>,
): Prompted<never> {
  checkOptions(kind, options);
  // The prompt lives in dialogData until it is answered: keep it as plain JSON.
  const prompt = plain(kind, source);
  const retryPrompt = options.retryPrompt === undefined ? undefined : plain(kind, options.retryPrompt);
  if (options.maxRetries !== undefined && !(Number.isInteger(options.maxRetries) && options.maxRetries >= 0)) {
    throw new PalaverError('INVALID_ARGUMENT', `Expected \`maxRetries\` to be a non-negative integer, got ${describe(options.maxRetries)}.`);
  }
  const data: PromptData = { ...stripUndefined({ ...options, retryPrompt }), prompt };
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

  constructor(private readonly kind: PromptKind) {}

  begin(session: DialogSession, args: unknown): void {
    const data = args as PromptData;
    session.dialogData = { ...data };
    this.ask(session, data.prompt, data);
  }

  reply(session: DialogSession): void {
    const data = session.dialogData as unknown as PromptData;
    const found = recognize(this.kind, data, session.message?.text);
    if (found.ok) {
      session.endDialogWithResult({ resumed: ResumeReason.completed, response: found.value });
      return;
    }
    data.retries = (data.retries ?? 0) + 1;
    if (data.maxRetries !== undefined && data.retries > data.maxRetries) {
      session.endDialogWithResult({ resumed: ResumeReason.notCompleted });
      return;
    }
    this.ask(session, data.retryPrompt ?? withPrefix("I didn't understand. ", data.prompt), data);
  }

  resume(session: DialogSession, _result: DialogResult): void {
    this.reprompt(session);
  }

  reprompt(session: DialogSession): void {
    const data = session.dialogData as unknown as PromptData;
    this.ask(session, data.prompt, data);
  }

  private ask(session: DialogSession, prompt: string | OutgoingMessage, data: PromptData): void {
    const message: OutgoingMessage = typeof prompt === 'string' ? { text: prompt } : { ...prompt };
    message.inputHint = 'expectingInput';
    if (this.kind === 'confirm') message.suggestedActions = [imBack('Yes'), imBack('No')];
    if (this.kind === 'choice' && data.choices) {
      const style = data.listStyle ?? 'button';
      if (style === 'button') message.suggestedActions = data.choices.map(imBack);
      else if (style === 'inline') message.text = `${message.text ?? ''} (${data.choices.map((c, i) => `${i + 1}. ${c}`).join(', ')})`.trim();
      else if (style === 'list') message.text = `${message.text ?? ''}\n${data.choices.map((c, i) => `${i + 1}. ${c}`).join('\n')}`.trim();
    }
    session.send(message);
    session[HOST].requestFlush();
  }
}

type Recognized = { ok: true; value: unknown } | { ok: false };

function recognize(kind: PromptKind, data: PromptData, text: string | undefined): Recognized {
  const input = (text ?? '').trim();
  switch (kind) {
    case 'text':
      return input.length > 0 ? { ok: true, value: input } : { ok: false };
    case 'number': {
      const match = /-?\d+(?:[.,]\d+)?/.exec(input);
      if (!match) return { ok: false };
      const value = Number(match[0].replace(',', '.'));
      if (!Number.isFinite(value)) return { ok: false };
      if (data.integerOnly && !Number.isInteger(value)) return { ok: false };
      if (data.minValue !== undefined && value < data.minValue) return { ok: false };
      if (data.maxValue !== undefined && value > data.maxValue) return { ok: false };
      return { ok: true, value };
    }
    case 'confirm': {
      const word = input.toLowerCase().replace(/[.!?]+$/, '');
      if (YES.has(word)) return { ok: true, value: true };
      if (NO.has(word)) return { ok: true, value: false };
      return { ok: false };
    }
    case 'choice': {
      const choice = findChoice(data.choices ?? [], input);
      return choice ? { ok: true, value: choice } : { ok: false };
    }
  }
}

const YES = new Set(['yes', 'y', 'yep', 'yeah', 'yup', 'sure', 'ok', 'okay', 'true', 'correct', 'right', 'affirmative']);
const NO = new Set(['no', 'n', 'nope', 'nah', 'false', 'wrong', 'negative', 'cancel']);

/** Finds the best match of `input` among `choices`: its number, an exact match, then the best partial match. */
export function findChoice(choices: readonly string[], input: string): FoundChoice | undefined {
  const text = input.trim().toLowerCase();
  if (text.length === 0) return undefined;
  if (/^\d+$/.test(text)) {
    const index = Number(text) - 1;
    const entity = choices[index];
    if (entity !== undefined) return { entity, index, score: 1 };
  }
  let best: FoundChoice | undefined;
  for (let index = 0; index < choices.length; index++) {
    const entity = choices[index]!;
    const choice = entity.toLowerCase();
    let score = 0;
    if (choice === text) score = 1;
    else if (choice.includes(text)) score = text.length / choice.length;
    else if (text.includes(choice)) score = (choice.length / text.length) * 0.9;
    if (score > 0 && (best === undefined || score > best.score)) best = { entity, index, score };
  }
  return best !== undefined && best.score >= 0.4 ? best : undefined;
}

function toChoiceList(choices: Choices): string[] {
  if (typeof choices === 'string') return choices.split('|').map((c) => c.trim()).filter(Boolean);
  if (Array.isArray(choices)) {
    if (!choices.every((c) => typeof c === 'string')) {
      throw new PalaverError('INVALID_ARGUMENT', 'Prompts.choice expects choices as strings, an object, or "a|b|c".');
    }
    return [...(choices as string[])];
  }
  if (typeof choices === 'object' && choices !== null) return Object.keys(choices);
  throw new PalaverError('INVALID_ARGUMENT', `Prompts.choice expects choices as a list, an object or "a|b|c", got ${describe(choices)}.`);
}

function plain(kind: PromptKind, message: PromptText): string | OutgoingMessage {
  if (Array.isArray(message)) {
    const [template, ...args] = message as readonly unknown[];
    if (typeof template !== 'string') {
      throw new PalaverError('INVALID_ARGUMENT', `Prompts.${kind} expects a template tuple to start with the template text, got ${describe(template)}.`);
    }
    return formatText(template, args);
  }
  const prompt = isMessageSource(message) ? message.toMessage() : (message as string | OutgoingMessage);
  if (typeof prompt !== 'string' && (typeof prompt !== 'object' || prompt === null)) {
    throw new PalaverError('INVALID_ARGUMENT', `Prompts.${kind} expects the prompt as a string, a message or a [template, ...args] tuple, got ${describe(prompt)}.`);
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

function stripUndefined<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) if (v !== undefined) out[key] = v;
  return out as T;
}
