import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EndReason } from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { elapse, harness } from '../support/manager';

type Entities = { UserName?: string; UserPhone?: string; UserLocation?: string; Coupon?: string };

describe('explicit session control inside a turn', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ends the session after the turn with session.endSession(), and the next message starts a new one', async () => {
    const log: string[] = [];
    const { bot } = harness<Entities>({
      onSessionStart: (session) => void log.push(`start ${session.message?.text}`),
      onSessionEnd: (session, reason) => void log.push(`end ${reason} after ${session.message?.text}`),
    });
    bot.dialog('/', (session) => {
      log.push(`turn ${session.message?.text}`);
      if (session.message?.text === 'bye') session.endSession();
    });
    const first = await bot.receive({ address: address(), text: 'bye' });
    const second = await bot.receive({ address: address(), text: 'hello' });
    expect(second.session.id).not.toBe(first.session.id);
    expect(log).toEqual(['start bye', 'turn bye', 'end endSession after bye', 'start hello', 'turn hello']);
    await bot.close();
  });

  it('delivers the replies of the ending turn and what onSessionEnd sends, in order', async () => {
    const { bot, texts } = harness<Entities>({ onSessionEnd: (session) => void session.send('Goodbye.') });
    bot.dialog('/', (session) => {
      session.send('Done');
      session.endSession();
    });
    const { replies } = await bot.receive({ address: address(), text: 'hi' });
    expect(replies.map((m) => m.text)).toEqual(['Done', 'Goodbye.']);
    expect(texts()).toEqual(['Done', 'Goodbye.']);
    await bot.close();
  });

  it('leaves no deadline behind for a session ended with session.endSession()', async () => {
    const onSessionEnd = vi.fn();
    const { bot } = harness({ onSessionEnd });
    bot.dialog('/', (session) => void session.endSession());
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(2 * 60 * MINUTE);
    expect(onSessionEnd).toHaveBeenCalledTimes(1);
    await bot.close();
  });

  it('ends the session with session.newSession() and handles the same message again in a fresh one', async () => {
    const log: string[] = [];
    const ids: string[] = [];
    const { bot } = harness<Entities>({
      onSessionEnd: (_s, reason) => void log.push(`end ${reason}`),
      onSessionStart: () => void log.push('start'),
    });
    bot.dialog('/', (session) => {
      ids.push(session.info.id);
      log.push(`turn ${session.message?.text} #${session.info.turnCount}`);
      if (session.message?.text === 'restart' && ids.length === 2) session.newSession();
    });
    await bot.receive({ address: address(), text: 'hi' });
    const result = await bot.receive({ address: address(), text: 'restart' });
    expect(log).toEqual(['start', 'turn hi #1', 'turn restart #2', 'end newSession', 'start', 'turn restart #1']);
    expect(ids[2]).not.toBe(ids[1]);
    expect(result.session.id).toBe(ids[2]);
    await bot.close();
  });

  it('carries the named entities into the new session', async () => {
    const seen: Entities[] = [];
    const { bot } = harness<Entities>();
    bot.dialog('/', (session) => {
      seen.push({ ...session.entities });
      if (seen.length === 1) {
        Object.assign(session.entities, { UserName: 'Lars', UserPhone: '555', UserLocation: 'Seattle' });
        session.newSession({ carry: ['UserName', 'UserPhone'] });
      }
    });
    await bot.receive({ address: address(), text: 'hi' });
    expect(seen).toEqual([{}, { UserName: 'Lars', UserPhone: '555' }]);
    await bot.close();
  });

  it('carries the given entity values into the new session', async () => {
    const seen: Entities[] = [];
    const { bot } = harness<Entities>();
    bot.dialog('/', (session) => {
      seen.push({ ...session.entities });
      if (seen.length === 1) session.newSession({ carry: { UserName: 'Lars' } });
    });
    await bot.receive({ address: address(), text: 'hi' });
    expect(seen).toEqual([{}, { UserName: 'Lars' }]);
    await bot.close();
  });

  it('handles options.message in the new session instead of the current message (JAICP newChatStarted)', async () => {
    const seen: unknown[] = [];
    const { bot } = harness<Entities>();
    bot.dialog('/', (session) => {
      const message = session.message!;
      seen.push({ type: message.type ?? 'message', name: message.name, text: message.text });
      if (message.type === 'event' && message.name === 'newChatStarted') {
        session.newSession({ message: { text: String(message.value) } });
      }
    });
    await bot.receive({ address: address(), type: 'event', name: 'newChatStarted', value: 'I need help' });
    expect(seen).toEqual([
      { type: 'event', name: 'newChatStarted', text: undefined },
      { type: 'message', name: undefined, text: 'I need help' },
    ]);
    await bot.close();
  });

  it('rejects a bad message passed to newSession() in the step that passed it (INVALID_MESSAGE), keeping the session', async () => {
    const { bot } = harness<Entities>();
    const outcomes: unknown[] = [];
    bot.dialog('/', (session) => {
      try {
        session.newSession({ message: { text: 'x', locale: 42 } as never });
        outcomes.push('accepted');
      } catch (error) {
        outcomes.push((error as { code?: string }).code);
      }
      session.send('still here');
    });
    const first = await bot.receive({ address: address(), text: 'one' });
    const second = await bot.receive({ address: address(), text: 'two' });
    expect({ outcomes, same: first.session.id === second.session.id, turns: second.session.turnCount }).toEqual({
      outcomes: ['INVALID_MESSAGE', 'INVALID_MESSAGE'],
      same: true,
      turns: 2,
    });
    await bot.close();
  });

  it('refuses a second newSession() while re-handling the message: a NEW_SESSION_LOOP error, emitted, not a loop', async () => {
    const handled = vi.fn();
    const onSessionEnd = vi.fn();
    const { bot, errors, texts } = harness<Entities>({
      onSessionEnd,
      dialogErrorMessage: 'Sorry, something went wrong.',
    });
    bot.dialog('/', (session) => {
      handled();
      // JAICP's pitfall: the re-handled message still carries the event that asks for a new session.
      if (session.message?.type === 'event') session.newSession();
    });
    const result = await bot.receive({ address: address(), type: 'event', name: 'reset' });
    expect(handled).toHaveBeenCalledTimes(2);
    expect(result.error).toMatchObject({ code: 'NEW_SESSION_LOOP' });
    expect(errors.map((e) => e.code)).toEqual(['NEW_SESSION_LOOP']);
    expect(onSessionEnd.mock.calls.map((call) => call[1])).toEqual(['newSession']);
    expect(texts()).toEqual(['Sorry, something went wrong.']);
    await bot.close();
  });

  it('takes the next message normally after a NEW_SESSION_LOOP error', async () => {
    const { bot } = harness<Entities>();
    bot.dialog('/', (session) => {
      if (session.message?.type === 'event') session.newSession();
      else session.send('ok %d', session.info.turnCount);
    });
    const looped = await bot.receive({ address: address(), type: 'event', name: 'reset' });
    const next = await bot.receive({ address: address(), text: 'hi' });
    expect(next.error).toBeUndefined();
    expect(next.session.id).toBe(looped.session.id);
    expect(next.replies.map((m) => m.text)).toEqual(['ok 2']);
    await bot.close();
  });

  it('lets every message trigger one newSession()', async () => {
    const reasons: EndReason[] = [];
    const { bot } = harness<Entities>({ onSessionEnd: (_s, reason) => void reasons.push(reason) });
    let calls = 0;
    bot.dialog('/', (session) => {
      calls++;
      if (!session.info.turnCount || calls % 2 === 1) session.newSession();
    });
    const first = await bot.receive({ address: address(), text: 'a' });
    const second = await bot.receive({ address: address(), text: 'b' });
    expect([first.error, second.error]).toEqual([undefined, undefined]);
    expect(reasons).toEqual(['newSession', 'newSession']);
    await bot.close();
  });

  it('delivers the replies the old session sent before newSession()', async () => {
    const { bot, texts } = harness<Entities>();
    bot.dialog('/', (session) => {
      if (session.info.turnCount === 1 && session.message?.text === 'go' && !session.entities.UserName) {
        session.send('Starting over...');
        session.newSession({ carry: { UserName: 'Lars' } });
        return;
      }
      session.send('Hello %s', session.entities.UserName ?? '?');
    });
    await bot.receive({ address: address(), text: 'go' });
    expect(texts()).toEqual(['Starting over...', 'Hello Lars']);
    await bot.close();
  });

  it('clears everything with session.refresh(), preserved and ttl entities included, and starts a new session', async () => {
    const reasons: EndReason[] = [];
    const starts: Entities[] = [];
    const { bot } = harness<Entities>({
      preserve: ['UserName'],
      onSessionEnd: (_s, reason) => {
        reasons.push(reason);
        return ['UserPhone'];
      },
      onSessionStart: (session) => void starts.push({ ...session.entities }),
    });
    bot.dialog('/', (session) => {
      if (session.message?.text === 'refresh') return void session.refresh();
      Object.assign(session.entities, { UserName: 'Lars', UserPhone: '555' });
      session.setEntity('Coupon', 'SAVE10', { ttl: 60 * MINUTE });
    });
    const before = await bot.receive({ address: address(), text: 'hi' });
    const refreshed = await bot.receive({ address: address(), text: 'refresh' });
    expect(refreshed.session.id).not.toBe(before.session.id);
    expect(reasons).toEqual(['refresh']);
    expect(starts).toEqual([{}, {}]);
    await bot.close();
  });

  it('continues the refreshed session with the next message', async () => {
    const { bot } = harness<Entities>();
    bot.dialog('/', (session) => {
      if (session.message?.text === 'refresh') session.refresh();
    });
    await bot.receive({ address: address(), text: 'hi' });
    const refreshed = await bot.receive({ address: address(), text: 'refresh' });
    const next = await bot.receive({ address: address(), text: 'hi' });
    expect(next.session.id).toBe(refreshed.session.id);
    expect(next.session.turnCount).toBe(1);
    await bot.close();
  });

  it('clears the current dialog with session.discard() and keeps the session and its entities', async () => {
    const { bot } = harness<Entities>();
    bot.dialog('/', (session) => {
      session.entities.UserName = 'Lars';
      session.beginDialog('/outer');
    });
    bot.dialog('/outer', (session, args) => {
      if (args === undefined) session.beginDialog('/inner');
    });
    bot.dialog('/inner', (session) => {
      if (session.message?.text === 'discard') session.discard();
    });
    const first = await bot.receive({ address: address(), text: 'hi' });
    expect(first.session.currentDialogState?.id).toBe('/inner');
    const second = await bot.receive({ address: address(), text: 'discard' });
    expect(second.session.id).toBe(first.session.id);
    expect(second.session.currentDialogState?.id).toBe('/outer');
    expect(second.session.previousDialogState?.id).toBe('/inner');
    await bot.close();
  });

  it('clears the whole dialog stack with session.discard({ all: true }) and keeps the session and its entities', async () => {
    const seen: Entities[] = [];
    const { bot } = harness<Entities>();
    bot.dialog('/', (session) => {
      seen.push({ ...session.entities });
      session.entities.UserName = 'Lars';
      session.beginDialog('/deep');
    });
    bot.dialog('/deep', (session) => {
      if (session.message?.text === 'discard all') session.discard({ all: true });
    });
    const first = await bot.receive({ address: address(), text: 'hi' });
    const second = await bot.receive({ address: address(), text: 'discard all' });
    expect(second.session.id).toBe(first.session.id);
    expect(second.session.currentDialogState).toBeUndefined();
    const third = await bot.receive({ address: address(), text: 'hi' });
    expect(third.session.id).toBe(first.session.id);
    expect(seen).toEqual([{}, { UserName: 'Lars' }]);
    await bot.close();
  });
});

