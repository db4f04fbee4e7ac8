import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, type HistoryEntry, type Session, type SessionManagerOptions } from '../../src';
import { decodeState } from '../../src/codec';
import { address, MINUTE } from '../support/fixtures';
import { elapse, FlakyStore, harness } from '../support/manager';

type Line = [HistoryEntry['role'], string];
const lines = (history: readonly HistoryEntry[]): Line[] => history.map((entry) => [entry.role, entry.text]);

/** An echo bot that records `session.history` as each turn starts; `then` runs after the echo. */
function echo(options: Partial<SessionManagerOptions> = {}, then?: (session: Session, turn: number) => void) {
  const h = harness({ history: {}, ...options });
  const seen: Line[][] = [];
  h.bot.dialog('/', (session) => {
    seen.push(lines(session.history));
    session.send(`echo ${session.message?.text}`);
    then?.(session, seen.length);
  });
  const say = (text: string) => h.bot.receive({ address: address(), text });
  return { ...h, seen, say };
}

/** The session state the store holds for `address()` (the only session of these tests). */
function stored(store: MemoryStore) {
  const [key] = store.sessionKeys();
  return decodeState(store.get(key!)!.data, key);
}

describe('history', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ends with the message being handled, after the earlier messages both ways', async () => {
    const { bot, seen, say } = echo();
    await say('hi');
    await say('there');
    expect(seen).toEqual([
      [['user', 'hi']],
      [
        ['user', 'hi'],
        ['bot', 'echo hi'],
        ['user', 'there'],
      ],
    ]);
    await bot.close();
  });

  it('stamps a user message with its arrival and a reply with its commit', async () => {
    let history: readonly HistoryEntry[] = [];
    const { bot, say } = echo({}, (session) => void (history = session.history));
    const start = Date.now();
    await say('one');
    await elapse(5000);
    await say('two');
    expect(history.map((entry) => entry.at - start)).toEqual([0, 0, 5000]);
    await bot.close();
  });

  it('saves the transcript with the session state', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const { bot, say } = echo({ store });
    await say('hi');
    expect(lines(stored(store).history ?? [])).toEqual([
      ['user', 'hi'],
      ['bot', 'echo hi'],
    ]);
    await bot.close();
  });

  it('leaves the state without a transcript when the option is off', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const h = harness({ store });
    let history: readonly HistoryEntry[] | undefined;
    h.bot.dialog('/', (session) => {
      history = session.history;
      session.send('ok');
    });
    await h.bot.receive({ address: address(), text: 'hi' });
    expect(history).toEqual([]);
    expect(stored(store).history).toBeUndefined();
    await h.bot.close();
  });

  it('records the replies sent with sendBatch() as soon as they are saved', async () => {
    const h = harness({ history: {} });
    let after: Line[] = [];
    h.bot.dialog('/', async (session) => {
      session.send('Looking that up...');
      await session.sendBatch();
      after = lines(session.history);
      session.send('Found it.');
    });
    await h.bot.receive({ address: address(), text: 'find' });
    expect(after).toEqual([
      ['user', 'find'],
      ['bot', 'Looking that up...'],
    ]);
    await h.bot.close();
  });

  it('records the replies of a sendBatch() whose save failed only when they go out with a later save', async () => {
    const store = new FlakyStore();
    const h = harness({ history: {}, store });
    let after: Line[] = [];
    h.bot.dialog('/', async (session) => {
      session.send('Looking that up...');
      store.failures = 1;
      await session.sendBatch().catch(() => undefined);
      after = lines(session.history);
    });
    await h.bot.receive({ address: address(), text: 'find' });
    expect(after).toEqual([['user', 'find']]);
    expect(lines(stored(store.inner).history ?? [])).toEqual([
      ['user', 'find'],
      ['bot', 'Looking that up...'],
    ]);
    await h.bot.close();
  });

  it('records none of the replies of a turn whose dialog threw, but the user message and the error message', async () => {
    const { bot, seen, say } = echo({ dialogErrorMessage: 'Oops.' }, (session) => {
      if (session.message?.text === 'boom') throw new Error('boom');
    });
    await say('boom');
    await say('next');
    expect(seen[1]).toEqual([
      ['user', 'boom'],
      ['bot', 'Oops.'],
      ['user', 'next'],
    ]);
    await bot.close();
  });

  it('keeps the last `max` entries', async () => {
    const { bot, seen, say } = echo({ history: { max: 3 } });
    for (const text of ['a', 'b', 'c']) await say(text);
    expect(seen[2]).toEqual([
      ['user', 'b'],
      ['bot', 'echo b'],
      ['user', 'c'],
    ]);
    await bot.close();
  });

  it('drops the oldest entries past `maxChars` of text', async () => {
    const { bot, seen, say } = echo({ history: { maxChars: 12 } });
    await say('12345');
    await say('abc');
    // 'echo 12345' (10) + 'abc' (3) is over 12: only 'abc' and what fits before it stay.
    expect(seen[1]).toEqual([['user', 'abc']]);
    await bot.close();
  });

  it('keeps the newest entry whole even when it alone is longer than `maxChars`', async () => {
    const { bot, seen, say } = echo({ history: { maxChars: 4 } });
    await say('a long message');
    expect(seen[0]).toEqual([['user', 'a long message']]);
    await bot.close();
  });

  it('leaves out typing indicators and events', async () => {
    const h = harness({ history: {} });
    let last: Line[] = [];
    h.bot.dialog('/', (session) => {
      last = lines(session.history);
      session.sendTyping();
      session.send('ok');
    });
    await h.bot.receive({ address: address(), text: 'hi' });
    await h.bot.receive({ address: address(), type: 'event', name: 'ping' });
    await h.bot.receive({ address: address(), text: 'again' });
    expect(last).toEqual([
      ['user', 'hi'],
      ['bot', 'ok'],
      ['bot', 'ok'],
      ['user', 'again'],
    ]);
    await h.bot.close();
  });

  it('records attachments, with an empty text for a message of attachments only', async () => {
    const h = harness({ history: {} });
    let history: readonly HistoryEntry[] = [];
    const picture = { contentType: 'image/png', contentUrl: 'https://x/cat.png' };
    h.bot.dialog('/', (session) => void (history = session.history));
    await h.bot.receive({ address: address(), attachments: [picture] });
    expect(history).toEqual([{ role: 'user', text: '', at: expect.any(Number), attachments: [picture] }]);
    await h.bot.close();
  });

  it('starts afresh when the session ends', async () => {
    const { bot, seen, say } = echo({ timeout: 10 * MINUTE });
    await say('hi');
    await elapse(11 * MINUTE);
    await say('back');
    expect(seen[1]).toEqual([['user', 'back']]);
    await bot.close();
  });

  it('carries over session ends with `keep`', async () => {
    const { bot, seen, say } = echo({ timeout: 10 * MINUTE, history: { keep: true } });
    await say('hi');
    await elapse(11 * MINUTE);
    await say('back');
    expect(seen[1]).toEqual([
      ['user', 'hi'],
      ['bot', 'echo hi'],
      ['user', 'back'],
    ]);
    await bot.close();
  });

  it('is cleared by refresh() even with `keep`', async () => {
    const { bot, seen, say } = echo({ history: { keep: true } }, (session) => {
      if (session.message?.text === 'reset') session.refresh();
    });
    await say('hi');
    await say('reset');
    await say('after');
    expect(seen[2]).toEqual([['user', 'after']]);
    await bot.close();
  });

  it('holds the message that newSession() handles again once, with `keep`, when it is still the last entry', async () => {
    const h = harness({ history: { keep: true } });
    const seen: Line[][] = [];
    h.bot.dialog('/', (session) => {
      seen.push(lines(session.history));
      if (seen.length === 2) session.newSession();
      else session.send(`echo ${session.message?.text}`);
    });
    const say = (text: string) => h.bot.receive({ address: address(), text });
    await say('hi');
    await say('restart');
    expect(seen[2]).toEqual([
      ['user', 'hi'],
      ['bot', 'echo hi'],
      ['user', 'restart'],
    ]);
    await h.bot.close();
  });

  it('holds the message that newSession() handles again after what was said before it, with `keep`', async () => {
    const { bot, seen, say } = echo({ history: { keep: true } }, (session, turn) => {
      if (turn === 2) session.newSession();
    });
    await say('hi');
    await say('restart');
    expect(seen[2]).toEqual([
      ['user', 'hi'],
      ['bot', 'echo hi'],
      ['user', 'restart'],
      ['bot', 'echo restart'],
      ['user', 'restart'],
    ]);
    await bot.close();
  });

  it('records each message of a merged turn with its own arrival time', async () => {
    const h = harness({ history: {}, coalesce: { window: 1000 } });
    let history: readonly HistoryEntry[] = [];
    h.bot.dialog('/', (session) => void (history = session.history));
    const start = Date.now();
    void h.bot.receive({ address: address(), text: 'hi' });
    await elapse(400);
    void h.bot.receive({ address: address(), text: 'I need help' });
    await elapse(1000);
    expect(history.map((entry) => [entry.text, entry.at - start])).toEqual([
      ['hi', 0],
      ['I need help', 400],
    ]);
    await h.bot.close();
  });

  it('counts in maxStateBytes', async () => {
    const { bot, say } = echo({ maxStateBytes: 400, history: { max: 100 } });
    await say('x'.repeat(100));
    await expect(say('y'.repeat(100))).rejects.toMatchObject({ code: 'STATE_TOO_LARGE' });
    await bot.close();
  });

  it('rejects a `max` that is not a positive integer', () => {
    expect(() => harness({ history: { max: 0 } })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
  });
});
