import { describe, expect, it } from 'vitest';
import { Prompts, ResumeReason, type DialogResult, type Session } from '../../src';
import { DialogRegistry } from '../../src/dialogs/registry';
import { FunctionDialog } from '../../src/dialogs/waterfall';
import { makeBot, slowStore, smallStore } from '../support/bot';
import { address } from '../support/fixtures';

describe('beginDialog and endDialog', () => {
  it('returns the child result to the caller next step', async () => {
    const { bot, say } = makeBot();
    let got: DialogResult | undefined;
    bot.dialog('/', [(session) => session.beginDialog('/child'), (_session, result) => void (got = result)]);
    bot.dialog('/child', [(session) => session.endDialogWithResult({ response: { name: 'joe smith', age: 37 } })]);
    await say('hi');
    expect(got).toEqual({
      resumed: ResumeReason.completed,
      response: { name: 'joe smith', age: 37 },
      childId: '/child',
    });
  });

  it('sends the message of endDialog and resumes the caller with completed', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', [
      (session) => session.beginDialog('/child'),
      (session, result: DialogResult) => session.send('resumed: %s', result.resumed),
    ]);
    bot.dialog('/child', [(session) => session.endDialog('ok… operation canceled')]);
    await say('hi');
    expect(texts()).toEqual(['ok… operation canceled', 'resumed: completed']);
  });

  it('throws DIALOG_NOT_FOUND for an unknown dialog id', async () => {
    const { bot, say } = makeBot();
    bot.dialog('/', [(session) => session.beginDialog('/nope')]);
    expect((await say('hi')).error).toMatchObject({ code: 'DIALOG_NOT_FOUND' });
  });

  it('names the registered dialogs in DIALOG_NOT_FOUND', async () => {
    const { bot, say } = makeBot();
    bot.dialog('/', [(session) => session.beginDialog('/nope')]);
    expect((await say('hi')).error?.message).toMatch(/No dialog is registered as "\/nope".*\(registered: "\/"\)/);
  });

  it('throws DIALOG_NOT_FOUND when the root dialog is not registered', async () => {
    const { say } = makeBot({ rootDialog: '/missing' });
    expect((await say('hi')).error).toMatchObject({ code: 'DIALOG_NOT_FOUND' });
  });

  it('quotes the unknown id exactly in DIALOG_NOT_FOUND', async () => {
    const { bot, say } = makeBot();
    bot.dialog('/', [(session) => session.beginDialog('/nope')]);
    expect((await say('hi')).error?.message).toContain(
      'No dialog is registered as "/nope"; register it with manager.dialog(id, ...) first',
    );
  });

  it('describes an id that is not a string in DIALOG_NOT_FOUND', async () => {
    const { bot } = makeBot();
    bot.dialog('/', [() => undefined]);
    await expect(bot.beginDialog(address(), 42 as never)).rejects.toMatchObject({
      code: 'DIALOG_NOT_FOUND',
      message: expect.stringContaining('No dialog is registered as 42 (number);'),
    });
  });

  it('throws DIALOG_NOT_FOUND from beginDialog itself, so the rest of the step does not run', async () => {
    const { bot, say } = makeBot();
    const caught: unknown[] = [];
    bot.dialog('/', [
      (session) => {
        try {
          session.beginDialog('/nope');
        } catch (error) {
          caught.push((error as { code?: string }).code);
        }
      },
    ]);
    await say('hi');
    expect(caught).toEqual(['DIALOG_NOT_FOUND']);
  });

  it('names the registered dialogs when the root dialog is not registered', async () => {
    const { bot, say } = makeBot({ rootDialog: '/missing' });
    bot.dialog('/other', [() => undefined]);
    expect((await say('hi')).error?.message).toMatch(
      /No dialog is registered as "\/missing".*\(registered: "\/other"\)\.$/,
    );
  });

  it('ends DIALOG_NOT_FOUND with a full stop when no dialog of the bot is registered', async () => {
    const { say } = makeBot({ rootDialog: '/missing' });
    expect((await say('hi')).error?.message).toMatch(/register it with manager\.dialog\(id, \.\.\.\) first\.$/);
  });

  it('names at most ten registered dialogs in DIALOG_NOT_FOUND, then an ellipsis', async () => {
    const messages: (string | undefined)[] = [];
    for (const count of [10, 11]) {
      const { bot, say } = makeBot();
      bot.dialog('/', [(session) => session.beginDialog('/nope')]);
      for (let i = 1; i < count; i++) bot.dialog(`/d${i}`, [() => undefined]);
      messages.push((await say('hi')).error?.message);
    }
    const ten = ['"/"', ...Array.from({ length: 9 }, (_, i) => `"/d${i + 1}"`)].join(', ');
    expect(messages.map((m) => m?.slice(m.indexOf('(registered:')))).toEqual([
      `(registered: ${ten}).`,
      `(registered: ${ten}, …).`,
    ]);
  });

  it('names the id in DIALOG_EXISTS', () => {
    const { bot } = makeBot();
    bot.dialog('/', [() => undefined]);
    expect(() => bot.dialog('/', [() => undefined])).toThrow('A dialog with id "/" is already registered');
  });

  it('rejects a dialog id registered twice with DIALOG_EXISTS', () => {
    const { bot } = makeBot();
    bot.dialog('/', [() => undefined]);
    expect(() => bot.dialog('/', [() => undefined])).toThrow(expect.objectContaining({ code: 'DIALOG_EXISTS' }));
  });

  it('stops a dialog that begins itself forever with DIALOG_LOOP', async () => {
    const { bot, say } = makeBot({ maxDialogOperations: 50 });
    bot.dialog('/', [(session) => session.replaceDialog('/')]);
    expect((await say('hi')).error).toMatchObject({ code: 'DIALOG_LOOP' });
  });
});

