import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { SessionInfo } from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { elapse, harness } from '../support/manager';

describe('session.info', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2024-05-01T10:00:00Z'));
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('reports the bot, the channel and the user of the session', async () => {
    const { bot } = harness({ botId: 'pizza-bot', version: '1.4.0' });
    bot.dialog('/', () => undefined);
    const to = { channelId: 'webchat', user: { id: 'u-7', name: 'Lars' }, conversation: { id: 'c-9' } };
    const { session } = await bot.receive({ address: to, text: 'hi' });
    expect(session).toMatchObject({
      botId: 'pizza-bot',
      version: '1.4.0',
      channel: 'webchat',
      user: { id: 'u-7', name: 'Lars' },
    });
    await bot.close();
  });

  it('leaves botId and version undefined when they are not configured', async () => {
    const { bot } = harness();
    bot.dialog('/', () => undefined);
    const { session } = await bot.receive({ address: address(), text: 'hi' });
    expect([session.botId, session.version]).toEqual([undefined, undefined]);
    await bot.close();
  });

  it('is the same inside the turn as in the turn’s result', async () => {
    const inside: SessionInfo[] = [];
    const { bot } = harness({ botId: 'b' });
    bot.dialog('/', (session) => void inside.push(session.info));
    const { session } = await bot.receive({ address: address(), text: 'hi' });
    expect(inside).toEqual([session]);
    await bot.close();
  });

  it('gives every session a fresh unique id', async () => {
    const { bot } = harness();
    bot.dialog('/', (session) => void (session.message?.text === 'end' && session.endSession()));
    const ids = new Set<string>();
    for (let user = 0; user < 200; user++) {
      for (const text of ['hi', 'end']) ids.add((await bot.receive({ address: address(`u${user}`), text })).session.id);
    }
    for (let user = 0; user < 200; user++)
      ids.add((await bot.receive({ address: address(`u${user}`), text: 'hi' })).session.id);
    expect(ids.size).toBe(400);
    expect([...ids].every((id) => id.length > 0)).toBe(true);
    await bot.close();
  });

  it('records when the session started and when it was last active', async () => {
    const { bot } = harness();
    bot.dialog('/', () => undefined);
    const start = Date.now();
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(5 * MINUTE);
    const { session } = await bot.receive({ address: address(), text: 'again' });
    expect(session).toMatchObject({ startedAt: start, lastActiveAt: start + 5 * MINUTE });
    await bot.close();
  });

  it('counts the turns of the session', async () => {
    const { bot } = harness();
    bot.dialog('/', () => undefined);
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) counts.push((await bot.receive({ address: address(), text: 'hi' })).session.turnCount);
    expect(counts).toEqual([1, 2, 3]);
    await bot.close();
  });

  it('takes the locale from the latest message that has one, else the locale option', async () => {
    const { bot } = harness({ locale: 'en-US' });
    bot.dialog('/', () => undefined);
    const locales: (string | undefined)[] = [];
    for (const locale of [undefined, 'de-DE', undefined]) {
      locales.push(
        (await bot.receive({ address: address(), text: 'hi', ...(locale ? { locale } : {}) })).session.locale,
      );
    }
    expect(locales).toEqual(['en-US', 'de-DE', 'de-DE']);
    await bot.close();
  });

  it('is interactive for a session the user started', async () => {
    const { bot } = harness();
    bot.dialog('/', () => undefined);
    const started: boolean[] = [];
    bot.on('sessionStart', ({ session }) => void started.push(session.interactive));
    const { session } = await bot.receive({ address: address(), text: 'hi' });
    expect([session.interactive, ...started]).toEqual([true, true]);
    await bot.close();
  });

  it('is not interactive for a session that an event started', async () => {
    const { bot } = harness();
    bot.dialog('/', () => undefined);
    const { session } = await bot.receive({ address: address(), type: 'event', name: 'conversationUpdate' });
    expect(session.interactive).toBe(false);
    await bot.close();
  });

  it('flags a session in which the bot developer wrote, until it ends', async () => {
    const { bot } = harness();
    bot.dialog('/', (session) => void (session.message?.text === 'end' && session.endSession()));
    const flags: boolean[] = [];
    for (const message of [
      { text: 'hi' },
      { text: 'test', developer: true },
      { text: 'again' },
      { text: 'end' },
      { text: 'new' },
    ]) {
      flags.push((await bot.receive({ address: address(), ...message })).session.developer);
    }
    expect(flags).toEqual([false, true, true, true, false]);
    await bot.close();
  });

  it('names the dialog on top of the stack and the one before it', async () => {
    const { bot } = harness();
    bot.dialog('/', (session, result) => void (result === undefined && session.beginDialog('/order')), {
      name: 'Main menu',
    });
    bot.dialog('/order', [(session) => void session.send('What pizza?'), (session) => void session.endDialog('ok')], {
      name: 'Order pizza',
    });
    const { session } = await bot.receive({ address: address(), text: 'hi' });
    expect(session.currentDialogState).toEqual({ name: 'Order pizza', id: '/order', type: 'waterfall' });
    expect(session.previousDialogState).toEqual({ name: 'Main menu', id: '/', type: 'function' });
    const next = await bot.receive({ address: address(), text: 'margherita' });
    expect(next.session.currentDialogState).toEqual({ name: 'Main menu', id: '/', type: 'function' });
    expect(next.session.previousDialogState).toEqual({ name: 'Order pizza', id: '/order', type: 'waterfall' });
    await bot.close();
  });

  it('reports the session key and the timeout in force', async () => {
    const { bot } = harness({ timeout: 10 * MINUTE, sessionKey: (a) => a.user.id });
    bot.dialog('/', (session) => void (session.message?.text === 'short' && (session.timeout = MINUTE)));
    const first = await bot.receive({ address: address(), text: 'hi' });
    const second = await bot.receive({ address: address(), text: 'short' });
    expect([first.session.key, first.session.timeout, second.session.timeout]).toEqual([
      bot.keyOf(address()),
      10 * MINUTE,
      MINUTE,
    ]);
    await bot.close();
  });
});

