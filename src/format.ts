import { vsprintf } from 'sprintf-js';
import { PalaverError } from './errors';

// sprintf-js formats; this file only checks that every placeholder has a value, because sprintf-js prints
// "undefined" for a missing positional argument or a missing named key instead of failing.
// The regular expressions are sprintf-js 1.1's own, so both read a template the same way.
const TEXT = /^[^\x25]+/;
const MODULO = /^\x25{2}/;
const PLACEHOLDER = /^\x25(?:([1-9]\d*)\$|\(([^)]+)\))?(\+)?(0|'[^$])?(-)?(\d+)?(?:\.(\d+))?([b-gijostTuvxX])/;
const KEY = /^([a-z_][a-z_\d]*)/i;
const KEY_ACCESS = /^\.([a-z_][a-z_\d]*)/i;
const INDEX_ACCESS = /^\[(\d+)\]/;

/** A placeholder that reads an argument: `{ index }` for positional ones (0-based), `{ keys }` for named ones. */
type Slot =
  | { readonly text: string; readonly index: number; readonly keys?: undefined }
  | { readonly text: string; readonly keys: readonly string[] };

/**
 * A template read once: its placeholders and, when they are all a bare `%s` (the common `'Hello %s!'`, or none at all),
 * the text around them (`%%` already a `%`), so that string and number arguments need no sprintf-js call.
 */
interface Template {
  readonly slots: readonly Slot[];
  readonly parts: readonly string[] | undefined;
}

const templateCache = new Map<string, Template>();
const TEMPLATE_CACHE_SIZE = 500;

/**
 * Expands a sprintf template (`'Hello %s'`, `'%d items'`, `'Hello %(name)s'`). Without arguments the text is returned
 * as it is, so user text with `%` in it is never read as a template.
 * @throws PalaverError `INVALID_TEMPLATE` when the template is malformed, when a placeholder has no argument, when a
 * named placeholder's key is missing from the object, or when an argument it reads is `undefined`.
 */
export function formatText(template: string, args: readonly unknown[]): string {
  if (args.length === 0) return template;
  const parsed = parse(template);
  const parts = parsed.parts;
  if (parts !== undefined) {
    // What sprintf-js writes for `%s` given a string or a number is the value as text.
    let output = parts[0]!;
    let i = 1;
    for (; i < parts.length; i++) {
      const arg = args[i - 1];
      if (typeof arg !== 'string' && typeof arg !== 'number') break;
      output += arg + parts[i]!;
    }
    if (i === parts.length) return output;
  }
  let output: string;
  try {
    output = vsprintf(template, args as unknown[]);
  } catch (error) {
    throw invalid(template, args, `${(error as Error).message.replace(/^\[sprintf\] /, '')}`, error);
  }
  checkArguments(template, args, parsed.slots);
  return output;
}

function checkArguments(template: string, args: readonly unknown[], slots: readonly Slot[]): void {
  let cursor = 0;
  for (const slot of slots) {
    if (slot.keys !== undefined) {
      let value: unknown = args[0];
      for (const key of slot.keys) value = (value as Record<string, unknown> | undefined)?.[key];
      if (value === undefined) {
        throw invalid(
          template,
          args,
          `the named placeholder ${slot.text} has no value: the object passed has no \`${slot.keys.join('.')}\``,
        );
      }
      continue;
    }
    const index = slot.index >= 0 ? slot.index : cursor++;
    if (index >= args.length) {
      throw invalid(
        template,
        args,
        `the placeholder ${slot.text} needs argument ${index + 1}, but only ${args.length} ${args.length === 1 ? 'was' : 'were'} given`,
      );
    }
    if (args[index] === undefined)
      throw invalid(template, args, `argument ${index + 1} (for ${slot.text}) is undefined`);
  }
}

/**
 * The placeholders of a template. A template sprintf-js rejects may come out incomplete (and never simple): its slots
 * are not used, since sprintf-js throws first.
 */
function parse(template: string): Template {
  const cached = templateCache.get(template);
  if (cached !== undefined) return cached;
  const slots: Slot[] = [];
  let parts: string[] | undefined = [''];
  let rest = template;
  while (rest) {
    let match: RegExpExecArray | null;
    if ((match = TEXT.exec(rest)) !== null) {
      if (parts !== undefined) parts[parts.length - 1] += match[0];
    } else if ((match = MODULO.exec(rest)) !== null) {
      if (parts !== undefined) parts[parts.length - 1] += '%';
    } else {
      match = PLACEHOLDER.exec(rest);
      if (match === null) {
        parts = undefined;
        break;
      }
      if (match[2] !== undefined) slots.push({ text: match[0], keys: keyPath(match[2]) });
      else slots.push({ text: match[0], index: match[1] === undefined ? -1 : Number(match[1]) - 1 });
      if (match[0] !== '%s') parts = undefined;
      else if (parts !== undefined) parts.push('');
    }
    rest = rest.slice(match[0].length);
  }
  const parsed: Template = { slots, parts };
  if (templateCache.size >= TEMPLATE_CACHE_SIZE) templateCache.clear();
  templateCache.set(template, parsed);
  return parsed;
}

function keyPath(field: string): string[] {
  const keys: string[] = [];
  let match = KEY.exec(field);
  while (match !== null) {
    keys.push(match[1]!);
    field = field.slice(match[0].length);
    match = KEY_ACCESS.exec(field) ?? INDEX_ACCESS.exec(field);
  }
  return keys;
}

function invalid(template: string, args: readonly unknown[], problem: string, cause?: unknown): PalaverError {
  const shown = JSON.stringify(template.length > 80 ? template.slice(0, 80) + '…' : template);
  return new PalaverError(
    'INVALID_TEMPLATE',
    `The template ${shown} does not fit its ${args.length} argument${args.length === 1 ? '' : 's'}: ${problem}.` +
      (cause === undefined
        ? ''
        : ` Named placeholders need a type after them ('%(name)s'), and '%%' writes a percent sign.`),
    cause === undefined ? undefined : { cause },
  );
}
