import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, type EndReason, type SessionManager, type SessionManagerEvents } from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { elapse, FlakyStore, harness } from '../support/manager';

type Entities = { BotName?: string; UserName?: string; UserLocation?: string };

describe('onSessionStart', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs before the first turn of a session, which sees the entities it set', async () => {
    const { bot } = harness<Entities>({ onSessionStart: (session) => void (session.entities.BotName = 'Botty') });
    bot.dialog('/', (session) => void session.send("Hi, I'm %s.", session.entities.BotName ?? '?'));
    const { replies } = await bot.receive({ address: address(), text: 'hi' });
    expect(replies.map((m) => m.text)).toEqual(["Hi, I'm Botty."]);
    await bot.close();
  });

  it('can start the session in a dialog of its own instead of the root dialog', async () => {
    const { bot } = harness({ onSessionStart: (session) => void session.beginDialog('/welcome') });
    bot.dialog('/', (session) => void session.send('root: %s', session.message?.text ?? ''));
    bot.dialog('/welcome', [(session) => session.endDialog('Welcome! You said %s.', session.message?.text ?? '')]);
    const first = await bot.receive({ address: address(), text: 'hi' });
    const second = await bot.receive({ address: address(), text: 'again' });
    expect([first.replies.map((m) => m.text), second.replies.map((m) => m.text)]).toEqual([
      ['Welcome! You said hi.'],
      ['root: again'],
    ]);
    await bot.close();
  });

  it('fails the turn with DIALOG_ACTION_CONFLICT when it ends a dialog on the empty stack of a new session', async () => {
    const { bot, errors } = harness({ onSessionStart: (session) => void session.endDialog('bye') });
    bot.dialog('/', (session) => void session.send('root'));
    await bot.receive({ address: address(), text: 'hi' });
    expect(errors.map((e) => e.code)).toContain('DIALOG_ACTION_CONFLICT');
    await bot.close();
  });

  it('runs once per session, not on later turns', async () => {
    const onSessionStart = vi.fn();
    const { bot } = harness({ onSessionStart });
    bot.dialog('/', () => undefined);
    for (let i = 0; i < 3; i++) await bot.receive({ address: address(), text: 'hi' });
    expect(onSessionStart).toHaveBeenCalledTimes(1);
    await bot.close();
  });

  it('runs for the new session a late message starts after the deadline passed', async () => {
    const onSessionStart = vi.fn();
    const { bot } = harness({ onSessionStart });
    bot.dialog('/', () => undefined);
    await bot.receive({ address: address(), text: 'hi' });
    vi.setSystemTime(Date.now() + 31 * MINUTE);
    await bot.receive({ address: address(), text: 'late' });
    expect(onSessionStart).toHaveBeenCalledTimes(2);
    await bot.close();
  });

  it('is awaited when it returns a promise', async () => {
    const { bot } = harness<Entities>({
      onSessionStart: async (session) => {
        await Promise.resolve();
        session.entities.BotName = 'Async Botty';
      },
    });
    bot.dialog('/', (session) => void session.send('%s', session.entities.BotName ?? '?'));
    const { replies } = await bot.receive({ address: address(), text: 'hi' });
    expect(replies[0]?.text).toBe('Async Botty');
    await bot.close();
  });

  it('that throws is reported as HOOK_FAILED and the turn still runs and is saved', async () => {
    const { bot, errors } = harness({
      onSessionStart: () => {
        throw new Error('no bot name today');
      },
    });
    bot.dialog('/', (session) => void session.send('turn %d', session.info.turnCount));
    const first = await bot.receive({ address: address(), text: 'hi' });
    const second = await bot.receive({ address: address(), text: 'hi' });
    expect(errors).toMatchObject([
      { code: 'HOOK_FAILED', message: expect.stringContaining('onSessionStart threw: no bot name today') },
    ]);
    expect(second.session).toMatchObject({ id: first.session.id, turnCount: 2 });
    await bot.close();
  });
});

