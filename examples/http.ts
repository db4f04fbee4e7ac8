// The tutorial bot served over HTTP by palaver/http: a scripted client talks to it with fetch, sends one malformed
// request, receives a proactive message through onDeliver, and the script exits.
// Run it: npx ts-node examples/http.ts     (PORT=3000 npx ts-node examples/http.ts keeps the server up for curl)
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpAdapter, type HttpTurnResponse } from '../src/adapters/http';
import type { Address } from '../src';
import { createTutorialBot } from './session-callbacks';
import { runIfMain } from './lib/terminal';

async function main(): Promise<void> {
  const http = new HttpAdapter({
    // Batches that no response carries (proactive, close messages, typing): a real bot pushes them (SSE, a webhook...).
    onDeliver: (address, messages) => {
      for (const message of messages) console.log(`  [pushed to ${address.user.id}] ${message.text ?? message.type}`);
    },
  });
  const bot = createTutorialBot({ deliver: http.deliver });
  const server = createServer(http.handler(bot));
  const port = Number(process.env.PORT ?? 0);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/messages`;
  if (process.env.PORT) {
    console.log(`POST messages to ${url}, e.g.:`);
    console.log(
      `  curl -s ${url} -H 'content-type: application/json' -d '{"address":{"channelId":"curl","user":{"id":"me"},"conversation":{"id":"c1"}},"text":"hi"}'`,
    );
    return;
  }

  const address: Address = { channelId: 'http', user: { id: 'lars' }, conversation: { id: 'tutorial' } };
  const post = (body: string) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  for (const text of ['hi', 'Lars', '555-555-5555', 'Seattle']) {
    console.log(`user> ${text}`);
    const response = await post(JSON.stringify({ address, text }));
    const body = (await response.json()) as HttpTurnResponse;
    for (const reply of body.replies) console.log(`  bot> ${reply.text}`);
  }

  console.log('user> (a body that is not JSON)');
  const bad = await post('{"text": ');
  console.log(`  ${bad.status} ${JSON.stringify(await bad.json())}`);

  await bot.send(address, 'Your pizza is on its way!');
  await bot.close();
  server.closeAllConnections(); // fetch keeps its connections alive
  await new Promise<void>((resolve) => server.close(() => resolve()));
}

runIfMain(module, main);
