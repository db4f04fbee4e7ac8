// An LLM-style bot: type-ahead bursts ("hi", "I need help", "with my order") are merged into one turn, so the model
// is asked once per burst; the prompt is built from the session transcript (`session.history`), which palaver keeps
// bounded in the session state. The model here is a fake: swap in your provider's chat API.
// Run it: npx ts-node examples/llm-history.ts
import { SessionManager, type Address, type HistoryEntry, type SessionManagerOptions } from '../src';

/** One message of a chat-completion prompt. */
export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

/** A chat model: the prompt in, the answer out. */
export type ChatModel = (prompt: readonly ChatMessage[]) => Promise<string>;

const SYSTEM = 'You are the support assistant of a pizza shop. Answer in one sentence.';

/** The prompt of a turn: the instructions, then the transcript, which ends with what the user just wrote. */
export function promptOf(history: readonly HistoryEntry[]): ChatMessage[] {
  return [
    { role: 'system', content: SYSTEM },
    ...history.map((entry): ChatMessage => ({
      role: entry.role === 'user' ? 'user' : 'assistant',
      content: entry.text,
    })),
  ];
}

/** A stand-in for a real model: it answers from the last user message and says how much context it got. */
export const fakeModel: ChatModel = async (prompt) => {
  const last = prompt[prompt.length - 1]?.content ?? '';
  const answer = /order/i.test(last)
    ? 'Sure, what is your order number?'
    : /\d{3,}/.test(last)
      ? `Order ${last.match(/\d{3,}/)![0]} is in the oven.`
      : 'Hello! How can I help?';
  return `${answer} (${prompt.length - 1} messages of context)`;
};

/** Builds the bot; `model` replaces the fake one. */
export function createLlmBot(
  options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>,
  model: ChatModel = fakeModel,
) {
  const bot = new SessionManager({
    coalesce: { window: 1200, max: 5 },
    history: { max: 20, maxChars: 4000 },
    ...options,
  });
  bot.dialog('/', async (session) => {
    session.sendTyping();
    session.send(await model(promptOf(session.history)));
  });
  return bot;
}

async function main(): Promise<void> {
  const address: Address = { channelId: 'console', user: { id: 'lars' }, conversation: { id: 'llm' } };
  const bot = createLlmBot({
    deliver: (_address, messages) => {
      for (const message of messages) if (message.type !== 'typing') console.log(`  bot> ${message.text}`);
    },
    autoBatchDelay: 0,
  });
  const burst = ['hi', 'I need help', 'with my order'];
  for (const text of burst) console.log(`user> ${text}`);
  // Typed in quick succession: one turn, one model call.
  await Promise.all(burst.map((text) => bot.receive({ address, text })));
  console.log('user> 1234');
  await bot.receive({ address, text: '1234' });
  await bot.close();
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exitCode = 1;
  });
}
