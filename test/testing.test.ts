// palaver/testing: the test client drives a bot as a user would, with time under the test's control.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, SessionManager, type Address, type SessionManagerOptions } from '../src';
import { createTestClient, installFakeClock, parseDuration } from '../src/testing';

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

/** Echoes with a typing indicator first; batches with the default 250 ms delay. */
function echoBot(options: Partial<SessionManagerOptions> = {}) {
  const delivered: string[] = [];
  const bot = new SessionManager({
    deliver: (_to, messages) => void delivered.push(...messages.map((m) => m.text ?? `(${m.type})`)),
    store: new MemoryStore({ maxSessions: 10 }),
    ...options,
  });
  bot.dialog('/', (session) => {
    session.sendTyping();
    session.send('echo: %s', session.message?.text ?? session.message?.name ?? '');
  });
  return { bot, delivered };
}

describe('createTestClient', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('says something and reads the texts of the replies', async () => {
    const { bot } = echoBot();
    const client = createTestClient(bot, { advance });
    await client.say('hi');
    expect(await client.replies()).toEqual(['echo: hi']);
    await bot.close();
  });

  it('returns only what arrived since the last read', async () => {
    const { bot } = echoBot();
    const client = createTestClient(bot, { advance });
    await client.say('one');
    await client.replies();
    await client.say('two');
    expect(await client.replies()).toEqual(['echo: two']);
    await bot.close();
  });

  it('shows typing indicators among the whole messages', async () => {
    const { bot } = echoBot();
    const client = createTestClient(bot, { advance });
    await client.say('hi');
    expect(await client.messages()).toEqual([{ type: 'typing' }, { type: 'message', text: 'echo: hi' }]);
    await bot.close();
  });

  it('groups messages by deliver call: turns inside the batching delay go out together', async () => {
    const bot = new SessionManager({ deliver: () => undefined, store: new MemoryStore({ maxSessions: 10 }) });
    bot.dialog('/', (session) => session.send('echo: %s', session.message?.text ?? ''));
    const client = createTestClient(bot, { advance });
    await client.say('a');
    await client.say('b');
    await client.idle('1s');
    await client.say('c');
    expect((await client.batches()).map((batch) => batch.map((m) => m.text))).toEqual([
      ['echo: a', 'echo: b'],
      ['echo: c'],
    ]);
    await bot.close();
  });

  it('sends events', async () => {
    const { bot } = echoBot();
    const client = createTestClient(bot, { advance });
    await client.event('ping', 1);
    expect(await client.replies()).toEqual(['echo: ping']);
    await bot.close();
  });

  it('lets time pass with idle() and records the session start and end', async () => {
    const { bot } = echoBot();
    const client = createTestClient(bot, { advance });
    await client.say('hi');
    await client.idle('31m');
    expect({ starts: client.sessionStarts.length, ends: client.sessionEnds.map((end) => end.reason) }).toEqual({
      starts: 1,
      ends: ['timeout'],
    });
    await bot.close();
  });

  it('sees only its own conversation when several users talk to the bot', async () => {
    const { bot } = echoBot();
    const other: Address = { channelId: 'test', user: { id: 'someone-else' }, conversation: { id: 'conversation' } };
    const [me, them] = [createTestClient(bot, { advance }), createTestClient(bot, { advance, address: other })];
    await me.say('mine');
    await them.say('theirs');
    expect([await me.replies(), await them.replies()]).toEqual([['echo: mine'], ['echo: theirs']]);
    await bot.close();
  });

  it('leaves the bot’s own deliver in place', async () => {
    const { bot, delivered } = echoBot({ autoBatchDelay: 0 });
    const client = createTestClient(bot, { advance });
    await client.say('hi');
    expect(delivered).toEqual(['(typing)', 'echo: hi']);
    await bot.close();
  });

  it('stops recording once closed', async () => {
    const { bot } = echoBot();
    const client = createTestClient(bot, { advance });
    await client.close();
    await client.say('hi');
    expect(await client.replies()).toEqual([]);
    await bot.close();
  });

  it('rejects an idle() duration it cannot read with INVALID_ARGUMENT', async () => {
    const { bot } = echoBot();
    const client = createTestClient(bot, { advance });
    await expect(client.idle('soon')).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await bot.close();
  });

  it('rejects an `advance` that is not a function with INVALID_OPTIONS', () => {
    const { bot } = echoBot();
    expect(() => createTestClient(bot, { advance: 5 as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });

  it('rejects idle() with INVALID_OPTIONS, saying to install fake timers, when `advance` does not move the clock', async () => {
    // As an `advance` that ticks some other clock than the one palaver reads.
    const { bot } = echoBot();
    const otherClock = vi.fn(async (_ms: number) => undefined);
    const client = createTestClient(bot, { advance: otherClock });
    await expect(client.idle('3m')).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringMatching(
        /^idle\("3m"\) asked `advance` to move the clock 180000 ms, but Date\.now\(\) moved \d+ ms\. Call vi\.useFakeTimers\(\)/,
      ),
    });
    await bot.close();
  });

  it('rejects idle() with INVALID_OPTIONS when fake timers leave Date alone', async () => {
    vi.useRealTimers();
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] });
    const { bot } = echoBot();
    const client = createTestClient(bot, { advance });
    await expect(client.idle('31m')).rejects.toMatchObject({ code: 'INVALID_OPTIONS' });
    await bot.close();
  });

  it('lets idle(0) pass whatever `advance` does', async () => {
    const { bot } = echoBot();
    const client = createTestClient(bot, { advance: () => undefined });
    await expect(client.idle(0)).resolves.toBeUndefined();
    await bot.close();
  });
});

