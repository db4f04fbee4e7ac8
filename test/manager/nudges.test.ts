// Idle nudges: "Are you still there?" reminders before the close, on the one deadline per session key.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, Prompts, SessionManager, type SessionManagerOptions } from '../../src';
import { createTestClient } from '../../src/testing';
import { MINUTE } from '../support/fixtures';
import { decodeState } from '../../src/codec';

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

/** A bot that echoes, with nudges after 5 minutes (then every 10) and a 30-minute timeout, and a test client for it. */
function nudgingBot(options: Partial<SessionManagerOptions> = {}) {
  const errors: unknown[] = [];
  const bot = new SessionManager({
    deliver: () => undefined,
    autoBatchDelay: 0,
    store: new MemoryStore({ maxSessions: 100 }),
    nudge: { after: 5 * MINUTE, every: 10 * MINUTE, max: 2, message: 'Are you still there?' },
    closeMessage: 'Closing our chat. Write any time!',
    ...options,
  });
  bot.on('error', (error) => errors.push(error));
  bot.dialog('/', (session) => session.send('You said: %s', session.message?.text ?? '(nothing)'));
  const client = createTestClient(bot, { advance });
  return { bot, client, errors };
}

describe('idle nudges', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sends the first nudge once the user has been idle for `after`', async () => {
    const { bot, client } = nudgingBot();
    await client.say('hi');
    await client.replies();
    await client.idle(5 * MINUTE - 1);
    expect(await client.replies()).toEqual([]);
    await client.idle(1);
    expect(await client.replies()).toEqual(['Are you still there?']);
    await bot.close();
  });

  it('repeats the nudge every `every` ms up to `max`, then says closeMessage and closes', async () => {
    const { bot, client } = nudgingBot();
    await client.say('hi');
    await client.replies();
    const heard: [string, (string | undefined)[]][] = [];
    for (const [wait, at] of [
      ['5m', 5],
      ['10m', 15],
      ['10m', 25],
      ['5m', 30],
    ] as const) {
      await client.idle(wait);
      heard.push([`${at}m`, await client.replies()]);
    }
    expect(heard).toEqual([
      ['5m', ['Are you still there?']],
      ['15m', ['Are you still there?']],
      ['25m', []],
      ['30m', ['Closing our chat. Write any time!']],
    ]);
    expect(client.sessionEnds.map((end) => end.reason)).toEqual(['timeout']);
    await bot.close();
  });

  it('starts the ladder again when the user writes', async () => {
    const { bot, client } = nudgingBot();
    await client.say('hi');
    await client.idle('5m');
    await client.say('yes, still here');
    await client.replies();
    await client.idle(5 * MINUTE - 1);
    expect(await client.replies()).toEqual([]);
    await client.idle(1);
    expect(await client.replies()).toEqual(['Are you still there?']);
    await bot.close();
  });

  it('keeps the session open while it nudges: a reply after a nudge continues the same session', async () => {
    const { bot, client } = nudgingBot();
    const first = await client.say('hi');
    await client.idle('16m');
    const second = await client.say('back');
    expect(second.session.id).toBe(first.session.id);
    await bot.close();
  });

  it('ends the session at the timeout, whatever the nudges', async () => {
    const onSessionEnd = vi.fn();
    const { bot, client } = nudgingBot({ onSessionEnd });
    await client.say('hi');
    await client.idle(30 * MINUTE - 1);
    expect(onSessionEnd).not.toHaveBeenCalled();
    await client.idle(1);
    expect(onSessionEnd.mock.calls.map((call) => call[1])).toEqual(['timeout']);
    await bot.close();
  });

  it('sends no nudge that would fall at or after the close', async () => {
    const { bot, client } = nudgingBot({ nudge: { after: 30 * MINUTE, message: 'late' } });
    await client.say('hi');
    await client.replies();
    await client.idle('31m');
    expect(await client.replies()).toEqual(['Closing our chat. Write any time!']);
    await bot.close();
  });

  it('closes at the timeout when the next nudge would fall after it', async () => {
    const { bot, client } = nudgingBot({ nudge: { after: 40 * MINUTE, message: 'too late' } });
    await client.say('hi');
    await client.replies();
    await client.idle('30m');
    expect(await client.replies()).toEqual(['Closing our chat. Write any time!']);
    await bot.close();
  });

  it('sends a nudge given as a message with its fields', async () => {
    const { bot, client } = nudgingBot({
      nudge: { after: MINUTE, message: { text: 'Still there?', inputHint: 'expectingInput' } },
    });
    await client.say('hi');
    await client.replies();
    await client.idle('1m');
    expect(client.transcript.at(-1)).toEqual([
      expect.objectContaining({ text: 'Still there?', inputHint: 'expectingInput' }),
    ]);
    await bot.close();
  });

  it('counts the nudges sent in the stored state and forgets them when the user writes', async () => {
    const { bot, client } = nudgingBot();
    const key = bot.keyOf(client.address);
    const read = async () => decodeState((await bot.store.get(key))!.data, key).nudges?.count;
    await client.say('hi');
    await client.idle('16m');
    const afterTwo = await read();
    await client.say('here');
    expect([afterTwo, await read()]).toEqual([2, undefined]);
    await bot.close();
  });

  it('builds the nudge from a function of the session and the nudge number', async () => {
    const { bot, client } = nudgingBot({
      nudge: {
        after: MINUTE,
        max: 2,
        message: (session, count) => `Still there, ${session.message?.text ?? 'you'}? (#${count})`,
      },
    });
    await client.say('hi');
    await client.replies();
    await client.idle('2m');
    expect(await client.replies()).toEqual(['Still there, you? (#1)', 'Still there, you? (#2)']);
    await bot.close();
  });

  it('reports a nudge function that throws as HOOK_FAILED and keeps the ladder going', async () => {
    const { bot, client, errors } = nudgingBot({
      nudge: {
        after: MINUTE,
        message: () => {
          throw new Error('no words');
        },
      },
    });
    await client.say('hi');
    await client.idle('31m');
    expect({
      codes: errors.map((e) => (e as { code: string }).code),
      ends: client.sessionEnds.map((end) => end.reason),
    }).toEqual({
      codes: ['HOOK_FAILED'],
      ends: ['timeout'],
    });
    await bot.close();
  });

  it('sends one nudge, not a burst, when the sweep comes late', async () => {
    const { bot, client } = nudgingBot({ nudge: { after: MINUTE, every: MINUTE, max: 5, message: 'ping' } });
    await client.say('hi');
    await client.replies();
    // A serverless sweep that runs once, 4 minutes in: four nudges were due, one is sent.
    vi.setSystemTime(Date.now() + 4 * MINUTE);
    await bot.sweepExpired();
    expect(await client.replies()).toEqual(['ping']);
    await bot.close();
  });

  it('skips the nudges a late sweep missed: the next one comes on its own schedule', async () => {
    const { bot, client } = nudgingBot({ nudge: { after: MINUTE, every: MINUTE, max: 5, message: 'ping' } });
    await client.say('hi');
    await client.replies();
    vi.setSystemTime(Date.now() + 4 * MINUTE);
    await bot.sweepExpired();
    await client.replies();
    await bot.sweepExpired();
    const again = await client.replies();
    vi.setSystemTime(Date.now() + MINUTE);
    await bot.sweepExpired();
    expect([again, await client.replies()]).toEqual([[], ['ping']]);
    await bot.close();
  });

  it('sends each nudge once when two managers share the store (one claim per deadline)', async () => {
    const store = new MemoryStore({ maxSessions: 100 });
    const said: string[] = [];
    const make = () => {
      const bot = new SessionManager({
        deliver: (_to, messages) => void said.push(...messages.map((m) => m.text ?? '')),
        autoBatchDelay: 0,
        store,
        shutdown: 'persist',
        nudge: { after: 5 * MINUTE, message: 'Are you still there?' },
      });
      bot.dialog('/', (session) => session.send('ok'));
      return bot;
    };
    const [a, b] = [make(), make()];
    await a.receive({ address: { channelId: 'test', user: { id: 'u' }, conversation: { id: 'c' } }, text: 'hi' });
    vi.setSystemTime(Date.now() + 5 * MINUTE);
    await Promise.all([a.sweepExpired(), b.sweepExpired(), vi.advanceTimersByTimeAsync(0)]);
    expect(said).toEqual(['ok', 'Are you still there?']);
    await Promise.all([a.close(), b.close()]);
  });

  it.each([[null], [42], [[]]])(
    'rejects a nudge message of %j as INVALID_OPTIONS, asking for a message, a string or a function',
    (message) => {
      expect(
        () => new SessionManager({ deliver: () => undefined, nudge: { after: MINUTE, message } as never }),
      ).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          message: expect.stringContaining('must be a message, a string or a function'),
        }),
      );
    },
  );

  it('rejects a dialog nudge message of null as INVALID_OPTIONS, asking for a message, a string or a function', () => {
    const bot = new SessionManager({ deliver: () => undefined });
    expect(() => bot.dialog('/d', () => undefined, { nudge: { after: MINUTE, message: null } as never })).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('must be a message, a string or a function'),
      }),
    );
  });

  it('rejects a nudge without `after` as INVALID_OPTIONS', () => {
    expect(() => new SessionManager({ deliver: () => undefined, nudge: { message: 'hi' } as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});

describe('per-dialog idle options', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Small talk nudges after 2 minutes; the payment dialog waits 60 minutes and nudges after 20. */
  function shop() {
    const bot = new SessionManager({
      deliver: () => undefined,
      autoBatchDelay: 0,
      store: new MemoryStore({ maxSessions: 100 }),
      timeout: 10 * MINUTE,
      nudge: { after: 2 * MINUTE, message: 'Anything else?' },
    });
    bot.dialog('/', (session) => {
      if (session.message?.text === 'pay') session.beginDialog('/pay');
      else session.send('Hello!');
    });
    bot.dialog(
      '/pay',
      [
        (session) => Prompts.text(session, 'Your card number?'),
        (session, results) => session.endDialog('Paid with %s.', results.response ?? ''),
      ],
      {
        timeout: 60 * MINUTE,
        nudge: { after: 20 * MINUTE, message: 'Take your time: I still have your order.' },
      },
    );
    bot.dialog('/quiet', (session) => session.send('Shh.'), { nudge: false });
    return { bot, client: createTestClient(bot, { advance }) };
  }

  it('uses the nudge of the dialog on the stack (through the prompt it began)', async () => {
    const { bot, client } = shop();
    await client.say('pay');
    await client.replies();
    await client.idle('19m');
    const before = await client.replies();
    await client.idle('1m');
    expect([before, await client.replies()]).toEqual([[], ['Take your time: I still have your order.']]);
    await bot.close();
  });

  it('uses the timeout the root dialog was registered with while it is on the stack', async () => {
    const bot = new SessionManager({
      deliver: () => undefined,
      autoBatchDelay: 0,
      store: new MemoryStore({ maxSessions: 100 }),
      timeout: 30 * MINUTE,
    });
    const ended: string[] = [];
    bot.on('sessionEnd', ({ reason }) => void ended.push(reason));
    bot.dialog('/', (session) => session.send('Hello!'), { timeout: 5 * MINUTE });
    const client = createTestClient(bot, { advance });
    await client.say('hi');
    await client.idle('5m');
    expect(ended).toEqual(['timeout']);
    await bot.close();
  });

  it('uses the timeout of the dialog on the stack instead of the manager’s', async () => {
    const { bot, client } = shop();
    await client.say('pay');
    await client.idle('59m');
    const before = client.sessionEnds.length;
    await client.idle('1m');
    expect([before, client.sessionEnds.map((end) => end.reason)]).toEqual([0, ['timeout']]);
    await bot.close();
  });

  it('reports the dialog’s timeout in session.info', async () => {
    const { bot, client } = shop();
    const { session } = await client.say('pay');
    expect(session.timeout).toBe(60 * MINUTE);
    await bot.close();
  });

  it('goes back to the manager’s nudge and timeout once the dialog ends', async () => {
    const { bot, client } = shop();
    await client.say('pay');
    await client.say('4111');
    await client.replies();
    await client.idle('2m');
    expect(await client.replies()).toEqual(['Anything else?']);
    await bot.close();
  });

  it('sends no nudge in a dialog registered with nudge: false', async () => {
    const { bot, client } = shop();
    await bot.beginDialog(client.address, '/quiet');
    await client.replies();
    await client.idle('9m');
    expect(await client.replies()).toEqual([]);
    await bot.close();
  });

  it('rejects a dialog timeout that is not a positive integer as INVALID_OPTIONS', () => {
    const bot = new SessionManager({ deliver: () => undefined });
    expect(() => bot.dialog('/x', () => undefined, { timeout: -1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});

describe('nudges with the lazy close policy', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('still sends the nudges on time', async () => {
    const { bot, client } = nudgingBot({ closePolicy: 'lazy' });
    await client.say('hi');
    await client.replies();
    await client.idle('5m');
    expect(await client.replies()).toEqual(['Are you still there?']);
    await bot.close();
  });

  it('leaves the close to the next message: no closeMessage, no end while the user is away', async () => {
    const { bot, client } = nudgingBot({ closePolicy: 'lazy' });
    await client.say('hi');
    await client.idle('40m');
    await client.replies();
    const endsWhileAway = client.sessionEnds.length;
    await client.say('back');
    expect([endsWhileAway, client.sessionEnds.map((end) => end.reason)]).toEqual([0, ['timeout']]);
    await bot.close();
  });
});
