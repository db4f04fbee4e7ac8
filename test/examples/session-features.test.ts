// Drives the session-feature examples (still-there, typed-entities, reminder, serverless-expiry) with the test client,
// then runs each script as a user would, with ts-node.
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createReminderBot, describeSummary } from '../../examples/reminder';
import { handleCron, handleWebhook } from '../../examples/serverless-expiry';
import { createStillThereBot, MINUTES } from '../../examples/still-there';
import { createBotV1, createBotV2 } from '../../examples/typed-entities';
import { MemoryStore, type Address, type OutgoingMessage, type SessionSummary } from '../../src';
import { createTestClient } from '../../src/testing';

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);
const store = () => new MemoryStore({ maxSessions: 10 });

describe('examples/still-there.ts', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('nudges once during small talk, then closes with the close message', async () => {
    const bot = createStillThereBot(MINUTES, { deliver: () => undefined, store: store() });
    const client = createTestClient(bot, { advance });
    await client.say('hello');
    await client.replies();
    await client.idle('2m');
    const nudged = await client.replies();
    await client.idle('8m');
    expect([nudged, await client.replies(), client.sessionEnds.map((end) => end.reason)]).toEqual([
      ['Are you still there?'],
      ['I will close our chat now. Write any time to start again!'],
      ['timeout'],
    ]);
    await bot.close();
  });

  it('waits longer while the user pays, with its own two nudges', async () => {
    const bot = createStillThereBot(MINUTES, { deliver: () => undefined, store: store() });
    const client = createTestClient(bot, { advance });
    await client.say('pay');
    await client.replies();
    const heard: (string | undefined)[][] = [];
    for (const wait of ['10m', '10m', '9m', '1m']) {
      await client.idle(wait);
      heard.push(await client.replies());
    }
    expect(heard).toEqual([
      ['Take your time: I am holding your order.'],
      ['Still holding your order...'],
      [],
      ['I will close our chat now. Write any time to start again!'],
    ]);
    await bot.close();
  });

  it('takes the payment when the user comes back after a nudge', async () => {
    const bot = createStillThereBot(MINUTES, { deliver: () => undefined, store: store() });
    const client = createTestClient(bot, { advance });
    await client.say('pay');
    await client.idle('12m');
    await client.replies();
    await client.say('4111111111111111');
    expect(await client.replies()).toEqual(['Thanks! Card ending 1111 charged.']);
    await bot.close();
  });
});

describe('examples/typed-entities.ts', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps the name, consent and coupon across a session end and clears the cart', async () => {
    const bot = createBotV1({ deliver: () => undefined, store: store() });
    const client = createTestClient(bot, { advance });
    for (const text of ['my name is Lars Nilsson', 'add pizza', 'agree', 'coupon', 'bye']) await client.say(text);
    await client.replies();
    await client.say('hello');
    expect(await client.replies()).toEqual(['v1 knows: name=Lars Nilsson cart=- consent=true coupon=SAVE10']);
    await bot.close();
  });

  it('keeps only the consent through a reset', async () => {
    const bot = createBotV1({ deliver: () => undefined, store: store() });
    const client = createTestClient(bot, { advance });
    for (const text of ['my name is Lars', 'agree', 'coupon', 'reset']) await client.say(text);
    await client.replies();
    await client.say('hello');
    expect(await client.replies()).toEqual(['v1 knows: name=? cart=- consent=true coupon=-']);
    await bot.close();
  });

  it('upgrades the stored name when version 2 takes over the store', async () => {
    const shared = store();
    const v1 = createBotV1({ deliver: () => undefined, store: shared, shutdown: 'persist' });
    await createTestClient(v1, { advance }).say('my name is Lars Nilsson');
    await v1.close();
    const v2 = createBotV2({ deliver: () => undefined, store: shared });
    const client = createTestClient(v2, { advance });
    await client.say('hi');
    expect(await client.replies()).toEqual(['v2 knows: first=Lars last=Nilsson cart=- consent=false']);
    await v2.close();
  });
});