describe('parseDuration', () => {
  it.each([
    [1500, 1500],
    ['250ms', 250],
    ['45s', 45_000],
    ['31m', 31 * 60_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
  ] as const)('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '5', 'm', '5 minutes', '-1s', 'abc'])('rejects %j with INVALID_ARGUMENT', (text) => {
    expect(() => parseDuration(text)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });

  it('rejects a negative number with INVALID_ARGUMENT', () => {
    expect(() => parseDuration(-1)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('the fallback fake clock', () => {
  it('moves time with the real @sinonjs/fake-timers when no `advance` is given, and gives the clock back on close', async () => {
    const realDateNow = Date.now;
    const bot = new SessionManager({ timeout: 5 * 60_000, autoBatchDelay: 0, deliver: () => undefined });
    bot.dialog('/', (session) => void session.send('noted'));
    const client = createTestClient(bot);
    expect(Date.now).not.toBe(realDateNow);
    await client.say('hello');
    await client.idle('4m');
    const before = client.sessionEnds.length;
    await client.idle('2m');
    const ends = client.sessionEnds.map((event) => event.reason);
    await client.close();
    await bot.close();
    expect({ before, ends, restored: Date.now === realDateNow }).toEqual({
      before: 0,
      ends: ['timeout'],
      restored: true,
    });
  });

  it('installs @sinonjs/fake-timers over Date and the timer functions', () => {
    const clock = { tickAsync: vi.fn(), uninstall: vi.fn() };
    const install = vi.fn(() => clock);
    const loaded: string[] = [];
    const installed = installFakeClock((id) => {
      loaded.push(id);
      return { install };
    });
    expect({ loaded, installed, config: install.mock.calls[0] }).toEqual({
      loaded: ['@sinonjs/fake-timers'],
      installed: clock,
      config: [
        { now: expect.any(Number), toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'] },
      ],
    });
  });

  it('says to pass `advance` or install the package, with INVALID_OPTIONS, when it is missing', () => {
    const missing = () => {
      throw new Error("Cannot find module '@sinonjs/fake-timers'");
    };
    expect(() => installFakeClock(missing)).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('advance') }),
    );
  });
});