describe('onSessionEnd', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A bot whose root dialog obeys `end`, `new` and `refresh`; records every onSessionEnd call by session id. */
  function recordingBot(options: Parameters<typeof harness<Entities>>[0] = {}) {
    const calls: [string, EndReason][] = [];
    const h = harness<Entities>({
      ...options,
      onSessionEnd: (session, reason) => void calls.push([session.info.id, reason]),
    });
    h.bot.dialog('/', (session) => {
      const text = session.message?.text;
      if (text === 'end') session.endSession();
      if (text === 'new' && session.info.turnCount > 1) session.newSession();
      if (text === 'refresh') session.refresh();
    });
    return { ...h, calls };
  }

  const enders: [EndReason, (bot: SessionManager<Entities>) => Promise<unknown>][] = [
    ['timeout', () => elapse(30 * MINUTE)],
    ['endSession', (bot) => bot.receive({ address: address(), text: 'end' })],
    ['endSession', (bot) => bot.endSession(address())],
    ['newSession', (bot) => bot.receive({ address: address(), text: 'new' })],
    ['refresh', (bot) => bot.receive({ address: address(), text: 'refresh' })],
    ['shutdown', (bot) => bot.close()],
  ];

  it.each(enders)('runs exactly once for a session ended by %s (%#)', async (reason, end) => {
    const { bot, calls } = recordingBot();
    const { session } = await bot.receive({ address: address(), text: 'hi' });
    await end(bot);
    await elapse(3 * 60 * MINUTE);
    await bot.close();
    expect(calls.filter(([id]) => id === session.id)).toEqual([[session.id, reason]]);
  });

  it('runs exactly once for a session the store evicted', async () => {
    const { bot, calls } = recordingBot({ store: new MemoryStore({ maxSessions: 1 }) });
    const { session } = await bot.receive({ address: address('a'), text: 'hi' });
    await bot.receive({ address: address('b'), text: 'hi' });
    await elapse(3 * 60 * MINUTE);
    await bot.close();
    expect(calls.filter(([id]) => id === session.id)).toEqual([[session.id, 'evicted']]);
  });

  it('runs once even when manager.endSession() and a timeout race for the same session', async () => {
    const { bot, calls } = recordingBot();
    await bot.receive({ address: address(), text: 'hi' });
    vi.setSystemTime(Date.now() + 30 * MINUTE);
    const ending = bot.endSession(address());
    await elapse(MINUTE);
    await ending;
    expect(calls).toHaveLength(1);
    await bot.close();
  });

  it('runs once, and its replies go out once, when the turn that ends the session loses a store race and re-runs', async () => {
    const store = new FlakyStore();
    const calls: string[] = [];
    const h = harness<Entities>({
      store,
      onSessionEnd: (session) => {
        calls.push(session.info.id);
        session.send('bye');
        return ['UserName'];
      },
    });
    h.bot.dialog('/', (session) => {
      if (session.message?.text === 'end') session.endSession();
    });
    const { session } = await h.bot.receive({ address: address(), text: 'hi' });
    store.conflicts = 1;
    await h.bot.receive({ address: address(), text: 'end' });
    expect({ calls, texts: h.texts() }).toEqual({ calls: [session.id], texts: ['bye'] });
  });

  it('that throws is reported as HOOK_FAILED and the session still ends cleanly', async () => {
    const { bot, errors } = harness<Entities>({
      preserve: ['UserName'],
      onSessionEnd: () => {
        throw new Error('analytics down');
      },
    });
    const seen: Entities[] = [];
    bot.dialog('/', (session) => {
      seen.push({ ...session.entities });
      Object.assign(session.entities, { UserName: 'Lars', UserLocation: 'Seattle' });
    });
    const first = await bot.receive({ address: address(), text: 'hi' });
    await elapse(30 * MINUTE);
    const second = await bot.receive({ address: address(), text: 'back' });
    expect(errors).toMatchObject([
      { code: 'HOOK_FAILED', message: expect.stringContaining('onSessionEnd threw: analytics down') },
    ]);
    expect(second.session.id).not.toBe(first.session.id);
    expect(seen).toEqual([{}, { UserName: 'Lars' }]);
    await bot.close();
  });

  it('that rejects is reported as HOOK_FAILED and a proactive close still delivers closeMessage', async () => {
    const { bot, errors, texts } = harness({
      closeMessage: 'bye',
      onSessionEnd: async () => {
        throw new Error('later failure');
      },
    });
    bot.dialog('/', () => undefined);
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(30 * MINUTE);
    expect(errors.map((e) => e.code)).toEqual(['HOOK_FAILED']);
    expect(texts()).toEqual(['bye']);
    await elapse(30 * MINUTE);
    expect(errors).toHaveLength(1);
    await bot.close();
  });

  it('that throws in an explicit end still ends the session', async () => {
    const { bot, errors } = harness({
      onSessionEnd: () => {
        throw new Error('boom');
      },
    });
    bot.dialog('/', (session) => void session.endSession());
    const first = await bot.receive({ address: address(), text: 'hi' });
    const second = await bot.receive({ address: address(), text: 'hi' });
    expect(errors.map((e) => e.code)).toEqual(['HOOK_FAILED', 'HOOK_FAILED']);
    expect(second.session.id).not.toBe(first.session.id);
    await bot.close();
  });

  it('gets the session with its entities and the turn’s message when it ends in a turn', async () => {
    const seen: unknown[] = [];
    const { bot } = harness<Entities>({
      onSessionEnd: (session, reason) =>
        void seen.push({ text: session.message?.text, entities: { ...session.entities }, reason }),
    });
    bot.dialog('/', (session) => {
      session.entities.UserName = 'Lars';
      session.endSession();
    });
    await bot.receive({ address: address(), text: 'Done' });
    expect(seen).toEqual([{ text: 'Done', entities: { UserName: 'Lars' }, reason: 'endSession' }]);
    await bot.close();
  });
});