describe('examples/reminder.ts', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('interrupts the booking with the reminder, then asks the booking question again', async () => {
    const bot = createReminderBot({ deliver: () => undefined, store: store() });
    const client = createTestClient(bot, { advance });
    await client.say('book a table');
    await bot.beginDialog(client.address, '/reminder', { text: 'Time for your pill.' }, { interrupt: true });
    await client.say('yes');
    await client.say('4');
    await client.say('Saturday');
    expect(await client.replies()).toEqual([
      'For how many people?',
      'Time for your pill. Did you take it?',
      'Well done!',
      'For how many people?',
      'Which evening?',
      'Booked for 4 on Saturday.',
    ]);
    await bot.close();
  });

  it('reports the booking session in one analytics line', async () => {
    const bot = createReminderBot({ deliver: () => undefined, store: store() });
    const client = createTestClient(bot, { advance });
    for (const text of ['book a table', '2']) await client.say(text);
    await client.idle('30s');
    await client.say('Friday');
    expect(client.sessionEnds.map((end) => describeSummary(end.summary as SessionSummary))).toEqual([
      'session endSession after 30s: 3 turns, 3 from the user, 3 from the bot, last dialog /',
    ]);
    await bot.close();
  });
});

describe('examples/serverless-expiry.ts', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.spyOn(console, 'log').mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.useRealTimers();
  });

  it('answers in the webhook invocation and closes the session from the cron invocation once it is due', async () => {
    const shared = store();
    const said: string[] = [];
    const deliver = (_to: Address, messages: OutgoingMessage[]) => void said.push(...messages.map((m) => m.text ?? ''));
    await handleWebhook(shared, deliver, {
      address: { channelId: 'webhook', user: { id: 'lars' }, conversation: { id: 'c1' } },
      text: 'hi',
    });
    const start = Date.now();
    const ended = [
      await handleCron(shared, deliver, start + 10 * 60_000),
      await handleCron(shared, deliver, start + 16 * 60_000),
    ];
    expect({ ended, said }).toEqual({
      ended: [0, 1],
      said: ['Got it: hi', 'Closing this chat after 15 quiet minutes. Write any time!'],
    });
  });
});

const root = resolve(__dirname, '../..');

function run(example: string): Promise<{ code: number | null; stdout: string }> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['-r', 'ts-node/register', example], {
      cwd: root,
      env: { ...process.env, TS_NODE_TRANSPILE_ONLY: 'true' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code) => done({ code, stdout }));
  });
}

describe.concurrent('the session-feature scripts', { timeout: 60_000 }, () => {
  it('examples/still-there.ts nudges, nudges twice while paying, then closes', async () => {
    const { code, stdout } = await run('examples/still-there.ts');
    expect({
      code,
      bot: stdout
        .split('\n')
        .filter((line) => line.includes('bot>'))
        .map((line) => line.replace(/^.*bot> /, '')),
    }).toEqual({
      code: 0,
      bot: [
        'Hi! Say "pay" to settle your order.',
        'Are you still there?',
        'What is your card number?',
        'Take your time: I am holding your order.',
        'Still holding your order...',
        'I will close our chat now. Write any time to start again!',
      ],
    });
  });

  it('examples/typed-entities.ts migrates the stored name on the deploy', async () => {
    const { code, stdout } = await run('examples/typed-entities.ts');
    expect({ code, last: stdout.trim().split('\n').at(-1) }).toEqual({
      code: 0,
      last: '  bot> v2 knows: first=Lars last=Nilsson cart=- consent=true',
    });
  });

  it('examples/reminder.ts resumes the booking after the reminder and prints its analytics', async () => {
    const { code, stdout } = await run('examples/reminder.ts');
    expect({ code, stdout }).toEqual({
      code: 0,
      stdout: expect.stringMatching(
        /bot> Well done!\n {2}bot> For how many people\?\n[\s\S]*\[analytics\] session endSession after [\d.]+s: 4 turns, 4 from the user, 6 from the bot/,
      ),
    });
  });

  it('examples/serverless-expiry.ts ends the session on the cron tick after the timeout', async () => {
    const { code, stdout } = await run('examples/serverless-expiry.ts');
    expect({ code, cron: stdout.split('\n').filter((line) => line.startsWith('cron')) }).toEqual({
      code: 0,
      cron: ['cron at +5 min: ended 0', 'cron at +10 min: ended 0', 'cron at +16 min: ended 1'],
    });
  });
});
