// Where features meet: the transcript, type-ahead coalescing, recognizers, forgetUser, sendBatch() and the sweeper.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, type HistoryEntry } from '../../src';
import { decodeState } from '../../src/codec';
import { address } from '../support/fixtures';
import { elapse, FlakyStore, harness } from '../support/manager';

const lines = (history: readonly HistoryEntry[]) => history.map((entry) => [entry.role, entry.text]);
function stored(store: MemoryStore) {
  const [key] = store.sessionKeys();
  return decodeState(store.get(key!)!.data, key);
}

describe('the transcript and a failed sendBatch()', () => {
  it('records in the transcript the replies of a failed sendBatch() that go out with the next save', async () => {
    const store = new FlakyStore();
    const h = harness({ history: {}, store });
    h.bot.dialog('/', async (session) => {
      session.send('Looking that up...');
      store.failures = 1;
      await session.sendBatch().catch(() => undefined);
      session.send('Found it.');
    });
    await h.bot.receive({ address: address(), text: 'find' });
    // Both replies were delivered...
    expect(h.texts()).toEqual(['Looking that up...', 'Found it.']);
    // ...so both belong in the transcript.
    expect(lines(stored(store.inner).history ?? [])).toEqual([
      ['user', 'find'],
      ['bot', 'Looking that up...'],
      ['bot', 'Found it.'],
    ]);
    await h.bot.close();
  });
});

describe('coalescing and recognizers', () => {
  afterEach(() => void vi.useRealTimers());
  it('runs the recognizers that need no session on a coalesced turn', async () => {
    vi.useFakeTimers();
    const h = harness({ coalesce: { window: 100 } });
    const seen: string[] = [];
    const intents: (string | undefined)[] = [];
    h.bot.recognizer((message) => {
      seen.push(message.text ?? '');
      return { intent: 'Any', score: 1 };
    });
    h.bot.dialog('/', (session) => void intents.push(session.info.nlp?.intent?.name));
    const a = h.bot.receive({ address: address(), text: 'hi' });
    const b = h.bot.receive({ address: address(), text: 'there' });
    await elapse(100);
    await Promise.all([a, b]);
    expect(seen).toEqual(['hi\nthere']); // recognized once, on the merged text
    expect(intents).toEqual(['Any']);
    await h.bot.close();
  });
});

describe('forgetUser() and coalescing', () => {
  afterEach(() => void vi.useRealTimers());
  it('leaves nothing of the user in the store once forgetUser() resolved, a batch in its window included', async () => {
    vi.useFakeTimers();
    const store = new MemoryStore({ maxSessions: 100 });
    const h = harness({ store, coalesce: { window: 1000 }, history: {} });
    h.bot.dialog('/', (session) => {
      session.userData.last = session.message?.text;
      session.send('ok');
    });
    const pending = h.bot.receive({ address: address('lars'), text: 'my secret' });
    await h.bot.forgetUser({ channelId: 'test', userId: 'lars' });
    await elapse(1000);
    await pending;
    // The message came before forgetUser(); after it resolved, the user's data came back.
    expect(store.sessionKeys()).toEqual([]);
    expect(store.get('u:test:lars')).toBeUndefined();
    await h.bot.close();
  });
});

describe('a kept transcript, coalescing and newSession()', () => {
  afterEach(() => void vi.useRealTimers());
  it('holds the originals of a merged message that newSession() handles again once', async () => {
    vi.useFakeTimers();
    const h = harness({ history: { keep: true }, coalesce: { window: 100 } });
    const seen: (string | undefined)[][][] = [];
    h.bot.dialog('/', (session) => {
      seen.push(session.history.map((e) => [e.role, e.text]));
      if (seen.length === 1) session.newSession();
    });
    const a = h.bot.receive({ address: address(), text: 'a' });
    const b = h.bot.receive({ address: address(), text: 'b' });
    await elapse(100);
    await Promise.all([a, b]);
    expect(seen[1]).toEqual([
      ['user', 'a'],
      ['user', 'b'],
    ]);
    await h.bot.close();
  });
});

describe('a CONFLICT after a checkpoint', () => {
  it('announces a session whose start a sendBatch() saved, even when the rest of the turn lost a race', async () => {
    const store = new FlakyStore();
    const h = harness({
      store,
      onSessionStart: async (session) => {
        session.send('Welcome!');
        await session.sendBatch();
      },
    });
    const started: string[] = [];
    h.bot.on('sessionStart', ({ session }) => void started.push(session.id));
    h.bot.dialog('/', (session) => {
      store.conflicts = 1; // someone else writes the session after the checkpoint
      session.send('hi');
    });
    const result = await h.bot.receive({ address: address(), text: 'hello' }).catch((e) => e);
    expect(result.code).toBe('CONFLICT');
    expect(h.texts()).toEqual(['Welcome!']);
    // The session is saved, live, and its welcome was delivered...
    expect(store.sessionKeys().length).toBe(1);
    // ...but it was never announced or counted; its end will be (liveSessions goes to -1).
    expect(started.length).toBe(1);
    expect(h.bot.stats().liveSessions).toBe(1);
    await h.bot.close();
  });
});

describe('coalescing and the proactive close', () => {
  afterEach(() => void vi.useRealTimers());
  it('does not close a session whose user wrote before its timeout, while the message waits in its window', async () => {
    vi.useFakeTimers();
    const h = harness({ coalesce: { window: 1000 }, timeout: 10_000, closeMessage: 'Bye!' });
    const ends: string[] = [];
    h.bot.on('sessionEnd', ({ reason }) => void ends.push(reason));
    h.bot.dialog('/', (session) => void session.send(`turn ${session.info.turnCount}`));
    const first = h.bot.receive({ address: address(), text: 'hi' });
    await elapse(1000);
    await first;
    await elapse(8_500); // t = 9.5 s: 500 ms before the session times out (lastActiveAt is the arrival of "hi", t = 0)
    const second = h.bot.receive({ address: address(), text: 'still here' });
    await elapse(2_000);
    const result = await second;
    expect(ends).toEqual([]);
    expect(h.texts()).toEqual(['turn 1', 'turn 2']);
    expect(result.session.turnCount).toBe(2);
    await h.bot.close();
  });
});
