// sweepExpired() under the lazy close policy: a cron job collects the sessions of users who never came back.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, type EndReason } from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { elapse, harness } from '../support/manager';

describe('sweepExpired() with the lazy close policy', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('ends each of 1,000 idle sessions once, with reason timeout, and none on a second sweep', async () => {
    const ends = new Map<string, EndReason[]>();
    const { bot } = harness({
      closePolicy: 'lazy',
      store: new MemoryStore({ maxSessions: 2000 }),
      onSessionEnd: (session, reason) => {
        ends.set(session.info.id, [...(ends.get(session.info.id) ?? []), reason]);
      },
    });
    bot.dialog('/', (session) => session.send('ok'));
    for (let i = 0; i < 1000; i++) await bot.receive({ address: address(`u${i}`), text: 'hi' });
    await elapse(31 * MINUTE);
    const before = ends.size;
    const first = await bot.sweepExpired();
    const second = await bot.sweepExpired();
    expect({ before, first, second, sessions: ends.size }).toEqual({
      before: 0,
      first: 1000,
      second: 0,
      sessions: 1000,
    });
    expect([...ends.values()].every((reasons) => reasons.length === 1 && reasons[0] === 'timeout')).toBe(true);
    await bot.close();
  });

  it('ends no session whose idle time has not run out', async () => {
    const onSessionEnd = vi.fn();
    const { bot } = harness({ closePolicy: 'lazy', onSessionEnd });
    bot.dialog('/', (session) => session.send('ok'));
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(29 * MINUTE);
    expect(await bot.sweepExpired()).toBe(0);
    expect(onSessionEnd).not.toHaveBeenCalled();
    await bot.close();
  });

  it('keeps the entities the end hook keeps, for the next session', async () => {
    const { bot } = harness<{ UserName?: string }>({ closePolicy: 'lazy', onSessionEnd: () => ['UserName'] });
    const seen: (string | undefined)[] = [];
    bot.dialog('/', (session) => {
      seen.push(session.entities.UserName);
      session.entities.UserName = 'Lars';
    });
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(31 * MINUTE);
    await bot.sweepExpired();
    await bot.receive({ address: address(), text: 'back' });
    expect(seen).toEqual([undefined, 'Lars']);
    await bot.close();
  });

  it('sends no closeMessage when it ends a lazy session', async () => {
    const { bot, texts } = harness({ closePolicy: 'lazy', closeMessage: 'bye' });
    bot.dialog('/', (session) => session.send('ok'));
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(31 * MINUTE);
    expect(await bot.sweepExpired()).toBe(1);
    await bot.flush();
    expect(texts()).toEqual(['ok']);
    await bot.close();
  });

  it('lets the next message end the session when no sweep ran (no timer while the user is away)', async () => {
    const reasons: EndReason[] = [];
    const { bot } = harness({ closePolicy: 'lazy', onSessionEnd: (_s, reason) => void reasons.push(reason) });
    bot.dialog('/', (session) => session.send('ok'));
    await bot.receive({ address: address(), text: 'hi' });
    expect(vi.getTimerCount()).toBe(0);
    await elapse(31 * MINUTE);
    await bot.receive({ address: address(), text: 'back' });
    expect(reasons).toEqual(['timeout']);
    expect(await bot.sweepExpired()).toBe(0);
    await bot.close();
  });

  it('ends a session whose nudges went out once sweepExpired() is called, not before', async () => {
    const reasons: EndReason[] = [];
    const { bot, texts } = harness({
      closePolicy: 'lazy',
      nudge: { after: 5 * MINUTE, message: 'Still there?' },
      onSessionEnd: (_s, reason) => void reasons.push(reason),
    });
    bot.dialog('/', (session) => session.send('ok'));
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(40 * MINUTE);
    const whileAway = [...reasons];
    expect(await bot.sweepExpired()).toBe(1);
    expect({ whileAway, reasons, texts: texts() }).toEqual({
      whileAway: [],
      reasons: ['timeout'],
      texts: ['ok', 'Still there?'],
    });
    await bot.close();
  });
});
