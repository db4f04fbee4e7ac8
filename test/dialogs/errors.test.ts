import { describe, expect, it } from 'vitest';
import { Prompts } from '../../src';
import { makeBot, slowStore } from '../support/bot';

const OOPS = 'Oops. Something went wrong and we need to start over.';

/** A root that asks a question, then throws on "fail" (and answers otherwise). */
function fragileBot(options: Parameters<typeof makeBot>[0] = {}) {
  const h = makeBot<{ Name?: string }, { seen?: string[] }, {}, { draft?: string }>(options);
  h.bot.dialog('/', [
    (session) => Prompts.text(session, 'Say something'),
    (session, results) => {
      const text = results.response ?? '';
      session.privateConversationData.draft = text;
      session.send('about to look at "%s"', text);
      if (text === 'fail') throw new Error('step exploded');
      session.send('fine');
    },
  ]);
  return h;
}

describe('a dialog that throws', () => {
  it('emits an error event with code DIALOG_FAILED and the thrown error as cause', async () => {
    const { say, errors } = fragileBot();
    await say('hi');
    await say('fail');
    expect(errors).toEqual([
      expect.objectContaining({ code: 'DIALOG_FAILED', cause: expect.objectContaining({ message: 'step exploded' }) }),
    ]);
  });

  it('tells the user the error message and drops the replies of the failed turn', async () => {
    const { say, texts } = fragileBot();
    await say('hi');
    await say('fail');
    expect(texts()).toEqual(['Say something', OOPS]);
  });

  it('says the configured dialogErrorMessage', async () => {
    const { say, texts } = fragileBot({ dialogErrorMessage: 'Sorry, something went wrong.' });
    await say('hi');
    await say('fail');
    expect(texts()).toEqual(['Say something', 'Sorry, something went wrong.']);
  });

  it('says nothing with dialogErrorMessage null', async () => {
    const { say, texts } = fragileBot({ dialogErrorMessage: null });
    await say('hi');
    await say('fail');
    expect(texts()).toEqual(['Say something']);
  });

  it('ends the conversation: empty stack, no privateConversationData', async () => {
    const { say, stored } = fragileBot();
    await say('hi');
    await say('fail');
    const state = await stored();
    expect([state?.stack, state?.privateConversationData]).toEqual([[], {}]);
  });

  it('lets the next message begin the root dialog and work', async () => {
    const { say, texts } = fragileBot();
    await say('hi');
    await say('fail');
    await say('hello again');
    await say('ok');
    expect(texts()).toEqual(['Say something', OOPS, 'Say something', 'about to look at "ok"', 'fine']);
  });

  it('returns the error in the TurnResult', async () => {
    const { say } = fragileBot();
    await say('hi');
    expect((await say('fail')).error).toMatchObject({ code: 'DIALOG_FAILED' });
  });

  it('handles a rejected async step the same way', async () => {
    const { bot, say, texts, errors } = makeBot();
    bot.dialog('/', async () => {
      await Promise.resolve();
      throw new Error('async failure');
    });
    await say('hi');
    expect([texts(), errors.map((e) => e.code)]).toEqual([[OOPS], ['DIALOG_FAILED']]);
  });

  it('keeps the code of a PalaverError thrown by an operation', async () => {
    const { bot, say, errors } = makeBot();
    bot.dialog('/', (session) => session.beginDialog('/missing'));
    await say('hi');
    expect(errors.map((e) => e.code)).toEqual(['DIALOG_NOT_FOUND']);
  });

  it('keeps the state that earlier turns saved', async () => {
    const { bot, say, stored } = makeBot<{ Name?: string }, { visits?: number }>();
    bot.dialog('/', (session) => {
      session.userData.visits = (session.userData.visits ?? 0) + 1;
      session.entities.Name = session.message?.text;
      if (session.message?.text === 'fail') throw new Error('boom');
    });
    await say('Lars');
    await say('fail');
    const entities = (await stored())?.entities;
    let visits: number | undefined;
    // A second manager on the same store reads the saved userData back.
    const check = makeBot<{}, { visits?: number }>({ store: bot.store });
    check.bot.dialog('/', (session) => void (visits = session.userData.visits));
    await check.say('peek');
    expect([entities, visits]).toEqual([{ Name: 'Lars' }, 1]);
  });

  it('keeps what a sendBatch of the failed turn saved, and drops what came after it', async () => {
    const { bot, say, stored, texts } = makeBot<{ Before?: string; After?: string }>();
    bot.dialog('/', async (session) => {
      session.entities.Before = 'saved';
      session.send('sent before the failure');
      await session.sendBatch();
      session.entities.After = 'lost';
      session.send('never sent');
      throw new Error('boom');
    });
    const result = await say('hi');
    expect([texts(), (await stored())?.entities, result.session.turnCount]).toEqual([
      ['sent before the failure', OOPS],
      { Before: 'saved' },
      1,
    ]);
  });

  it('waits for a sendBatch save that was not awaited before rolling back to it', async () => {
    const { bot, say, stored, texts } = makeBot<{ Before?: string; After?: string }>({ store: slowStore() });
    bot.dialog('/', (session) => {
      session.entities.Before = 'saved';
      session.send('sent before the failure');
      void session.sendBatch();
      session.entities.After = 'lost';
      throw new Error('boom');
    });
    const result = await say('hi');
    expect([texts(), (await stored())?.entities, result.session.turnCount]).toEqual([
      ['sent before the failure', OOPS],
      { Before: 'saved' },
      1,
    ]);
  });

  it('fails the turn with DIALOG_FAILED when an async reply rejects', async () => {
    const { bot, say, errors } = makeBot();
    bot.dialog('/', async (session) => {
      await Promise.resolve();
      if (session.message?.text === 'fail') throw new Error('reply exploded');
    });
    await say('hi');
    const result = await say('fail');
    expect([result.error?.code, errors]).toEqual([
      'DIALOG_FAILED',
      [
        expect.objectContaining({
          code: 'DIALOG_FAILED',
          cause: expect.objectContaining({ message: 'reply exploded' }),
        }),
      ],
    ]);
  });
});
