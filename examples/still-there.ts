// "Are you still there?": idle nudges before the close, with a longer wait while the user is paying.
// Small talk nudges once after `after`; the payment dialog waits longer and nudges twice; then closeMessage, then the close.
// Run it: npx ts-node examples/still-there.ts  (a short scripted chat, then the user goes quiet; it exits after the close)
import { Prompts, SessionManager, type Address, type SessionManagerOptions } from '../src';
import { runIfMain } from './lib/terminal';

/** Idle times of the bot, in ms: the test uses minutes, the script below tenths of a second. */
export interface IdleTimes {
  nudgeAfter: number;
  timeout: number;
  paymentNudgeAfter: number;
  paymentTimeout: number;
}

export const MINUTES: IdleTimes = {
  nudgeAfter: 2 * 60_000,
  timeout: 10 * 60_000,
  paymentNudgeAfter: 10 * 60_000,
  paymentTimeout: 30 * 60_000,
};

export function createStillThereBot(
  times: IdleTimes,
  options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>,
) {
  const bot = new SessionManager({
    timeout: times.timeout,
    nudge: { after: times.nudgeAfter, message: 'Are you still there?' },
    closeMessage: 'I will close our chat now. Write any time to start again!',
    ...options,
  });

  bot.dialog('/', (session, resumed) => {
    if (resumed !== undefined) return; // back from /pay, which said goodbye itself
    const text = session.message?.text?.toLowerCase() ?? '';
    if (text.includes('pay')) return void session.beginDialog('/pay');
    session.send('Hi! Say "pay" to settle your order.');
  });

  // Paying takes longer: fetching a card is slow. The dialog's own idle options apply while it (or its prompt) is on top.
  bot.dialog(
    '/pay',
    [
      (session) => Prompts.number(session, 'What is your card number?'),
      (session, results) => session.endDialog('Thanks! Card ending %s charged.', String(results.response).slice(-4)),
    ],
    {
      timeout: times.paymentTimeout,
      nudge: {
        after: times.paymentNudgeAfter,
        every: times.paymentNudgeAfter,
        max: 2,
        message: (_session, count) =>
          count === 1 ? 'Take your time: I am holding your order.' : 'Still holding your order...',
      },
    },
  );
  return bot;
}

async function main(): Promise<void> {
  const address: Address = { channelId: 'console', user: { id: 'lars' }, conversation: { id: 'shop' } };
  const started = Date.now();
  const at = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const bot = createStillThereBot(
    { nudgeAfter: 200, timeout: 1000, paymentNudgeAfter: 400, paymentTimeout: 1500 },
    {
      deliver: (_to, messages) => messages.forEach((m) => m.text && console.log(`  [${at()}] bot> ${m.text}`)),
      autoBatchDelay: 0,
    },
  );
  const say = async (text: string) => {
    console.log(`  [${at()}] user> ${text}`);
    await bot.receive({ address, text });
  };
  // palaver's timer is unref'ed (it never keeps a process alive): the script holds the process open until the close.
  const keepAlive = setInterval(() => undefined, 1000);
  const closed = new Promise<void>((resolve) => bot.once('sessionEnd', () => resolve()));
  await say('hello');
  await new Promise((resolve) => setTimeout(resolve, 300)); // one small-talk nudge at 0.2 s
  await say('pay');
  await closed; // payment nudges at 0.4 s and 0.8 s after "pay", the close at 1.5 s
  clearInterval(keepAlive);
  await bot.close();
}

runIfMain(module, main);
