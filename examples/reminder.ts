// A proactive reminder that interrupts a conversation and then lets the user carry on where they were, plus the
// analytics every session end carries (a summary) and manager.stats().
// Run it: npx ts-node examples/reminder.ts
import {
  Prompts,
  ResumeReason,
  SessionManager,
  type Address,
  type SessionManagerOptions,
  type SessionSummary,
} from '../src';
import { runIfMain } from './lib/terminal';

export function createReminderBot(options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>) {
  const bot = new SessionManager(options);

  // The user books a table: two questions in a waterfall.
  // Each step returns its prompt, so the next step's `results` carries the answer's type.
  bot.dialog('/', [
    (session) => Prompts.text(session, 'For how many people?'),
    (session, results) => {
      session.dialogData.people = results.response ?? '';
      return Prompts.choice(session, 'Which evening?', ['Friday', 'Saturday']);
    },
    (session, results) => {
      if (results.resumed !== ResumeReason.completed) return session.endDialog('No booking then.');
      // results.response.entity is 'Friday' | 'Saturday'.
      session.send('Booked for %s on %s.', String(session.dialogData.people), results.response.entity);
      session.endSession();
    },
  ]);

  // The reminder asks its own question; when it ends, the interrupted prompt asks again.
  bot.dialog('/reminder', [
    (session, args: { text: string }) => Prompts.confirm(session, `${args.text} Did you take it?`),
    (session, results) => session.endDialog(results.response ? 'Well done!' : 'I will remind you again in an hour.'),
  ]);
  return bot;
}

/** One line of analytics per session. */
export function describeSummary(summary: SessionSummary): string {
  return (
    `session ${summary.reason} after ${summary.durationMs / 1000}s: ${summary.turns} turns, ` +
    `${summary.userMessages} from the user, ${summary.botMessages} from the bot, last dialog ${summary.lastDialog?.name ?? '-'}`
  );
}

async function main(): Promise<void> {
  const address: Address = { channelId: 'console', user: { id: 'lars' }, conversation: { id: 'booking' } };
  const bot = createReminderBot({
    deliver: (_to, messages) => messages.forEach((m) => console.log(`  bot> ${m.text}`)),
    autoBatchDelay: 0,
  });
  bot.on('sessionEnd', ({ summary }) => console.log(`  [analytics] ${describeSummary(summary)}`));
  const say = async (text: string) => {
    console.log(`user> ${text}`);
    await bot.receive({ address, text });
  };
  await say('book a table');
  console.log('(a timer fires: the medication reminder interrupts)');
  await bot.beginDialog(address, '/reminder', { text: 'Time for your pill.' }, { interrupt: true });
  await say('yes');
  await say('4');
  await say('Saturday');
  const { turns, endsByReason, liveSessions } = bot.stats();
  console.log(`  [stats] ${turns} turns, ${liveSessions} live sessions, ends: ${JSON.stringify(endsByReason)}`);
  await bot.close();
}

runIfMain(module, main);
