// Compile-time reading of sprintf templates: the arguments a literal template needs, as a tuple type.
// Types only. formatText (format.ts) still checks every call at run time, so a template these types cannot read in
// full falls back to `unknown[]` and loses nothing but the early error.

/**
 * The arguments a template needs after it, e.g. `TemplateArgs<'%d items for %s'>` is `[number, {}]`.
 * - `%s`, `%v`: any value but `null` or `undefined`; `%j`, `%T`: any value but `undefined`; `%t`: a boolean;
 *   `%d`, `%i`: a number or a bigint; the other conversions (`%f`, `%x`, `%e`...) a number.
 * - `%(name)s`: one object with that key (`%(user.name)s`: nested), its value typed as above.
 * - A literal without placeholders (or one sprintf could not read) takes no arguments: it is sent as it is.
 * - A `string` that is not a literal, a message object or a builder: any arguments, checked when sent.
 *
 * Use it to give your own functions `send`'s checks: `function say<T extends string>(t: T, ...args: TemplateArgs<T>)`.
 */
export type TemplateArgs<T> = [T] extends [never]
  ? unknown[]
  : T extends string
    ? string extends T
      ? unknown[]
      : Finish<Scan<T, [], {}, false>>
    : unknown[];

/**
 * A template with its arguments in one tuple, for the places where arguments cannot follow the text (a prompt, whose
 * next argument is its options): `Prompts.text(session, ['What can I do, %s?', name])`.
 */
export type Templated<T extends string = string> = readonly [template: T, ...args: TemplateArgs<T>];

/** A value `%s` prints: anything but `null` and `undefined` (both are almost always a bug in a reply). */
export type Printable = {};

// What a placeholder's argument must be, by its conversion letter (sprintf-js 1.1: [b-gijostTuvxX]).
type ArgOf<C extends string> = C extends 's' | 'v'
  ? Printable
  : C extends 'j' | 'T'
    ? Printable | null
    : C extends 't'
      ? boolean
      : C extends 'd' | 'i'
        ? number | bigint
        : number;

type Conversion = 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 'i' | 'j' | 'o' | 's' | 't' | 'T' | 'u' | 'v' | 'x' | 'X';
type Modifier = '+' | '-' | '.' | '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9';

/** Sentinel for a template these types do not read (positional `%1$s`, index access `%(a[0])s`): checked at run time. */
type Unread = 'unread';
/** Sentinel for a template sprintf-js rejects: it can only be sent without arguments. */
type Malformed = 'malformed';

// Reads the conversion after `%` (and an optional `(name)`): skips flags, width and precision (a superset of what
// sprintf-js takes, so no template it accepts is refused here), then gives [the letter, the rest of the template].
type Spec<S extends string> = S extends `${infer C}${infer R}`
  ? C extends Conversion
    ? [C, R]
    : C extends Modifier
      ? Spec<R>
      : C extends "'"
        ? R extends `${string}${infer R2}`
          ? Spec<R2>
          : Malformed
        : Malformed
  : Malformed;

// `%1$s`: an explicit argument index (digits, then `$`).
type IsIndexed<S extends string> = S extends `${infer C}${infer R}`
  ? C extends Exclude<Modifier, '+' | '-' | '.' | '0'>
    ? Digits<R>
    : false
  : false;
type Digits<S extends string> = S extends `${infer C}${infer R}`
  ? C extends '$'
    ? true
    : C extends Exclude<Modifier, '+' | '-' | '.'>
      ? Digits<R>
      : false
  : false;

// The object type a named placeholder needs: `%(a.b)s` → { a: { b: V } }.
type Named<Path extends string, V> = Path extends `${infer Head}.${infer Tail}`
  ? { [K in Head]: Named<Tail, V> }
  : { [K in Path]: V };

// Walks the template from one `%` to the next, collecting positional argument types in order and named ones as an
// intersection; `M` records whether a named placeholder was seen.
type Scan<S extends string, P extends unknown[], N, M extends boolean> = S extends `${string}%${infer Rest}`
  ? Rest extends `%${infer After}`
    ? Scan<After, P, N, M>
    : Rest extends `(${infer Name})${infer After}`
      ? Name extends `${string}[${string}` | ''
        ? Unread
        : Spec<After> extends [infer C extends string, infer R extends string]
          ? Scan<R, P, N & Named<Name, ArgOf<C>>, true>
          : Malformed
      : IsIndexed<Rest> extends true
        ? Unread
        : Spec<Rest> extends [infer C extends string, infer R extends string]
          ? Scan<R, [...P, ArgOf<C>], N, M>
          : Malformed
  : [P, N, M];

type Finish<R> = R extends Unread
  ? unknown[]
  : R extends Malformed
    ? []
    : R extends [infer P extends unknown[], infer N, infer M]
      ? M extends true
        ? P extends []
          ? [values: Flatten<N>]
          : [error: 'sprintf cannot mix named and positional placeholders in one template']
        : P
      : unknown[];

type Flatten<N> = { [K in keyof N]: N[K] };
