// The tutorial bot inside a Bot Framework (botbuilder v4) bot, through palaver/botbuilder. It runs offline on
// botbuilder's TestAdapter, prints the activities the bot sends, then sends a proactive message, and exits.
// Run it: npx ts-node examples/botbuilder.ts
//
// In production the same two lines go in a CloudAdapter bot:
//   const bf = new BotbuilderAdapter({ adapter, appId: process.env.MicrosoftAppId });
//   server.post('/api/messages', (req, res) => adapter.process(req, res, (context) => bf.run(context, manager)));
import { TestAdapter, TurnContext, type Activity, type ConversationReference } from 'botbuilder';
import { BotbuilderAdapter } from '../src/adapters/botbuilder';
import type { Address } from '../src';
import { createTutorialBot } from './session-callbacks';
import { runIfMain } from './lib/terminal';

/** TestAdapter with the proactive path a CloudAdapter has (TestAdapter itself rejects continueConversation). */
class OfflineAdapter extends TestAdapter {
  override async continueConversationAsync(_appId: unknown, reference: unknown, logic: unknown): Promise<void> {
    const activity = TurnContext.applyConversationReference(
      { type: 'event', name: 'ContinueConversation' },
      reference as Partial<ConversationReference>,
      true,
    );
    await this.runMiddleware(new TurnContext(this, activity), logic as (context: TurnContext) => Promise<void>);
  }
}

function print(activities: Partial<Activity>[]): void {
  for (const activity of activities.splice(0))
    console.log(`  bot> ${activity.type === 'message' ? activity.text : `(${activity.type})`}`);
}

async function main(): Promise<void> {
  let saved: Address | undefined;
  const adapter = new OfflineAdapter(async (context) => {
    const result = await bf.run(context, manager);
    saved ??= result === undefined ? undefined : context.activity && bf.toAddress(context.activity);
  });
  const bf = new BotbuilderAdapter({ adapter });
  const manager = createTutorialBot({ deliver: bf.deliver, autoBatchDelay: 0 });

  for (const text of ['hi', 'Lars', '555-555-5555', 'Seattle']) {
    console.log(`user> ${text}`);
    await adapter.processActivity(adapter.makeActivity(text));
    print(adapter.activeQueue);
  }
  // Later, outside any turn: palaver's address holds the conversation reference.
  console.log('(proactive, through continueConversationAsync)');
  await manager.send(saved!, 'Your pizza is on its way!');
  print(adapter.activeQueue);
  await manager.close();
}

runIfMain(module, main);
