// Drives the Conversation Learner "session callbacks" tutorial bot (examples/session-callbacks.ts) through the tutorial.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createTutorialBot, type TutorialEntities } from '../../examples/session-callbacks';
import { MemoryStore, type Address, type EndReason, type OutgoingMessage } from '../../src';

const address: Address = { channelId: 'console', user: { id: 'lars' }, conversation: { id: 'tutorial' } };
const TIMEOUT = 30 * 60_000;

function tutorial() {
  const said: string[] = [];
  const ends: { reason: EndReason; entities: TutorialEntities; kept: string[] }[] = [];
  const bot = createTutorialBot({
    deliver: (_to, messages: OutgoingMessage[]) => {
      for (const message of messages) if (message.text) said.push(message.text);
    },
    autoBatchDelay: 0,
    store: new MemoryStore({ maxSessions: 10 }),
  });
  bot.on(
    'sessionEnd',
    ({ reason, entities, kept }) => void ends.push({ reason, entities: entities as TutorialEntities, kept }),
  );
  /** Sends `text` and returns what the bot answered to it. */
  const say = async (text: string) => {
    const before = said.length;
    await bot.receive({ address, text });
    return said.slice(before);
  };
  return { bot, say, ends };
}

describe('the Conversation Learner session callbacks tutorial', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('introduces the bot by the name onSessionStart sets', async () => {
    const { bot, say } = tutorial();
    expect(await say('hi')).toEqual(["Hi, I'm Botty. What's your name?"]);
    await bot.close();
  });

  it('asks for the name, the phone and the location, then ends the session', async () => {
    const { bot, say, ends } = tutorial();
    expect(await say('hi')).toEqual(["Hi, I'm Botty. What's your name?"]);
    expect(await say('Lars')).toEqual(['Hi Lars. What is your phone number?']);
    expect(await say('555-555-5555')).toEqual(['Can you tell Botty your location, Lars?']);
    expect(await say('Seattle')).toEqual(['So, Lars, you are in Seattle', 'Done']);
    expect(ends.map((end) => end.reason)).toEqual(['endSession']);
    await bot.close();
  });

  it('keeps the name and phone and clears the location after END_SESSION', async () => {
    const { bot, say, ends } = tutorial();
    for (const text of ['hi', 'Lars', '555-555-5555', 'Seattle']) await say(text);
    expect(ends).toEqual([
      {
        reason: 'endSession',
        entities: { BotName: 'Botty', UserName: 'Lars', UserPhone: '555-555-5555', UserLocation: 'Seattle' },
        kept: ['UserName', 'UserPhone'],
      },
    ]);
    // The next session knows the user and asks only for the location again.
    expect(await say('hello')).toEqual(['Can you tell Botty your location, Lars?']);
    expect(await say('Detroit')).toEqual(['So, Lars, you are in Detroit', 'Done']);
    await bot.close();
  });

  it('keeps the name and phone after a timeout', async () => {
    const { bot, say, ends } = tutorial();
    for (const text of ['hi', 'Lars', '555-555-5555']) await say(text);
    await vi.advanceTimersByTimeAsync(TIMEOUT);
    expect(ends).toEqual([
      {
        reason: 'timeout',
        entities: { BotName: 'Botty', UserName: 'Lars', UserPhone: '555-555-5555' },
        kept: ['UserName', 'UserPhone'],
      },
    ]);
    expect(await say('hello')).toEqual(['Can you tell Botty your location, Lars?']);
    await bot.close();
  });

  it('clears the location after a timeout', async () => {
    const { bot, say, ends } = tutorial();
    for (const text of ['hi', 'Lars', '555-555-5555', 'Seattle']) await say(text);
    // A bot-initiated session in which the location is known again, then the user goes quiet.
    bot.dialog('/test:located', (session) => {
      session.entities.UserLocation = 'Detroit';
      session.endDialog();
    });
    await bot.startSession(address, { dialogId: '/test:located' });
    await vi.advanceTimersByTimeAsync(TIMEOUT);
    expect(ends[1]).toEqual({
      reason: 'timeout',
      entities: { BotName: 'Botty', UserName: 'Lars', UserPhone: '555-555-5555', UserLocation: 'Detroit' },
      kept: ['UserName', 'UserPhone'],
    });
    expect(await say('hello')).toEqual(['Can you tell Botty your location, Lars?']);
    await bot.close();
  });

  it('runs the tutorial’s test script: hi, Lars, phone, Seattle, hello, Detroit, then a session timeout', async () => {
    const { bot, say, ends } = tutorial();
    const transcript: string[] = [];
    for (const text of ['hi', 'Lars', '555-555-5555', 'Seattle', 'hello', 'Detroit'])
      transcript.push(...(await say(text)));
    await vi.advanceTimersByTimeAsync(TIMEOUT);
    transcript.push(...(await say('hi')));
    expect(transcript).toEqual([
      "Hi, I'm Botty. What's your name?",
      'Hi Lars. What is your phone number?',
      'Can you tell Botty your location, Lars?',
      'So, Lars, you are in Seattle',
      'Done',
      'Can you tell Botty your location, Lars?',
      'So, Lars, you are in Detroit',
      'Done',
      'Can you tell Botty your location, Lars?',
    ]);
    expect(ends.map((end) => end.reason)).toEqual(['endSession', 'endSession']);
    await bot.close();
  });
});
