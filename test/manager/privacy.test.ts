// manager.forgetUser() and manager.exportUser() on MemoryStore.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, type Address } from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { elapse, FlakyStore, harness } from '../support/manager';

const group = (user: string): Address => ({
  channelId: 'test',
  user: { id: user },
  conversation: { id: 'team', isGroup: true },
});

/** A bot that keeps what it is told: `user <v>` in userData, `conv <v>` in conversationData, `name <v>` as an entity. */
function dataBot(options: Parameters<typeof harness<{ UserName?: string }>>[0] = {}) {
  const store = new MemoryStore({ maxSessions: 100 });
  const h = harness<{ UserName?: string }>({ store, onSessionEnd: () => ['UserName'], ...options });
  h.bot.dialog('/', (session) => {
    const [verb, value] = (session.message?.text ?? '').split(' ');
    if (verb === 'user') session.userData.v = value;
    if (verb === 'conv') session.conversationData.v = value;
    if (verb === 'name') session.entities.UserName = value;
    session.send(`ok ${session.userData.v ?? '-'}`);
  });
  return { ...h, store };
}

/** Every key the store holds, sessions and data records. */
function keysOf(store: MemoryStore): string[] {
  return [...store.sessionKeys(), ...['u:test:lars', 'u:test:ada', 'c:test:c1', 'c:test:c2', 'c:test:team']]
    .filter((key) => store.get(key) !== undefined)
    .sort();
}

