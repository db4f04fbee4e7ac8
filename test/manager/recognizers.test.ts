// Recognizers in a manager: what `session.info.nlp` holds, how several recognizers combine, failures and timeouts,
// triggers by intent, `continueIf: 'sameIntent'`, and recognition that runs before the turn takes the session.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  RegExpRecognizer,
  type Nlp,
  type RecognizerResult,
  type Session,
  type SessionInfo,
  type SessionManagerOptions,
} from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { makeBot } from '../support/bot';

const later = <T>(ms: number, value: T) => new Promise<T>((resolve) => setTimeout(() => resolve(value), ms));

/** A bot whose root dialog records what it saw of the recognition and says the intent. */
function nluBot(options: Partial<SessionManagerOptions> = {}) {
  const made = makeBot(options);
  const seen: (Nlp | undefined)[] = [];
  made.bot.dialog('/', (session) => {
    seen.push(session.info.nlp);
    session.send(`intent ${session.info.nlp?.intent?.name ?? 'none'}`);
  });
  return { ...made, seen };
}

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

describe('session.info.nlp', () => {
  it('holds what was recognized, in Chatlayer’s shape, for the dialogs', async () => {
    const { bot, seen } = nluBot();
    bot.recognizer(() => ({
      intent: 'Greeting',
      score: 0.9,
      entities: [{ type: 'name', value: 'Lars' }],
      sentiment: { name: 'positive', score: 0.5 },
    }));
    await bot.receive({ address: address(), text: 'hi, I am Lars' });
    expect(seen).toEqual([
      {
        expression: 'hi, I am Lars',
        intent: { name: 'Greeting', score: 0.9 },
        intents: [{ name: 'Greeting', score: 0.9 }],
        entities: [{ type: 'name', value: 'Lars' }],
        sentiment: { name: 'positive', score: 0.5 },
        language: undefined,
      },
    ]);
  });

  it('is part of what receive resolves to', async () => {
    const { bot } = nluBot();
    bot.recognizer(new RegExpRecognizer('Greeting', /^hi$/));
    const result = await bot.receive({ address: address(), text: 'hi' });
    expect(result.session.nlp?.intent).toEqual({ name: 'Greeting', score: 1 });
  });

  it('is part of the turn event', async () => {
    const { bot } = nluBot();
    bot.recognizer(new RegExpRecognizer('Greeting', /^hi$/));
    const events: SessionInfo[] = [];
    bot.on('turn', (event) => void events.push(event.session));
    await bot.receive({ address: address(), text: 'hi' });
    expect(events.map((info) => info.nlp?.intent?.name)).toEqual(['Greeting']);
  });

  it('has no intent when no recognizer recognized anything', async () => {
    const { bot, texts, seen } = nluBot();
    bot.recognizer(new RegExpRecognizer('Greeting', /^hi$/));
    await bot.receive({ address: address(), text: 'what?' });
    expect([texts(), seen[0]?.expression, seen[0]?.intent]).toEqual([['intent none'], 'what?', undefined]);
  });

  it('is undefined when no recognizer is registered', async () => {
    const { bot, seen } = nluBot();
    const result = await bot.receive({ address: address(), text: 'hi' });
    expect([seen, result.session.nlp]).toEqual([[undefined], undefined]);
  });

  it('is undefined for an event: only messages are recognized', async () => {
    const { bot, seen } = nluBot();
    const recognize = vi.fn(() => ({ intent: 'X' }));
    bot.recognizer(recognize);
    await bot.receive({ address: address(), type: 'event', name: 'open' });
    expect([seen, recognize.mock.calls.length]).toEqual([[undefined], 0]);
  });

  it('is readable by middleware: recognition runs before it', async () => {
    const { bot } = nluBot();
    bot.recognizer(async () => later(10, { intent: 'Help' }));
    const inMiddleware: (string | undefined)[] = [];
    bot.use(async (session, next) => {
      inMiddleware.push(session.info.nlp?.intent?.name);
      await next();
    });
    const turn = bot.receive({ address: address(), text: 'help' });
    await vi.advanceTimersByTimeAsync(10);
    await turn;
    expect(inMiddleware).toEqual(['Help']);
  });

  it('is not saved: a unit of work without a message (startSession) has none', async () => {
    const { bot } = nluBot();
    bot.recognizer(new RegExpRecognizer('Greeting', /^hi$/));
    await bot.receive({ address: address(), text: 'hi' });
    const info = await bot.startSession(address());
    expect([info.id !== '', info.nlp]).toEqual([true, undefined]);
  });
});