describe('continueIf', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('that throws is reported as HOOK_FAILED and the expired session ends', async () => {
    const onSessionEnd = vi.fn();
    const { bot, errors } = harness({
      closePolicy: 'lazy',
      onSessionEnd,
      continueIf: () => {
        throw new Error('classifier down');
      },
    });
    bot.dialog('/', () => undefined);
    const first = await bot.receive({ address: address(), text: 'hi' });
    await elapse(31 * MINUTE);
    const second = await bot.receive({ address: address(), text: 'hi' });
    expect(errors.map((e) => e.code)).toEqual(['HOOK_FAILED']);
    expect(second.session.id).not.toBe(first.session.id);
    expect(onSessionEnd).toHaveBeenCalledTimes(1);
    await bot.close();
  });
});

describe('events', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function eventLog(bot: SessionManager<Entities>) {
    const log: string[] = [];
    bot.on('sessionStart', ({ session }) => void log.push(`sessionStart #${session.turnCount}`));
    bot.on('sessionEnd', ({ reason, kept }) => void log.push(`sessionEnd ${reason} kept=${kept.join(',')}`));
    bot.on(
      'turn',
      ({ message, replies }) => void log.push(`turn ${message.text} -> ${replies.map((m) => m.text).join(',')}`),
    );
    return log;
  }

  it('emits sessionStart, turn and sessionEnd in the order things happened', async () => {
    const { bot } = harness<Entities>({ onSessionEnd: () => ['UserName'] });
    const log = eventLog(bot);
    bot.dialog('/', (session) => {
      session.entities.UserName = 'Lars';
      session.entities.UserLocation = 'Seattle';
      session.send('ok');
    });
    await bot.receive({ address: address(), text: 'hi' });
    await bot.receive({ address: address(), text: 'again' });
    await elapse(30 * MINUTE);
    expect(log).toEqual(['sessionStart #1', 'turn hi -> ok', 'turn again -> ok', 'sessionEnd timeout kept=UserName']);
    await bot.close();
  });

  it('emits sessionStart with the session info and the address', async () => {
    const { bot } = harness();
    const starts: Parameters<SessionManagerEvents['sessionStart']>[0][] = [];
    bot.on('sessionStart', (event) => void starts.push(event));
    bot.dialog('/', () => undefined);
    const { session } = await bot.receive({ address: address(), text: 'hi' });
    expect(starts).toEqual([
      { session: expect.objectContaining({ id: session.id, channel: 'test' }), address: address() },
    ]);
    await bot.close();
  });

  it('emits sessionEnd with the final entities and the kept names', async () => {
    const { bot } = harness<Entities>({ onSessionEnd: () => ['UserName'] });
    const ends: Parameters<SessionManagerEvents['sessionEnd']>[0][] = [];
    bot.on('sessionEnd', (event) => void ends.push(event));
    bot.dialog('/', (session) => {
      Object.assign(session.entities, { UserName: 'Lars', UserLocation: 'Seattle' });
      session.endSession();
    });
    const { session } = await bot.receive({ address: address(), text: 'hi' });
    expect(ends).toEqual([
      {
        session: expect.objectContaining({ id: session.id }),
        reason: 'endSession',
        entities: { UserName: 'Lars', UserLocation: 'Seattle' },
        kept: ['UserName'],
        summary: expect.objectContaining({ id: session.id, reason: 'endSession' }),
      },
    ]);
    await bot.close();
  });

  it('emits sessionEnd with reason evicted when MemoryStore({ maxSessions: 2 }) drops a session', async () => {
    const onSessionEnd = vi.fn();
    const { bot } = harness({ store: new MemoryStore({ maxSessions: 2 }), onSessionEnd });
    const ends: [string, EndReason][] = [];
    bot.on('sessionEnd', ({ session, reason }) => void ends.push([session.user.id, reason]));
    bot.dialog('/', () => undefined);
    for (const user of ['a', 'b', 'c']) await bot.receive({ address: address(user), text: 'hi' });
    await elapse(0);
    expect(ends).toEqual([['a', 'evicted']]);
    expect(onSessionEnd.mock.calls.map((call) => call[1])).toEqual(['evicted']);
    await bot.close();
  });

  it('starts a new session for an evicted user’s next message', async () => {
    const { bot } = harness({ store: new MemoryStore({ maxSessions: 2 }) });
    bot.dialog('/', () => undefined);
    const first = await bot.receive({ address: address('a'), text: 'hi' });
    for (const user of ['b', 'c']) await bot.receive({ address: address(user), text: 'hi' });
    const again = await bot.receive({ address: address('a'), text: 'hi' });
    expect(again.session.id).not.toBe(first.session.id);
    expect(again.session.turnCount).toBe(1);
    await bot.close();
  });

  it('emits nothing for a turn whose commit failed', async () => {
    const store = new FlakyStore();
    const { bot } = harness<Entities>({ store });
    const log = eventLog(bot);
    bot.dialog('/', (session) => void session.send('ok'));
    store.failures = 1;
    await expect(bot.receive({ address: address(), text: 'hi' })).rejects.toMatchObject({ code: 'STORE_UNAVAILABLE' });
    expect(log).toEqual([]);
    await bot.close();
  });

  it('reports a listener that throws as HOOK_FAILED and still resolves the turn', async () => {
    const { bot, errors } = harness();
    bot.on('turn', () => {
      throw new Error('listener bug');
    });
    bot.dialog('/', (session) => void session.send('ok'));
    const { replies } = await bot.receive({ address: address(), text: 'hi' });
    expect(replies.map((m) => m.text)).toEqual(['ok']);
    expect(errors).toMatchObject([
      { code: 'HOOK_FAILED', message: expect.stringContaining('"turn" listener threw: listener bug') },
    ]);
    await bot.close();
  });

  it('reports a sessionEnd listener that throws inside the scheduler as HOOK_FAILED', async () => {
    const { bot, errors } = harness();
    bot.on('sessionEnd', () => {
      throw new Error('listener bug');
    });
    bot.dialog('/', () => undefined);
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(30 * MINUTE);
    expect(errors.map((e) => e.code)).toEqual(['HOOK_FAILED']);
    await bot.close();
  });

  it('prints an error to the console when no error listener is registered', async () => {
    const print = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const { bot } = harness({ onSessionStart: () => Promise.reject(new Error('nobody listens')) });
    bot.removeAllListeners('error');
    bot.dialog('/', () => undefined);
    await bot.receive({ address: address(), text: 'hi' });
    expect(print).toHaveBeenCalledWith(expect.stringContaining('HOOK_FAILED: onSessionStart threw: nobody listens'));
    print.mockRestore();
    await bot.close();
  });
});
