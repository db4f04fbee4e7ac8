import { describe, expect, it } from 'vitest';
import { Prompts, ResumeReason, type DialogResult, type Session } from '../../src';
import { makeBot } from '../harness';

describe('beginDialog and endDialog', () => {
  it('returns the child result to the caller next step', async () => {
    const { bot, say } = makeBot();
    let got: DialogResult | undefined;
    bot.dialog('/', [(session) => session.beginDialog('/child'), (_session, result) => void (got = result)]);
    bot.dialog('/child', [(session) => session.endDialogWithResult({ response: { name: 'joe smith', age: 37 } })]);
    await say('hi');
    expect(got).toEqual({ resumed: ResumeReason.completed, response: { name: 'joe smith', age: 37 }, childId: '/child' });
  });

  it('sends the message of endDialog and resumes the caller with completed', async () => {
    const { bot, say, texts } = makeBot();
    bot.dialog('/', [(session) => session.beginDialog('/child'), (session, result: DialogResult) => session.send('resumed: %s', result.resumed)]);
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
    bot.dialog('/', [(session) => session.beginDialog('/first'), (session, result: DialogResult) => session.send('root got %s', result.response)]);
    bot.dialog('/first', [(session) => Prompts.text(session, 'first?'), (session) => session.replaceDialog('/second', { from: 'first' })]);
    bot.dialog('/second', [
      (session, args: { from: string }) => {
        session.dialogData.from = args.from;
        Prompts.text(session, 'second?');
      },
      (session, result: DialogResult) => session.endDialogWithResult({ response: `${result.response} via ${session.dialogData.from}` }),
    ]);
    await say('hi');
    await say('one');
    const during = (await stored())?.stack.map((d) => d.id);
    await say('two');
    expect([texts(), during]).toEqual([['first?', 'second?', 'root got two via first'], ['/', '/second', 'palaver:prompt:text']]);
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
    expect([(await stored())?.stack.map((d) => d.id), resumed]).toEqual([['/'], [{ resumed: ResumeReason.notCompleted, childId: '/a' }]]);
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
    expect([before?.stack.length, before?.privateConversationData, after?.stack, after?.privateConversationData, after?.entities]).toEqual([
      3,
      { p: 1 },
      [],
      {},
      { Name: 'Lars' },
    ]);
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
    bot.dialog('/child', [(session) => void seen.push([session.info.currentDialogState?.id, session.info.previousDialogState?.id]), () => undefined]);
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

  it('is undefined once the stack is empty, the previous one kept', async () => {
    const { bot, say } = makeBot();
    bot.dialog('/', (session) => session.endDialog());
    const result = await say('hi');
    expect([result.session.currentDialogState, result.session.previousDialogState]).toEqual([undefined, { name: '/', id: '/', type: 'function' }]);
  });
});
