import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { EndReason, Session } from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { elapse, harness } from '../support/manager';

type Entities = { UserName?: string; UserPhone?: string; UserLocation?: string; Coupon?: string; Counter?: number };

/**
 * A bot that understands `set <entity> <value>` (plain assignment), `entity <name> <value>` (setEntity),
 * `ttl <name> <value>` (setEntity with the message's `value` as ttl) and `timeout <ms>`; it answers with the
 * session id and turn count, and records the entities each turn starts with.
 */
function echoBot(options: Parameters<typeof harness<Entities>>[0] = {}) {
  const h = harness<Entities>(options);
  const seen: Entities[] = [];
  h.bot.dialog('/', (session) => {
    seen.push({ ...session.entities });
    const [verb, name, value] = (session.message?.text ?? '').split(' ');
    if (verb === 'set' && name && value) (session.entities as Record<string, unknown>)[name] = value;
    if (verb === 'entity' && name && value) session.setEntity(name as 'Coupon', value);
    if (verb === 'ttl' && name && value)
      session.setEntity(name as 'Coupon', value, { ttl: Number(session.message?.value) });
    if (verb === 'timeout') session.timeout = Number(name);
    session.send(`${session.info.id}#${session.info.turnCount}`);
  });
  return { ...h, seen };
}

