import { describe, PalaverError } from '../errors';
import type { DialogState } from '../types';
import { ActionRoutes } from './actions';
import type { Dialog, DialogSession } from './dialog';

interface Entry {
  readonly dialog: Dialog<any>;
  readonly state: DialogState;
}

/** Dialogs by id. */
export class DialogRegistry<S extends DialogSession = DialogSession> {
  private readonly dialogs = new Map<string, Entry>();
  /** Triggers, actions and middleware: what sees a turn's message before the dialog on top. */
  readonly routes: ActionRoutes = new ActionRoutes(this);

  add(id: string, dialog: Dialog<any>, name: string = id): void {
    if (this.dialogs.has(id)) {
      throw new PalaverError(
        'DIALOG_EXISTS',
        `A dialog with id "${id}" is already registered; give each dialog its own id.`,
      );
    }
    this.dialogs.set(id, { dialog, state: Object.freeze({ name, id, type: dialog.type }) });
  }

  has(id: string): boolean {
    return this.dialogs.has(id);
  }

  /** The dialog registered as `id`, or a DIALOG_NOT_FOUND error that lists what is registered. */
  get(id: string): Dialog<S> {
    const entry = this.dialogs.get(id);
    if (entry === undefined) throw notFound(id, [...this.dialogs.keys()]);
    return entry.dialog as Dialog<S>;
  }

  /** `{ name, id, type }` of a registered dialog (for `currentDialogState`). */
  state(id: string): DialogState {
    return this.dialogs.get(id)?.state ?? { name: id, id, type: 'unknown' };
  }

  /** Throws DIALOG_NOT_FOUND unless `id` is registered. */
  check(id: unknown): asserts id is string {
    if (typeof id !== 'string' || !this.dialogs.has(id)) throw notFound(id, [...this.dialogs.keys()]);
  }
}

function notFound(id: unknown, known: string[]): PalaverError {
  const list = known.filter((k) => !k.startsWith('palaver:')).map((k) => `"${k}"`);
  return new PalaverError(
    'DIALOG_NOT_FOUND',
    `No dialog is registered as ${typeof id === 'string' ? `"${id}"` : describe(id)}; register it with manager.dialog(id, ...) first` +
      (list.length ? ` (registered: ${list.slice(0, 10).join(', ')}${list.length > 10 ? ', …' : ''}).` : '.'),
  );
}
