import { z } from 'zod';
import type { MessageLike } from './cards';
import type { DialogInstance } from './dialogs/dialog';
import type { SessionStateRecord } from './schema';

/**
 * "Are you still there?" reminders while a user is idle, before the session closes. Nudge `k` (1 for the first) is due
 * `after + (k - 1) * every` ms after the user's last message; a nudge that would fall at or after the close is not sent.
 * Any message from the user starts the ladder again.
 * @example
 * nudge: { after: 5 * 60_000, every: 10 * 60_000, max: 2, message: 'Are you still there?' }
 */
export interface NudgeOptions<S = unknown> {
  /** Idle time before the first nudge, in ms. */
  after: number;
  /** Time between one nudge and the next, in ms. @default after */
  every?: number;
  /** The most nudges in one idle stretch. @default 1 */
  max?: number;
  /** What to say: a message, or a function (maybe async) of the session and the nudge's number (1 for the first). */
  message: MessageLike | ((session: S, count: number) => MessageLike | PromiseLike<MessageLike>);
}

/** Idle behaviour of one dialog (`manager.dialog(id, dialog, { timeout, nudge })`), in force while it is on top of the stack. */
export interface DialogIdleOptions<S = unknown> {
  /** The inactivity timeout while this dialog (or a dialog it began that declares none) is on top, in ms. `session.timeout` still wins. */
  timeout?: number;
  /** Nudges while this dialog is on top; `false`: none, even when the manager has some. */
  nudge?: NudgeOptions<S> | false;
}

const positive = z.number().int().positive();

/** The shape of `nudge` options (functions and messages are checked when used). */
export const nudgeSchema = z
  .object({
    after: positive,
    every: positive.optional(),
    max: positive.optional(),
    // One check rather than a union of string and object, so that the error says what the message may be.
    message: z.custom<string | object>(
      (v) =>
        typeof v === 'string' || (typeof v === 'object' && v !== null && !Array.isArray(v)) || typeof v === 'function',
      {
        message: 'must be a message, a string or a function',
      },
    ),
  })
  .strict();

/** The shape of a dialog's idle options. */
export const dialogIdleSchema = z
  .object({
    timeout: positive.optional(),
    nudge: z.union([nudgeSchema, z.literal(false)]).optional(),
  })
  .partial();

/** What a claimed idle deadline stands for now. */
export type IdleStep =
  /** The session's idle time is over: close it. */
  | { readonly kind: 'close' }
  /** Send nudge number `count` (missed ones are skipped, so a late sweep sends one nudge, not a burst). */
  | { readonly kind: 'nudge'; readonly count: number; readonly nudge: NudgeOptions<any> }
  /** Nothing is due yet (the store's clock ran ahead, or the policy changed): set the next deadline again. */
  | { readonly kind: 'wait' }
  /** Lazy policy, idle time over: nothing runs; the next message ends the session. */
  | { readonly kind: 'lapsed' };

/**
 * The idle ladder of every session: when its next idle event (a nudge or the close) is due, and what a due deadline
 * means. Pure: it reads the session state and the options, so every process computes the same deadline for the same state.
 */
export class IdleLadder {
  private readonly dialogs = new Map<string, DialogIdleOptions<any>>();

  constructor(
    private readonly nudge: NudgeOptions<any> | undefined,
    private readonly timeout: number,
    /** Proactive close policy: the close itself is an idle event. */
    private readonly closes: boolean,
  ) {}

  /** Registers a dialog's own idle options. */
  setDialog(id: string, options: DialogIdleOptions<any>): void {
    this.dialogs.set(id, options);
  }

  /** The timeout before `session.timeout` applies: the innermost dialog's that declares one, else the manager's. */
  baseTimeout(stack: readonly DialogInstance[]): number {
    for (let i = stack.length - 1; i >= 0; i--) {
      const timeout = this.dialogs.get(stack[i]!.id)?.timeout;
      if (timeout !== undefined) return timeout;
    }
    return this.timeout;
  }

  /** When the session closes if the user stays idle (ms since the epoch). */
  closeAt(state: SessionStateRecord): number {
    return state.lastActiveAt + (state.timeout ?? this.baseTimeout(state.stack));
  }

  /** The next idle event (a nudge or, with the proactive policy, the close), or `undefined` when nothing is to run. */
  next(state: SessionStateRecord): number | undefined {
    const close = this.closeAt(state);
    const nudge = this.nudgeOf(state.stack);
    if (nudge !== undefined) {
      const sent = sentNudges(state);
      if (sent < (nudge.max ?? 1)) {
        const at = nudgeAt(state, nudge, sent);
        if (at < close) return at;
      }
    }
    return this.closes ? close : undefined;
  }

  /** What a claimed deadline of `state` means at `now`. */
  step(state: SessionStateRecord, now: number): IdleStep {
    if (now >= this.closeAt(state)) return this.closes ? { kind: 'close' } : { kind: 'lapsed' };
    const nudge = this.nudgeOf(state.stack);
    if (nudge === undefined) return { kind: 'wait' };
    const max = nudge.max ?? 1;
    let count = sentNudges(state);
    if (count >= max || nudgeAt(state, nudge, count) > now) return { kind: 'wait' };
    count++;
    while (count < max && nudgeAt(state, nudge, count) <= now) count++;
    return { kind: 'nudge', count, nudge };
  }

  /** The nudges in force: the innermost dialog's that declares some (or `false`), else the manager's. */
  private nudgeOf(stack: readonly DialogInstance[]): NudgeOptions<any> | undefined {
    for (let i = stack.length - 1; i >= 0; i--) {
      const nudge = this.dialogs.get(stack[i]!.id)?.nudge;
      if (nudge !== undefined) return nudge === false ? undefined : nudge;
    }
    return this.nudge;
  }
}

/** Nudges sent since the user was last active. */
function sentNudges(state: SessionStateRecord): number {
  const nudges = state.nudges;
  return nudges !== undefined && nudges.at === state.lastActiveAt ? nudges.count : 0;
}

/** When nudge number `sent + 1` is due. */
function nudgeAt(state: SessionStateRecord, nudge: NudgeOptions<any>, sent: number): number {
  return state.lastActiveAt + nudge.after + sent * (nudge.every ?? nudge.after);
}