describe('sessions and inactivity', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('starts a session on the first message and continues it on the next ones', async () => {
    const { bot } = echoBot();
    const first = await bot.receive({ address: address(), text: 'hi' });
    const second = await bot.receive({ address: address(), text: 'again' });
    expect(second.session.id).toBe(first.session.id);
    expect([first.session.turnCount, second.session.turnCount]).toEqual([1, 2]);
    await bot.close();
  });

  it('keeps one session per user, per conversation and per channel by default', async () => {
    const { bot } = echoBot();
    const ids = new Set<string>();
    for (const to of [
      address('a', 'c1', 'x'),
      address('b', 'c1', 'x'),
      address('a', 'c2', 'x'),
      address('a', 'c1', 'y'),
    ]) {
      ids.add((await bot.receive({ address: to, text: 'hi' })).session.id);
    }
    expect(ids.size).toBe(4);
    await bot.close();
  });

  it('ends an idle session after 30 minutes by default with reason timeout', async () => {
    const onSessionEnd = vi.fn();
    const { bot } = echoBot({ onSessionEnd });
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(30 * MINUTE - 1);
    expect(onSessionEnd).not.toHaveBeenCalled();
    await elapse(1);
    expect(onSessionEnd.mock.calls.map((call) => call[1])).toEqual(['timeout']);
    await bot.close();
  });

  it('counts inactivity from the latest message', async () => {
    const onSessionEnd = vi.fn();
    const { bot } = echoBot({ onSessionEnd });
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(20 * MINUTE);
    await bot.receive({ address: address(), text: 'still here' });
    await elapse(29 * MINUTE);
    expect(onSessionEnd).not.toHaveBeenCalled();
    await elapse(1 * MINUTE);
    expect(onSessionEnd).toHaveBeenCalledTimes(1);
    await bot.close();
  });

  it('uses the manager’s timeout option', async () => {
    const onSessionEnd = vi.fn();
    const { bot } = echoBot({ onSessionEnd, timeout: 5000 });
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(5000);
    expect(onSessionEnd).toHaveBeenCalledTimes(1);
    await bot.close();
  });

  it('lets one session override the timeout with session.timeout, leaving the others alone', async () => {
    const ended: string[] = [];
    const { bot } = echoBot({ onSessionEnd: (session) => void ended.push(session.info.user.id) });
    await bot.receive({ address: address('short'), text: `timeout ${2 * MINUTE}` });
    await bot.receive({ address: address('default'), text: 'hi' });
    await elapse(2 * MINUTE);
    expect(ended).toEqual(['short']);
    await elapse(28 * MINUTE);
    expect(ended).toEqual(['short', 'default']);
    await bot.close();
  });

  it('keeps the overridden timeout for the later turns of the session', async () => {
    const onSessionEnd = vi.fn();
    const { bot } = echoBot({ onSessionEnd });
    const { session } = await bot.receive({ address: address(), text: `timeout ${2 * MINUTE}` });
    expect(session.timeout).toBe(2 * MINUTE);
    await elapse(MINUTE);
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(2 * MINUTE);
    expect(onSessionEnd).toHaveBeenCalledTimes(1);
    await bot.close();
  });

  it('starts a fresh session for the first message after a proactive close', async () => {
    const { bot } = echoBot();
    const before = await bot.receive({ address: address(), text: 'hi' });
    await elapse(31 * MINUTE);
    const after = await bot.receive({ address: address(), text: 'back' });
    expect(after.session.id).not.toBe(before.session.id);
    expect(after.session.turnCount).toBe(1);
    await bot.close();
  });

  it('delivers closeMessage to the session’s saved address when it closes proactively', async () => {
    const { bot, delivered } = echoBot({ closeMessage: 'Closing this chat after inactivity.' });
    const to = { ...address(), bot: { id: 'b1' }, extra: 'kept' };
    await bot.receive({ address: to, text: 'hi' });
    delivered.length = 0;
    await elapse(30 * MINUTE);
    expect(delivered).toEqual([
      { address: to, messages: [{ type: 'message', text: 'Closing this chat after inactivity.' }] },
    ]);
    await bot.close();
  });

  it('delivers nothing on a proactive close without closeMessage', async () => {
    const { bot, delivered } = echoBot();
    await bot.receive({ address: address(), text: 'hi' });
    delivered.length = 0;
    await elapse(30 * MINUTE);
    expect(delivered).toEqual([]);
    await bot.close();
  });

  it('delivers what onSessionEnd sends before the closeMessage', async () => {
    const { bot, texts } = echoBot({
      closeMessage: 'bye',
      onSessionEnd: (session) => void session.send('Thanks, %s!', session.entities.UserName ?? '?'),
    });
    await bot.receive({ address: address(), text: 'set UserName Lars' });
    await elapse(30 * MINUTE);
    expect(texts().slice(-2)).toEqual(['Thanks, Lars!', 'bye']);
    await bot.close();
  });

  it('clears the dialog stack and privateConversationData when a session ends', async () => {
    const notes: unknown[] = [];
    const { bot } = harness<Entities>();
    bot.dialog('/', (session) => {
      notes.push(session.privateConversationData.note);
      session.beginDialog('/ask');
    });
    bot.dialog('/ask', [
      (session) => {
        session.privateConversationData.note = 'private';
        session.send('What is your name?');
      },
      (session) => void session.endDialog('never reached'),
    ]);
    const first = await bot.receive({ address: address(), text: 'hi' });
    expect(first.session.currentDialogState?.id).toBe('/ask');
    await elapse(30 * MINUTE);
    const second = await bot.receive({ address: address(), text: 'Lars' });
    // The stack was cleared: the root handled the message (and began '/ask' again), not step 2 of the old '/ask'.
    expect(notes).toEqual([undefined, undefined]);
    expect(second.replies.map((m) => m.text)).toEqual(['What is your name?']);
    await bot.close();
  });

  it('starts the next session without the entities of the one that ended', async () => {
    const entities: unknown[] = [];
    const { bot } = echoBot({ onSessionStart: (session) => void entities.push({ ...session.entities }) });
    await bot.receive({ address: address(), text: 'set UserLocation Seattle' });
    await elapse(30 * MINUTE);
    await bot.receive({ address: address(), text: 'hi' });
    expect(entities).toEqual([{}, {}]);
    await bot.close();
  });

  it('ends a session once when a message arrives after its deadline but before the scheduler ran', async () => {
    const reasons: EndReason[] = [];
    const { bot } = echoBot({ onSessionEnd: (_s, reason) => void reasons.push(reason) });
    const first = await bot.receive({ address: address(), text: 'hi' });
    vi.setSystemTime(Date.now() + 31 * MINUTE); // the clock moves, the timer has not fired yet
    const second = await bot.receive({ address: address(), text: 'late' });
    expect(second.session.id).not.toBe(first.session.id);
    await elapse(MINUTE);
    expect(reasons).toEqual(['timeout']);
    await elapse(30 * MINUTE);
    expect(reasons).toEqual(['timeout', 'timeout']);
    await bot.close();
  });
});

