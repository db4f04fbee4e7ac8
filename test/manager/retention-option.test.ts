// The `retention` option on MemoryStore: data past its retention since the user's last message is deleted by the
// scheduler; data of an active user is not; a turn that only reads data renews its expiry at most once per interval.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, type CommitWrite } from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { elapse, harness } from '../support/manager';

const HOUR = 60 * MINUTE;
type Entities = { UserName?: string };

/** A bot that stores `user <v>` in userData, `conv <v>` in conversationData, `name <v>` as an entity; else reads. */
function dataBot(options: Parameters<typeof harness<Entities>>[0] = {}) {
  const store = new MemoryStore({ maxSessions: 100 });
  const writes: CommitWrite[][] = [];
  const commit = store.commit.bind(store);
  store.commit = (w, o) => {
    writes.push([...w]);
    return commit(w, o);
  };
  const h = harness<Entities>({ store, onSessionEnd: () => ['UserName'], ...options });
  const seen: { user: unknown; conv: unknown; name: unknown }[] = [];
  h.bot.dialog('/', (session) => {
    seen.push({ user: session.userData.v, conv: session.conversationData.v, name: session.entities.UserName });
    const [verb, value] = (session.message?.text ?? '').split(' ');
    if (verb === 'user') session.userData.v = value;
    if (verb === 'conv') session.conversationData.v = value;
    if (verb === 'name') session.entities.UserName = value;
  });
  return { ...h, store, writes, seen };
}

describe('the retention option (MemoryStore)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('deletes userData once its retention has passed since the user’s last message', async () => {
    const { bot, store } = dataBot({ retention: { userData: '1h' } });
    await bot.receive({ address: address(), text: 'user blue' });
    await elapse(HOUR + 7 * MINUTE);
    expect(store.get('u:test:lars')).toBeUndefined();
    await bot.close();
  });

  it('keeps userData past its retention while the user keeps writing, even in turns that only read it', async () => {
    const { bot, store, seen } = dataBot({ retention: { userData: '1h' } });
    await bot.receive({ address: address(), text: 'user blue' });
    for (let i = 0; i < 6; i++) {
      await elapse(20 * MINUTE);
      await bot.receive({ address: address(), text: 'read' });
    }
    expect(store.get('u:test:lars')?.data).toBe('{"v":"blue"}');
    expect(seen.at(-1)?.user).toBe('blue');
    await bot.close();
  });

  it('deletes conversationData once its retention has passed', async () => {
    const { bot, store, seen } = dataBot({ retention: { conversationData: '2h' } });
    await bot.receive({ address: address(), text: 'conv red' });
    await elapse(2 * HOUR + 13 * MINUTE);
    const stored = store.get('c:test:c1');
    await bot.receive({ address: address(), text: 'read' });
    expect([stored, seen.at(-1)?.conv]).toEqual([undefined, undefined]);
    await bot.close();
  });

  it('deletes the entities a session kept once the kept retention has passed', async () => {
    const { bot, store, seen } = dataBot({ retention: { kept: '3h' } });
    await bot.receive({ address: address(), text: 'name Lars' });
    await elapse(HOUR);
    const dormant = store.get('s:test:c1:lars');
    await elapse(2 * HOUR + 19 * MINUTE);
    const later = store.get('s:test:c1:lars');
    await bot.receive({ address: address(), text: 'read' });
    expect([dormant === undefined, later, seen.at(-1)?.name]).toEqual([false, undefined, undefined]);
    await bot.close();
  });

  it('keeps kept entities of a user who comes back within the kept retention', async () => {
    const { bot, seen } = dataBot({ retention: { kept: '3h' } });
    await bot.receive({ address: address(), text: 'name Lars' });
    await elapse(2 * HOUR);
    await bot.receive({ address: address(), text: 'read' });
    expect(seen.at(-1)?.name).toBe('Lars');
    await bot.close();
  });

  it('renews the expiry of data a turn only read at most once per refresh interval', async () => {
    const { bot, writes } = dataBot({ retention: { userData: '10h' }, timeout: 3 * HOUR });
    await bot.receive({ address: address(), text: 'user blue' });
    writes.length = 0;
    for (let i = 0; i < 5; i++) {
      await elapse(MINUTE);
      await bot.receive({ address: address(), text: 'read' });
    }
    await elapse(HOUR);
    await bot.receive({ address: address(), text: 'read' });
    const touched = writes.map((commit) => commit.filter((write) => write.key === 'u:test:lars').length);
    expect(touched).toEqual([0, 0, 0, 0, 0, 1]);
    await bot.close();
  });

  it('adds nothing to the writes of a turn when no retention is set', async () => {
    const { bot, writes } = dataBot();
    await bot.receive({ address: address(), text: 'user blue' });
    await bot.receive({ address: address(), text: 'user green' });
    expect(writes[1]!.map((write) => Object.keys(write).sort())).toEqual([
      ['data', 'expected', 'idleMs', 'key'],
      ['data', 'expected', 'key'],
    ]);
    await bot.close();
  });

  it.each([
    ['a unit that does not exist', { userData: '3 weeks' }],
    ['a negative number', { kept: -5 }],
    ['an unknown field', { sessions: '1d' }],
  ])('refuses a retention with %s (INVALID_OPTIONS)', (_what, retention) => {
    expect(() => harness({ retention: retention as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('retention') }),
    );
  });
});
