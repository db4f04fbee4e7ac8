import { PalaverError } from '../errors';
import { startAction, type FoundAction } from './actions';
import { HOST, ResumeReason, type DialogAction, type DialogInstance, type DialogSession } from './dialog';
import type { DialogRegistry } from './registry';
import { clear, pop, push, replaceTop, top, truncate } from './stack';
import { isThenable } from '../types';

/** Hooks the runner calls back into the session for. */
export interface RunnerHooks {
  /** The stack was cleared by `endConversation`: drop privateConversationData too. */
  endConversation(): void;
  /** The top of the stack changed from `previous`. */
  topChanged(previous: DialogInstance | undefined): void;
  trace?: ((line: string) => void) | undefined;
}

// The runner stays synchronous for as long as the dialogs do: a turn whose steps and prompts return no promise costs
// no promise here (but the one `dispatch` returns), and it switches to an async loop only once something must be awaited.

/** What `dispatch` and `drain` return when everything ran synchronously (shared: a settled promise is immutable; callers may skip awaiting it). */
export const DONE: Promise<void> = Promise.resolve();

/**
 * Hands the turn's message to the middleware, then to the action it triggers, else to the dialog on top of the stack
 * (on an empty stack: to the dialog already begun, else the root dialog), then runs what they ask for.
 */
export function dispatch(
  session: DialogSession,
  registry: DialogRegistry,
  rootId: string,
  maxOperations: number,
  hooks: RunnerHooks,
): Promise<void> {
  const routes = registry.routes;
  if (!routes.active) return toTop(session, registry, rootId, maxOperations, hooks);
  if (!routes.hasMiddleware) return routeThenTop(session, registry, rootId, maxOperations, hooks);
  return throughMiddleware(session, registry, rootId, maxOperations, hooks);
}

/** `dispatch` with middleware: the onion, then whatever the middleware itself asked for (if it did not call `next()`, or after). */
async function throughMiddleware(
  session: DialogSession,
  registry: DialogRegistry,
  rootId: string,
  maxOperations: number,
  hooks: RunnerHooks,
): Promise<void> {
  try {
    await registry.routes.run(session, () => routeThenTop(session, registry, rootId, maxOperations, hooks));
  } catch (error) {
    return settleThenThrow(session, error);
  }
  return drain(session, registry, maxOperations, hooks);
}

/** The action the message triggers, if any; else the dialog on top. Synchronous while the matchers are. */
function routeThenTop(
  session: DialogSession,
  registry: DialogRegistry,
  rootId: string,
  maxOperations: number,
  hooks: RunnerHooks,
): Promise<void> {
  const host = session[HOST];
  // A stack operation asked for before routing (by onSessionStart or a middleware) is what the message does.
  if (host.hasAction())
    return top(host.stack) === undefined
      ? toTop(session, registry, rootId, maxOperations, hooks)
      : drain(session, registry, maxOperations, hooks);
  let found: FoundAction | undefined | Promise<FoundAction | undefined>;
  try {
    found = registry.routes.find(session);
  } catch (error) {
    return settleThenThrow(session, error);
  }
  if (isThenable(found)) {
    return found.then(
      (action) => actOrTop(session, registry, rootId, maxOperations, hooks, action),
      (error: unknown) => settleThenThrow(session, error),
    );
  }
  return actOrTop(session, registry, rootId, maxOperations, hooks, found);
}

function actOrTop(
  session: DialogSession,
  registry: DialogRegistry,
  rootId: string,
  maxOperations: number,
  hooks: RunnerHooks,
  found: FoundAction | undefined,
): Promise<void> {
  if (found === undefined) return toTop(session, registry, rootId, maxOperations, hooks);
  try {
    startAction(session, found);
  } catch (error) {
    return settleThenThrow(session, error);
  }
  return drain(session, registry, maxOperations, hooks);
}