describe('lazy close', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs nothing and keeps no timer while the user is away', async () => {
    const onSessionEnd = vi.fn();
    const { bot } = echoBot({ closePolicy: 'lazy', onSessionEnd });
    await bot.receive({ address: address(), text: 'hi' });
    expect(vi.getTimerCount()).toBe(0);
    await elapse(5 * 60 * MINUTE);
    expect(onSessionEnd).not.toHaveBeenCalled();
    await bot.close();
  });

  it('ends the expired session with reason timeout and handles the next message in a new one', async () => {
    const log: string[] = [];
    const { bot } = harness({
      closePolicy: 'lazy',
      onSessionStart: (session) => void log.push(`start ${session.message?.text}`),
      onSessionEnd: (session, reason) => void log.push(`end ${session.info.turnCount} ${reason}`),
    });
    bot.dialog('/', (session) => void log.push(`turn ${session.message?.text} #${session.info.turnCount}`));
    const first = await bot.receive({ address: address(), text: 'hi' });
    await elapse(31 * MINUTE);
    const second = await bot.receive({ address: address(), text: 'back' });
    expect(second.session.id).not.toBe(first.session.id);
    expect(log).toEqual(['start hi', 'turn hi #1', 'end 1 timeout', 'start back', 'turn back #1']);
    await bot.close();
  });

  it('does not deliver closeMessage when a lazy session ends', async () => {
    const { bot, texts } = echoBot({ closePolicy: 'lazy', closeMessage: 'bye' });
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(31 * MINUTE);
    await bot.receive({ address: address(), text: 'back' });
    expect(texts()).not.toContain('bye');
    await bot.close();
  });

  it('keeps an expired session when continueIf returns true', async () => {
    const onSessionEnd = vi.fn();
    const continueIf = vi.fn((session: Session<Entities>) => session.entities.UserName === 'Lars');
    const { bot } = echoBot({ closePolicy: 'lazy', continueIf, onSessionEnd });
    const first = await bot.receive({ address: address(), text: 'set UserName Lars' });
    await elapse(2 * 60 * MINUTE);
    const second = await bot.receive({ address: address(), text: 'same intent' });
    expect(second.session.id).toBe(first.session.id);
    expect(second.session.turnCount).toBe(2);
    expect(onSessionEnd).not.toHaveBeenCalled();
    await bot.close();
  });

  it('passes continueIf the expired session and the new message', async () => {
    const continueIf = vi.fn(() => false);
    const { bot } = echoBot({ closePolicy: 'lazy', continueIf });
    const first = await bot.receive({ address: address(), text: 'set UserName Lars' });
    await elapse(31 * MINUTE);
    await bot.receive({ address: address(), text: 'new intent' });
    expect(continueIf).toHaveBeenCalledTimes(1);
    const [session, message] = continueIf.mock.calls[0] as unknown as [Session<Entities>, { text: string }];
    expect(session.info.id).toBe(first.session.id);
    expect(session.entities.UserName).toBe('Lars');
    expect(message.text).toBe('new intent');
    await bot.close();
  });

  it('ends the expired session when continueIf returns false', async () => {
    const onSessionEnd = vi.fn();
    const { bot } = echoBot({ closePolicy: 'lazy', continueIf: () => false, onSessionEnd });
    const first = await bot.receive({ address: address(), text: 'hi' });
    await elapse(31 * MINUTE);
    const second = await bot.receive({ address: address(), text: 'other intent' });
    expect(second.session.id).not.toBe(first.session.id);
    expect(onSessionEnd.mock.calls.map((call) => call[1])).toEqual(['timeout']);
    await bot.close();
  });

  it('does not ask continueIf about a session that has not expired', async () => {
    const continueIf = vi.fn(() => false);
    const { bot } = echoBot({ closePolicy: 'lazy', continueIf });
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(29 * MINUTE);
    await bot.receive({ address: address(), text: 'again' });
    expect(continueIf).not.toHaveBeenCalled();
    await bot.close();
  });

  it('ignores continueIf under the proactive policy', async () => {
    const continueIf = vi.fn(() => true);
    const onSessionEnd = vi.fn();
    const { bot } = echoBot({ continueIf, onSessionEnd });
    await bot.receive({ address: address(), text: 'hi' });
    await elapse(30 * MINUTE);
    expect(onSessionEnd).toHaveBeenCalledTimes(1);
    expect(continueIf).not.toHaveBeenCalled();
    await bot.close();
  });
});

