// Property tests of the dialog stack: random sequences of stack operations, run through real turns, against a model.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Dialog, Session } from '../../src';
import type { DialogInstance } from '../../src/dialogs/dialog';
import { findFromTop, pop, push, replaceTop, top, truncate } from '../../src/dialogs/stack';
import { sessionStateSchema } from '../../src/schema';
import { makeBot } from '../support/bot';

const IDS = ['A', 'B', 'C'] as const;
type Id = (typeof IDS)[number];

type Command =
  | { op: 'begin'; id: Id }
  | { op: 'end' }
  | { op: 'replace'; id: Id }
  | { op: 'cancelId'; id: Id | '/' }
  | { op: 'cancelIndex'; index: number; replaceWith?: Id }
  | { op: 'endConversation' };

const id = fc.constantFrom(...IDS);
const command: fc.Arbitrary<Command> = fc.oneof(
  fc.record({ op: fc.constant('begin' as const), id }),
  fc.record({ op: fc.constant('end' as const) }),
  fc.record({ op: fc.constant('replace' as const), id }),
  fc.record({ op: fc.constant('cancelId' as const), id: fc.constantFrom<Id | '/'>('/', ...IDS) }),
  fc.record(
    { op: fc.constant('cancelIndex' as const), index: fc.nat(5), replaceWith: fc.option(id, { nil: undefined }) },
    { requiredKeys: ['op', 'index'] },
  ),
  fc.record({ op: fc.constant('endConversation' as const) }),
);

/** One entry of the model stack: the dialog id and the uid of the message that began it. */
type Entry = { id: string; uid: number };

/** Carries out the command of the message (in `message.value`) from the dialog on top. */
const commandDialog: Dialog<Session> = {
  type: 'test',
  begin(session) {
    session.dialogData.uid = (session.message?.value as { uid: number }).uid;
  },
  reply(session) {
    const { cmd, uid } = session.message?.value as { cmd: Command; uid: number };
    session.privateConversationData.last = uid;
    switch (cmd.op) {
      case 'begin':
        return void session.beginDialog(cmd.id);
      case 'end':
        return void session.endDialog();
      case 'replace':
        return void session.replaceDialog(cmd.id);
      case 'cancelId':
        return void session.cancelDialog(cmd.id);
      case 'cancelIndex':
        return void session.cancelDialog(cmd.index, cmd.replaceWith);
      case 'endConversation':
        return void session.endConversation();
    }
  },
  resume() {
    // The caller just waits for the next message.
  },
};

/** What the model expects after `cmd` on `stack`; `failed` when the operation is invalid (the conversation then ends). */
function model(
  stack: Entry[],
  pcd: { last?: number },
  cmd: Command,
  uid: number,
): { stack: Entry[]; pcd: { last?: number }; failed: boolean } {
  if (stack.length === 0) return { stack: [{ id: '/', uid }], pcd, failed: false };
  const touched = { last: uid };
  switch (cmd.op) {
    case 'begin':
      return { stack: [...stack, { id: cmd.id, uid }], pcd: touched, failed: false };
    case 'end':
      return { stack: stack.slice(0, -1), pcd: touched, failed: false };
    case 'replace':
      return { stack: [...stack.slice(0, -1), { id: cmd.id, uid }], pcd: touched, failed: false };
    case 'cancelId': {
      const index = stack.map((e) => e.id).lastIndexOf(cmd.id);
      return index < 0
        ? { stack: [], pcd: {}, failed: true }
        : { stack: stack.slice(0, index), pcd: touched, failed: false };
    }
    case 'cancelIndex': {
      if (cmd.index >= stack.length) return { stack: [], pcd: {}, failed: true };
      const kept = stack.slice(0, cmd.index);
      return {
        stack: cmd.replaceWith === undefined ? kept : [...kept, { id: cmd.replaceWith, uid }],
        pcd: touched,
        failed: false,
      };
    }
    case 'endConversation':
      return { stack: [], pcd: {}, failed: false };
  }
}

