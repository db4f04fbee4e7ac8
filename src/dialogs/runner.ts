import { PalaverError } from '../errors';
import { HOST, ResumeReason, type DialogInstance, type DialogSession } from './dialog';
import type { DialogRegistry } from './registry';
import { clear, pop, push, replaceTop, top, truncate } from './stack';
import { isThenable } from './waterfall';

/** Hooks the runner calls back into the session for. */
export interface RunnerHooks {
  /** The stack was cleared by `endConversation`: drop privateConversationData too. */
  endConversation(): void;
  /** The top of the stack changed from `previous`. */
  topChanged(previous: DialogInstance | undefined): void;
  trace?: ((line: string) => void) | undefined;
}

/** Hands the turn's message to the dialog on top of the stack (beginning the root dialog on an empty stack), then runs what it asks for. */
export async function dispatch(
  session: DialogSession,
  registry: DialogRegistry,
  rootId: string,
  maxOperations: number,
  hooks: RunnerHooks,
): Promise<void> {
  const host = session[HOST];
  const topInstance = top(host.stack);
  if (topInstance === undefined) {
    host.record({ kind: 'begin', id: rootId, args: undefined });
  } else {
    try {
      const done = registry.get(topInstance.id).reply(session);
      if (isThenable(done)) await done;
    } catch (error) {
      return settleThenThrow(session, error);
    }
  }
  await drain(session, registry, maxOperations, hooks);
}

/**
 * Carries out recorded stack operations until a dialog waits for the user. Iterative: no recursion however deep the flow.
 * Whether it returns or throws, no `sendBatch()` save of the turn is still running when it is done.
 */
export async function drain(session: DialogSession, registry: DialogRegistry, maxOperations: number, hooks: RunnerHooks): Promise<void> {
  try {
    await run(session, registry, maxOperations, hooks);
  } catch (error) {
    return settleThenThrow(session, error);
  }
}

/** Lets a running `sendBatch()` save finish before the error reaches the manager, which rolls back to what it saved. */
async function settleThenThrow(session: DialogSession, error: unknown): Promise<never> {
  const saving = session[HOST].saving();
  if (saving !== undefined) await saving;
  throw error;
}

async function run(session: DialogSession, registry: DialogRegistry, maxOperations: number, hooks: RunnerHooks): Promise<void> {
  const host = session[HOST];
  const stack = host.stack;
  const trace = hooks.trace;
  for (let operations = 0; ; operations++) {
    let action = host.take();
    if (action === undefined) {
      // A sendBatch() that was not awaited is still saving: the turn commits after it, never beside it.
      const saving = host.saving();
      if (saving !== undefined) {
        await saving;
        action = host.take();
      }
      if (action === undefined) return;
    }
    if (operations >= maxOperations) {
      throw new PalaverError(
        'DIALOG_LOOP',
        `One turn ran more than ${maxOperations} dialog operations without waiting for the user; a dialog probably ` +
          `begins or replaces itself in a loop (last operation: ${action.kind}).`,
      );
    }
    const before = top(stack);
    let done: unknown;
    switch (action.kind) {
      case 'begin': {
        const dialog = registry.get(action.id);
        trace?.(`session.beginDialog(${action.id})`);
        const pushed = push(stack, action.id);
        if (action.interrupt === true && before !== undefined) pushed.interrupt = true;
        hooks.topChanged(before);
        done = dialog.begin(session, action.args);
        break;
      }
      case 'replace': {
        const dialog = registry.get(action.id);
        trace?.(`session.replaceDialog(${action.id})`);
        const replaced = replaceTop(stack, action.id);
        if (before?.interrupt === true) replaced.interrupt = true;
        hooks.topChanged(before);
        done = dialog.begin(session, action.args);
        break;
      }
      case 'end': {
        trace?.('session.endDialogWithResult()');
        const ended = pop(stack);
        hooks.topChanged(before);
        const parent = top(stack);
        if (parent !== undefined) {
          done = ended?.interrupt === true ? reprompt(session, registry, parent) : registry.get(parent.id).resume(session, { ...action.result, childId: ended?.id });
        }
        break;
      }
      case 'next': {
        const current = top(stack);
        if (current !== undefined) done = registry.get(current.id).resume(session, action.result);
        break;
      }
      case 'cancel': {
        trace?.(`session.cancelDialog(${action.index})`);
        const removed = truncate(stack, action.index);
        const interrupted = removed[0]?.interrupt === true;
        if (action.replaceWithId !== undefined) {
          const dialog = registry.get(action.replaceWithId);
          trace?.(`session.beginDialog(${action.replaceWithId})`);
          const pushed = push(stack, action.replaceWithId);
          if (interrupted) pushed.interrupt = true;
          hooks.topChanged(before);
          done = dialog.begin(session, action.replaceWithArgs);
        } else {
          hooks.topChanged(before);
          const parent = top(stack);
          if (parent !== undefined) {
            done = interrupted
              ? reprompt(session, registry, parent)
              : registry.get(parent.id).resume(session, { resumed: ResumeReason.notCompleted, childId: removed[0]?.id });
          }
        }
        break;
      }
      case 'discard': {
        trace?.(action.all ? 'session.discard({ all: true })' : 'session.discard()');
        if (action.all) clear(stack);
        else pop(stack);
        hooks.topChanged(before);
        break;
      }
      case 'endConversation': {
        trace?.('session.endConversation()');
        clear(stack);
        hooks.endConversation();
        hooks.topChanged(before);
        break;
      }
    }
    if (isThenable(done)) await done;
  }
}

/** After an interruption ends: the interrupted dialog asks its question again if it can (prompts do), else waits as it was. */
function reprompt(session: DialogSession, registry: DialogRegistry, parent: DialogInstance): unknown {
  const dialog = registry.get(parent.id);
  return dialog.reprompt === undefined ? undefined : dialog.reprompt(session);
}