/** Hands the turn's message to the dialog on top of the stack (on an empty stack: to the dialog already begun, else the root dialog), then runs what it asks for. */
function toTop(
  session: DialogSession,
  registry: DialogRegistry,
  rootId: string,
  maxOperations: number,
  hooks: RunnerHooks,
): Promise<void> {
  const host = session[HOST];
  const topInstance = top(host.stack);
  if (topInstance === undefined) {
    // A dialog that onSessionStart began (or replaced) is where a new session starts, instead of the root dialog. Any
    // other operation it left conflicts with beginning the root dialog, as before.
    const pending = host.take();
    try {
      if (pending !== undefined) host.record(pending);
      if (pending?.kind !== 'begin' && pending?.kind !== 'replace')
        host.record({ kind: 'begin', id: rootId, args: undefined });
    } catch (error) {
      return Promise.reject(error);
    }
  } else {
    let done: unknown;
    try {
      done = registry.get(topInstance.id).reply(session);
    } catch (error) {
      return settleThenThrow(session, error);
    }
    if (isThenable(done)) return replied(session, done, registry, maxOperations, hooks);
  }
  return drain(session, registry, maxOperations, hooks);
}

/** `dispatch` once the top dialog's `reply` returned a promise. */
async function replied(
  session: DialogSession,
  done: PromiseLike<unknown>,
  registry: DialogRegistry,
  maxOperations: number,
  hooks: RunnerHooks,
): Promise<void> {
  try {
    await done;
  } catch (error) {
    return settleThenThrow(session, error);
  }
  return drain(session, registry, maxOperations, hooks);
}

/**
 * Carries out recorded stack operations until a dialog waits for the user. Iterative: no recursion however deep the flow.
 * Whether it returns or throws, no `sendBatch()` save of the turn is still running when it is done.
 */
export function drain(
  session: DialogSession,
  registry: DialogRegistry,
  maxOperations: number,
  hooks: RunnerHooks,
): Promise<void> {
  let pending: Promise<void> | undefined;
  try {
    pending = run(session, registry, maxOperations, hooks);
  } catch (error) {
    return settleThenThrow(session, error);
  }
  if (pending === undefined) return DONE;
  return pending.then(undefined, (error: unknown) => settleThenThrow(session, error));
}

/** Lets a running `sendBatch()` save finish before the error reaches the manager, which rolls back to what it saved. */
async function settleThenThrow(session: DialogSession, error: unknown): Promise<never> {
  const saving = session[HOST].saving();
  if (saving !== undefined) await saving;
  throw error;
}

/** Runs operations synchronously; returns `undefined` when the dialogs wait for the user, or the async rest of the loop. */
function run(
  session: DialogSession,
  registry: DialogRegistry,
  maxOperations: number,
  hooks: RunnerHooks,
): Promise<void> | undefined {
  const host = session[HOST];
  const stack = host.stack;
  for (let operations = 0; ; operations++) {
    const action = host.take();
    if (action === undefined) {
      // A sendBatch() that was not awaited is still saving: the turn commits after it, never beside it.
      const saving = host.saving();
      return saving === undefined
        ? undefined
        : runAsync(session, registry, maxOperations, hooks, stack, saving, true, operations);
    }
    const done = perform(session, registry, maxOperations, hooks, stack, action, operations);
    if (isThenable(done)) return runAsync(session, registry, maxOperations, hooks, stack, done, false, operations + 1);
  }
}

/**
 * The loop of `run` once it has to wait for `pending`: a step's promise (the next operation is number `from`) or, when
 * `afterSaving`, a `sendBatch()` save (the operation recorded meanwhile, if any, is number `from`).
 */
async function runAsync(
  session: DialogSession,
  registry: DialogRegistry,
  maxOperations: number,
  hooks: RunnerHooks,
  stack: DialogInstance[],
  pending: PromiseLike<unknown>,
  afterSaving: boolean,
  from: number,
): Promise<void> {
  const host = session[HOST];
  await pending;
  let operations = from;
  if (afterSaving) {
    const action = host.take();
    if (action === undefined) return;
    const done = perform(session, registry, maxOperations, hooks, stack, action, operations++);
    if (isThenable(done)) await done;
  }
  for (; ; operations++) {
    let action = host.take();
    if (action === undefined) {
      const saving = host.saving();
      if (saving !== undefined) {
        await saving;
        action = host.take();
      }
      if (action === undefined) return;
    }
    const done = perform(session, registry, maxOperations, hooks, stack, action, operations);
    if (isThenable(done)) await done;
  }
}