describe('entity-preserving resets', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** The entities each new session starts with (seen by onSessionStart). */
  let lastEntities: Entities = {};
  function tracking(options: Parameters<typeof echoBot>[0] = {}) {
    return echoBot({ ...options, onSessionStart: (session) => void (lastEntities = { ...session.entities }) });
  }
  /** Lets the session time out, then starts the next one and returns the entities it starts with. */
  async function entitiesAfterTimeout(h: ReturnType<typeof echoBot>): Promise<Entities> {
    lastEntities = { UserName: 'not started' };
    await elapse(30 * MINUTE);
    await h.bot.receive({ address: address(), text: 'probe' });
    return lastEntities;
  }

  it('keeps the entities that onSessionEnd returns', async () => {
    const h = tracking({ onSessionEnd: () => ['UserName', 'UserPhone'] });
    for (const text of ['set UserName Lars', 'set UserPhone 555', 'set UserLocation Seattle'])
      await h.bot.receive({ address: address(), text });
    expect(await entitiesAfterTimeout(h)).toEqual({ UserName: 'Lars', UserPhone: '555' });
    await h.bot.close();
  });

  it('keeps the entities that the preserve option names', async () => {
    const h = tracking({ preserve: ['UserPhone'] });
    for (const text of ['set UserName Lars', 'set UserPhone 555']) await h.bot.receive({ address: address(), text });
    expect(await entitiesAfterTimeout(h)).toEqual({ UserPhone: '555' });
    await h.bot.close();
  });

  it('keeps both the preserved entities and those onSessionEnd returns', async () => {
    const h = tracking({ preserve: ['UserPhone'], onSessionEnd: () => ['UserName'] });
    for (const text of ['set UserName Lars', 'set UserPhone 555', 'set UserLocation Seattle'])
      await h.bot.receive({ address: address(), text });
    expect(await entitiesAfterTimeout(h)).toEqual({ UserName: 'Lars', UserPhone: '555' });
    await h.bot.close();
  });

  it('ignores names that onSessionEnd returns for entities the session does not hold', async () => {
    const h = tracking({ onSessionEnd: () => ['UserName', 'UserPhone'] });
    await h.bot.receive({ address: address(), text: 'set UserName Lars' });
    expect(await entitiesAfterTimeout(h)).toEqual({ UserName: 'Lars' });
    await h.bot.close();
  });

  it('keeps an entity with a ttl across a session end until the ttl runs out', async () => {
    const h = tracking();
    await h.bot.receive({ address: address(), text: 'ttl Coupon SAVE10', value: 2 * 60 * MINUTE });
    expect(await entitiesAfterTimeout(h)).toEqual({ Coupon: 'SAVE10' });
    await h.bot.close();
  });

  it('drops a ttl entity whose ttl ran out while no session was active', async () => {
    const h = tracking();
    await h.bot.receive({ address: address(), text: 'ttl Coupon SAVE10', value: 45 * MINUTE });
    await elapse(30 * MINUTE); // the session ends; the coupon is kept
    await elapse(20 * MINUTE); // the coupon's ttl runs out while the user is away
    await h.bot.receive({ address: address(), text: 'back' });
    expect(lastEntities).toEqual({});
    await h.bot.close();
  });

  it('drops a ttl entity whose ttl runs out during a session', async () => {
    const h = echoBot();
    await h.bot.receive({ address: address(), text: 'ttl Coupon SAVE10', value: 10 * MINUTE });
    await elapse(5 * MINUTE);
    await h.bot.receive({ address: address(), text: 'hi' });
    await elapse(6 * MINUTE);
    await h.bot.receive({ address: address(), text: 'hi' });
    expect(h.seen.map((e) => e.Coupon)).toEqual([undefined, 'SAVE10', undefined]);
    await h.bot.close();
  });

  it('drops a kept ttl entity once its ttl runs out in a later session', async () => {
    const h = tracking({ onSessionEnd: () => ['UserName'] });
    await h.bot.receive({ address: address(), text: 'ttl Coupon SAVE10', value: 40 * MINUTE });
    await h.bot.receive({ address: address(), text: 'set UserName Lars' });
    expect(await entitiesAfterTimeout(h)).toEqual({ UserName: 'Lars', Coupon: 'SAVE10' });
    expect(await entitiesAfterTimeout(h)).toEqual({ UserName: 'Lars' });
    await h.bot.close();
  });

  it('clears the ttl when setEntity sets the entity again without one', async () => {
    const h = tracking();
    await h.bot.receive({ address: address(), text: 'ttl Coupon SAVE10', value: 2 * 60 * MINUTE });
    await h.bot.receive({ address: address(), text: 'entity Coupon PLAIN' });
    expect(await entitiesAfterTimeout(h)).toEqual({});
    await h.bot.close();
  });

  it('keeps the ttl of an entity assigned directly after setEntity gave it one', async () => {
    const h = tracking();
    await h.bot.receive({ address: address(), text: 'ttl Coupon SAVE10', value: 2 * 60 * MINUTE });
    await h.bot.receive({ address: address(), text: 'set Coupon SAVE20' });
    expect(await entitiesAfterTimeout(h)).toEqual({ Coupon: 'SAVE20' });
    await h.bot.close();
  });
});