describe('forgetUser() and exportUser() (MemoryStore)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('deletes the user’s sessions in every conversation, their userData and one-to-one conversationData', async () => {
    const { bot, store } = dataBot();
    await bot.receive({ address: address('lars', 'c1'), text: 'user blue' });
    await bot.receive({ address: address('lars', 'c2'), text: 'conv red' });
    await bot.receive({ address: address('ada', 'c9'), text: 'user green' });
    const result = await bot.forgetUser({ channelId: 'test', userId: 'lars' });
    expect(result).toEqual({ sessions: 2, userData: 1, conversations: 1, replies: 0, quarantined: 0 });
    expect(keysOf(store)).toEqual(['s:test:c9:ada', 'u:test:ada']);
    await bot.close();
  });

  it('leaves other users untouched, their replies and data included', async () => {
    const { bot, texts } = dataBot();
    await bot.receive({ address: address('ada'), text: 'user green' });
    await bot.receive({ address: address('lars'), text: 'user blue' });
    await bot.forgetUser(address('lars'));
    await bot.receive({ address: address('ada'), text: 'read' });
    expect(texts().at(-1)).toBe('ok green');
    expect((await bot.exportUser(address('ada'))).userData).toEqual({ v: 'green' });
    await bot.close();
  });

  it('keeps the conversationData of a group conversation, and does not export it', async () => {
    const { bot, store } = dataBot();
    await bot.receive({ address: group('lars'), text: 'conv shared' });
    const exported = await bot.exportUser(group('lars'));
    const result = await bot.forgetUser(group('lars'));
    expect([exported.conversations, result.conversations, store.get('c:test:team')?.data]).toEqual([
      [],
      0,
      '{"v":"shared"}',
    ]);
    await bot.close();
  });

  it('does not deliver the replies still waiting for the batching delay', async () => {
    const { bot, texts } = dataBot({ autoBatchDelay: 1000 });
    await bot.receive({ address: address(), text: 'user blue' });
    const { replies } = await bot.forgetUser(address());
    await elapse(2000);
    expect([replies, texts()]).toEqual([1, []]);
    await bot.close();
  });

  it('waits for a turn in flight and deletes what it saved, so nothing of the user is left', async () => {
    const store = new MemoryStore({ maxSessions: 100 });
    const { bot } = harness({ store });
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    bot.dialog('/', async (session) => {
      if (session.message?.text === 'go') await held;
      session.userData[session.message?.text ?? ''] = 'written';
    });
    await bot.receive({ address: address(), text: 'first' });
    const turn = bot.receive({ address: address(), text: 'go' });
    const forgetting = bot.forgetUser(address());
    release();
    await turn;
    const result = await forgetting;
    expect(result).toMatchObject({ sessions: 1, userData: 1 });
    expect(keysOf(store)).toEqual([]);
    await bot.close();
  });

  it('starts a message that comes after it in a fresh session, with no data of before', async () => {
    const { bot, texts } = dataBot();
    const first = await bot.receive({ address: address(), text: 'user blue' });
    await bot.receive({ address: address(), text: 'name Lars' });
    await bot.forgetUser(address());
    const again = await bot.receive({ address: address(), text: 'read' });
    expect(again.session.id).not.toBe(first.session.id);
    expect(texts().at(-1)).toBe('ok -');
    expect((await bot.exportUser(address())).sessions.map((s) => (s.state as { entities: object }).entities)).toEqual([
      {},
    ]);
    await bot.close();
  });

  it('deletes a dormant record of kept entities, and the deadline of a live session (no end hook runs later)', async () => {
    const onSessionEnd = vi.fn((): 'UserName'[] => ['UserName']);
    const { bot, store } = dataBot({ onSessionEnd });
    await bot.receive({ address: address('lars', 'c1'), text: 'name Lars' });
    await elapse(31 * MINUTE);
    await bot.receive({ address: address('lars', 'c2'), text: 'hi' });
    const result = await bot.forgetUser(address());
    await elapse(31 * MINUTE);
    expect([result.sessions, onSessionEnd.mock.calls.length, store.pendingDeadlines]).toEqual([2, 1, 0]);
    await bot.close();
  });

  it('deletes the quarantined copies of the user’s records', async () => {
    const { bot, store } = dataBot();
    store.commit([{ key: 's:test:c1:lars', expected: null, data: 'not a session', owner: 'u:test:lars' }]);
    await bot.receive({ address: address(), text: 'hi' });
    const exported = await bot.exportUser(address());
    const result = await bot.forgetUser(address());
    expect([exported.quarantined, result.quarantined, store.quarantinedRecords()]).toEqual([
      [{ key: 's:test:c1:lars', version: 1, generation: 0, data: 'not a session' }],
      1,
      [],
    ]);
    await bot.close();
  });

  it('exports every record of the user, decoded', async () => {
    const { bot } = dataBot();
    await bot.receive({ address: address('lars', 'c1'), text: 'user blue' });
    await bot.receive({ address: address('lars', 'c2'), text: 'conv red' });
    await bot.receive({ address: address('lars', 'c2'), text: 'name Lars' });
    const exported = await bot.exportUser({ channelId: 'test', userId: 'lars' });
    expect(exported).toMatchObject({
      user: { channelId: 'test', userId: 'lars' },
      userData: { v: 'blue' },
      sessions: [
        { key: 's:test:c1:lars', state: { turnCount: 1, address: address('lars', 'c1') } },
        { key: 's:test:c2:lars', state: { turnCount: 2, entities: { UserName: 'Lars' } } },
      ],
      conversations: [{ key: 'c:test:c2', data: { v: 'red' } }],
      quarantined: [],
    });
    expect(JSON.parse(JSON.stringify(exported))).toEqual(exported);
    await bot.close();
  });

  it('refuses a store that cannot find a user’s records (NOT_SUPPORTED)', async () => {
    const { bot } = harness({ store: new FlakyStore() });
    await expect(bot.forgetUser(address())).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    await expect(bot.exportUser(address())).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
    await bot.close();
  });

  it.each([
    ['nothing', undefined],
    ['an empty user id', { channelId: 'test', userId: '' }],
    ['an address without a channel', { user: { id: 'lars' }, conversation: { id: 'c1' } }],
  ])('refuses %s as the user (INVALID_ARGUMENT)', async (_what, who) => {
    const { bot } = dataBot();
    await expect(bot.forgetUser(who as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await bot.close();
  });
});
