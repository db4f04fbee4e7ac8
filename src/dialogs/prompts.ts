import { isMessageSource, type MessageLike } from '../cards';
import { PalaverError, describe } from '../errors';
import type { CardAction, OutgoingMessage } from '../types';
import { HOST, ResumeReason, type Dialog, type DialogResult, type DialogSession } from './dialog';

/** How a choice prompt shows its choices. */
export type ListStyle = 'button' | 'inline' | 'list' | 'none';

/** Options every prompt takes. */
export interface PromptOptions {
  /** Said when the answer was not understood. @default "I didn't understand." followed by the prompt */
  retryPrompt?: MessageLike;
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

/** What a choice prompt returns as `results.response`. */
export interface FoundChoice {
  entity: string;
  index: number;
  score: number;
}

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

/** Built-in prompts: each begins a prompt dialog that asks, checks the answer, retries, and returns `{ response }`. */
export const Prompts = {
  /** Asks for any non-empty text; `results.response` is the text, trimmed. */
  text(session: DialogSession, prompt: MessageLike, options: PromptOptions = {}): void {
    begin(session, 'text', prompt, options);
  },
  /** Asks for a number; `results.response` is a number (`'1,5'` reads as 1.5). */
  number(session: DialogSession, prompt: MessageLike, options: NumberPromptOptions = {}): void {
    begin(session, 'number', prompt, options);
  },
  /** Asks a yes/no question (yes, y, sure, ok... / no, n, nope...); `results.response` is a boolean. */
  confirm(session: DialogSession, prompt: MessageLike, options: PromptOptions = {}): void {
    begin(session, 'confirm', prompt, options);
  },
  /**
   * Asks to pick one of `choices` (by its text, part of it, or its number); `results.response` is `{ entity, index, score }`.
   * @throws PalaverError `INVALID_ARGUMENT` when the choices are not strings, an object, or `'a|b|c'`.
   */
  choice(session: DialogSession, prompt: MessageLike, choices: Choices, options: ChoicePromptOptions = {}): void {
    const list = toChoiceList(choices);
    begin(session, 'choice', prompt, { ...options, choices: list });
  },
};

function begin(
  session: DialogSession,
  kind: PromptKind,
  source: MessageLike,
  options: PromptOptions & Omit<Partial<PromptData>, 'retryPrompt'>,
): void {
  // The prompt lives in dialogData until it is answered: keep it as plain JSON.
  const prompt = plain(source);
  const retryPrompt = options.retryPrompt === undefined ? undefined : plain(options.retryPrompt);
  if (typeof prompt !== 'string' && (typeof prompt !== 'object' || prompt === null)) {
    throw new PalaverError('INVALID_ARGUMENT', `Prompts.${kind} expects the prompt as a string or a message, got ${describe(prompt)}.`);
  }
  if (options.maxRetries !== undefined && !(Number.isInteger(options.maxRetries) && options.maxRetries >= 0)) {
    throw new PalaverError('INVALID_ARGUMENT', `Expected \`maxRetries\` to be a non-negative integer, got ${describe(options.maxRetries)}.`);
  }
  const data: PromptData = { ...stripUndefined({ ...options, retryPrompt }), prompt };
  session.beginDialog(PromptIds[kind], data);
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

function plain(message: MessageLike): string | OutgoingMessage {
  return isMessageSource(message) ? message.toMessage() : message;
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