describe('explicit session control from outside a turn', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function bot(options: Parameters<typeof harness<Entities>>[0] = {}) {
    const h = harness<Entities>(options);
    h.bot.dialog('/', (session) => {
      if (session.message?.text?.startsWith('name ')) session.entities.UserName = session.message.text.slice(5);
      session.send('hi %s', session.entities.UserName ?? 'stranger');
    });
    return h;
  }

  it('ends a session by address with manager.endSession(), keeping what onSessionEnd returns', async () => {
    const reasons: EndReason[] = [];
    const { bot: b } = bot({ onSessionEnd: (_s, reason) => (reasons.push(reason), ['UserName']) });
    const first = await b.receive({ address: address(), text: 'name Lars' });
    await expect(b.endSession(address())).resolves.toBe(true);
    expect(reasons).toEqual(['endSession']);
    const next = await b.receive({ address: address(), text: 'hi' });
    expect(next.session.id).not.toBe(first.session.id);
    expect(next.replies.map((m) => m.text)).toEqual(['hi Lars']);
    await b.close();
  });

  it('ends a session by the key that keyOf() and session.info.key give', async () => {
    const { bot: b } = bot();
    const { session } = await b.receive({ address: address(), text: 'hi' });
    expect(session.key).toBe(b.keyOf(address()));
    await expect(b.endSession(session.key)).resolves.toBe(true);
    await expect(b.endSession(b.keyOf(address()))).resolves.toBe(false);
    await b.close();
  });

  it('ends a session by the key the sessionKey option returns', async () => {
    const { bot: b } = bot({ sessionKey: (a) => `user-${a.user.id}` });
    await b.receive({ address: address(), text: 'hi' });
    await expect(b.endSession('user-lars')).resolves.toBe(true);
    await b.close();
  });

  it('resolves manager.endSession() to false when no session is active', async () => {
    const onSessionEnd = vi.fn();
    const { bot: b } = bot({ onSessionEnd });
    await expect(b.endSession(address())).resolves.toBe(false);
    await b.receive({ address: address(), text: 'hi' });
    await b.endSession(address());
    await expect(b.endSession(address())).resolves.toBe(false);
    expect(onSessionEnd).toHaveBeenCalledTimes(1);
    await b.close();
  });

  it('delivers what onSessionEnd sends when the session is ended from outside', async () => {
    const { bot: b, delivered } = bot({ onSessionEnd: (session) => void session.send('Bye!') });
    await b.receive({ address: address(), text: 'hi' });
    delivered.length = 0;
    await b.endSession(address());
    expect(delivered).toEqual([{ address: address(), messages: [{ type: 'message', text: 'Bye!' }] }]);
    await b.close();
  });

  it('starts a bot-initiated session that is not interactive until the user writes', async () => {
    const { bot: b } = bot();
    const started = await b.startSession(address());
    expect(started).toMatchObject({ interactive: false, turnCount: 0 });
    const { session } = await b.receive({ address: address(), text: 'hi' });
    expect(session).toMatchObject({ id: started.id, interactive: true, turnCount: 1 });
    await b.close();
  });

  it('keeps a bot-initiated session non-interactive through events', async () => {
    const { bot: b } = bot();
    await b.startSession(address());
    const { session } = await b.receive({ address: address(), type: 'event', name: 'typing' });
    expect(session.interactive).toBe(false);
    await b.close();
  });

  it('runs onSessionStart for a bot-initiated session and begins the given dialog', async () => {
    const { bot: b, texts } = bot({ onSessionStart: (session) => void (session.entities.UserName = 'friend') });
    b.dialog('/greet', (session, args: { offer: string }) => {
      session.send('Hello %s, %s', session.entities.UserName ?? '?', args.offer);
    });
    const info = await b.startSession(address(), { dialogId: '/greet', args: { offer: 'want a pizza?' } });
    expect(info.currentDialogState?.id).toBe('/greet');
    expect(texts()).toEqual(['Hello friend, want a pizza?']);
    await b.close();
  });

  it('begins the dialog startSession() names even when onSessionStart began another', async () => {
    const { bot: b, texts } = bot({ onSessionStart: (session) => void session.beginDialog('/welcome') });
    b.dialog('/welcome', (session) => void session.send('welcome'));
    b.dialog('/greet', (session) => void session.send('greet'));
    const info = await b.startSession(address(), { dialogId: '/greet' });
    expect([info.currentDialogState?.id, texts()]).toEqual(['/greet', ['greet']]);
    await b.close();
  });

  it('runs the dialog onSessionStart began when startSession() names none', async () => {
    const { bot: b, texts } = bot({ onSessionStart: (session) => void session.beginDialog('/welcome') });
    b.dialog('/welcome', (session) => void session.send('welcome'));
    const info = await b.startSession(address());
    expect([info.currentDialogState?.id, texts()]).toEqual(['/welcome', ['welcome']]);
    await b.close();
  });

  it('leaves an active session as it is on startSession()', async () => {
    const onSessionStart = vi.fn();
    const { bot: b, texts } = bot({ onSessionStart });
    b.dialog('/greet', (session) => void session.send('greeting'));
    const { session } = await b.receive({ address: address(), text: 'hi' });
    const info = await b.startSession(address(), { dialogId: '/greet' });
    expect(info).toMatchObject({ id: session.id, interactive: true, turnCount: 1 });
    expect(onSessionStart).toHaveBeenCalledTimes(1);
    expect(texts()).toEqual(['hi stranger']);
    await b.close();
  });

  it('ends an expired session with reason timeout before a bot-initiated start (lazy policy)', async () => {
    const reasons: EndReason[] = [];
    const { bot: b } = bot({ closePolicy: 'lazy', onSessionEnd: (_s, reason) => void reasons.push(reason) });
    const { session } = await b.receive({ address: address(), text: 'hi' });
    await elapse(31 * MINUTE);
    const started = await b.startSession(address());
    expect(started.id).not.toBe(session.id);
    expect(reasons).toEqual(['timeout']);
    await b.close();
  });

  it('rejects startSession() with DIALOG_FAILED when the begun dialog throws, keeping the session without what the dialog did', async () => {
    const { bot: b, delivered } = bot();
    b.dialog('/broken', (session) => {
      session.entities.UserName = 'half-done';
      session.send('never delivered');
      throw new Error('boom');
    });
    await expect(b.startSession(address(), { dialogId: '/broken' })).rejects.toMatchObject({
      code: 'DIALOG_FAILED',
      message: expect.stringContaining('boom'),
    });
    const { session, replies } = await b.receive({ address: address(), text: 'hi' });
    expect(session).toMatchObject({ turnCount: 1, currentDialogState: { id: '/' } });
    expect(replies.map((m) => m.text)).toEqual(['hi stranger']);
    expect(delivered.flatMap((d) => d.messages.map((m) => m.text))).toEqual(['hi stranger']);
    await b.close();
  });

  it('ends an expired session once even when the dialog begun by startSession() throws', async () => {
    const onSessionEnd = vi.fn();
    const onSessionStart = vi.fn();
    const { bot: b } = bot({ closePolicy: 'lazy', onSessionEnd, onSessionStart });
    b.dialog('/broken', () => {
      throw new Error('boom');
    });
    await b.receive({ address: address(), text: 'hi' });
    await elapse(31 * MINUTE);
    await expect(b.startSession(address(), { dialogId: '/broken' })).rejects.toMatchObject({ code: 'DIALOG_FAILED' });
    await b.receive({ address: address(), text: 'hi' });
    expect(onSessionEnd).toHaveBeenCalledTimes(1);
    expect(onSessionStart).toHaveBeenCalledTimes(2);
    await b.close();
  });

  it('closes a bot-initiated session that the user never answers', async () => {
    const reasons: EndReason[] = [];
    const { bot: b } = bot({ onSessionEnd: (_s, reason) => void reasons.push(reason) });
    await b.startSession(address());
    await elapse(30 * MINUTE);
    expect(reasons).toEqual(['timeout']);
    await b.close();
  });
});
