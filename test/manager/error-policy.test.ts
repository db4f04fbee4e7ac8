// The error rule, pinned code by code: a failure that the caller's promise rejects with is not emitted too; a failure
// that no promise rejects with is emitted as an `error` event (see src/manager/events.ts).
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, Prompts, type CommitResult, type CommitWrite, type SessionStore } from '../../src';
import { decodeState } from '../../src/codec';
import { address, MINUTE } from '../support/fixtures';
import { FlakyStore, harness } from '../support/manager';

/** A MemoryStore whose next opens or commits fail with `error`. */
class BrokenStore extends MemoryStore {
  failOpen: Error | undefined;
  failCommit: Error | undefined;
  override open(keys: readonly string[]) {
    if (this.failOpen !== undefined) throw this.failOpen;
    return super.open(keys);
  }
  override commit(writes: readonly CommitWrite[], options?: Parameters<SessionStore['commit']>[1]): CommitResult {
    if (this.failCommit !== undefined) throw this.failCommit;
    return super.commit(writes, options);
  }
}

describe('the error rule', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  describe('rejects, and does not emit, what the caller awaits', () => {
    it('STORE_UNAVAILABLE from a turn whose store fails', async () => {
      const store = new BrokenStore();
      const { bot, errors } = harness({ store });
      bot.dialog('/', (session) => session.send('hi'));
      store.failOpen = new Error('connection refused');
      await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({
        code: 'STORE_UNAVAILABLE',
      });
      expect(errors).toEqual([]);
    });

    it('STATE_TOO_LARGE from a turn that would store too much', async () => {
      const { bot, errors } = harness<{ blob?: string }>({ maxStateBytes: 500 });
      bot.dialog('/', (session) => void (session.entities.blob = 'x'.repeat(1_000)));
      await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({ code: 'STATE_TOO_LARGE' });
      expect(errors).toEqual([]);
    });

    it('INVALID_ARGUMENT from a turn whose data cannot be written as JSON', async () => {
      const { bot, errors } = harness();
      bot.dialog('/', (session) => void (session.userData.n = BigInt(1)));
      await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
      expect(errors).toEqual([]);
    });

    it('STORE_UNAVAILABLE from endSession() whose store fails', async () => {
      const store = new BrokenStore();
      const { bot, errors } = harness({ store });
      bot.dialog('/', (session) => session.send('hi'));
      await bot.receive({ address: address(), text: 'hi' });
      store.failCommit = new Error('disk full');
      await expect(bot.endSession(address())).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
      expect(errors).toEqual([]);
    });

    it('DIALOG_FAILED from beginDialog() whose dialog throws', async () => {
      const { bot, errors } = harness();
      bot.dialog('/', (session) => session.send('hi'));
      bot.dialog('/boom', () => {
        throw new Error('boom');
      });
      await bot.receive({ address: address(), text: 'hi' });
      await expect(bot.beginDialog(address(), '/boom')).rejects.toMatchObject({ code: 'DIALOG_FAILED' });
      expect(errors).toEqual([]);
    });
  });

  describe('emits what no promise rejects with', () => {
    it('DIALOG_FAILED from a turn that resolves with the error set', async () => {
      const { bot, errors } = harness();
      bot.dialog('/', () => {
        throw new Error('boom');
      });
      const result = await bot.receive({ address: address(), text: 'hi' });
      expect(result.error?.code).toBe('DIALOG_FAILED');
      expect(errors.map((e) => e.code)).toEqual(['DIALOG_FAILED']);
    });

    it('DIALOG_FAILED once, and only for the attempt that was saved, when a turn loses a race', async () => {
      const store = new FlakyStore();
      const { bot, errors } = harness({ store });
      bot.dialog('/', () => {
        throw new Error('boom');
      });
      store.conflicts = 1;
      const result = await bot.receive({ address: address(), text: 'hi' });
      expect(result.error?.code).toBe('DIALOG_FAILED');
      expect(errors.map((e) => e.code)).toEqual(['DIALOG_FAILED']);
    });

    it('HOOK_FAILED from a hook that throws while its turn goes on', async () => {
      const { bot, errors } = harness({
        onSessionStart: () => {
          throw new Error('hook broke');
        },
      });
      bot.dialog('/', (session) => session.send('hi'));
      const result = await bot.receive({ address: address(), text: 'hi' });
      expect(result.replies.map((m) => m.text)).toEqual(['hi']);
      expect(errors.map((e) => e.code)).toEqual(['HOOK_FAILED']);
    });

    it('CORRUPT_STATE from a record the turn replaces with a fresh session', async () => {
      const store = new MemoryStore();
      const { bot, errors } = harness({ store });
      bot.dialog('/', (session) => session.send('hi'));
      store.commit([{ key: bot.keyOf(address()), expected: null, data: '{not json' }]);
      const result = await bot.receive({ address: address(), text: 'hi' });
      expect(result.replies.map((m) => m.text)).toEqual(['hi']);
      expect(errors.map((e) => e.code)).toEqual(['CORRUPT_STATE']);
    });

    it('STORE_UNAVAILABLE from the sweeper, which nobody awaits', async () => {
      const store = new BrokenStore();
      const { bot, errors } = harness({ store, timeout: MINUTE });
      bot.dialog('/', (session) => session.send('hi'));
      await bot.receive({ address: address(), text: 'hi' });
      store.failOpen = new Error('connection refused');
      await vi.advanceTimersByTimeAsync(MINUTE + 1);
      expect(errors.map((e) => e.code)).toEqual(['STORE_UNAVAILABLE']);
      store.failOpen = undefined;
    });
  });

  it('keeps nothing of a dialog begun by beginDialog() that threw after its sendBatch() saved part of it', async () => {
    const { bot, texts } = harness();
    bot.dialog('/', [(session) => Prompts.text(session, 'Your name?'), (session) => session.endDialog('Thanks.')]);
    bot.dialog('/remind', async (session) => {
      session.dialogData.half = true;
      session.send('Reminder!');
      await session.sendBatch();
      throw new Error('calendar down');
    });
    await bot.receive({ address: address(), text: 'hi' });
    const before = decodeState((await bot.store.get(bot.keyOf(address())))!.data, bot.keyOf(address()));
    await expect(bot.beginDialog(address(), '/remind', undefined, { interrupt: true })).rejects.toMatchObject({
      code: 'DIALOG_FAILED',
    });
    const after = decodeState((await bot.store.get(bot.keyOf(address())))!.data, bot.keyOf(address()));
    expect(after.stack).toEqual(before.stack);
    expect(texts()).toEqual(['Your name?', 'Reminder!']);
    const next = await bot.receive({ address: address(), text: 'Lars' });
    expect(next.replies.map((m) => m.text)).toEqual(['Thanks.']);
  });
});
