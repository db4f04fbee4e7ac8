import type { MessageLike } from '../cards';
import { describe, PalaverError } from '../errors';
import { intentMatcherProblem, isIntentMatcher, matchesIntent, type IntentMatcher } from '../recognizers';
import type { Awaitable, IncomingMessage } from '../types';
import { HOST, ResumeReason, type Dialog, type DialogResult, type DialogSession } from './dialog';
import { Prompts } from './prompts';
import type { DialogRegistry } from './registry';
import { isThenable } from '../types';

// Interruptions and middleware. The registry keeps one ActionRoutes: the triggers and global actions (in registration
// order), the scoped actions of each dialog, and the middleware. The runner hands a turn's message to it before the
// dialog on top sees it; with nothing registered here the runner never calls in, and a turn costs what it did before.

/**
 * What triggers an action by text:
 * - a RegExp, tested on the message's text;
 * - a string: the whole trimmed text, case-insensitive;
 * - `{ intent, minScore? }`: the turn's best intent (`session.info.nlp`, see `bot.recognizer()`), scored at least
 *   `minScore`;
 * - a function of the message and the session (may be async).
 */
export type ActionMatcher<S = DialogSession> =
  RegExp | string | IntentMatcher | ((message: IncomingMessage, session: S) => boolean | PromiseLike<boolean>);

/**
 * A named action (`bot.action(name, ...)`, or one of a dialog's `actions`): what triggers it, and one thing it does:
 * `beginDialog`, `cancel` or `endConversation`.
 */
export interface ActionOptions<S = DialogSession> {
  /** The text that triggers it; without it, only a `CardAction.dialogAction` button (or a message naming it) does. */
  matches?: ActionMatcher<S>;
  /**
   * Begins this dialog on top of the stack, with {@link ActionArgs} as its args; when it ends, the dialog below asks
   * its question again.
   */
  beginDialog?: string;
  /** With `beginDialog`: clear the stack first (the new dialog does not return to anything). @default false */
  replace?: boolean;
  /**
   * Sends this message (`true`: none) and removes the dialog that declares the action and every dialog above it; its
   * caller resumes with `ResumeReason.notCompleted`. On a global action: clears the whole stack.
   */
  cancel?: MessageLike | true;
  /** Sends this message (`true`: none) and ends the conversation, as `session.endConversation()`. */
  endConversation?: MessageLike | true;
  /** Asks this yes/no question first (a confirm prompt); "no" returns the user to where they were, re-prompted. */
  confirmPrompt?: MessageLike;
}

/** A dialog's `triggerAction`: text that begins the dialog from anywhere in the conversation. */
export interface TriggerActionOptions<S = DialogSession> {
  /** The text that triggers it. */
  matches: ActionMatcher<S>;
  /**
   * `true`: the dialog goes on top, and when it ends the interrupted dialog asks its question again. `false` (the
   * default, as botbuilder v3): the stack is cleared and the dialog begins alone.
   * @default false
   */
  interrupt?: boolean;
  /** Asks this yes/no question first; "no" returns the user to where they were, re-prompted. */
  confirmPrompt?: MessageLike;
}

/** The args a dialog begun by an action gets. */
export interface ActionArgs<D = unknown> {
  /** The action's name (a trigger's is its dialog's id). */
  action: string;
  /** The data of the `CardAction.dialogAction` button pressed; `undefined` when text triggered it. */
  data: D | undefined;
  /** What matched: a RegExp's match and its groups (`''` for a group that did not take part), else the trimmed text; `[]` for a button. */
  matched: string[];
}

/** Middleware: runs in every message turn before the actions and the dialogs; call `next()` to let them run. */
export type Middleware<S = DialogSession> = (session: S, next: () => Promise<void>) => Awaitable<unknown>;

/** The `value` of an incoming message that presses a `CardAction.dialogAction` button (what the adapters produce). */
export interface DialogActionValue {
  /** The action's name. */
  dialogAction: string;
  /** The button's data. */
  data?: unknown;
}