/** Carries out one recorded operation (the `operations`-th of the turn); returns what the dialog it calls returned. */
function perform(
  session: DialogSession,
  registry: DialogRegistry,
  maxOperations: number,
  hooks: RunnerHooks,
  stack: DialogInstance[],
  action: DialogAction,
  operations: number,
): unknown {
  if (operations >= maxOperations) {
    throw new PalaverError(
      'DIALOG_LOOP',
      `One turn ran more than ${maxOperations} dialog operations without waiting for the user; a dialog probably ` +
        `begins or replaces itself in a loop (last operation: ${action.kind}).`,
    );
  }
  const trace = hooks.trace;
  const before = top(stack);
  switch (action.kind) {
    case 'begin': {
      const dialog = registry.get(action.id);
      trace?.(`session.beginDialog(${action.id})`);
      const pushed = push(stack, action.id);
      if (action.interrupt === true && before !== undefined) pushed.interrupt = true;
      hooks.topChanged(before);
      return dialog.begin(session, action.args);
    }
    case 'replace': {
      const dialog = registry.get(action.id);
      trace?.(`session.replaceDialog(${action.id})`);
      const replaced = replaceTop(stack, action.id);
      if (before?.interrupt === true) replaced.interrupt = true;
      hooks.topChanged(before);
      return dialog.begin(session, action.args);
    }
    case 'end': {
      trace?.('session.endDialogWithResult()');
      const ended = pop(stack);
      hooks.topChanged(before);
      const parent = top(stack);
      if (parent === undefined) return undefined;
      return ended?.interrupt === true
        ? reprompt(session, registry, parent)
        : registry.get(parent.id).resume(session, { ...action.result, childId: ended?.id });
    }
    case 'next': {
      const current = top(stack);
      return current === undefined ? undefined : registry.get(current.id).resume(session, action.result);
    }
    case 'cancel':
      return cancel(session, registry, hooks, stack, action, before);
    case 'discard': {
      trace?.(action.all ? 'session.discard({ all: true })' : 'session.discard()');
      if (action.all) clear(stack);
      else pop(stack);
      hooks.topChanged(before);
      return undefined;
    }
    case 'fail': {
      trace?.('session.error()');
      throw action.error;
    }
    case 'endConversation': {
      trace?.('session.endConversation()');
      clear(stack);
      hooks.endConversation();
      hooks.topChanged(before);
      return undefined;
    }
  }
}

/** Cancels the dialog at `action.index` and those above it; its caller resumes (or the replacement begins). */
function cancel(
  session: DialogSession,
  registry: DialogRegistry,
  hooks: RunnerHooks,
  stack: DialogInstance[],
  action: Extract<DialogAction, { kind: 'cancel' }>,
  before: DialogInstance | undefined,
): unknown {
  const trace = hooks.trace;
  trace?.(`session.cancelDialog(${action.index})`);
  const removed = truncate(stack, action.index);
  const interrupted = removed[0]?.interrupt === true;
  if (action.replaceWithId !== undefined) {
    const dialog = registry.get(action.replaceWithId);
    trace?.(`session.beginDialog(${action.replaceWithId})`);
    const pushed = push(stack, action.replaceWithId);
    if (interrupted) pushed.interrupt = true;
    hooks.topChanged(before);
    return dialog.begin(session, action.replaceWithArgs);
  }
  hooks.topChanged(before);
  const parent = top(stack);
  if (parent === undefined) return undefined;
  return interrupted
    ? reprompt(session, registry, parent)
    : registry.get(parent.id).resume(session, { resumed: ResumeReason.notCompleted, childId: removed[0]?.id });
}

/** After an interruption ends: the interrupted dialog asks its question again if it can (prompts do), else waits as it was. */
function reprompt(session: DialogSession, registry: DialogRegistry, parent: DialogInstance): unknown {
  const dialog = registry.get(parent.id);
  return dialog.reprompt === undefined ? undefined : dialog.reprompt(session);
}
