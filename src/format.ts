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
type Slot = { readonly text: string; readonly index: number; readonly keys?: undefined } | { readonly text: string; readonly keys: readonly string[] };

const slotCache = new Map<string, readonly Slot[]>();
const SLOT_CACHE_SIZE = 500;

/**
 * Expands a sprintf template (`'Hello %s'`, `'%d items'`, `'Hello %(name)s'`). Without arguments the text is returned
 * as it is, so user text with `%` in it is never read as a template.
 * @throws PalaverError `INVALID_TEMPLATE` when the template is malformed, when a placeholder has no argument, when a
 * named placeholder's key is missing from the object, or when an argument it reads is `undefined`.
 */
export function formatText(template: string, args: readonly unknown[]): string {
  if (args.length === 0) return template;
  let output: string;
  try {
    output = vsprintf(template, args as unknown[]);
  } catch (error) {
    throw invalid(template, args, `${(error as Error).message.replace(/^\[sprintf\] /, '')}`, error);
  }
  checkArguments(template, args);
  return output;
}

function checkArguments(template: string, args: readonly unknown[]): void {
  let cursor = 0;
  for (const slot of slotsOf(template)) {
    if (slot.keys !== undefined) {
      let value: unknown = args[0];
      for (const key of slot.keys) value = (value as Record<string, unknown> | undefined)?.[key];
      if (value === undefined) {
        throw invalid(template, args, `the named placeholder ${slot.text} has no value: the object passed has no \`${slot.keys.join('.')}\``);
      }
      continue;
    }
    const index = slot.index >= 0 ? slot.index : cursor++;
    if (index >= args.length) {
      throw invalid(template, args, `the placeholder ${slot.text} needs argument ${index + 1}, but only ${args.length} ${args.length === 1 ? 'was' : 'were'} given`);
    }
    if (args[index] === undefined) throw invalid(template, args, `argument ${index + 1} (for ${slot.text}) is undefined`);
  }
}

/** The placeholders of a template that sprintf-js has already parsed without error. */
function slotsOf(template: string): readonly Slot[] {
  const cached = slotCache.get(template);
  if (cached !== undefined) return cached;
  const slots: Slot[] = [];
  let rest = template;
  while (rest) {
    let match: RegExpExecArray | null;
    if ((match = TEXT.exec(rest)) !== null || (match = MODULO.exec(rest)) !== null) {
      rest = rest.slice(match[0].length);
      continue;
    }
    match = PLACEHOLDER.exec(rest);
    if (match === null) break; // unreachable: sprintf-js rejected such a template already
    if (match[2] !== undefined) slots.push({ text: match[0], keys: keyPath(match[2]) });
    else slots.push({ text: match[0], index: match[1] === undefined ? -1 : Number(match[1]) - 1 });
    rest = rest.slice(match[0].length);
  }
  if (slotCache.size >= SLOT_CACHE_SIZE) slotCache.clear();
  slotCache.set(template, slots);
  return slots;
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
      (cause === undefined ? '' : ` Named placeholders need a type after them ('%(name)s'), and '%%' writes a percent sign.`),
    cause === undefined ? undefined : { cause },
  );
}
