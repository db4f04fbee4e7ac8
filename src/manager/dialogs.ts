// Registering a dialog: checking what it is (a waterfall, a handler, a Dialog object) and its options (idle timeout
// and nudges, triggers and scoped actions).
import type { ActionOptions, TriggerActionOptions } from '../dialogs/actions';
import type { Dialog, DialogHandler } from '../dialogs/dialog';
import type { DialogRegistry } from '../dialogs/registry';
import { FunctionDialog, WaterfallDialog } from '../dialogs/waterfall';
import { describe, PalaverError } from '../errors';
import { dialogIdleSchema, IdleLadder, nudgeSchema, type NudgeOptions } from '../nudge';
import { parseOrThrow } from '../schema';
import type { Engine } from './turns';

/** Options of {@link SessionManager.dialog}. */
export interface DialogOptions<S> {
  /** Shown in traces and `currentDialogState.name`. @default the id */
  name?: string;
  /** The inactivity timeout while this dialog is the innermost on the stack that declares one, in ms. */
  timeout?: number;
  /** Nudges while this dialog waits (`false`: none, whatever the manager's option says). */
  nudge?: NudgeOptions<S> | false;
  /** Begins this dialog from anywhere in the conversation when `matches` matches. */
  triggerAction?: TriggerActionOptions<S>;
  /** Named actions in force while this dialog is on the stack. */
  actions?: Record<string, ActionOptions<S>>;
}

/**
 * Checks and registers dialog `id`; its idle options go to the engine's idle ladder (built on first use).
 * @throws PalaverError `DIALOG_EXISTS`, `ACTION_EXISTS`, `INVALID_OPTIONS`, `INVALID_ARGUMENT`.
 */
export function registerDialog(
  registry: DialogRegistry,
  engine: Engine,
  id: string,
  dialog: unknown,
  options: DialogOptions<any>,
): void {
  if (typeof id !== 'string' || id.length === 0) {
    throw new PalaverError('INVALID_ARGUMENT', `Expected a dialog id as a non-empty string, got ${describe(id)}.`);
  }
  const built = buildDialog(id, dialog);
  const idle = options.timeout !== undefined || options.nudge !== undefined;
  if (idle) {
    // A nudge object is checked on its own first: inside the union with `false`, its errors would read "Invalid input".
    if (typeof options.nudge === 'object' && options.nudge !== null) {
      parseOrThrow(nudgeSchema, options.nudge, 'INVALID_OPTIONS', `nudge of dialog "${id}"`);
    }
    parseOrThrow(
      dialogIdleSchema,
      { timeout: options.timeout, nudge: options.nudge },
      'INVALID_OPTIONS',
      `idle options of dialog "${id}"`,
    );
  }
  if (options.triggerAction !== undefined || options.actions !== undefined) registry.routes.declare(id, options);
  registry.add(id, built, options.name);
  if (idle) {
    const { timeout, proactive } = engine.settings;
    (engine.idle ??= new IdleLadder(undefined, timeout, proactive)).setDialog(id, options);
  }
}

function buildDialog(id: string, dialog: unknown): Dialog<any> {
  if (Array.isArray(dialog)) {
    if (dialog.length === 0 || !dialog.every((step) => typeof step === 'function')) {
      throw new PalaverError('INVALID_ARGUMENT', `Dialog "${id}": a waterfall is a non-empty array of step functions.`);
    }
    return new WaterfallDialog(dialog);
  }
  if (typeof dialog === 'function') return new FunctionDialog(dialog as DialogHandler<any>);
  if (typeof dialog === 'object' && dialog !== null && typeof (dialog as Dialog).begin === 'function')
    return dialog as Dialog<any>;
  throw new PalaverError(
    'INVALID_ARGUMENT',
    `Dialog "${id}": expected an array of steps, a function or a Dialog, got ${describe(dialog)}.`,
  );
}
