import { describe, expect, it } from 'vitest';
import { Prompts, ResumeReason, type DialogResult } from '../../src';
import { makeBot } from '../support/bot';

describe('waterfalls', () => {
  it('runs one step per message, in order', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', [
      (session) => session.send('step 1'),
      (session) => session.send('step 2'),
      (session) => session.send('step 3'),
    ]);
    await say('a');
    await say('b');
    await say('c');
    expect(texts()).toEqual(['step 1', 'step 2', 'step 3']);
  });

  it('gives a step that waited for the user the message text as results.response', async () => {
    const { bot, say } = makeBot();
    const seen: unknown[] = [];
    bot.dialog('/', [() => undefined, (_session, results) => void seen.push(results)]);
    await say('first');
    await say('second');
    expect(seen).toEqual([{ resumed: ResumeReason.completed, response: 'second' }]);
  });

  it('passes the begin args to the first step', async () => {
    const { bot, say } = makeBot();
    const seen: unknown[] = [];
    bot.dialog('/', [(session) => session.beginDialog('/child', { answer: 42 })]);
    bot.dialog('/child', [(_session, args) => void seen.push(args)]);
    await say('hi');
    expect(seen).toEqual([{ answer: 42 }]);
  });

  it('skips ahead with next(), passing its results to the following step', async () => {
    const { bot, say } = makeBot();
    const seen: unknown[] = [];
    bot.dialog('/', [
      (_session, _args, next) => next({ response: 'skipped' }),
      (_session, results) => void seen.push(results),
    ]);
    await say('hi');
    expect(seen).toEqual([{ resumed: ResumeReason.completed, response: 'skipped' }]);
  });

  it('runs the step after next() in the same turn', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', [(_session, _args, next) => next(), (session) => session.send('second step at once')]);
    await say('hi');
    expect(texts()).toEqual(['second step at once']);
  });

  it('ends the dialog when next() is called on the last step, returning its results', async () => {
    const { bot, say } = makeBot();
    let returned: DialogResult | undefined;
    bot.dialog('/', [(session) => session.beginDialog('/child'), (_session, results) => void (returned = results)]);
    bot.dialog('/child', [(_session, _args, next) => next({ response: 'last' })]);
    await say('hi');
    expect(returned).toEqual({ resumed: ResumeReason.completed, response: 'last', childId: '/child' });
  });

  it('ends the dialog when its last step falls off, returning the result that step was given', async () => {
    const { bot, say } = makeBot();
    let returned: DialogResult | undefined;
    bot.dialog('/', [(session) => session.beginDialog('/child'), (_session, results) => void (returned = results)]);
    bot.dialog('/child', [
      (session) => Prompts.number(session, 'How many?'),
      (session, results) => session.send('got %d', results.response ?? NaN),
    ]);
    await say('hi');
    await say('3');
    expect(returned).toEqual({ resumed: ResumeReason.completed, response: 3, childId: '/child' });
  });

  it('begins the root dialog again on the next message once it fell off its last step', async () => {
    const { bot, say, texts, stored } = makeBot();
    bot.dialog('/', [(session) => session.send('hello')]);
    await say('one');
    const emptied = (await stored())?.stack;
    await say('two');
    expect([texts(), emptied]).toEqual([['hello', 'hello'], []]);
  });

  it('waits for an async step before going on', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', [
      async (session, _args, next) => {
        await Promise.resolve();
        session.send('after await');
        next();
      },
      (session) => session.send('next step'),
    ]);
    await say('hi');
    expect(texts()).toEqual(['after await', 'next step']);
  });

  it('ends an async last step that asked for nothing', async () => {
    const { bot, say, stored } = makeBot();
    bot.dialog('/', [async (session) => void session.send(await Promise.resolve('done'))]);
    await say('hi');
    expect((await stored())?.stack).toEqual([]);
  });

  it('waits for the user after an async step that is not the last and asked for nothing', async () => {
    const { bot, say, stored } = makeBot();
    bot.dialog('/', [async () => void (await Promise.resolve()), () => undefined]);
    await say('hi');
    expect((await stored())?.stack).toEqual([{ id: '/', data: {}, step: 0 }]);
  });

  it('returns a completed result when its last step falls off holding begin args that are not a result', async () => {
    const { bot, say } = makeBot();
    const returned: unknown[] = [];
    bot.dialog('/', [
      (session) => session.beginDialog('/child', { answer: 42 }),
      (session, result) => {
        returned.push(result);
        session.beginDialog('/child', null);
      },
      (session, result) => {
        returned.push(result);
        session.beginDialog('/child', 'text');
      },
      (_session, result) => void returned.push(result),
    ]);
    bot.dialog('/child', [() => undefined]);
    await say('hi');
    const completed = { resumed: ResumeReason.completed, childId: '/child' };
    expect(returned).toEqual([completed, completed, completed]);
  });

  it('stores the step it is on in the stack', async () => {
    const { bot, say, stored } = makeBot();
    bot.dialog('/', [() => undefined, () => undefined, () => undefined]);
    await say('a');
    await say('b');
    expect((await stored())?.stack).toEqual([{ id: '/', data: {}, step: 1 }]);
  });

  it('rejects a step that asks for two stack operations with DIALOG_ACTION_CONFLICT', async () => {
    const { bot, say } = makeBot();
    bot.dialog('/', [(session) => session.beginDialog('/x').endDialog()]);
    bot.dialog('/x', [() => undefined]);
    expect((await say('hi')).error).toMatchObject({ code: 'DIALOG_ACTION_CONFLICT' });
  });

  it('rejects a waterfall without steps with INVALID_ARGUMENT', () => {
    const { bot } = makeBot();
    expect(() => bot.dialog('/', [])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('function dialogs', () => {
  it('get the args when begun, nothing for a message, and the result when a child returns', async () => {
    const { bot, say } = makeBot();
    const calls: unknown[] = [];
    bot.dialog('/', [(session) => session.beginDialog('/f', { a: 1 })]);
    bot.dialog('/f', (session, argsOrResult) => {
      calls.push(argsOrResult);
      // A message comes without an argument; a returning child comes with its result (same message): act on the first only.
      if (argsOrResult === undefined && session.message?.text === 'child') session.beginDialog('/child');
    });
    bot.dialog('/child', [(session) => session.endDialogWithResult({ response: 'x' })]);
    await say('begin');
    await say('child');
    expect(calls).toEqual([{ a: 1 }, undefined, { resumed: ResumeReason.completed, response: 'x', childId: '/child' }]);
  });

  it('stay on top of the stack and handle every message until they end', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', (session) => {
      if (session.message?.text === 'stop') session.endDialog('stopped');
      else session.send('echo %s', session.message?.text ?? '');
    });
    await say('a');
    await say('b');
    await say('stop');
    expect(texts()).toEqual(['echo a', 'echo b', 'stopped']);
  });
});
