// Types that carry a prompt's answer from the step that asked to the step that reads it (types only).
import type { JsonObject } from '../types';
import type { DialogResult, ResumeReason } from './dialog';

declare const RESULT: unique symbol;
declare const ENDED: unique symbol;

/**
 * What the session methods that end or replace the current dialog return (`endDialog`, `endDialogWithResult`,
 * `endConversation`, `replaceDialog`): the session, marked so that a step may `return session.endDialog()` on one
 * path and a prompt on the others and still type the next step (no next step runs after those calls).
 */
export type Ended<S> = S & { readonly [ENDED]: true };

/**
 * What a prompt returns: return it from a waterfall step and the next step's `results` is typed with the prompt's
 * answer (`Prompts.text` → `string`, `number` → `number`, `confirm` → `boolean`, `choice` → `FoundChoice`).
 * @example
 * bot.dialog('/', [
 *   (session) => Prompts.number(session, 'How many?'),
 *   (session, results) => {
 *     if (results.resumed === ResumeReason.completed) session.send('%d it is.', results.response); // a number
 *   },
 * ]);
 */
export interface Prompted<T> {
  /** The id of the prompt dialog that was begun. */
  readonly dialogId: string;
  /** Never set: it only carries the answer's type. */
  readonly [RESULT]?: T;
}

/**
 * What the step after a prompt gets. `response` is there when the prompt was answered (`resumed` is `completed`);
 * a prompt can also end without an answer (its `maxRetries` ran out, or `cancelDialog` ended it), so check `resumed`
 * before reading `response`.
 */
export type PromptResult<T> =
  | (DialogResult<T> & { resumed: typeof ResumeReason.completed; response: T })
  | (DialogResult<T> & { resumed: Exclude<ResumeReason, typeof ResumeReason.completed>; response?: undefined });

/** What a waterfall step's `next` takes: a result to hand the next step (`resumed` defaults to `completed`). */
export type StepNext = (result?: Partial<DialogResult> & JsonObject) => void;

/**
 * A waterfall step typed by what it is given (`In`) and what it returns (`Out`). The first step gets the dialog's begin
 * args; a later one the previous step's prompt result, else the child dialog's result or the user's reply.
 */
export type TypedStep<S, In, Out> = (session: S, results: In, next: StepNext) => Out;

/**
 * What a step gets after a step that returned `Out`: the prompt's result when `Out` is a prompt on every path that
 * does not end the dialog ({@link Ended}),
 * otherwise `Given`: `DialogResult<unknown>` unless the step says what it expects by annotating its parameter (what a
 * child dialog returns cannot be known here; the annotation is the step's own claim).
 */
export type StepInput<Out, Given> = Asked<Exclude<Awaited<Out>, { readonly [ENDED]: true }>, Given>;
type Asked<Out, Given> = [Out] extends [never] ? Given : [Out] extends [Prompted<infer R>] ? PromptResult<R> : Given;

/**
 * A waterfall written as an array literal, typed step by step (up to 12 steps; a longer one, or an array built
 * elsewhere, is a `WaterfallStep[]` whose results are `unknown`).
 * Its parameters are inferred by `manager.dialog()`; to name a step's input, use {@link PromptResult} or `DialogResult`.
 */
export type Waterfall<
  S,
  A,
  O1,
  I2,
  O2,
  I3,
  O3,
  I4,
  O4,
  I5,
  O5,
  I6,
  O6,
  I7,
  O7,
  I8,
  O8,
  I9,
  O9,
  I10,
  O10,
  I11,
  O11,
  I12,
  O12,
> = readonly [
  TypedStep<S, A, O1>,
  TypedStep<S, StepInput<O1, I2>, O2>?,
  TypedStep<S, StepInput<O2, I3>, O3>?,
  TypedStep<S, StepInput<O3, I4>, O4>?,
  TypedStep<S, StepInput<O4, I5>, O5>?,
  TypedStep<S, StepInput<O5, I6>, O6>?,
  TypedStep<S, StepInput<O6, I7>, O7>?,
  TypedStep<S, StepInput<O7, I8>, O8>?,
  TypedStep<S, StepInput<O8, I9>, O9>?,
  TypedStep<S, StepInput<O9, I10>, O10>?,
  TypedStep<S, StepInput<O10, I11>, O11>?,
  TypedStep<S, StepInput<O11, I12>, O12>?,
];
