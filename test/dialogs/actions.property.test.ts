// Property test of action routing: random dialogs with random scoped actions, random global actions, random stacks
// and messages, against a model of the precedence rule (the dialogs on the stack innermost first, each in the order
// its actions were written; then the global actions in registration order).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HOST, type DialogInstance, type DialogSession } from '../../src/dialogs/dialog';
import { DialogRegistry } from '../../src/dialogs/registry';

const WORDS = ['help', 'cancel', 'menu', 'stop'] as const;
const DIALOGS = ['A', 'B', 'C', 'D'] as const;

/** An action as generated: the word it matches, and whether the matcher is a string or a RegExp. */
type Spec = { word: (typeof WORDS)[number]; regexp: boolean };

const spec: fc.Arbitrary<Spec> = fc.record({ word: fc.constantFrom(...WORDS), regexp: fc.boolean() });
const world = fc.record({
  scoped: fc.record(
    Object.fromEntries(DIALOGS.map((id) => [id, fc.array(spec, { maxLength: 3 })])) as Record<
      (typeof DIALOGS)[number],
      fc.Arbitrary<Spec[]>
    >,
  ),
  globals: fc.array(spec, { maxLength: 4 }),
  stack: fc.array(fc.constantFrom(...DIALOGS), { maxLength: 6 }),
  word: fc.constantFrom(...WORDS, 'pizza'),
  upper: fc.boolean(),
});

const matcher = (s: Spec) => (s.regexp ? new RegExp(`^${s.word}$`, 'i') : s.word);

describe('action routing (property)', () => {
  it('picks the innermost scoped action, else the first global one, else none', () => {
    fc.assert(
      fc.property(world, ({ scoped, globals, stack, word, upper }) => {
        const registry = new DialogRegistry();
        for (const id of DIALOGS) {
          const actions = Object.fromEntries(
            scoped[id].map((s, i) => [`${id}${i}`, { matches: matcher(s), beginDialog: '/x' }]),
          );
          registry.routes.declare(id, { actions });
          registry.add(id, { type: 'test', begin: () => undefined, reply: () => undefined, resume: () => undefined });
        }
        globals.forEach((s, i) => registry.routes.action(`g${i}`, { matches: matcher(s), beginDialog: '/x' }));
        const instances: DialogInstance[] = stack.map((id) => ({ id, data: {} }));
        const text = upper ? ` ${word.toUpperCase()} ` : word;
        const session = {
          message: { address: { channelId: 't', user: { id: 'u' }, conversation: { id: 'c' } }, text },
          [HOST]: { stack: instances },
        } as unknown as DialogSession;

        let expected: { name: string; index: number } | undefined;
        for (let index = stack.length - 1; index >= 0 && expected === undefined; index--) {
          const id = stack[index]!;
          const at = scoped[id].findIndex((s) => s.word === word && (!s.regexp || !upper));
          if (at >= 0) expected = { name: `${id}${at}`, index };
        }
        if (expected === undefined) {
          const at = globals.findIndex((s) => s.word === word && (!s.regexp || !upper));
          if (at >= 0) expected = { name: `g${at}`, index: -1 };
        }

        const found = registry.routes.find(session);
        expect(found instanceof Promise).toBe(false);
        const got = found as Exclude<typeof found, Promise<unknown>>;
        expect(got === undefined ? undefined : { name: got.route.name, index: got.index }).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });
});
