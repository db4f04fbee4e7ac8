import {
  HOST,
  ResumeReason,
  type Dialog,
  type DialogHandler,
  type DialogResult,
  type DialogSession,
  type WaterfallStep,
} from './dialog';
import { isThenable } from '../types';

/** A dialog made of steps run one after another; each step gets the previous step's (or child dialog's) result. */
export class WaterfallDialog<S extends DialogSession = DialogSession> implements Dialog<S> {
  readonly type = 'waterfall';

  constructor(readonly steps: readonly WaterfallStep<S>[]) {}

  begin(session: S, args: unknown): Promise<void> | void {
    return this.run(session, 0, args);
  }

  reply(session: S): Promise<void> | void {
    return this.run(session, this.current(session) + 1, {
      resumed: ResumeReason.completed,
      response: session.message?.text,
    });
  }

  resume(session: S, result: DialogResult): Promise<void> | void {
    return this.run(session, this.current(session) + 1, result);
  }

  private current(session: S): number {
    const stack = session[HOST].stack;
    return stack.length === 0 ? 0 : (stack[stack.length - 1]!.step ?? 0);
  }

  private run(session: S, index: number, arg: unknown): Promise<void> | void {
    const host = session[HOST];
    if (index >= this.steps.length) {
      host.record({ kind: 'end', result: asResult(arg) });
      return;
    }
    const stack = host.stack;
    stack[stack.length - 1]!.step = index;
    host.trace?.(`waterfall() step ${index + 1} of ${this.steps.length}`);
    const next = (result?: Partial<DialogResult>): void =>
      host.record({ kind: 'next', result: { resumed: ResumeReason.completed, ...result } });
    const done = this.steps[index]!(session, arg, next);
    const last = index === this.steps.length - 1;
    if (isThenable(done)) {
      return Promise.resolve(done).then(() => {
        if (last && !host.hasAction()) host.record({ kind: 'end', result: asResult(arg) });
      });
    }
    // Falling off the last step ends the dialog with the result that step was given.
    if (last && !host.hasAction()) host.record({ kind: 'end', result: asResult(arg) });
  }
}

/** A dialog that is one function: called with the args when begun, then for each message and each child's result. */
export class FunctionDialog<S extends DialogSession = DialogSession> implements Dialog<S> {
  readonly type = 'function';

  constructor(readonly handler: DialogHandler<S>) {}

  begin(session: S, args: unknown): unknown {
    return this.handler(session, args);
  }

  reply(session: S): unknown {
    return this.handler(session, undefined);
  }

  resume(session: S, result: DialogResult): unknown {
    return this.handler(session, result);
  }
}

function asResult(arg: unknown): DialogResult {
  if (typeof arg === 'object' && arg !== null && typeof (arg as DialogResult).resumed === 'string')
    return arg as DialogResult;
  return { resumed: ResumeReason.completed };
}
