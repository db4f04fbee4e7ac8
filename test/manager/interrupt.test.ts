// Proactive dialogs: manager.beginDialog(address, id, args, { interrupt }) pushes a dialog in a turn of its own.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, Prompts, SessionManager } from '../../src';
import { createTestClient } from '../../src/testing';
import { deferred } from '../support/bot';

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

/** Asks for a name with a text prompt; '/reminder' asks a yes/no question and ends; '/alert' says something and ends. */
function reminderBot() {
  const bot = new SessionManager({
    deliver: () => undefined,
    autoBatchDelay: 0,
    store: new MemoryStore({ maxSessions: 10 }),
  });
  bot.dialog('/', [
    (session) => Prompts.text(session, "What's your name?"),
    (session, results) => session.endDialog('Hello %s!', results.response ?? ''),
  ]);
  bot.dialog('/reminder', [
    (session, args: { text: string }) => Prompts.confirm(session, `${args.text} Done?`),
    (session, results) => session.endDialog(results.response ? 'Great.' : 'I will ask again later.'),
  ]);
  bot.dialog('/alert', (session, args?: { text: string }) => session.endDialog(args?.text ?? 'Alert!'));
  bot.dialog('/counter', (session) => session.send('counted'));
  bot.dialog('/boom', () => {
    throw new Error('boom');
  });
  const client = createTestClient(bot, { advance });
  return { bot, client };
}

describe('manager.beginDialog with interrupt', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('asks the interrupting dialog’s question in the middle of another dialog', async () => {
    const { bot, client } = reminderBot();
    await client.say('hi');
    await client.replies();
    await bot.beginDialog(client.address, '/reminder', { text: 'Take your pill.' }, { interrupt: true });
    expect(await client.replies()).toEqual(['Take your pill. Done?']);
    await bot.close();
  });

  it('re-prompts the interrupted prompt once the interruption ends', async () => {
    const { bot, client } = reminderBot();
    await client.say('hi');
    await bot.beginDialog(client.address, '/reminder', { text: 'Take your pill.' }, { interrupt: true });
    await client.replies();
    await client.say('yes');
    expect(await client.replies()).toEqual(['Great.', "What's your name?"]);
    await bot.close();
  });

  it('lets the user carry on where they were after the interruption', async () => {
    const { bot, client } = reminderBot();
    await client.say('hi');
    await bot.beginDialog(client.address, '/reminder', { text: 'Take your pill.' }, { interrupt: true });
    await client.say('no');
    await client.replies();
    await client.say('Lars');
    expect(await client.replies()).toEqual(['Hello Lars!']);
    await bot.close();
  });

  it('re-prompts after an interruption that ends at once, in the same proactive turn', async () => {
    const { bot, client } = reminderBot();
    await client.say('hi');
    await client.replies();
    await bot.beginDialog(client.address, '/alert', { text: 'Your pizza is here.' }, { interrupt: true });
    expect(await client.replies()).toEqual(['Your pizza is here.', "What's your name?"]);
    await bot.close();
  });

  it('re-prompts when the interruption is cancelled', async () => {
    const { bot, client } = reminderBot();
    bot.dialog('/cancel-me', (session) => {
      if (session.message?.text === 'stop') session.cancelDialog('/cancel-me');
      else session.send('Say stop.');
    });
    await client.say('hi');
    await bot.beginDialog(client.address, '/cancel-me', undefined, { interrupt: true });
    await client.replies();
    await client.say('stop');
    expect(await client.replies()).toEqual(["What's your name?"]);
    await bot.close();
  });

  it('says nothing when the interrupted dialog cannot re-prompt, and hands it the next message', async () => {
    const { bot, client } = reminderBot();
    await bot.beginDialog(client.address, '/counter');
    await bot.beginDialog(client.address, '/alert', { text: 'Alert!' }, { interrupt: true });
    await client.replies();
    await client.say('tick');
    expect(await client.replies()).toEqual(['counted']);
    await bot.close();
  });

  it('waits for a turn in progress before it begins', async () => {
    const { bot, client } = reminderBot();
    const gate = deferred();
    const log: string[] = [];
    bot.dialog('/slow', async (session) => {
      if (session.message?.text !== 'go') return;
      await gate.promise;
      log.push('turn done');
      session.send('slow done');
    });
    await bot.beginDialog(client.address, '/slow');
    const turn = client.say('go');
    const interject = bot
      .beginDialog(client.address, '/alert', { text: 'ping' }, { interrupt: true })
      .then(() => log.push('interruption saved'));
    await vi.advanceTimersByTimeAsync(0);
    gate.resolve();
    await Promise.all([turn, interject]);
    expect(log).toEqual(['turn done', 'interruption saved']);
    await bot.close();
  });

  it('keeps the session and counts no user turn', async () => {
    const { bot, client } = reminderBot();
    const { session } = await client.say('hi');
    const info = await bot.beginDialog(client.address, '/alert', undefined, { interrupt: true });
    expect({ id: info.id, turnCount: info.turnCount }).toEqual({ id: session.id, turnCount: 1 });
    await bot.close();
  });
});

describe('manager.beginDialog without interrupt', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('replaces the dialog stack (v3): the interrupted prompt does not come back', async () => {
    const { bot, client } = reminderBot();
    await client.say('hi');
    await bot.beginDialog(client.address, '/reminder', { text: 'Take your pill.' });
    await client.replies();
    await client.say('yes');
    expect(await client.replies()).toEqual(['Great.']);
    await bot.close();
  });

  it('starts a bot-initiated session when the user has none', async () => {
    const { bot, client } = reminderBot();
    const info = await bot.beginDialog(client.address, '/reminder', { text: 'Take your pill.' });
    expect({
      interactive: info.interactive,
      starts: client.sessionStarts.length,
      said: await client.replies(),
    }).toEqual({
      interactive: false,
      starts: 1,
      said: ['Take your pill. Done?'],
    });
    await bot.close();
  });

  it('rejects an unknown dialog with DIALOG_NOT_FOUND', async () => {
    const { bot, client } = reminderBot();
    await expect(bot.beginDialog(client.address, '/nope')).rejects.toMatchObject({ code: 'DIALOG_NOT_FOUND' });
    await bot.close();
  });

  it('rejects a bad address with INVALID_ADDRESS', async () => {
    const { bot } = reminderBot();
    await expect(bot.beginDialog({ channelId: 'test' } as never, '/alert')).rejects.toMatchObject({
      code: 'INVALID_ADDRESS',
    });
    await bot.close();
  });

  it('rejects with DIALOG_FAILED when the dialog throws, and keeps the stack as it was', async () => {
    const { bot, client } = reminderBot();
    await client.say('hi');
    await client.replies();
    await expect(bot.beginDialog(client.address, '/boom', undefined, { interrupt: true })).rejects.toMatchObject({
      code: 'DIALOG_FAILED',
    });
    await client.say('Lars');
    expect(await client.replies()).toEqual(['Hello Lars!']);
    await bot.close();
  });

  it('rejects with CLOSED after close()', async () => {
    const { bot, client } = reminderBot();
    await bot.close();
    await expect(bot.beginDialog(client.address, '/alert')).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
