// Types that guide: a pizza order whose waterfall is typed step by step. Each step returns its prompt, so the next
// step's `results` carries the answer's type; the size the user picks is one of the choices, so it goes into the
// zod-typed entity without a cast; templates are checked by the compiler; a bad entity value throws where it is set.
// Run it: npx ts-node examples/typed-order.ts
import { z } from 'zod';
import {
  defineEntities,
  Prompts,
  ResumeReason,
  SessionManager,
  type EntitiesOf,
  type SessionManagerOptions,
} from '../src';
import { consoleAddress, printReplies, runIfMain, say } from './lib/terminal';

export const orderEntities = defineEntities({
  UserName: { schema: z.string().min(1), scope: 'user' },
  Size: { schema: z.enum(['Small', 'Medium', 'Large']) },
  Quantity: { schema: z.number().int().min(1).max(10) },
});
export type OrderEntities = EntitiesOf<typeof orderEntities>;

type Options = Pick<SessionManagerOptions, 'deliver'> &
  Partial<Pick<SessionManagerOptions, 'store' | 'autoBatchDelay'>>;

/** Builds the order bot: name (once per user), size, quantity, confirmation. */
export function createTypedOrderBot(options: Options) {
  const bot = new SessionManager<OrderEntities>({ ...options, entities: orderEntities });

  bot.dialog('/', [
    (session, _args, next) =>
      session.entities.UserName === undefined ? Prompts.text(session, 'Hi! What is your name?') : next(),
    (session, results) => {
      // The step above returns a prompt on one path only, so `results` is a DialogResult<unknown>: narrow it.
      if (typeof results.response === 'string') session.entities.UserName = results.response;
      const name = session.entities.UserName ?? 'there';
      return Prompts.choice(session, ['Which size, %s?', name], ['Small', 'Medium', 'Large']);
    },
    (session, results) => {
      if (results.resumed !== ResumeReason.completed) return session.endConversation('No pizza then.');
      session.entities.Size = results.response.entity; // 'Small' | 'Medium' | 'Large', as the entity's schema
      return Prompts.number(session, 'How many?', {
        integerOnly: true,
        retryPrompt: 'A whole number from 1 to 10, please.',
      });
    },
    (session, results) => {
      if (results.resumed !== ResumeReason.completed) return session.endConversation('No pizza then.');
      try {
        session.entities.Quantity = results.response; // checked against z.number().int().min(1).max(10) right here
      } catch {
        return session.endConversation('We bake at most 10 at a time: please start again.');
      }
      const { Size = 'Medium', Quantity = 1 } = session.entities;
      return Prompts.confirm(session, ['%d %s pizza%s, is that right?', Quantity, Size, Quantity === 1 ? '' : 's']);
    },
    (session, results) => {
      if (results.resumed === ResumeReason.completed && results.response)
        session.endConversation('Ordered. Thank you, %s!', session.entities.UserName ?? 'friend');
      else session.endConversation('Cancelled.');
    },
  ]);
  return bot;
}

async function main(): Promise<void> {
  const bot = createTypedOrderBot({ deliver: (_address, messages) => printReplies(messages), autoBatchDelay: 0 });
  await say(bot, consoleAddress('typed-order', 'ada'), ['hi', 'Ada', 'large', 'two', '2', 'yes']);
  await bot.close();
}

runIfMain(module, main);
