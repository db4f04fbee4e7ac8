import { PalaverError } from '../errors';
import { HOST, ResumeReason, type DialogInstance, type DialogSession } from './dialog';
import type { DialogRegistry } from './registry';
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
  const topInstance = host.stack[host.stack.length - 1];
  if (topInstance === undefined) {
    host.record({ kind: 'begin', id: rootId, args: undefined });
  } else {
    const done = registry.get(topInstance.id).reply(session);
    if (isThenable(done)) await done;
  }
  await drain(session, registry, maxOperations, hooks);
}

/** Carries out recorded stack operations until a dialog waits for the user. Iterative: no recursion however deep the flow. */
export async function drain(session: DialogSession, registry: DialogRegistry, maxOperations: number, hooks: RunnerHooks): Promise<void> {
  const host = session[HOST];
  const stack = host.stack;
  const trace = hooks.trace;
  for (let operations = 0; ; operations++) {
    const action = host.take();
    if (action === undefined) return;
    if (operations >= maxOperations) {
      throw new PalaverError(
        'DIALOG_LOOP',
        `One turn ran more than ${maxOperations} dialog operations without waiting for the user; a dialog probably ` +
          `begins or replaces itself in a loop (last operation: ${action.kind}).`,
      );
    }
    const before = stack[stack.length - 1];
    let done: unknown;
    switch (action.kind) {
      case 'begin': {
        const dialog = registry.get(action.id);
        trace?.(`session.beginDialog(${action.id})`);
        stack.push({ id: action.id, data: {} });
        hooks.topChanged(before);
        done = dialog.begin(session, action.args);
        break;
      }
      case 'replace': {
        const dialog = registry.get(action.id);
        trace?.(`session.replaceDialog(${action.id})`);
        stack.pop();
        stack.push({ id: action.id, data: {} });
        hooks.topChanged(before);
        done = dialog.begin(session, action.args);
        break;
      }
      case 'end': {
        const ended = stack.pop();
        trace?.('session.endDialogWithResult()');
        hooks.topChanged(before);
        const parent = stack[stack.length - 1];
        if (parent !== undefined) done = registry.get(parent.id).resume(session, { ...action.result, childId: ended?.id });
        break;
      }
      case 'next': {
        const current = stack[stack.length - 1];
        if (current !== undefined) done = registry.get(current.id).resume(session, action.result);
        break;
      }
      case 'cancel': {
        trace?.(`session.cancelDialog(${action.index})`);
        const removed = stack.splice(action.index);
        if (action.replaceWithId !== undefined) {
          const dialog = registry.get(action.replaceWithId);
          stack.push({ id: action.replaceWithId, data: {} });
          hooks.topChanged(before);
          done = dialog.begin(session, action.replaceWithArgs);
        } else {
          hooks.topChanged(before);
          const parent = stack[stack.length - 1];
          if (parent !== undefined) {
            done = registry.get(parent.id).resume(session, { resumed: ResumeReason.notCompleted, childId: removed[0]?.id });
          }
        }
        break;
      }
      case 'discard': {
        trace?.(action.all ? 'session.discard({ all: true })' : 'session.discard()');
        if (action.all) stack.length = 0;
        else stack.pop();
        hooks.topChanged(before);
        break;
      }
      case 'endConversation': {
        trace?.('session.endConversation()');
        stack.length = 0;
        hooks.endConversation();
        hooks.topChanged(before);
        break;
      }
    }
    if (isThenable(done)) await done;
  }
}
