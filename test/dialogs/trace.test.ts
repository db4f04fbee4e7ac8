import { afterEach, describe, expect, it, vi } from 'vitest';
import { Prompts, SessionManager } from '../../src';
import { makeBot, smallStore } from '../support/bot';
import { address } from '../support/fixtures';

function askName(bot: SessionManager) {
  bot.dialog('/', [
    (session) => session.beginDialog('/askName'),
    (session, results) => session.send('Hello %s!', String(results.response)),
  ]);
  bot.dialog('/askName', [
    (session) => Prompts.text(session, 'Hi! What is your name?'),
    (session, results) => session.endDialogWithResult(results),
  ]);
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe('the trace', () => {
  it('prints the v3 console output of the askName sample', async () => {
    const { bot, say, trace } = makeBot();
    askName(bot);
    await say('hi');
    const first = trace.splice(0);
    await say('Lars');
    expect([first, trace]).toEqual([
      [
        'session.beginDialog(/)',
        '/ - waterfall() step 1 of 2',
        '/ - session.beginDialog(/askName)',
        './askName - waterfall() step 1 of 2',
        './askName - session.beginDialog(palaver:prompt:text)',
        '..Prompts.text - session.send()',
        '..Prompts.text - session.sendBatch() sending 1 message',
      ],
      [
        '..Prompts.text - session.endDialogWithResult()',
        './askName - waterfall() step 2 of 2',
        './askName - session.endDialogWithResult()',
        '/ - waterfall() step 2 of 2',
        '/ - session.send()',
        '/ - session.endDialogWithResult()',
        'session.sendBatch() sending 1 message',
      ],
    ]);
  });

  it('traces replaceDialog, cancelDialog and endConversation at their depth', async () => {
    const { bot, say, trace } = makeBot();
    bot.dialog('/', [(session) => session.beginDialog('/a'), () => undefined]);
    bot.dialog('/a', [(session) => session.replaceDialog('/b')]);
    bot.dialog('/b', [() => undefined, (session) => session.cancelDialog('/b', '/c')]);
    bot.dialog('/c', [(session) => session.endConversation('bye')]);
    await say('hi');
    await say('go');
    expect(trace.filter((line) => !line.includes('waterfall()'))).toEqual([
      'session.beginDialog(/)',
      '/ - session.beginDialog(/a)',
      './a - session.replaceDialog(/b)',
      './b - session.cancelDialog(1)',
      '/ - session.beginDialog(/c)',
      './c - session.send()',
      './c - session.endConversation()',
      'session.sendBatch() sending 1 message',
    ]);
  });

  it('traces sendTyping and the batch a sendBatch delivers', async () => {
    const { bot, say, trace } = makeBot();
    bot.dialog('/', async (session) => {
      session.sendTyping();
      session.send('one');
      await session.sendBatch();
    });
    await say('hi');
    expect(trace).toEqual([
      'session.beginDialog(/)',
      '/ - session.sendTyping()',
      '/ - session.sendBatch() sending 1 message',
      '/ - session.send()',
      '/ - session.sendBatch() sending 1 message',
    ]);
  });

  it('is off by default', async () => {
    vi.stubEnv('DEBUG', '');
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const bot = new SessionManager({ deliver: () => undefined, autoBatchDelay: 0, store: smallStore() });
    askName(bot);
    await bot.receive({ address: address(), text: 'hi' });
    expect([log.mock.calls, error.mock.calls]).toEqual([[], []]);
  });

  it('prints to the console with trace: true', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const bot = new SessionManager({ deliver: () => undefined, autoBatchDelay: 0, trace: true, store: smallStore() });
    askName(bot);
    await bot.receive({ address: address(), text: 'hi' });
    expect(log.mock.calls[1]).toEqual(['/ - waterfall() step 1 of 2']);
  });

  it('turns on with DEBUG=palaver, on stderr', async () => {
    vi.stubEnv('DEBUG', 'express,palaver');
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    const bot = new SessionManager({ deliver: () => undefined, autoBatchDelay: 0, store: smallStore() });
    askName(bot);
    await bot.receive({ address: address(), text: 'hi' });
    expect(error.mock.calls[0]).toEqual(['palaver session.beginDialog(/)']);
  });
});