/** What an action does, normalized. */
type Effect =
  | { readonly kind: 'begin'; readonly id: string; readonly replace: boolean }
  | { readonly kind: 'cancel'; readonly message: MessageLike | undefined }
  | { readonly kind: 'endConversation'; readonly message: MessageLike | undefined };

interface Route {
  readonly name: string;
  /** The dialog that declares it (a scoped action), or `undefined` (a trigger or global action). */
  readonly scope: string | undefined;
  readonly matches: ActionMatcher<any> | undefined;
  readonly confirmPrompt: MessageLike | undefined;
  readonly effect: Effect;
}

/** A matched action: the route, the stack index of the dialog that declares it (-1 for a global one), and the args. */
export interface FoundAction {
  readonly route: Route;
  readonly index: number;
  readonly args: ActionArgs;
}

/** The dialog that asks an action's `confirmPrompt`. */
export const CONFIRM_ACTION_ID = 'palaver:confirmAction';

/** The triggers, actions and middleware of one manager. */
export class ActionRoutes {
  /** True once anything is registered: the runner routes through here only then. */
  active = false;
  private readonly globals: Route[] = [];
  private readonly scoped = new Map<string, Route[]>();
  private readonly middleware: Middleware<any>[] = [];

  constructor(private readonly registry: DialogRegistry<any>) {}