describe('several recognizers', () => {
  it('run in parallel, and the best score wins', async () => {
    const { bot, texts } = nluBot();
    const started: number[] = [];
    bot.recognizer(async () => {
      started.push(Date.now());
      return later(300, { intent: 'Weather', score: 0.4 });
    });
    bot.recognizer(async () => {
      started.push(Date.now());
      return later(200, { intent: 'OrderPizza', score: 0.8 });
    });
    const turn = bot.receive({ address: address(), text: 'pizza in the rain' });
    await vi.advanceTimersByTimeAsync(300);
    await turn;
    expect([started, texts()]).toEqual([[0, 0], ['intent OrderPizza']]);
  });

  it('run one after another with recognizeOrder series, stopping at the first that reaches the stop score', async () => {
    const { bot, texts } = nluBot({ recognizeOrder: 'series', recognizeStopScore: 0.8 });
    const second = vi.fn(() => ({ intent: 'Other', score: 1 }));
    bot.recognizer(async () => later(100, { intent: 'OrderPizza', score: 0.85 }));
    bot.recognizer(second);
    const turn = bot.receive({ address: address(), text: 'pizza' });
    await vi.advanceTimersByTimeAsync(100);
    await turn;
    expect([second.mock.calls.length, texts()]).toEqual([0, ['intent OrderPizza']]);
  });

  it('in series, go on to the next below the stop score, and the best still wins', async () => {
    const { bot, texts } = nluBot({ recognizeOrder: 'series', recognizeStopScore: 0.8 });
    const order: string[] = [];
    bot.recognizer(async () => {
      order.push('first');
      return later(100, { intent: 'Weather', score: 0.3 });
    });
    bot.recognizer(async () => {
      order.push(`second at ${Date.now()}`);
      return later(100, { intent: 'OrderPizza', score: 0.6 });
    });
    const turn = bot.receive({ address: address(), text: 'pizza' });
    await vi.advanceTimersByTimeAsync(200);
    await turn;
    expect([order, texts()]).toEqual([['first', 'second at 100'], ['intent OrderPizza']]);
  });
});

