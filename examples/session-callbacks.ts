// The Conversation Learner "session callbacks" tutorial, as a palaver bot.
// onSessionStart sets the bot's name; onSessionEnd keeps the user's name and phone and drops the location.
// Run it: npm run example  (a scripted conversation, then a real inactivity timeout, then it exits)
import { SessionManager, type Address, type OutgoingMessage, type SessionManagerOptions } from '../src';
import { runIfMain } from './lib/terminal';

export type TutorialEntities = {
  BotName?: string;
  UserName?: string;
  UserPhone?: string;
  UserLocation?: string;
};

type Asked = 'UserName' | 'UserPhone' | 'UserLocation';

/** Builds the tutorial bot; `options` lets a test or a script pick the timeout and the delivery. */
export function createTutorialBot(
  options: Partial<SessionManagerOptions<TutorialEntities>> & Pick<SessionManagerOptions, 'deliver'>,
) {
  const bot = new SessionManager<TutorialEntities, {}, {}, { asked?: Asked }>({
    onSessionStart: (session) => {
      session.entities.BotName = 'Botty';
    },
    // Keep the user's name and phone into the next session; the location is cleared.
    onSessionEnd: () => ['UserName', 'UserPhone'],
    ...options,
  });

  bot.dialog('/', (session) => {
    const entities = session.entities;
    const asked = session.privateConversationData.asked;
    const text = session.message?.text?.trim();
    if (asked !== undefined && text) entities[asked] = text;

    const ask = (entity: Asked, question: string, ...args: unknown[]) => {
      session.privateConversationData.asked = entity;
      session.send(question, ...args);
    };
    if (!entities.UserName) return ask('UserName', "Hi, I'm %s. What's your name?", entities.BotName);
    if (!entities.UserPhone) return ask('UserPhone', 'Hi %s. What is your phone number?', entities.UserName);
    if (!entities.UserLocation)
      return ask('UserLocation', 'Can you tell %s your location, %s?', entities.BotName, entities.UserName);
    // "So, $UserName, you are in $UserLocation" does not wait for a response: the END_SESSION action follows.
    session.send('So, %s, you are in %s', entities.UserName, entities.UserLocation);
    session.send('Done');
    session.privateConversationData.asked = undefined;
    session.endSession();
  });
  return bot;
}

async function main(): Promise<void> {
  const address: Address = { channelId: 'console', user: { id: 'lars' }, conversation: { id: 'tutorial' } };
  const print = (messages: OutgoingMessage[]) => {
    for (const message of messages) if (message.text) console.log(`  bot> ${message.text}`);
  };
  const timeout = 1500;
  const bot = createTutorialBot({ deliver: (_address, messages) => print(messages), timeout, autoBatchDelay: 0 });
  bot.on('sessionStart', ({ session }) => console.log(`  [sessionStart ${session.id}] entities: BotName`));
  bot.on('sessionEnd', ({ session, reason, kept }) =>
    console.log(`  [sessionEnd ${session.id}] reason: ${reason}; kept: ${kept.join(', ') || 'nothing'}`),
  );

  const say = async (text: string) => {
    console.log(`user> ${text}`);
    const { session } = await bot.receive({ address, text });
    return session;
  };

  for (const text of ['hi', 'Lars', '555-555-5555', 'Seattle']) await say(text);
  // The session ended on "Done": name and phone were kept, the location was cleared.
  for (const text of ['hello', 'Detroit']) await say(text);
  const session = await say('hi again');
  console.log(`  (session ${session.id}, turn ${session.turnCount}; the user is now idle for ${timeout} ms...)`);
  // palaver's one timer is unref'ed (it never keeps a process alive), so this script holds the process open itself.
  const keepAlive = setInterval(() => undefined, 1000);
  await new Promise<void>((resolve) => bot.once('sessionEnd', () => resolve()));
  clearInterval(keepAlive);
  await say('hello');
  await bot.close();
}

runIfMain(module, main);
