// A bot that understands intents: a greeting by RegExpRecognizer, and everything else by an NLU service over HTTP
// (here a small keyword classifier that the example serves itself on a free port, standing in for LUIS, Rasa NLU,
// Dialogflow or an LLM). "order a large pizza" triggers the order by intent, with the size taken from the entities; the
// session closes lazily and, Kore.ai's rule, an expired session continues when the user comes back with the intent its
// task began with.
// Run it: npx ts-node examples/nlu-http.ts
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  Prompts,
  RegExpRecognizer,
  SessionManager,
  type DialogResult,
  type FoundChoice,
  type NlpEntity,
  type SessionManagerOptions,
} from '../src';
import { consoleAddress, printReplies, runIfMain } from './lib/terminal';

/** What the NLU service answers for `POST /parse { text }`. */
export interface ParseResponse {
  intent: string | null;
  confidence: number;
  entities: { kind: string; value: string }[];
}

const INTENTS: Record<string, readonly string[]> = {
  OrderPizza: ['pizza', 'order', 'hungry', 'margherita', 'pepperoni'],
  Weather: ['weather', 'rain', 'sunny', 'forecast'],
};
const SIZES = ['small', 'medium', 'large'];

/** The classifier the service runs: the intent whose keywords the text hits most, sure in proportion. */
export function classify(text: string): ParseResponse {
  const words = text.toLowerCase().match(/[a-z]+/g) ?? [];
  let intent: string | null = null;
  let hits = 0;
  for (const [name, keywords] of Object.entries(INTENTS)) {
    const found = words.filter((word) => keywords.includes(word)).length;
    if (found > hits) [intent, hits] = [name, found];
  }
  const entities = words.filter((word) => SIZES.includes(word)).map((value) => ({ kind: 'size', value }));
  return { intent, confidence: intent === null ? 0 : Math.min(1, 0.3 + 0.25 * hits), entities };
}

/** Serves the classifier at `POST /parse` on a free port; resolves to its URL and the server (close it when done). */
export async function startNluService(): Promise<{ url: string; server: Server }> {
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const { text } = JSON.parse(body || '{}') as { text?: string };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(classify(text ?? '')));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/parse`, server };
}

/** Builds the bot; its NLU recognizer asks the service at `nluUrl`. */
export function createNluBot(
  options: Partial<SessionManagerOptions> & Pick<SessionManagerOptions, 'deliver'>,
  nluUrl: string,
) {
  const bot = new SessionManager({
    closePolicy: 'lazy',
    continueIf: 'sameIntent',
    recognizerTimeout: 3000,
    ...options,
  });

  bot.recognizer(new RegExpRecognizer('Greeting', { '*': /^(hi|hello|hey)\b/i, fr: /^(salut|bonjour)\b/i }));
  // Runs as soon as the message arrives, before the turn waits for the session: a slow service holds no session.
  bot.recognizer(async (message) => {
    if (message.text === undefined) return undefined;
    const reply = await fetch(nluUrl, { method: 'POST', body: JSON.stringify({ text: message.text }) });
    const parsed = (await reply.json()) as ParseResponse;
    if (parsed.intent === null) return undefined;
    const entities: NlpEntity[] = parsed.entities.map((entity) => ({ type: entity.kind, value: entity.value }));
    return { intent: parsed.intent, score: parsed.confidence, entities };
  });

  bot.dialog('/', (session) => {
    const intent = session.info.nlp?.intent;
    if (intent?.name === 'Greeting') session.send('Hello! Hungry? Ask me for a pizza.');
    // Below the trigger's minScore: the order did not begin, so ask.
    else if (intent?.name === 'OrderPizza') session.send('Do you want to order? Say: order a pizza.');
    else if (intent?.name === 'Weather') session.send('I only know about pizza, sorry.');
    else session.send("I didn't get that. Try: I'd like a large pizza.");
  });

  bot.dialog(
    '/order',
    [
      (session, _args, next) => {
        const size = session.info.nlp?.entities.find((entity) => entity.type === 'size')?.value;
        if (typeof size === 'string') next({ response: { entity: size } });
        else Prompts.choice(session, 'Which size?', SIZES);
      },
      (session, results: DialogResult<FoundChoice>) =>
        session.endDialog('A %s pizza is on its way.', results.response?.entity ?? 'medium'),
    ],
    { triggerAction: { matches: { intent: 'OrderPizza', minScore: 0.6 } } },
  );
  return bot;
}

async function main(): Promise<void> {
  const { url, server } = await startNluService();
  const bot = createNluBot({ deliver: (_address, messages) => printReplies(messages), autoBatchDelay: 0 }, url);
  for (const text of ['hello', 'pizza?', 'order a large pizza', 'order a pizza', 'small', 'is it sunny?']) {
    console.log(`user> ${text}`);
    const { session } = await bot.receive({ address: consoleAddress('nlu'), text });
    const intent = session.nlp?.intent;
    console.log(intent === undefined ? '      (no intent)' : `      (intent ${intent.name}, score ${intent.score})`);
  }
  await bot.close();
  server.close();
}

runIfMain(module, main);
