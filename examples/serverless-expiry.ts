// Proactive expiry with no long-lived process: one handler per webhook call, one per cron tick, each with a manager of
// its own over a shared store (Redis in production: `new RedisStore(...)` from palaver/redis; a MemoryStore here).
// The cron handler calls sweepExpired(): it ends what is due exactly once, runs onSessionEnd, and says the closeMessage.
// Run it: npx ts-node examples/serverless-expiry.ts
import {
  MemoryStore,
  SessionManager,
  type Address,
  type IncomingMessage,
  type OutgoingMessage,
  type SessionStore,
} from '../src';
import { runIfMain } from './lib/terminal';

/** What every invocation builds: the same bot, over the shared store, that leaves sessions in the store when it closes. */
export function createBot(store: SessionStore, deliver: (address: Address, messages: OutgoingMessage[]) => void) {
  const bot = new SessionManager({
    store,
    deliver,
    timeout: 15 * 60_000,
    closeMessage: 'Closing this chat after 15 quiet minutes. Write any time!',
    shutdown: 'persist',
    onSessionEnd: (session, reason) => console.log(`  [onSessionEnd] ${session.info.user.id}: ${reason}`),
  });
  bot.dialog('/', (session) => session.send('Got it: %s', session.message?.text ?? ''));
  return bot;
}

/** The webhook handler: one turn, its replies delivered before it returns, then the manager goes away. */
export async function handleWebhook(
  store: SessionStore,
  deliver: (address: Address, messages: OutgoingMessage[]) => void,
  message: IncomingMessage,
): Promise<void> {
  const bot = createBot(store, deliver);
  try {
    await bot.receive(message);
    await bot.flush(); // a frozen function would never run the batching timer
  } finally {
    await bot.close();
  }
}

/** The cron handler (e.g. every minute): ends the sessions that are due. Resolves to how many it ended. */
export async function handleCron(
  store: SessionStore,
  deliver: (address: Address, messages: OutgoingMessage[]) => void,
  now?: number,
): Promise<number> {
  const bot = createBot(store, deliver);
  try {
    return await bot.sweepExpired(now);
  } finally {
    await bot.close(); // delivers the close messages, then stops
  }
}

async function main(): Promise<void> {
  const store = new MemoryStore({ maxSessions: 100 });
  const deliver = (address: Address, messages: OutgoingMessage[]) =>
    messages.forEach((m) => console.log(`  bot> (to ${address.user.id}) ${m.text}`));
  const address: Address = { channelId: 'webhook', user: { id: 'lars' }, conversation: { id: 'c1' } };
  console.log('webhook: user> hi');
  await handleWebhook(store, deliver, { address, text: 'hi' });
  const start = Date.now();
  for (const minute of [5, 10, 16]) {
    // The script does not wait 16 minutes: it tells each cron tick what time it is.
    const ended = await handleCron(store, deliver, start + minute * 60_000);
    console.log(`cron at +${minute} min: ended ${ended}`);
  }
}

runIfMain(module, main);
