// Session summaries on sessionEnd, and manager.stats().
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, SessionManager, type SessionManagerOptions, type SessionSummary } from '../../src';
import { createTestClient } from '../../src/testing';
import { MINUTE } from '../support/fixtures';
import { decodeState } from '../../src/codec';

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);

/** Replies twice to each message (a typing indicator first), once to each event; `bye` ends the session. */
function chattyBot(options: Partial<SessionManagerOptions> = {}) {
  const bot = new SessionManager({
    deliver: () => undefined,
    autoBatchDelay: 0,
    store: new MemoryStore({ maxSessions: 10 }),
    timeout: 10 * MINUTE,
    ...options,
  });
  bot.dialog('/', (session) => {
    if (session.message?.type === 'event') return void session.send('noted');
    session.sendTyping();
    session.send('one').send('two');
    if (session.message?.text === 'bye') session.endSession();
  });
  const summaries: SessionSummary[] = [];
  bot.on('sessionEnd', ({ summary }) => void summaries.push(summary));
  return { bot, summaries, client: createTestClient(bot, { advance }) };
}

describe('the sessionEnd summary', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts turns, user messages (not events) and bot messages (not typing)', async () => {
    const { bot, client, summaries } = chattyBot();
    await client.say('hi');
    await client.event('location', { lat: 1 });
    await client.say('bye');
    expect(summaries.map(({ turns, userMessages, botMessages }) => ({ turns, userMessages, botMessages }))).toEqual([
      { turns: 3, userMessages: 2, botMessages: 5 },
    ]);
    await bot.close();
  });

  it('carries the id, channel, reason, flags and last dialog of the session', async () => {
    const { bot, client, summaries } = chattyBot();
    const { session } = await client.say('bye');
    expect(summaries[0]).toMatchObject({
      id: session.id,
      channel: 'test',
      reason: 'endSession',
      interactive: true,
      developer: false,
      lastDialog: { id: '/', name: '/', type: 'function' },
    });
    await bot.close();
  });

  it('times an explicit end from the start to the moment it ended', async () => {
    const { bot, client, summaries } = chattyBot();
    await client.say('hi');
    vi.setSystemTime(T0 + 3 * MINUTE);
    await client.say('bye');
    expect(summaries.map(({ startedAt, endedAt, durationMs }) => ({ startedAt, endedAt, durationMs }))).toEqual([
      { startedAt: T0, endedAt: T0 + 3 * MINUTE, durationMs: 3 * MINUTE },
    ]);
    await bot.close();
  });

  it('ends a timed-out session when its idle time ran out, even when a lazy close notices it later', async () => {
    const { bot, client, summaries } = chattyBot({ closePolicy: 'lazy' });
    await client.say('hi');
    await client.idle('2h');
    await client.say('back');
    expect(summaries.map(({ reason, endedAt, durationMs }) => ({ reason, endedAt, durationMs }))).toEqual([
      { reason: 'timeout', endedAt: T0 + 10 * MINUTE, durationMs: 10 * MINUTE },
    ]);
    await bot.close();
  });

  it('is a summary of a bot-initiated session the user never answered too', async () => {
    const { bot, client, summaries } = chattyBot();
    await bot.startSession(client.address);
    await client.idle('10m');
    expect(summaries.map(({ interactive, turns, reason }) => ({ interactive, turns, reason }))).toEqual([
      { interactive: false, turns: 0, reason: 'timeout' },
    ]);
    await bot.close();
  });

  it('keeps the stored overhead to one small pair of counters', async () => {
    const { bot, client } = chattyBot();
    await client.say('hi');
    await client.say('again');
    const key = bot.keyOf(client.address);
    const stored = decodeState((await bot.store.get(key))!.data, key);
    expect(stored.msgs).toEqual([2, 4]);
    await bot.close();
  });
});

describe('manager.stats()', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(T0);
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('counts the turns saved', async () => {
    const { bot, client } = chattyBot();
    for (const text of ['a', 'b', 'c']) await client.say(text);
    expect(bot.stats().turns).toBe(3);
    await bot.close();
  });

  it('counts live sessions as they start and end', async () => {
    const { bot } = chattyBot();
    const to = (user: string) => ({ channelId: 'test', user: { id: user }, conversation: { id: 'c' } });
    await bot.receive({ address: to('a'), text: 'hi' });
    await bot.receive({ address: to('b'), text: 'hi' });
    const two = bot.stats().liveSessions;
    await bot.receive({ address: to('a'), text: 'bye' });
    expect([two, bot.stats().liveSessions]).toEqual([2, 1]);
    await bot.close();
  });

  it('counts ends by reason without any sessionEnd listener', async () => {
    const bot = new SessionManager({
      deliver: () => undefined,
      store: new MemoryStore({ maxSessions: 10 }),
      timeout: MINUTE,
    });
    bot.dialog('/', (session) => {
      if (session.message?.text === 'bye') session.endSession();
    });
    const to = (user: string) => ({ channelId: 'test', user: { id: user }, conversation: { id: 'c' } });
    await bot.receive({ address: to('a'), text: 'bye' });
    await bot.receive({ address: to('b'), text: 'hi' });
    await vi.advanceTimersByTimeAsync(MINUTE);
    expect(bot.stats().endsByReason).toEqual({
      timeout: 1,
      endSession: 1,
      newSession: 0,
      refresh: 0,
      evicted: 0,
      shutdown: 0,
    });
    await bot.close();
  });

  it('reports turns per second over the last 10 seconds', async () => {
    const { bot, client } = chattyBot();
    vi.setSystemTime(T0 + 20_000);
    for (let i = 0; i < 30; i++) await client.say(`m${i}`);
    vi.setSystemTime(T0 + 25_000);
    for (let i = 0; i < 20; i++) await client.say(`n${i}`);
    const busy = bot.stats().turnsPerSecond;
    vi.setSystemTime(T0 + 40_000);
    expect([busy, bot.stats().turnsPerSecond]).toEqual([5, 0]);
    await bot.close();
  });
});