  /** `bot.use(fn)`. */
  use(fn: Middleware<any>): void {
    if (typeof fn !== 'function') {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `Expected middleware as a function (session, next) => ..., got ${describe(fn)}.`,
      );
    }
    this.middleware.push(fn);
    this.active = true;
  }

  /** `bot.action(name, options)`: a global named action. */
  action(name: string, options: ActionOptions<any>): void {
    checkName(name, 'bot.action()');
    if (this.globals.some((route) => route.name === name)) {
      throw new PalaverError(
        'ACTION_EXISTS',
        `A global action or trigger named "${name}" is already registered; give each its own name.`,
      );
    }
    this.add(this.globals, toRoute(name, undefined, options, `action "${name}"`));
  }

  /**
   * A dialog's `triggerAction` and `actions` (from `bot.dialog(id, steps, options)`). Checked in full before anything is
   * kept; called before the dialog is added, so it keeps nothing for an id that is taken (the add then throws DIALOG_EXISTS).
   */
  declare(
    id: string,
    options: { triggerAction?: TriggerActionOptions<any>; actions?: Record<string, ActionOptions<any>> },
  ): void {
    if (this.registry.has(id)) return;
    let trigger: Route | undefined;
    if (options.triggerAction !== undefined) {
      const spec = options.triggerAction;
      if (typeof spec !== 'object' || spec === null) {
        throw new PalaverError(
          'INVALID_OPTIONS',
          `Dialog "${id}": expected \`triggerAction\` as an object { matches, interrupt? }, got ${describe(spec)}.`,
        );
      }
      if (spec.matches === undefined)
        throw new PalaverError(
          'INVALID_OPTIONS',
          `Dialog "${id}": \`triggerAction\` needs \`matches\` (a RegExp, a string, { intent } or a function).`,
        );
      if (this.globals.some((route) => route.name === id)) {
        throw new PalaverError(
          'ACTION_EXISTS',
          `A global action named "${id}" is already registered; a dialog's trigger is named after its dialog.`,
        );
      }
      trigger = toRoute(
        id,
        undefined,
        { matches: spec.matches, confirmPrompt: spec.confirmPrompt, beginDialog: id, replace: spec.interrupt !== true },
        `triggerAction of dialog "${id}"`,
      );
    }
    let scoped: Route[] | undefined;
    if (options.actions !== undefined) {
      const actions = options.actions;
      if (typeof actions !== 'object' || actions === null || Array.isArray(actions)) {
        throw new PalaverError(
          'INVALID_OPTIONS',
          `Dialog "${id}": expected \`actions\` as an object of named actions, got ${describe(actions)}.`,
        );
      }
      scoped = Object.entries(actions).map(([name, spec]) => {
        checkName(name, `dialog "${id}"`);
        return toRoute(name, id, spec, `action "${name}" of dialog "${id}"`);
      });
    }
    if (trigger !== undefined) this.add(this.globals, trigger);
    if (scoped !== undefined && scoped.length > 0) {
      for (const route of scoped) this.needsConfirm(route);
      this.scoped.set(id, scoped);
      this.active = true;
    }
  }

  /** Runs the middleware around `core` (the actions and the dialog on top), onion-style. */
  async run(session: DialogSession, core: () => Promise<void>): Promise<void> {
    const list = this.middleware;
    let called = -1;
    let inner: Promise<void> | undefined;
    const step = (i: number): Promise<void> => {
      if (i <= called)
        return Promise.reject(
          new PalaverError(
            'NEXT_CALLED_TWICE',
            `The middleware added number ${i} called next() more than once in one turn; call it once (await next()).`,
          ),
        );
      called = i;
      if (i === list.length) return (inner = core());
      try {
        return Promise.resolve(list[i]!(session, () => step(i + 1))).then(() => undefined);
      } catch (error) {
        return Promise.reject(error);
      }
    };
    await step(0);
    // A middleware that did not await next(): the turn still waits for the dialogs it let run.
    if (inner !== undefined) await inner;
  }

  /** True when middleware is registered. */
  get hasMiddleware(): boolean {
    return this.middleware.length > 0;
  }

  /**
   * The action the turn's message triggers, by precedence: the scoped actions of the dialogs on the stack, innermost
   * first; then the triggers and global actions in registration order. A pressed `dialogAction` button matches by name
   * only. Synchronous unless a matcher function returns a promise.
   */
  find(session: DialogSession): FoundAction | undefined | Promise<FoundAction | undefined> {
    const message = session.message;
    if (message === undefined) return undefined;
    const candidates = this.candidates(session);
    const press = dialogActionOf(message);
    if (press !== undefined) {
      const hit = candidates.find(([route]) => route.name === press.dialogAction);
      return hit === undefined
        ? undefined
        : { route: hit[0], index: hit[1], args: { action: hit[0].name, data: press.data, matched: [] } };
    }
    for (let i = 0; i < candidates.length; i++) {
      const [route, index] = candidates[i]!;
      const matched = matchAction(route.matches, message, session);
      if (isThenable(matched)) return this.findAsync(session, message, candidates, i, matched);
      if (matched !== undefined) return { route, index, args: { action: route.name, data: undefined, matched } };
    }
    return undefined;
  }

  /** The route a confirm dialog acts on once the user said yes. */
  lookup(scope: string | undefined, name: string): Route | undefined {
    return (scope === undefined ? this.globals : this.scoped.get(scope))?.find((route) => route.name === name);
  }

  private async findAsync(
    session: DialogSession,
    message: IncomingMessage,
    candidates: [Route, number][],
    from: number,
    pending: PromiseLike<string[] | undefined>,
  ): Promise<FoundAction | undefined> {
    for (let i = from; i < candidates.length; i++) {
      const [route, index] = candidates[i]!;
      const matched = i === from ? await pending : await matchAction(route.matches, message, session);
      if (matched !== undefined) return { route, index, args: { action: route.name, data: undefined, matched } };
    }
    return undefined;
  }

  /** Every route in force, with the stack index of its declaring dialog (-1 for global ones), in precedence order. */
  private candidates(session: DialogSession): [Route, number][] {
    const out: [Route, number][] = [];
    const stack = session[HOST].stack;
    if (this.scoped.size > 0) {
      for (let index = stack.length - 1; index >= 0; index--) {
        const routes = this.scoped.get(stack[index]!.id);
        if (routes !== undefined) for (const route of routes) out.push([route, index]);
      }
    }
    for (const route of this.globals) out.push([route, -1]);
    return out;
  }

  private add(list: Route[], route: Route): void {
    this.needsConfirm(route);
    list.push(route);
    this.active = true;
  }

  /** Registers the confirm dialog with the first route that asks to confirm. */
  private needsConfirm(route: Route): void {
    if (route.confirmPrompt !== undefined && !this.registry.has(CONFIRM_ACTION_ID)) {
      this.registry.add(CONFIRM_ACTION_ID, new ConfirmActionDialog(this), 'Confirm action');
    }
  }
}