describe('replaceDialog', () => {
  it('keeps the stack the same size', async () => {
    const { bot, say, stored } = makeBot();
    bot.dialog('/', [(session) => session.beginDialog('/a')]);
    bot.dialog('/a', [() => undefined, (session) => session.replaceDialog('/b')]);
    bot.dialog('/b', [() => undefined, () => undefined]);
    await say('hi');
    const before = (await stored())?.stack.map((d) => d.id);
    await say('replace');
    const after = (await stored())?.stack.map((d) => d.id);
    expect([before, after]).toEqual([
      ['/', '/a'],
      ['/', '/b'],
    ]);
  });

  it('resumes the original caller when the replacement ends', async () => {
    const { bot, say, texts, stored } = makeBot();
    bot.dialog('/', [
      (session) => session.beginDialog('/first'),
      (session, result: DialogResult) => session.send('root got %s', String(result.response)),
    ]);
    bot.dialog('/first', [
      (session) => Prompts.text(session, 'first?'),
      (session) => session.replaceDialog('/second', { from: 'first' }),
    ]);
    bot.dialog('/second', [
      (session, args: { from: string }) => {
        session.dialogData.from = args.from;
        Prompts.text(session, 'second?');
      },
      (session, result: DialogResult) =>
        session.endDialogWithResult({ response: `${result.response} via ${session.dialogData.from}` }),
    ]);
    await say('hi');
    await say('one');
    const during = (await stored())?.stack.map((d) => d.id);
    await say('two');
    expect([texts(), during]).toEqual([
      ['first?', 'second?', 'root got two via first'],
      ['/', '/second', 'palaver:prompt:text'],
    ]);
  });

  it('throws DIALOG_NOT_FOUND for an unknown replacement', async () => {
    const { bot, say } = makeBot();
    bot.dialog('/', [(session) => session.replaceDialog('/nope')]);
    expect((await say('hi')).error).toMatchObject({ code: 'DIALOG_NOT_FOUND' });
  });
});