describe('the sessionKey option', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps one session per user across conversations when the key is the user id', async () => {
    const { bot } = harness({ sessionKey: (a) => `${a.channelId}:${a.user.id}` });
    bot.dialog('/', () => undefined);
    const first = await bot.receive({ address: address('lars', 'c1'), text: 'hi' });
    const second = await bot.receive({ address: address('lars', 'c2'), text: 'hi' });
    const other = await bot.receive({ address: address('anna', 'c1'), text: 'hi' });
    expect(second.session).toMatchObject({ id: first.session.id, turnCount: 2 });
    expect(other.session.id).not.toBe(first.session.id);
    await bot.close();
  });

  it('keeps one session for a whole group chat when the key is the conversation', async () => {
    const { bot } = harness({ sessionKey: (a) => a.conversation.id });
    bot.dialog('/', () => undefined);
    const first = await bot.receive({ address: address('lars', 'group'), text: 'hi' });
    const second = await bot.receive({ address: address('anna', 'group'), text: 'hi' });
    expect(second.session).toMatchObject({ id: first.session.id, turnCount: 2, user: { id: 'anna' } });
    await bot.close();
  });

  it('sends the closeMessage to the address that wrote last', async () => {
    const { bot, delivered } = harness({ sessionKey: (a) => a.user.id, closeMessage: 'bye' });
    bot.dialog('/', () => undefined);
    await bot.receive({ address: address('lars', 'c1'), text: 'hi' });
    await bot.receive({ address: address('lars', 'c2'), text: 'hi' });
    await elapse(30 * MINUTE);
    expect(delivered).toEqual([{ address: address('lars', 'c2'), messages: [{ type: 'message', text: 'bye' }] }]);
    await bot.close();
  });
});