/**
 * Tests one matcher against a message: what matched (see {@link ActionArgs.matched}), or `undefined`.
 * The one place matching happens, so that new kinds of matcher go here.
 */
export function matchAction(
  matcher: ActionMatcher<any> | undefined,
  message: IncomingMessage,
  session: DialogSession,
): string[] | undefined | PromiseLike<string[] | undefined> {
  if (matcher === undefined) return undefined;
  const text = message.text;
  if (typeof matcher === 'string') {
    if (text === undefined) return undefined;
    const trimmed = text.trim();
    return trimmed.toLowerCase() === matcher.trim().toLowerCase() ? [trimmed] : undefined;
  }
  if (matcher instanceof RegExp) {
    if (text === undefined) return undefined;
    matcher.lastIndex = 0; // a /g or /y RegExp remembers where it stopped
    const found = matcher.exec(text);
    return found === null ? undefined : Array.from(found, (group) => group ?? '');
  }
  if (typeof matcher !== 'function') return matchesIntent(matcher, session.info.nlp) ? [text?.trim() ?? ''] : undefined;
  const result = matcher(message, session);
  const asMatch = (yes: boolean) => (yes ? [text?.trim() ?? ''] : undefined);
  return isThenable(result) ? Promise.resolve(result).then(asMatch) : asMatch(result);
}

/** Carries out a matched action: asks its `confirmPrompt` first, or records the stack operation it stands for. */
export function startAction(session: DialogSession, found: FoundAction): void {
  const host = session[HOST];
  const { route, index, args } = found;
  host.trace?.(
    `action ${route.name} matched${route.scope === undefined ? '' : ` (declared by ${route.scope})`}${route.confirmPrompt === undefined ? '' : ', asking to confirm'}`,
  );
  if (route.confirmPrompt !== undefined) {
    const pending: PendingAction = { action: route.name, index, args };
    if (route.scope !== undefined) pending.scope = route.scope;
    host.record({ kind: 'begin', id: CONFIRM_ACTION_ID, args: pending, interrupt: true });
    return;
  }
  apply(session, route, index, args, false);
}

/** Records what `route` does. `confirmed`: the confirm dialog is on top and the operation takes its place. */
function apply(session: DialogSession, route: Route, index: number, args: ActionArgs, confirmed: boolean): void {
  const host = session[HOST];
  const effect = route.effect;
  const empty = host.stack.length === 0;
  switch (effect.kind) {
    case 'begin':
      if (isIntentMatcher(route.matches)) host.beganTask(route.matches.intent);
      if (effect.replace)
        host.record(
          empty
            ? { kind: 'begin', id: effect.id, args }
            : { kind: 'cancel', index: 0, replaceWithId: effect.id, replaceWithArgs: args },
        );
      else if (confirmed) host.record({ kind: 'replace', id: effect.id, args });
      else host.record({ kind: 'begin', id: effect.id, args, interrupt: true });
      return;
    case 'cancel':
      if (effect.message !== undefined) session.send(effect.message);
      if (!empty) host.record({ kind: 'cancel', index: Math.max(index, 0) });
      return;
    case 'endConversation':
      if (effect.message !== undefined) session.send(effect.message);
      host.record({ kind: 'endConversation' });
      host.requestFlush();
      return;
  }
}

/** What the confirm dialog keeps (in its dialogData) about the action it asks about. */
interface PendingAction {
  [key: string]: unknown;
  action: string;
  scope?: string;
  index: number;
  args: ActionArgs;
}

/**
 * Asks an action's `confirmPrompt` (through a confirm prompt it begins); yes carries the action out, no ends it, and
 * the dialog it interrupted asks its question again.
 */
class ConfirmActionDialog implements Dialog {
  readonly type = 'action';

  constructor(private readonly routes: ActionRoutes) {}

  begin(session: DialogSession, args: unknown): void {
    session.dialogData = { ...(args as PendingAction) };
    this.ask(session);
  }

  reply(session: DialogSession): void {
    this.ask(session);
  }

  reprompt(session: DialogSession): void {
    this.ask(session);
  }