describe('cancelDialog', () => {
  /**
   * Root begins /a, /a begins /b, /b begins /c; the next message runs `act` from /c's second step. A dialog that gets
   * control back records the result and waits.
   */
  function nested(act: (session: Session) => void) {
    const h = makeBot();
    const resumed: DialogResult[] = [];
    const record = (_session: Session, result: DialogResult) => void resumed.push(result);
    const wait = () => undefined;
    h.bot.dialog('/', [(session) => session.beginDialog('/a'), record, wait]);
    h.bot.dialog('/a', [(session) => session.beginDialog('/b'), record, wait]);
    h.bot.dialog('/b', [(session) => session.beginDialog('/c'), record, wait]);
    h.bot.dialog('/c', [() => undefined, (session) => act(session)]);
    h.bot.dialog('/other', [(session) => session.send('other begins'), () => undefined]);
    return { ...h, resumed };
  }

  it('removes the dialog and its children when canceled by id', async () => {
    const { say, stored } = nested((session) => session.cancelDialog('/b'));
    await say('hi');
    await say('cancel');
    expect((await stored())?.stack.map((d) => d.id)).toEqual(['/', '/a']);
  });

  it('resumes the caller with ResumeReason.notCompleted', async () => {
    const { say, resumed } = nested((session) => session.cancelDialog('/b'));
    await say('hi');
    await say('cancel');
    expect(resumed).toEqual([{ resumed: ResumeReason.notCompleted, childId: '/b' }]);
  });

  it('cancels the topmost instance when the id is on the stack more than once', async () => {
    const { bot, say, stored } = makeBot();
    bot.dialog('/', [(session) => session.beginDialog('/loop', 1)]);
    bot.dialog('/loop', [
      (session, depth: number) => {
        session.dialogData.depth = depth;
        session.beginDialog(depth < 3 ? '/loop' : '/top', depth + 1);
      },
      () => undefined,
      () => undefined,
    ]);
    bot.dialog('/top', [() => undefined, (session) => session.cancelDialog('/loop')]);
    await say('hi');
    const before = (await stored())?.stack.map((d) => d.data.depth ?? d.id);
    await say('cancel');
    const after = (await stored())?.stack.map((d) => d.data.depth ?? d.id);
    expect([before, after]).toEqual([
      ['/', 1, 2, 3, '/top'],
      ['/', 1, 2],
    ]);
  });

  it('cancels by index, 0 being the bottom of the stack', async () => {
    const { say, stored, resumed } = nested((session) => session.cancelDialog(1));
    await say('hi');
    await say('cancel');
    expect([(await stored())?.stack.map((d) => d.id), resumed]).toEqual([
      ['/'],
      [{ resumed: ResumeReason.notCompleted, childId: '/a' }],
    ]);
  });

  it('empties the stack when index 0 is canceled without a replacement', async () => {
    const { say, stored, texts } = nested((session) => session.cancelDialog(0));
    await say('hi');
    await say('cancel');
    expect([(await stored())?.stack, texts()]).toEqual([[], []]);
  });

  it('begins the replacement in place of the canceled dialog', async () => {
    const { say, stored, texts } = nested((session) => session.cancelDialog(0, '/other'));
    await say('hi');
    await say('cancel');
    expect([(await stored())?.stack.map((d) => d.id), texts()]).toEqual([['/other'], ['other begins']]);
  });

  it('resumes the caller of the canceled dialog with the result of its replacement', async () => {
    const { bot, say } = makeBot();
    const seen: unknown[] = [];
    bot.dialog('/', [(session) => session.beginDialog('/a'), (_session, result) => void seen.push(result)]);
    bot.dialog('/a', [() => undefined, (session) => session.cancelDialog('/a', '/b')]);
    bot.dialog('/b', (session) => session.endDialogWithResult({ response: 'from b' }));
    await say('hi');
    await say('go');
    expect(seen).toEqual([{ resumed: ResumeReason.completed, response: 'from b', childId: '/b' }]);
  });

  it('gives the replacement its args', async () => {
    const { bot, say } = makeBot();
    const seen: unknown[] = [];
    bot.dialog('/', [(session) => session.beginDialog('/a')]);
    bot.dialog('/a', [() => undefined, (session) => session.cancelDialog('/a', '/b', { why: 'replaced' })]);
    bot.dialog('/b', [(_session, args) => void seen.push(args)]);
    await say('hi');
    await say('go');
    expect(seen).toEqual([{ why: 'replaced' }]);
  });

  it('rejects an id that is not on the stack with INVALID_ARGUMENT', async () => {
    const { say } = nested((session) => session.cancelDialog('/other'));
    await say('hi');
    expect((await say('cancel')).error).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('rejects an index that is not on the stack with INVALID_ARGUMENT', async () => {
    const { say } = nested((session) => session.cancelDialog(4));
    await say('hi');
    expect((await say('cancel')).error).toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('rejects an unknown replacement with DIALOG_NOT_FOUND', async () => {
    const { say } = nested((session) => session.cancelDialog(0, '/nope'));
    await say('hi');
    expect((await say('cancel')).error).toMatchObject({ code: 'DIALOG_NOT_FOUND' });
  });
});

describe('endConversation', () => {
  it('clears the stack and privateConversationData, and keeps the other scopes', async () => {
    const { bot, say, stored } = makeBot<{ Name?: string }, { u?: number }, { c?: number }, { p?: number }>();
    bot.dialog('/', [(session) => session.beginDialog('/deep')]);
    bot.dialog('/deep', [
      (session) => {
        session.privateConversationData.p = 1;
        session.userData.u = 1;
        session.conversationData.c = 1;
        session.entities.Name = 'Lars';
        Prompts.text(session, 'say bye');
      },
      (session) => session.endConversation('Ok… Goodbye.'),
    ]);
    await say('hi');
    const before = await stored();
    await say('bye');
    const after = await stored();
    expect([
      before?.stack.length,
      before?.privateConversationData,
      after?.stack,
      after?.privateConversationData,
      after?.entities,
    ]).toEqual([3, { p: 1 }, [], {}, { Name: 'Lars' }]);
  });

  it('keeps userData and conversationData', async () => {
    const { bot, say } = makeBot<{}, { u?: number }, { c?: number }>();
    const seen: unknown[] = [];
    bot.dialog('/', [
      (session) => {
        seen.push([session.userData.u, session.conversationData.c]);
        session.userData.u = 1;
        session.conversationData.c = 2;
        session.endConversation();
      },
    ]);
    await say('one');
    await say('two');
    expect(seen).toEqual([
      [undefined, undefined],
      [1, 2],
    ]);
  });

  it('begins the root dialog on the next message', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', [(session) => Prompts.text(session, 'name?'), (session) => session.endConversation('bye')]);
    await say('hi');
    await say('Lars');
    await say('hello again');
    expect(texts()).toEqual(['name?', 'bye', 'name?']);
  });
});

describe('currentDialogState and previousDialogState', () => {
  it('follow the stack as dialogs begin and end', async () => {
    const { bot, say } = makeBot();
    const seen: unknown[] = [];
    bot.dialog('/', [
      (session) => {
        seen.push([session.info.currentDialogState?.id, session.info.previousDialogState?.id]);
        session.beginDialog('/child');
      },
      (session) => void seen.push([session.info.currentDialogState?.id, session.info.previousDialogState?.id]),
    ]);
    bot.dialog('/child', [
      (session) => void seen.push([session.info.currentDialogState?.id, session.info.previousDialogState?.id]),
      () => undefined,
    ]);
    await say('hi');
    await say('done');
    expect(seen).toEqual([
      ['/', undefined],
      ['/child', '/'],
      ['/', '/child'],
    ]);
  });

  it('report the name, id and type of the dialog on top', async () => {
    const { bot, say } = makeBot();
    bot.dialog('/', [(session) => Prompts.text(session, 'name?')], { name: 'Root' });
    const result = await say('hi');
    expect([result.session.currentDialogState, result.session.previousDialogState]).toEqual([
      { name: 'Prompts.text', id: 'palaver:prompt:text', type: 'prompt' },
      { name: 'Root', id: '/', type: 'waterfall' },
    ]);
  });

  it('reports a dialog on the stack that is no longer registered with type unknown', async () => {
    const store = smallStore();
    const before = makeBot({ store });
    before.bot.dialog('/', [(session) => session.beginDialog('/gone')]);
    before.bot.dialog('/gone', [() => undefined, () => undefined]);
    await before.say('hi');
    const after = makeBot({ store });
    after.bot.dialog('/', [() => undefined]);
    after.bot.dialog('/alert', [() => undefined, () => undefined]);
    const info = await after.bot.beginDialog(address(), '/alert', undefined, { interrupt: true });
    expect(info.previousDialogState).toEqual({ name: '/gone', id: '/gone', type: 'unknown' });
  });

  it('is undefined once the stack is empty, the previous one kept', async () => {
    const { bot, say } = makeBot();
    bot.dialog('/', (session) => session.endDialog());
    const result = await say('hi');
    expect([result.session.currentDialogState, result.session.previousDialogState]).toEqual([
      undefined,
      { name: '/', id: '/', type: 'function' },
    ]);
  });
});

describe('operations per turn', () => {
  /** Root begins /b, /b begins /c, /c begins /d, which waits: four operations in one turn; `async` makes every step await first. */
  function chain(maxDialogOperations: number, async: boolean) {
    const h = makeBot({ maxDialogOperations });
    const step = (next: string) =>
      async
        ? async (session: Session) => void session.beginDialog(await Promise.resolve(next))
        : (session: Session) => void session.beginDialog(next);
    h.bot.dialog('/', [step('/b')]);
    h.bot.dialog('/b', [step('/c')]);
    h.bot.dialog('/c', [step('/d')]);
    h.bot.dialog('/d', [() => undefined, () => undefined]);
    return h;
  }

  it('allows maxDialogOperations operations in a turn', async () => {
    const { say, stored } = chain(4, false);
    const result = await say('hi');
    expect([result.error, (await stored())?.stack.map((d) => d.id)]).toEqual([undefined, ['/', '/b', '/c', '/d']]);
  });

  it('stops the operation after maxDialogOperations with DIALOG_LOOP, naming the limit and the operation', async () => {
    const { say } = chain(3, false);
    expect((await say('hi')).error).toMatchObject({
      code: 'DIALOG_LOOP',
      message: expect.stringMatching(
        /more than 3 dialog operations without waiting for the user.*\(last operation: begin\)\.$/,
      ),
    });
  });

  it('counts the operations after a sendBatch save that was not awaited toward maxDialogOperations', async () => {
    const { bot, say } = makeBot({ maxDialogOperations: 3, store: slowStore() });
    bot.dialog('/', (session) => {
      void session.sendBatch();
      void Promise.resolve().then(() => session.beginDialog('/b'));
    });
    bot.dialog('/b', [(session) => session.beginDialog('/c')]);
    bot.dialog('/c', [(session) => session.beginDialog('/d')]);
    bot.dialog('/d', [() => undefined, () => undefined]);
    expect((await say('hi')).error).toMatchObject({ code: 'DIALOG_LOOP' });
  });

  it('counts the operations after async steps toward maxDialogOperations', async () => {
    const { say } = chain(3, true);
    expect((await say('hi')).error).toMatchObject({ code: 'DIALOG_LOOP' });
  });
});

describe('async dialogs', () => {
  it('waits for an async reply before carrying out what it asks for', async () => {
    const { bot, say, texts, stored } = makeBot();
    bot.dialog('/', async (session) => {
      if (session.message?.text !== 'go') return;
      await Promise.resolve();
      session.beginDialog('/child');
    });
    bot.dialog('/child', [(session) => session.send('child begins'), () => undefined]);
    await say('hi');
    await say('go');
    expect([texts(), (await stored())?.stack.map((d) => d.id)]).toEqual([['child begins'], ['/', '/child']]);
  });

  it('waits for each of several async steps in a row', async () => {
    const { bot, say, texts } = makeBot();
    const step = (text: string) => async (session: Session, _args: unknown, next: () => void) => {
      session.send(await Promise.resolve(text));
      next();
    };
    bot.dialog('/', [step('one'), step('two'), step('three'), (session) => session.send('done')]);
    await say('hi');
    expect(texts()).toEqual(['one', 'two', 'three', 'done']);
  });

  it('carries out what an async step asked for after starting a sendBatch it did not await', async () => {
    const { bot, say, texts } = makeBot({ store: slowStore() });
    bot.dialog('/', [
      async (session, _args, next) => {
        session.send(await Promise.resolve('one'));
        void session.sendBatch();
        next();
      },
      (session) => session.send('two'),
    ]);
    await say('hi');
    expect(texts()).toEqual(['one', 'two']);
  });

  it('carries out an operation recorded while a sendBatch save that was not awaited is running', async () => {
    const { bot, say, stored, texts } = makeBot({ store: slowStore() });
    bot.dialog('/', (session) => {
      session.send('one');
      void session.sendBatch();
      void Promise.resolve().then(() => session.beginDialog('/child'));
    });
    bot.dialog('/child', [
      async (session) => {
        for (let tick = 0; tick < 50; tick++) await Promise.resolve();
        session.send('child begins');
        session.beginDialog('/grandchild');
      },
    ]);
    bot.dialog('/grandchild', [() => undefined, () => undefined]);
    await say('hi');
    expect([texts(), (await stored())?.stack.map((d) => d.id)]).toEqual([
      ['one', 'child begins'],
      ['/', '/child', '/grandchild'],
    ]);
  });

  it('carries out an operation recorded while a sendBatch save that was not awaited is running, after an async step', async () => {
    const { bot, say, stored } = makeBot({ store: slowStore() });
    bot.dialog('/', async (session) => {
      session.send(await Promise.resolve('one'));
      void session.sendBatch();
      void (async () => {
        for (let tick = 0; tick < 5; tick++) await Promise.resolve();
        session.beginDialog('/child');
      })();
    });
    bot.dialog('/child', [() => undefined, () => undefined]);
    await say('hi');
    expect((await stored())?.stack.map((d) => d.id)).toEqual(['/', '/child']);
  });

  it('finishes a sendBatch save that was not awaited before the turn commits, after an async step', async () => {
    const { bot, say, stored, texts, errors } = makeBot<{ Name?: string }>({ store: slowStore() });
    bot.dialog('/', async (session) => {
      await Promise.resolve();
      session.entities.Name = 'first';
      session.send('one');
      void session.sendBatch();
      session.entities.Name = 'second';
      session.send('two');
    });
    const result = await say('hi');
    expect([texts(), (await stored())?.entities, result.session.turnCount, errors]).toEqual([
      ['one', 'two'],
      { Name: 'second' },
      1,
      [],
    ]);
  });
});

describe('interruptions', () => {
  /** A root waterfall that waits on its first step and reports how it was resumed; it has no reprompt. */
  function interrupted() {
    const h = makeBot();
    h.bot.dialog('/', [
      (session) => session.send('step 1'),
      (session, result: DialogResult) => session.send('step 2 got %s', result.resumed),
      () => undefined,
    ]);
    h.bot.dialog('/alert', (session) => session.endDialog('Alert!'));
    return h;
  }

  it('leaves an interrupted dialog without reprompt waiting where it was when the interruption ends', async () => {
    const { bot, say, stored, texts } = interrupted();
    await say('hi');
    await bot.beginDialog(address(), '/alert', undefined, { interrupt: true });
    await say('carry on');
    expect([texts(), (await stored())?.stack]).toEqual([
      ['step 1', 'Alert!', 'step 2 got completed'],
      [{ id: '/', data: {}, step: 1 }],
    ]);
  });

  it('keeps the interruption mark on a dialog that replaces the interrupting one', async () => {
    const { bot, say, stored, texts } = interrupted();
    bot.dialog('/replacer', (session) => session.replaceDialog('/alert'));
    await say('hi');
    await bot.beginDialog(address(), '/replacer', undefined, { interrupt: true });
    expect([texts(), (await stored())?.stack]).toEqual([['step 1', 'Alert!'], [{ id: '/', data: {}, step: 0 }]]);
  });

  it('does not resume the interrupted dialog when the interrupting one is canceled', async () => {
    const { bot, say, stored, texts } = interrupted();
    bot.dialog('/waiter', [(session) => session.send('waiting'), (session) => session.cancelDialog('/waiter')]);
    await say('hi');
    await bot.beginDialog(address(), '/waiter', undefined, { interrupt: true });
    await say('stop');
    expect([texts(), (await stored())?.stack]).toEqual([['step 1', 'waiting'], [{ id: '/', data: {}, step: 0 }]]);
  });

  it('keeps the interruption mark on the replacement of a canceled interrupting dialog', async () => {
    const { bot, say, stored, texts } = interrupted();
    bot.dialog('/waiter', [
      (session) => session.send('waiting'),
      (session) => session.cancelDialog('/waiter', '/alert'),
    ]);
    await say('hi');
    await bot.beginDialog(address(), '/waiter', undefined, { interrupt: true });
    await say('stop');
    expect([texts(), (await stored())?.stack]).toEqual([
      ['step 1', 'waiting', 'Alert!'],
      [{ id: '/', data: {}, step: 0 }],
    ]);
  });

  it('does not mark a dialog begun with interrupt on an empty stack', async () => {
    const { bot, say, stored } = makeBot();
    bot.dialog('/', [(session) => session.send('hello')]);
    bot.dialog('/w', [() => undefined, () => undefined]);
    await say('hi');
    await bot.beginDialog(address(), '/w', undefined, { interrupt: true });
    expect((await stored())?.stack).toEqual([{ id: '/w', data: {}, step: 0 }]);
  });
});

describe('without a trace function', () => {
  it('begins, replaces, ends and cancels dialogs and ends the conversation', async () => {
    const { bot, say, texts } = makeBot({ trace: undefined });
    bot.dialog('/', [
      (session) => session.beginDialog('/a'),
      (session) => session.beginDialog('/c'),
      (session) => session.endConversation('bye'),
    ]);
    bot.dialog('/a', [(session) => session.replaceDialog('/b')]);
    bot.dialog('/b', [(session) => session.endDialog('b ends')]);
    bot.dialog('/c', [() => undefined, (session) => session.cancelDialog('/c', '/d')]);
    bot.dialog('/d', [() => undefined, (session) => session.cancelDialog('/d')]);
    await say('hi');
    await say('cancel c');
    const result = await say('cancel d');
    expect([result.error, texts()]).toEqual([undefined, ['b ends', 'bye']]);
  });
});

describe('without a trace function, discard', () => {
  it('drops the current dialog, then the whole stack', async () => {
    const { bot, say, stored } = makeBot({ trace: undefined });
    bot.dialog('/', [
      (session) => session.beginDialog('/a'),
      () => undefined,
      (session) => session.discard({ all: true }),
    ]);
    bot.dialog('/a', [() => undefined, (session) => session.discard()]);
    await say('hi');
    await say('discard one');
    const after = (await stored())?.stack.map((d) => d.id);
    await say('wait');
    await say('discard all');
    expect([after, (await stored())?.stack]).toEqual([['/'], []]);
  });
});

describe('DialogRegistry', () => {
  it('tells whether an id is registered', () => {
    const registry = new DialogRegistry();
    registry.add('/a', new FunctionDialog(() => undefined));
    expect([registry.has('/a'), registry.has('/b')]).toEqual([true, false]);
  });
});

describe('discard', () => {
  function discarding(act: (session: Session) => void) {
    const h = makeBot();
    h.bot.dialog('/', [
      (session) => session.beginDialog('/a'),
      (session) => session.send('root resumed'),
      () => undefined,
    ]);
    h.bot.dialog('/a', [() => undefined, (session) => act(session)]);
    return h;
  }

  it('drops the current dialog without resuming its caller', async () => {
    const { say, stored, texts } = discarding((session) => session.discard());
    await say('hi');
    await say('discard');
    expect([texts(), (await stored())?.stack]).toEqual([[], [{ id: '/', data: {}, step: 0 }]]);
  });

  it('empties the stack with all: true', async () => {
    const { say, stored, texts } = discarding((session) => session.discard({ all: true }));
    await say('hi');
    await say('discard');
    expect([texts(), (await stored())?.stack]).toEqual([[], []]);
  });

  it('traces discard() and discard({ all: true })', async () => {
    const one = discarding((session) => session.discard());
    const all = discarding((session) => session.discard({ all: true }));
    for (const h of [one, all]) {
      await h.say('hi');
      await h.say('discard');
    }
    expect([
      one.trace.some((l) => l.includes('session.discard()')),
      all.trace.some((l) => l.includes('session.discard({ all: true })')),
    ]).toEqual([true, true]);
  });
});
