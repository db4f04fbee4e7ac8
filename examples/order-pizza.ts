// BotBuilder v3 "Using Session in Callbacks", the long task: the order goes to a kitchen with the user's address
// (plain JSON, safe to keep), and when the pizza is ready the bot sends a proactive message with manager.send(),
// outside any turn, through the same ordered outbox as the replies. "help" works anywhere (and the question comes back),
// and "cancel" asks first, then drops the order.
// Run it: npx ts-node examples/order-pizza.ts
import {
  Message,
  Prompts,
  ResumeReason,
  SessionManager,
  type Address,
  type OutgoingMessage,
  type SessionManagerOptions,
} from '../src';
import { consoleAddress, printReplies, runIfMain, say } from './lib/terminal';

/** An order. */
export interface Order {
  pizza: string;
}

/** A kitchen that takes a while: it calls its `orderReady` listeners `prepTime` ms after an order starts. */
export class Kitchen {
  private readonly listeners: ((address: Address, order: Order) => void)[] = [];

  constructor(readonly prepTime = 2000) {}

  /** Starts an order; only the address is kept, never the session. */
  startOrder(job: { address: Address; order: Order }): void {
    setTimeout(() => {
      for (const listener of this.listeners) listener(job.address, job.order);
    }, this.prepTime);
  }

  /** Calls `listener` when an order is ready. */
  orderReady(listener: (address: Address, order: Order) => void): void {
    this.listeners.push(listener);
  }
}

/** Builds the orderPizza bot over `kitchen`. */
export function createPizzaBot(
  options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>,
  kitchen: Kitchen = new Kitchen(),
) {
  const bot = new SessionManager(options);

  bot.dialog(
    '/',
    [
      (session) => Prompts.choice(session, 'Which pizza would you like?', ['margherita', 'pepperoni', 'hawaiian']),
      (session, results) => {
        // The step above returned its prompt: results.response is a FoundChoice<'margherita' | 'pepperoni' | 'hawaiian'>.
        if (results.resumed !== ResumeReason.completed) return session.endDialog('No pizza then.');
        const order: Order = { pizza: results.response.entity };
        session.beginDialog('orderPizza', { order });
      },
    ],
    // While the order is open: "cancel" asks first; "no" goes back to the question.
    {
      actions: {
        cancelOrder: { matches: /^cancel$/i, cancel: 'Order canceled.', confirmPrompt: 'Cancel your order?' },
      },
    },
  );
  // From anywhere: "help" answers on top of whatever runs, then the question it interrupted is asked again.
  bot.dialog('/help', (session) => session.endDialog('Pick a pizza from the list, or say "cancel" to stop.'), {
    triggerAction: { matches: /^help$/i, interrupt: true },
  });
  bot.dialog('orderPizza', (session, args: { order: Order }) => {
    session.send('Starting your %s pizza order...', args.order.pizza);
    // session.address is session.message.address: where the user wrote from.
    kitchen.startOrder({ address: session.address, order: args.order });
    session.endDialog();
  });

  kitchen.orderReady((address, order) => {
    const msg = new Message().text('Your %s pizza is on its way!', order.pizza);
    // A delivery that keeps failing is also reported as an `error` event.
    bot.send(address, msg).catch(() => undefined);
  });
  return bot;
}

async function main(): Promise<void> {
  let arrived: () => void = () => undefined;
  const onItsWay = new Promise<void>((resolve) => (arrived = resolve));
  const print = (messages: OutgoingMessage[]) => {
    printReplies(messages);
    if (messages.some((message) => message.text?.includes('on its way'))) arrived();
  };
  const bot = createPizzaBot({ deliver: (_address, messages) => print(messages) }, new Kitchen(1500));
  await say(bot, consoleAddress('order-pizza'), ['hi', 'help', 'cancel', 'no', 'pepperoni']);
  console.log('  (the kitchen is busy...)');
  await onItsWay;
  await bot.close();
}

runIfMain(module, main);