  resume(session: DialogSession, result: DialogResult): void {
    const pending = session.dialogData as PendingAction;
    const route = this.routes.lookup(pending.scope, pending.action);
    if (result.resumed === ResumeReason.completed && result.response === true && route !== undefined) {
      session[HOST].trace?.(`action ${pending.action} confirmed`);
      apply(session, route, pending.index, pending.args, true);
    } else {
      session.endDialogWithResult({ resumed: ResumeReason.notCompleted });
    }
  }

  private ask(session: DialogSession): void {
    const pending = session.dialogData as PendingAction;
    const prompt = this.routes.lookup(pending.scope, pending.action)?.confirmPrompt;
    if (prompt === undefined) session.endDialogWithResult({ resumed: ResumeReason.notCompleted });
    else Prompts.confirm(session, prompt);
  }
}

/** The pressed `dialogAction` button a message carries (in its `value`), if any. */
export function dialogActionOf(message: IncomingMessage): DialogActionValue | undefined {
  const value = message.value as Partial<DialogActionValue> | undefined;
  if (typeof value !== 'object' || value === null || typeof value.dialogAction !== 'string') return undefined;
  return value as DialogActionValue;
}

function checkName(name: unknown, where: string): asserts name is string {
  if (typeof name !== 'string' || name.trim().length === 0) {
    throw new PalaverError(
      'INVALID_ARGUMENT',
      `${where}: expected an action name as a non-empty string, got ${describe(name)}.`,
    );
  }
}

function toRoute(name: string, scope: string | undefined, spec: ActionOptions<any>, where: string): Route {
  if (typeof spec !== 'object' || spec === null) {
    throw new PalaverError(
      'INVALID_OPTIONS',
      `${where}: expected an object such as { matches, beginDialog }, got ${describe(spec)}.`,
    );
  }
  const matches = spec.matches;
  if (
    matches !== undefined &&
    typeof matches !== 'string' &&
    typeof matches !== 'function' &&
    !(matches instanceof RegExp) &&
    !isIntentMatcher(matches)
  ) {
    throw new PalaverError(
      'INVALID_OPTIONS',
      `${where}: expected \`matches\` as a RegExp, a string, { intent, minScore? } or a function, got ${describe(matches)}.`,
    );
  }
  const problem = isIntentMatcher(matches) ? intentMatcherProblem(matches) : undefined;
  if (problem !== undefined) throw new PalaverError('INVALID_OPTIONS', `${where}: ${problem}.`);
  if (typeof matches === 'string' && matches.trim().length === 0) {
    throw new PalaverError(
      'INVALID_OPTIONS',
      `${where}: \`matches\` is an empty string, which no message matches; give the text to match.`,
    );
  }
  const kinds = (['beginDialog', 'cancel', 'endConversation'] as const).filter((kind) => spec[kind] !== undefined);
  if (kinds.length !== 1) {
    throw new PalaverError(
      'INVALID_OPTIONS',
      `${where}: expected exactly one of \`beginDialog\`, \`cancel\` or \`endConversation\`, got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}.`,
    );
  }
  if (spec.replace !== undefined && spec.beginDialog === undefined) {
    throw new PalaverError('INVALID_OPTIONS', `${where}: \`replace\` only applies with \`beginDialog\`.`);
  }
  let effect: Effect;
  if (spec.beginDialog !== undefined) {
    if (typeof spec.beginDialog !== 'string' || spec.beginDialog.length === 0) {
      throw new PalaverError(
        'INVALID_OPTIONS',
        `${where}: expected \`beginDialog\` as a dialog id, got ${describe(spec.beginDialog)}.`,
      );
    }
    effect = { kind: 'begin', id: spec.beginDialog, replace: spec.replace === true };
  } else if (spec.cancel !== undefined) {
    effect = { kind: 'cancel', message: spec.cancel === true ? undefined : spec.cancel };
  } else {
    effect = { kind: 'endConversation', message: spec.endConversation === true ? undefined : spec.endConversation };
  }
  return { name, scope, matches, confirmPrompt: spec.confirmPrompt, effect };
}