describe('the dialog stack under random operations', () => {
  it('matches the model after every turn, stays well formed, and always re-reads under the schema', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { maxLength: 25 }), async (commands) => {
        const { bot, say, stored, errors } = makeBot({ dialogErrorMessage: null });
        for (const dialogId of ['/', ...IDS]) bot.dialog(dialogId, commandDialog);
        let expected: Entry[] = [];
        let pcd: { last?: number } = {};
        let failures = 0;
        for (const [uid, cmd] of commands.entries()) {
          const next = model(expected, pcd, cmd, uid);
          const result = await say(cmd.op, undefined, { value: { cmd, uid } });
          expected = next.stack;
          pcd = next.pcd;
          if (next.failed) failures++;

          const state = await stored();
          // Re-reads under the schema (stored() parses), and holds plain JSON.
          expect(sessionStateSchema.safeParse(JSON.parse(JSON.stringify(state))).success).toBe(true);
          expect(state?.stack.map((d) => ({ id: d.id, uid: d.data.uid }))).toEqual(expected);
          expect(state?.privateConversationData).toEqual(pcd);
          expect(result.session.currentDialogState?.id).toBe(expected[expected.length - 1]?.id);
          expect(Boolean(result.error)).toBe(next.failed);
        }
        expect(errors.length).toBe(failures);
        await bot.close();
      }),
      { numRuns: 60 },
    );
  });

  it('cancelDialog removes exactly the dialog and its children', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(id, { minLength: 1, maxLength: 8 }), id, async (ids, target) => {
        const { bot, say, stored } = makeBot();
        for (const dialogId of ['/', ...IDS]) bot.dialog(dialogId, commandDialog);
        let uid = 0;
        await say('root', undefined, { value: { cmd: { op: 'end' }, uid: uid++ } });
        for (const next of ids)
          await say('begin', undefined, { value: { cmd: { op: 'begin', id: next }, uid: uid++ } });
        const before = (await stored())!.stack;
        await say('cancel', undefined, { value: { cmd: { op: 'cancelId', id: target }, uid: uid++ } });
        const after = (await stored())!.stack;
        const index = before.map((d) => d.id).lastIndexOf(target);
        // A target not on the stack is an error: the conversation ends. Otherwise everything below it is untouched.
        expect(after).toEqual(index < 0 ? [] : before.slice(0, index));
        await bot.close();
      }),
      { numRuns: 60 },
    );
  });
});

describe('the pure stack operations', () => {
  type Op = { op: 'push'; id: string } | { op: 'pop' } | { op: 'replace'; id: string } | { op: 'truncate'; id: string };
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('push' as const), id }),
    fc.record({ op: fc.constant('pop' as const) }),
    fc.record({ op: fc.constant('replace' as const), id }),
    fc.record({ op: fc.constant('truncate' as const), id }),
  );

  it('behave like the array model and keep fresh instances', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 40 }), (ops) => {
        const stack: DialogInstance[] = [];
        let expected: string[] = [];
        for (const o of ops) {
          if (o.op === 'push') {
            push(stack, o.id);
            expected = [...expected, o.id];
          } else if (o.op === 'pop') {
            pop(stack);
            expected = expected.slice(0, -1);
          } else if (o.op === 'replace') {
            replaceTop(stack, o.id);
            expected = [...expected.slice(0, -1), o.id];
          } else {
            const index = findFromTop(stack, o.id);
            // Absent: nothing to remove. Present: the topmost instance goes, with everything above it.
            const removed = index < 0 ? [] : truncate(stack, index);
            expect(removed.map((d) => d.id)).toEqual(index < 0 ? [] : expected.slice(index));
            expect(removed[0]?.id).toBe(index < 0 ? undefined : o.id);
            if (index >= 0) expected = expected.slice(0, index);
          }
          expect(stack.map((d) => d.id)).toEqual(expected);
          expect(top(stack)?.id).toBe(expected[expected.length - 1]);
        }
        expect(stack.every((d) => typeof d.id === 'string' && d.data !== null && typeof d.data === 'object')).toBe(
          true,
        );
      }),
    );
  });
});
