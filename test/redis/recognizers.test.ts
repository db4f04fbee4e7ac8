// Recognizers on Redis: recognition holds no turn lease (another process takes turns of the same user meanwhile), and
// the intent a task began with is stored, so `continueIf: 'sameIntent'` decides the same in every process.
import { afterAll, afterEach, beforeAll, expect, it, vi } from 'vitest';
import { RegExpRecognizer, SessionManager, type Address, type SessionManagerOptions } from '../../src';
import { RedisStore } from '../../src/redis';
import { deferred } from '../support/bot';
import { MINUTE } from '../support/fixtures';
import { describeRedis, RedisServer } from './server';

let server: RedisServer;
let made: SessionManager[] = [];
let prefixes = 0;

describeRedis('recognizers on Redis', () => {
  beforeAll(async () => {
    server = await RedisServer.start();
  });

  afterEach(async () => {
    vi.useRealTimers();
    await Promise.all(made.map((bot) => bot.close()));
    made = [];
  });

  afterAll(async () => {
    await server?.dispose();
  });

  /** "Processes" sharing one fresh prefix: each its own manager and connection. */
  function processes(count: number, options: Partial<SessionManagerOptions> = {}) {
    const prefix = `recognizers${++prefixes}`;
    const said: string[] = [];
    const bots = Array.from({ length: count }, () => {
      const bot = new SessionManager({
        store: new RedisStore({ url: server.url, prefix, commandTimeout: 2000 }),
        deliver: (_to, messages) => void said.push(...messages.map((m) => m.text ?? '')),
        autoBatchDelay: 0,
        sweepInterval: 3_600_000,
        ...options,
      });
      bot.dialog('/', (session) => session.send(`root ${session.info.turnCount}`));
      made.push(bot);
      return bot;
    });
    return { bots, said };
  }

  const address: Address = { channelId: 'test', user: { id: 'lars' }, conversation: { id: 'c1' } };

  it('holds no lease while recognizing: another process takes a turn of the same user meanwhile', async () => {
    const { bots, said } = processes(2);
    const [a, b] = bots as [SessionManager, SessionManager];
    const nlu = deferred<{ intent: string }>();
    let asked = 0;
    a.recognizer(() => {
      asked++;
      return nlu.promise;
    });
    const slow = a.receive({ address, text: 'first' });
    await vi.waitFor(() => expect(asked).toBe(1));
    const fast = await b.receive({ address, text: 'second' });
    nlu.resolve({ intent: 'Greeting' });
    const late = await slow;
    expect([fast.session.turnCount, late.session.turnCount, late.session.nlp?.intent?.name, said]).toEqual([
      1,
      2,
      'Greeting',
      ['root 1', 'root 2'],
    ]);
  });

  /** Two processes of a lazy bot whose pizza order is begun by its intent (and a Weather intent, when asked). */
  function pizzaBots(weather: boolean): [SessionManager, SessionManager] {
    vi.useFakeTimers({ toFake: ['Date'] });
    const { bots } = processes(2, { closePolicy: 'lazy', continueIf: 'sameIntent', timeout: 15 * MINUTE });
    for (const bot of bots) {
      bot.recognizer(new RegExpRecognizer('OrderPizza', /pizza/i));
      if (weather) bot.recognizer(new RegExpRecognizer('Weather', /weather/i));
      bot.dialog('/order', [(session) => session.send('which size?'), (session) => session.endDialog()], {
        triggerAction: { matches: { intent: 'OrderPizza' } },
      });
    }
    return bots as [SessionManager, SessionManager];
  }

  it("continues an expired session in another process when the intent is the task's (continueIf: 'sameIntent')", async () => {
    const [a, b] = pizzaBots(false);
    const first = await a.receive({ address, text: 'pizza' });
    vi.setSystemTime(Date.now() + 20 * MINUTE);
    const back = await b.receive({ address, text: 'pizza please' });
    expect([back.session.id, back.session.taskIntent]).toEqual([first.session.id, 'OrderPizza']);
  });

  it('starts a new session in another process for a new intent', async () => {
    const [a, b] = pizzaBots(true);
    const first = await a.receive({ address, text: 'pizza' });
    vi.setSystemTime(Date.now() + 20 * MINUTE);
    const back = await b.receive({ address, text: 'weather' });
    expect([back.session.id === first.session.id, back.session.taskIntent]).toEqual([false, undefined]);
  });

  it('starts a new session in another process when nothing is recognized', async () => {
    const [a, b] = pizzaBots(true);
    const first = await a.receive({ address, text: 'pizza' });
    vi.setSystemTime(Date.now() + 20 * MINUTE);
    const back = await b.receive({ address, text: 'large' });
    expect([back.session.id === first.session.id, back.session.taskIntent]).toEqual([false, undefined]);
  });
});
