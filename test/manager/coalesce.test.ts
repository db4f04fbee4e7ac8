import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { CardAction, type IncomingMessage, type SessionManagerOptions } from '../../src';
import { address } from '../support/fixtures';
import { elapse, FlakyStore, harness } from '../support/manager';

function deferred() {
  let resolve!: () => void;
  const promise = new Promise<void>((res) => {
    resolve = res;
  });
  return { promise, resolve };
}

/** A bot that records, per turn, the message it handled and the originals. */
function recording(options: Partial<SessionManagerOptions> = {}) {
  const h = harness({ coalesce: { window: 1000, max: 3 }, ...options });
  const turns: { text: string | undefined; messages: (string | undefined)[] }[] = [];
  h.bot.dialog('/', (session) => {
    turns.push({ text: session.message?.text, messages: session.messages.map((m) => m.text) });
  });
  return { ...h, turns };
}

const say = (text: string, extra: Partial<IncomingMessage> = {}): IncomingMessage => ({
  address: address(),
  text,
  ...extra,
});

describe('coalesce', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('handles messages that arrive within the window of each other as one turn', async () => {
    const { bot, turns } = recording();
    const first = bot.receive(say('hi'));
    await elapse(500);
    const second = bot.receive(say('I need help'));
    await elapse(999);
    expect(turns).toEqual([]);
    await elapse(1);
    await Promise.all([first, second]);
    expect(turns).toEqual([{ text: 'hi\nI need help', messages: ['hi', 'I need help'] }]);
    await bot.close();
  });

  it('resolves every receive of a merged turn with its result, which says how many messages it merged', async () => {
    const { bot } = recording();
    const results = Promise.all([bot.receive(say('a')), bot.receive(say('b'))]);
    await elapse(1000);
    const [a, b] = await results;
    expect(a).toBe(b);
    expect(a.merged).toBe(2);
    expect(a.session.turnCount).toBe(1);
    await bot.close();
  });

  it('gives a message alone in its window a turn of its own, without `merged`', async () => {
    const { bot, turns } = recording();
    const first = bot.receive(say('hi'));
    await elapse(1000);
    const second = bot.receive(say('there'));
    await elapse(1000);
    expect((await first).merged).toBeUndefined();
    expect((await second).session.turnCount).toBe(2);
    expect(turns).toEqual([
      { text: 'hi', messages: ['hi'] },
      { text: 'there', messages: ['there'] },
    ]);
    await bot.close();
  });

  it('merges attachments in order and takes the id, timestamp and locale of the last message', async () => {
    const h = harness({ coalesce: { window: 100 } });
    let seen: IncomingMessage | undefined;
    h.bot.dialog('/', (session) => void (seen = session.message));
    const picture = (name: string) => ({ contentType: 'image/png', contentUrl: `https://x/${name}.png` });
    void h.bot.receive(say('look', { id: 'm1', timestamp: 1, attachments: [picture('a')], locale: 'en' }));
    void h.bot.receive({ address: address(), id: 'm2', timestamp: 2, attachments: [picture('b')], locale: 'fr' });
    void h.bot.receive(say('nice?', { id: 'm3', timestamp: 3 }));
    await elapse(100);
    expect(seen).toMatchObject({
      text: 'look\nnice?',
      attachments: [picture('a'), picture('b')],
      id: 'm3',
      timestamp: 3,
    });
    expect(seen?.locale).toBeUndefined();
    await h.bot.close();
  });

  it('restarts the window with each message', async () => {
    const { bot, turns } = recording({ coalesce: { window: 1000, max: 10 } });
    for (const text of ['a', 'b', 'c']) {
      void bot.receive(say(text));
      await elapse(900);
    }
    expect(turns).toEqual([]);
    await elapse(100);
    expect(turns).toEqual([{ text: 'a\nb\nc', messages: ['a', 'b', 'c'] }]);
    await bot.close();
  });

  it('starts the turn as soon as the batch holds `max` messages, without waiting for the window', async () => {
    const { bot, turns } = recording();
    const results = await Promise.all([bot.receive(say('a')), bot.receive(say('b')), bot.receive(say('c'))]);
    expect(results.map((r) => r.merged)).toEqual([3, 3, 3]);
    expect(turns).toEqual([{ text: 'a\nb\nc', messages: ['a', 'b', 'c'] }]);
    await bot.close();
  });

  it('opens a new batch for the message after a full one', async () => {
    const { bot, turns } = recording();
    const full = Promise.all(['a', 'b', 'c'].map((text) => bot.receive(say(text))));
    const next = bot.receive(say('d'));
    await full;
    await elapse(1000);
    await next;
    expect(turns.map((t) => t.text)).toEqual(['a\nb\nc', 'd']);
    await bot.close();
  });

  it('merges the messages that arrive while a turn of the key runs, even after their window', async () => {
    const h = harness({ coalesce: { window: 1000, max: 10 } });
    const slow = deferred();
    const texts: (string | undefined)[] = [];
    h.bot.dialog('/', async (session) => {
      texts.push(session.message?.text);
      if (texts.length === 1) await slow.promise;
    });
    const first = h.bot.receive(say('first'));
    await elapse(1000); // the first turn starts and waits
    void h.bot.receive(say('a'));
    await elapse(5000); // the window of 'a' closes while the first turn still runs
    void h.bot.receive(say('b'));
    await elapse(5000);
    const later = h.bot.receive(say('c'));
    slow.resolve();
    await first;
    expect((await later).merged).toBe(3);
    expect(texts).toEqual(['first', 'a\nb\nc']);
    await h.bot.close();
  });

  it('counts each merged message in the session summary', async () => {
    const { bot } = recording();
    let userMessages: number | undefined;
    bot.on('sessionEnd', ({ summary }) => void (userMessages = summary.userMessages));
    await Promise.all(['a', 'b', 'c'].map((text) => bot.receive(say(text))));
    await bot.endSession(address());
    expect(userMessages).toBe(3);
    await bot.close();
  });

  it('keeps a batch waiting for another window while the user is typing', async () => {
    const { bot, turns } = recording();
    void bot.receive(say('hi'));
    await elapse(900);
    bot.typing(address());
    await elapse(900);
    void bot.receive(say('I need help'));
    await elapse(1000);
    expect(turns).toEqual([{ text: 'hi\nI need help', messages: ['hi', 'I need help'] }]);
    await bot.close();
  });

  it('ignores typing when no batch of the key is waiting, and without coalesce', async () => {
    const { bot, turns } = recording();
    bot.typing(address());
    const result = bot.receive(say('hi'));
    await elapse(1000);
    expect((await result).session.turnCount).toBe(1);
    const plain = harness();
    expect(plain.bot.typing(address())).toBeUndefined();
    expect(() => plain.bot.typing({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_ADDRESS' }));
    expect(turns).toHaveLength(1);
    await Promise.all([bot.close(), plain.bot.close()]);
  });

  it('keeps the messages of different session keys apart', async () => {
    const { bot, turns } = recording();
    void bot.receive(say('from lars'));
    void bot.receive({ address: address('ada'), text: 'from ada' });
    await elapse(1000);
    expect(turns.map((t) => t.text).sort()).toEqual(['from ada', 'from lars']);
    await bot.close();
  });

  it('never merges an event, and runs the pending batch before it', async () => {
    const { bot, turns } = recording();
    const message = bot.receive(say('hi'));
    const event = bot.receive({ address: address(), type: 'event', name: 'ping' });
    const after = bot.receive(say('there'));
    await event;
    expect(turns.map((t) => t.messages)).toEqual([['hi'], [undefined]]);
    await elapse(1000);
    await Promise.all([message, after]);
    expect(turns.map((t) => t.text)).toEqual(['hi', undefined, 'there']);
    await bot.close();
  });

  it('never merges a button press, and runs the pending batch before it', async () => {
    const h = harness({ coalesce: { window: 1000 } });
    h.bot.action('bye', { endConversation: 'Bye!' });
    h.bot.dialog('/', (session) => void session.send(`got ${session.message?.text}`));
    const press = CardAction.dialogAction('bye');
    void h.bot.receive(say('a'));
    void h.bot.receive(say('b'));
    await h.bot.receive({ address: address(), value: { dialogAction: press.value } });
    await h.bot.flush();
    expect(h.texts()).toEqual(['got a\nb', 'Bye!']);
    await h.bot.close();
  });

  it('runs the pending batch before an endSession() of its key', async () => {
    const h = harness({ coalesce: { window: 1000 } });
    const order: string[] = [];
    h.bot.dialog('/', (session) => void order.push(`turn ${session.message?.text}`));
    h.bot.on('sessionEnd', () => order.push('end'));
    void h.bot.receive(say('hi'));
    await h.bot.endSession(address());
    expect(order).toEqual(['turn hi', 'end']);
    await h.bot.close();
  });

  it('resolves every receive of a merged turn whose dialog threw with the same error', async () => {
    const h = harness({ coalesce: { window: 1000 } });
    h.bot.dialog('/', () => {
      throw new Error('boom');
    });
    const results = Promise.all([h.bot.receive(say('a')), h.bot.receive(say('b'))]);
    await elapse(1000);
    const [a, b] = await results;
    expect(a.error).toMatchObject({ code: 'DIALOG_FAILED' });
    expect(b.error).toBe(a.error);
    expect(h.errors).toHaveLength(1);
    await h.bot.close();
  });

  it('rejects every receive of a merged turn that could not be saved, the same way', async () => {
    const store = new FlakyStore();
    const h = harness({ coalesce: { window: 1000 }, store });
    h.bot.dialog('/', (session) => void session.send('ok'));
    store.failures = 1;
    const a = h.bot.receive(say('a'));
    const b = h.bot.receive(say('b'));
    const settled = Promise.allSettled([a, b]);
    await elapse(1000);
    const [ra, rb] = await settled;
    expect(ra).toMatchObject({ status: 'rejected', reason: { code: 'STORE_UNAVAILABLE' } });
    expect(rb).toEqual(ra);
    expect(h.texts()).toEqual([]);
    await h.bot.close();
  });

  it('runs a batch still waiting for its window at close(), without waiting for the window', async () => {
    const { bot, turns } = recording();
    const pending = Promise.all([bot.receive(say('a')), bot.receive(say('b'))]);
    await bot.close();
    expect((await pending)[0].merged).toBe(2);
    expect(turns).toEqual([{ text: 'a\nb', messages: ['a', 'b'] }]);
  });

  it('delivers the replies of a merged turn once', async () => {
    const h = harness({ coalesce: { window: 1000 } });
    h.bot.dialog('/', (session) => void session.send('You said: %s', session.messages.length));
    const both = Promise.all([h.bot.receive(say('a')), h.bot.receive(say('b'))]);
    await elapse(1000);
    await both;
    await h.bot.flush();
    expect(h.texts()).toEqual(['You said: 2']);
    await h.bot.close();
  });

  it('with window 0, merges the messages that arrive before the next timer tick', async () => {
    const { bot, turns } = recording({ coalesce: { window: 0, max: 10 } });
    void bot.receive(say('a'));
    void bot.receive(say('b'));
    await elapse(0);
    const c = bot.receive(say('c'));
    await elapse(0);
    await c;
    expect(turns.map((t) => t.text)).toEqual(['a\nb', 'c']);
    await bot.close();
  });

  it('without coalesce, resolves receive without advancing any timer and gives session.messages the message', async () => {
    const h = harness();
    let messages: readonly IncomingMessage[] = [];
    h.bot.dialog('/', (session) => void (messages = session.messages));
    const result = await h.bot.receive(say('hi'));
    expect(result.merged).toBeUndefined();
    expect(messages.map((m) => m.text)).toEqual(['hi']);
    await h.bot.close();
  });

  it('rejects a negative window and a max below 2', () => {
    expect(() => harness({ coalesce: { window: -1 } })).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    expect(() => harness({ coalesce: { window: 10, max: 1 } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});