describe('a recognizer that fails', () => {
  it('is reported as RECOGNIZER_FAILED when it throws, and the turn goes on with the others', async () => {
    const { bot, texts, errors } = nluBot();
    bot.recognizer(() => {
      throw new Error('NLU down');
    });
    bot.recognizer(new RegExpRecognizer('Greeting', /^hi$/));
    await bot.receive({ address: address(), text: 'hi' });
    expect([errors.map((e) => e.code), errors[0]?.message, texts()]).toEqual([
      ['RECOGNIZER_FAILED'],
      expect.stringContaining('NLU down'),
      ['intent Greeting'],
    ]);
  });

  it('is reported when its promise rejects, and the turn goes on without it', async () => {
    const { bot, texts, errors } = nluBot();
    bot.recognizer(async function luis() {
      throw new Error('503');
    });
    await bot.receive({ address: address(), text: 'hi' });
    expect([errors.map((e) => e.message), texts()]).toEqual([
      [expect.stringContaining('recognizer "luis" failed: 503')],
      ['intent none'],
    ]);
  });

  it('is reported after recognizerTimeout when it never answers, and the turn goes on without it', async () => {
    const { bot, texts, errors } = nluBot({ recognizerTimeout: 2000 });
    bot.recognizer(() => new Promise<RecognizerResult>(() => undefined));
    bot.recognizer(new RegExpRecognizer('Greeting', /^hi$/));
    const turn = bot.receive({ address: address(), text: 'hi' });
    let done = false;
    void turn.then(() => (done = true));
    await vi.advanceTimersByTimeAsync(1999);
    const before = [done, errors.length];
    await vi.advanceTimersByTimeAsync(1);
    await turn;
    expect([before, errors.map((e) => e.code), errors[0]?.message, texts()]).toEqual([
      [false, 0],
      ['RECOGNIZER_FAILED'],
      expect.stringContaining('did not answer within 2000 ms'),
      ['intent Greeting'],
    ]);
  });

  it('is reported when it returns something that is not a result', async () => {
    const { bot, texts, errors } = nluBot();
    bot.recognizer(() => ({ intent: 'X', score: 7 }));
    await bot.receive({ address: address(), text: 'hi' });
    expect([errors.map((e) => e.message), texts()]).toEqual([
      [expect.stringContaining('a score of 7 (number); expected a number from 0 to 1')],
      ['intent none'],
    ]);
  });

  it('is refused when it is neither a function nor an object with recognize()', () => {
    const { bot } = nluBot();
    expect(() => bot.recognizer({} as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('recognizers and the session', () => {
  it('get no session by default, and the session the message lands in with needsSession', async () => {
    const { bot } = nluBot();
    const got: unknown[] = [];
    bot.recognizer((_message, session) => void got.push(session));
    bot.recognizer(
      (_message, session) => {
        got.push((session as Session).info.turnCount);
        return { intent: 'Known' };
      },
      { needsSession: true },
    );
    bot.recognizer({ needsSession: true, recognize: (_m, session) => void got.push(session?.info.key) });
    const result = await bot.receive({ address: address(), text: 'hi' });
    expect([got, result.session.nlp?.intent?.name]).toEqual([[undefined, 0, bot.keyOf(address())], 'Known']);
  });

  it('set preferredLanguage from the language they detect, kept for the session', async () => {
    const { bot } = nluBot();
    bot.recognizer((message) => (message.text === 'bonjour' ? { language: 'fr' } : undefined));
    const first = await bot.receive({ address: address(), text: 'bonjour', locale: 'en-US' });
    const second = await bot.receive({ address: address(), text: 'ok', locale: 'en-US' });
    expect([first.session.preferredLanguage, second.session.preferredLanguage]).toEqual(['fr', 'fr']);
  });

  it('leave preferredLanguage to the language of the locale when none is detected', async () => {
    const { bot } = nluBot();
    const result = await bot.receive({ address: address(), text: 'hi', locale: 'en-US' });
    expect(result.session.preferredLanguage).toBe('en');
  });

  it('recognize the message again when newSession hands the turn another one', async () => {
    const made = makeBot();
    made.bot.recognizer((message) => ({ intent: message.text === 'restart' ? 'Restart' : 'Other' }));
    const seen: (string | undefined)[] = [];
    made.bot.dialog('/', (session) => {
      seen.push(session.info.nlp?.intent?.name);
      if (session.message?.text === 'restart') session.newSession({ message: { text: 'hello again' } });
    });
    await made.bot.receive({ address: address(), text: 'restart' });
    expect(seen).toEqual(['Restart', 'Other']);
  });
});

describe('recognition outside the lease', () => {
  it('recognizes the second message of a user while the first one’s turn runs: ~1 s plus two turns, not 2 s', async () => {
    const made = makeBot();
    made.bot.recognizer(async (message) => later(1000, { intent: message.text ?? '' }));
    made.bot.dialog('/', async (session) => {
      await later(100, undefined); // a turn takes 100 ms
      session.send(session.info.nlp?.intent?.name ?? 'none');
    });
    const finished: number[] = [];
    const turns = ['one', 'two'].map((text) =>
      made.bot.receive({ address: address(), text }).then(() => void finished.push(Date.now())),
    );
    await vi.advanceTimersByTimeAsync(1200);
    await Promise.all(turns);
    expect([finished, made.texts()]).toEqual([
      [1100, 1200],
      ['one', 'two'],
    ]);
  });

  it('keeps the order of a user’s turns when a later message is recognized first', async () => {
    const made = makeBot();
    made.bot.recognizer(async (message) => later(message.text === 'slow' ? 500 : 10, { intent: message.text ?? '' }));
    made.bot.dialog('/', (session) => session.send(session.info.nlp?.intent?.name ?? 'none'));
    const turns = ['slow', 'fast'].map((text) => made.bot.receive({ address: address(), text }));
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all(turns);
    expect(made.texts()).toEqual(['slow', 'fast']);
  });
});

describe('triggers and actions by intent', () => {
  function pizzaBot(matches: { intent: string; minScore?: number }, score: number) {
    const made = nluBot();
    made.bot.recognizer(() => ({ intent: 'OrderPizza', score }));
    made.bot.dialog('/order', (session) => session.send('ordering').endDialog(), { triggerAction: { matches } });
    return made;
  }

  it('begin their dialog when the intent is recognized, at any score without minScore', async () => {
    const { bot, texts } = pizzaBot({ intent: 'OrderPizza' }, 0.2);
    await bot.receive({ address: address(), text: 'pizza' });
    expect(texts()).toEqual(['ordering']);
  });

  it('begin their dialog when the score reaches minScore', async () => {
    const { bot, texts } = pizzaBot({ intent: 'OrderPizza', minScore: 0.6 }, 0.6);
    await bot.receive({ address: address(), text: 'pizza' });
    expect(texts()).toEqual(['ordering']);
  });

  it('do not fire below minScore: the dialogs get the message', async () => {
    const { bot, texts } = pizzaBot({ intent: 'OrderPizza', minScore: 0.6 }, 0.59);
    await bot.receive({ address: address(), text: 'pizza' });
    expect(texts()).toEqual(['intent OrderPizza']);
  });

  it('do not fire for another intent', async () => {
    const { bot, texts } = pizzaBot({ intent: 'Weather' }, 1);
    await bot.receive({ address: address(), text: 'pizza' });
    expect(texts()).toEqual(['intent OrderPizza']);
  });

  it('work for a global action too', async () => {
    const { bot, texts } = nluBot();
    bot.recognizer(new RegExpRecognizer('Goodbye', /^(bye|goodbye)$/i));
    bot.action('goodbye', { matches: { intent: 'Goodbye' }, endConversation: 'See you!' });
    await bot.receive({ address: address(), text: 'bye' });
    expect(texts()).toEqual(['See you!']);
  });

  it('record the intent as the session’s task while their dialog is on the stack, and forget it after', async () => {
    const made = makeBot();
    made.bot.recognizer(new RegExpRecognizer('OrderPizza', /pizza/));
    made.bot.dialog('/', (session) => session.send('root'));
    made.bot.dialog('/order', [(session) => session.send('size?'), (session) => session.endDialog()], {
      triggerAction: { matches: { intent: 'OrderPizza' } },
    });
    const ordering = await made.bot.receive({ address: address(), text: 'pizza' });
    const done = await made.bot.receive({ address: address(), text: 'large' });
    expect([ordering.session.taskIntent, done.session.taskIntent, (await made.stored())?.taskIntent]).toEqual([
      'OrderPizza',
      undefined,
      undefined,
    ]);
  });

  it('refuse a bad minScore with INVALID_OPTIONS', () => {
    const { bot } = nluBot();
    expect(() =>
      bot.dialog('/order', () => undefined, { triggerAction: { matches: { intent: 'OrderPizza', minScore: 2 } } }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining('minScore') }));
  });

  it('refuse an empty intent with INVALID_OPTIONS', () => {
    const { bot } = nluBot();
    expect(() => bot.action('x', { matches: { intent: '' }, cancel: true })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});

describe("continueIf: 'sameIntent'", () => {
  /** A lazy bot with a pizza order (begun by intent) that asks for the size; weather is another intent. */
  function kore() {
    const made = makeBot({ closePolicy: 'lazy', continueIf: 'sameIntent', timeout: 15 * MINUTE });
    const ended: string[] = [];
    made.bot.on('sessionEnd', (event) => void ended.push(event.reason));
    made.bot.recognizer(new RegExpRecognizer('OrderPizza', /pizza/i));
    made.bot.recognizer(new RegExpRecognizer('Weather', /weather/i));
    made.bot.dialog('/', (session) => session.send('root'));
    made.bot.dialog('/order', [(session) => session.send('which size?'), (session) => session.endDialog()], {
      triggerAction: { matches: { intent: 'OrderPizza' } },
    });
    return { ...made, ended };
  }

  it('continues the expired session when the message has the intent its task began with', async () => {
    const { bot, ended } = kore();
    const first = await bot.receive({ address: address(), text: 'a pizza' });
    vi.setSystemTime(Date.now() + 20 * MINUTE);
    const back = await bot.receive({ address: address(), text: 'pizza after all' });
    expect([back.session.id, back.session.turnCount, ended]).toEqual([first.session.id, 2, []]);
  });

  it('starts a new session for a new intent', async () => {
    const { bot, ended } = kore();
    const first = await bot.receive({ address: address(), text: 'a pizza' });
    vi.setSystemTime(Date.now() + 20 * MINUTE);
    const back = await bot.receive({ address: address(), text: 'weather?' });
    expect([back.session.id === first.session.id, back.session.turnCount, ended]).toEqual([false, 1, ['timeout']]);
  });

  it('starts a new session when nothing is recognized', async () => {
    const { bot, ended, texts } = kore();
    const first = await bot.receive({ address: address(), text: 'a pizza' });
    vi.setSystemTime(Date.now() + 20 * MINUTE);
    const back = await bot.receive({ address: address(), text: 'large' });
    expect([back.session.id === first.session.id, ended, texts()]).toEqual([
      false,
      ['timeout'],
      ['which size?', 'root'],
    ]);
  });

  it('starts a new session when no trigger by intent began the task', async () => {
    const { bot, ended } = kore();
    await bot.receive({ address: address(), text: 'hello' });
    vi.setSystemTime(Date.now() + 20 * MINUTE);
    await bot.receive({ address: address(), text: 'pizza' });
    expect(ended).toEqual(['timeout']);
  });

  it('asks a recognizer that needs the session with the expired session', async () => {
    const made = makeBot({ closePolicy: 'lazy', continueIf: 'sameIntent', timeout: 15 * MINUTE });
    made.bot.recognizer(
      (message, session) => {
        if (session === undefined) throw new Error('no session');
        return message.text === 'pizza' ? { intent: 'OrderPizza' } : undefined;
      },
      { needsSession: true },
    );
    made.bot.dialog('/', (session) => session.send('root'));
    made.bot.dialog('/order', [(session) => session.send('which size?'), (session) => session.endDialog()], {
      triggerAction: { matches: { intent: 'OrderPizza' } },
    });
    const first = await made.bot.receive({ address: address(), text: 'pizza' });
    vi.setSystemTime(Date.now() + 20 * MINUTE);
    const back = await made.bot.receive({ address: address(), text: 'pizza' });
    expect([back.session.id, made.errors]).toEqual([first.session.id, []]);
  });

  it('is refused as a value other than a function or sameIntent', () => {
    expect(() => makeBot({ continueIf: 'sameTopic' as 'sameIntent' })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS', message: expect.stringContaining("'sameIntent'") }),
    );
  });
});
