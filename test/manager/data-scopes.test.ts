// The data scopes a bot replaces (not mutates) in a turn survive into the next session of the same turn; a scope is
// read from its record only when a session uses it, and a turn that never uses it leaves its record as it was.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, type Session } from '../../src';
import { address } from '../support/fixtures';
import { harness } from '../support/manager';

const USER_KEY = 'u:test:lars';
const CONVERSATION_KEY = 'c:test:c1';

describe('replaced data scopes', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('carries a userData object replaced before newSession() into the new session and saves it', async () => {
    const { bot } = harness();
    const seen: unknown[] = [];
    bot.dialog('/', (session) => {
      seen.push(session.userData.plan);
      if (session.message?.text === 'upgrade' && session.userData.plan === undefined) {
        session.userData = { plan: 'gold' };
        session.newSession();
      }
    });
    await bot.receive({ address: address(), text: 'upgrade' });
    await bot.receive({ address: address(), text: 'hi' });
    expect(seen).toEqual([undefined, 'gold', 'gold']);
  });

  it('carries a conversationData object replaced by onSessionEnd into the session that follows', async () => {
    const { bot } = harness({
      onSessionEnd: (session) => {
        session.conversationData = { endedBefore: true };
      },
    });
    const seen: unknown[] = [];
    bot.dialog('/', (session) => {
      seen.push(session.conversationData.endedBefore);
      if (session.message?.text === 'again') session.refresh();
    });
    await bot.receive({ address: address(), text: 'again' });
    expect(seen).toEqual([undefined]);
    await bot.receive({ address: address(), text: 'hi' });
    expect(seen).toEqual([undefined, true]);
  });
});

describe('data scopes a turn does not use', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A store holding userData and conversationData as text that JSON.stringify would write otherwise. */
  function seeded(): MemoryStore {
    const store = new MemoryStore({ maxSessions: 1000 });
    store.commit([
      { key: USER_KEY, expected: null, data: '{ "name": "Lars" }' },
      { key: CONVERSATION_KEY, expected: null, data: '{ "topic": "pizza" }' },
    ]);
    return store;
  }

  it('leaves the userData and conversationData records as they were read when no session uses them', async () => {
    const store = seeded();
    const { bot } = harness({ store });
    bot.dialog('/', (session) => session.send('hi'));
    await bot.receive({ address: address(), text: 'hi' });
    expect(store.get(USER_KEY)).toMatchObject({ data: '{ "name": "Lars" }', version: 1 });
    expect(store.get(CONVERSATION_KEY)).toMatchObject({ data: '{ "topic": "pizza" }', version: 1 });
    await bot.close();
  });

  it('writes a scope a session only read back as JSON.stringify writes it', async () => {
    const store = seeded();
    const { bot } = harness({ store });
    bot.dialog('/', (session) => session.send(`hi ${String(session.userData.name)}`));
    await bot.receive({ address: address(), text: 'hi' });
    expect(store.get(USER_KEY)).toMatchObject({ data: '{"name":"Lars"}', version: 2 });
    expect(store.get(CONVERSATION_KEY)).toMatchObject({ data: '{ "topic": "pizza" }', version: 1 });
    await bot.close();
  });

  it('stores nothing a bot changes in userData it first reads after its turn was saved', async () => {
    const store = seeded();
    const { bot } = harness({ store });
    let kept: Session | undefined;
    bot.dialog('/', (session) => {
      kept = session;
      session.send('hi');
    });
    await bot.receive({ address: address(), text: 'hi' });
    kept!.userData.name = 'Mallory';
    await bot.receive({ address: address(), text: 'again' });
    expect(JSON.parse(store.get(USER_KEY)!.data)).toEqual({ name: 'Lars' });
    await bot.close();
  });

  it('gives a session that reads userData late in its turn what the record held', async () => {
    const { bot } = harness({ store: seeded() });
    const seen: unknown[] = [];
    bot.dialog('/', async (session) => {
      await Promise.resolve();
      seen.push(session.userData.name, session.conversationData.topic);
    });
    await bot.receive({ address: address(), text: 'hi' });
    expect(seen).toEqual(['Lars', 'pizza']);
    await bot.close();
  });

  it('rolls a failed turn back to the records as read, also for a scope the turn first used after sendBatch()', async () => {
    const store = seeded();
    const { bot } = harness({ store });
    bot.dialog('/', async (session) => {
      await session.sendBatch();
      session.userData.name = 'Mallory';
      throw new Error('boom');
    });
    await bot.receive({ address: address(), text: 'hi' });
    expect(JSON.parse(store.get(USER_KEY)!.data)).toEqual({ name: 'Lars' });
    await bot.close();
  });

  it('undoes the userData a beginDialog() dialog saved with sendBatch() before it failed', async () => {
    const store = seeded();
    const { bot } = harness({ store });
    bot.dialog('/', (session) => session.send('hi'));
    bot.dialog('/risky', async (session) => {
      session.userData.name = 'Mallory';
      await session.sendBatch();
      throw new Error('boom');
    });
    await bot.receive({ address: address(), text: 'hi' });
    await expect(bot.beginDialog(address(), '/risky', undefined, { interrupt: true })).rejects.toMatchObject({
      code: 'DIALOG_FAILED',
    });
    expect(JSON.parse(store.get(USER_KEY)!.data)).toEqual({ name: 'Lars' });
    await bot.close();
  });

  it('rolls back a turn that failed after sendBatch() over a corrupt userData record it never used', async () => {
    const store = new MemoryStore({ maxSessions: 1000 });
    store.commit([{ key: USER_KEY, expected: null, data: 'not json' }]);
    const { bot } = harness({ store });
    bot.dialog('/', async (session) => {
      await session.sendBatch();
      throw new Error('boom');
    });
    const result = await bot.receive({ address: address(), text: 'hi' });
    expect(result.error?.code).toBe('DIALOG_FAILED');
    await bot.close();
  });

  it('rolls userData back to the record as read when a later session of the turn fails after an earlier one saved it', async () => {
    const store = seeded();
    const { bot } = harness({ store });
    let sessions = 0;
    bot.dialog('/', async (session) => {
      if (sessions++ > 0) throw new Error('boom');
      session.userData.name = 'Mallory';
      await session.sendBatch();
      session.newSession();
    });
    const result = await bot.receive({ address: address(), text: 'hi' });
    expect(result.error?.code).toBe('DIALOG_FAILED');
    expect(JSON.parse(store.get(USER_KEY)!.data)).toEqual({ name: 'Lars' });
    await bot.close();
  });
});
