// Proactive expiry without a long-lived process: sweepExpired() from a cron or serverless timer, and managers that come and go.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, SessionManager, type Address, type SessionManagerOptions } from '../../src';
import { MINUTE } from '../support/fixtures';

const address: Address = { channelId: 'test', user: { id: 'lars' }, conversation: { id: 'c1' } };

/**
 * One "invocation": a manager created for it over the long-lived `store` (standing in for Redis), that persists its
 * sessions when it closes instead of ending them.
 */
function invocation(store: MemoryStore, said: string[], options: Partial<SessionManagerOptions> = {}) {
  const bot = new SessionManager({
    deliver: (_to, messages) => void said.push(...messages.map((m) => m.text ?? '')),
    store,
    shutdown: 'persist',
    closeMessage: 'Bye for now.',
    ...options,
  });
  bot.dialog('/', (session) => session.send('Hi!'));
  return bot;
}

describe('serverless expiry', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ends sessions from a cron handler that calls sweepExpired() in an invocation of its own', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const said: string[] = [];
    const webhook = invocation(store, said);
    await webhook.receive({ address, text: 'hi' });
    await webhook.flush();
    await webhook.close();
    vi.setSystemTime(Date.now() + 31 * MINUTE);
    const onSessionEnd = vi.fn();
    const cron = invocation(store, said, { onSessionEnd });
    const ended = await cron.sweepExpired();
    await cron.close();
    expect({ ended, reasons: onSessionEnd.mock.calls.map((call) => call[1]), said }).toEqual({
      ended: 1,
      reasons: ['timeout'],
      said: ['Hi!', 'Bye for now.'],
    });
  });

  it('ends nothing before the timeout', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const webhook = invocation(store, []);
    await webhook.receive({ address, text: 'hi' });
    await webhook.close();
    vi.setSystemTime(Date.now() + 29 * MINUTE);
    const cron = invocation(store, []);
    expect(await cron.sweepExpired()).toBe(0);
    await cron.close();
  });

  it('ends what is due at the `now` it is given', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const webhook = invocation(store, []);
    await webhook.receive({ address, text: 'hi' });
    await webhook.close();
    const cron = invocation(store, []);
    expect(await cron.sweepExpired(Date.now() + 30 * MINUTE)).toBe(1);
    await cron.close();
  });

  it('ends a session exactly once when two cron invocations sweep at the same time', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const webhook = invocation(store, []);
    await webhook.receive({ address, text: 'hi' });
    await webhook.close();
    vi.setSystemTime(Date.now() + 31 * MINUTE);
    const onSessionEnd = vi.fn();
    const [a, b] = [invocation(store, [], { onSessionEnd }), invocation(store, [], { onSessionEnd })];
    const ended = await Promise.all([a.sweepExpired(), b.sweepExpired()]);
    await Promise.all([a.close(), b.close()]);
    expect({ ended: ended[0] + ended[1], hooks: onSessionEnd.mock.calls.length }).toEqual({ ended: 1, hooks: 1 });
  });

  it('lets a new manager over the same store close the sessions an earlier process left, on its own timer', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const first = invocation(store, []);
    await first.receive({ address, text: 'hi' });
    await first.close(); // the process goes away; its session stays in the store, due in 30 minutes
    const onSessionEnd = vi.fn();
    const second = invocation(store, [], { onSessionEnd });
    await vi.advanceTimersByTimeAsync(30 * MINUTE);
    expect(onSessionEnd.mock.calls.map((call) => call[1])).toEqual(['timeout']);
    await second.close();
  });

  it('delivers a turn’s replies before a webhook invocation returns, with flush()', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const said: string[] = [];
    const webhook = invocation(store, said, { autoBatchDelay: 250 });
    await webhook.receive({ address, text: 'hi' });
    const before = [...said];
    await webhook.flush();
    expect([before, said]).toEqual([[], ['Hi!']]);
    await webhook.close();
  });
});
