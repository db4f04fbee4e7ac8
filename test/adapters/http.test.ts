import {
  createServer,
  request as httpRequest,
  type IncomingMessage as HttpRequest,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HttpAdapter, HttpError, type HttpAdapterOptions, type HttpTurnResponse } from '../../src/adapters/http';
import {
  CardAction,
  Message,
  PalaverError,
  SessionManager,
  type ActionArgs,
  type Address,
  type OutgoingMessage,
} from '../../src';
import { createTutorialBot } from '../../examples/session-callbacks';
import { deferred } from '../support/bot';

type Handler = (req: HttpRequest, res: ServerResponse) => void;

const servers: Server[] = [];
const managers: { close(): Promise<void> }[] = [];

afterEach(async () => {
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

async function listen(handler: Handler): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/messages`;
}

function address(user = 'u1'): Address {
  return { channelId: 'web', user: { id: user }, conversation: { id: `c-${user}` } };
}

/** The tutorial bot behind a real server; `late` collects what goes to onDeliver. */
async function tutorial(
  options: Partial<Parameters<typeof createTutorialBot>[0]> = {},
  adapterOptions: HttpAdapterOptions = {},
) {
  const late: { address: Address; messages: OutgoingMessage[] }[] = [];
  const http = new HttpAdapter({
    onDeliver: (address, messages) => void late.push({ address, messages }),
    ...adapterOptions,
  });
  const bot = createTutorialBot({ deliver: http.deliver, ...options });
  managers.push(bot);
  const url = await listen(http.handler(bot));
  return { bot, http, url, late };
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

async function say(url: string, text: string, user = 'u1'): Promise<HttpTurnResponse> {
  const response = await post(url, { address: address(user), text });
  expect(response.status).toBe(200);
  return (await response.json()) as HttpTurnResponse;
}

const texts = (messages: readonly OutgoingMessage[]) => messages.map((message) => message.text);

describe('HttpAdapter: turns over HTTP', () => {
  it('answers a POST with the replies of its turn and the session', async () => {
    const { url } = await tutorial();
    const body = await say(url, 'hi');
    expect(texts(body.replies)).toEqual(["Hi, I'm Botty. What's your name?"]);
    expect(body.session).toMatchObject({ channel: 'web', turnCount: 1, interactive: true });
    expect(body.session.id).not.toBe('');
  });

  it('answers without waiting for the batching delay, and the batch is not delivered a second time', async () => {
    const { bot, url, late } = await tutorial({ autoBatchDelay: 60_000 });
    const body = await say(url, 'hi');
    expect(texts(body.replies)).toEqual(["Hi, I'm Botty. What's your name?"]);
    await bot.close(); // delivers every batch still waiting in the outbox
    expect(late).toEqual([]);
  });

  it('carries a whole conversation across requests, the session keeping its entities', async () => {
    const { url } = await tutorial();
    const first = await say(url, 'hi');
    expect(texts((await say(url, 'Lars')).replies)).toEqual(['Hi Lars. What is your phone number?']);
    expect(texts((await say(url, '555-555-5555')).replies)).toEqual(['Can you tell Botty your location, Lars?']);
    const last = await say(url, 'Seattle');
    expect(texts(last.replies)).toEqual(['So, Lars, you are in Seattle', 'Done']);
    expect(last.session.turnCount).toBe(4);
    expect(first.session.id).not.toBe('');
  });

  it('puts what the turn delivered early (sendBatch) into the same answer, in order', async () => {
    const late: OutgoingMessage[][] = [];
    const http = new HttpAdapter({ onDeliver: (_address, messages) => void late.push(messages) });
    const bot = new SessionManager({ deliver: http.deliver });
    managers.push(bot);
    bot.dialog('/', async (session) => {
      session.send('one');
      await session.sendBatch();
      session.send('two');
    });
    const url = await listen(http.handler(bot));
    const body = await say(url, 'go');
    await bot.close();
    expect({ replies: texts(body.replies), late }).toEqual({ replies: ['one', 'two'], late: [] });
  });

  it('sends proactive messages to onDeliver', async () => {
    const { bot, late } = await tutorial();
    await bot.send(address('u9'), 'Your pizza is on its way!');
    expect(late).toEqual([
      { address: address('u9'), messages: [expect.objectContaining({ text: 'Your pizza is on its way!' })] },
    ]);
  });

  it('sends the close message of a timed-out session to onDeliver', async () => {
    const { bot, url, late } = await tutorial({ closeMessage: 'Bye for now.', timeout: 60_000 });
    await say(url, 'hi');
    await bot.sweepExpired(Date.now() + 60_000);
    await bot.close();
    expect(late.flatMap((batch) => texts(batch.messages))).toEqual(['Bye for now.']);
  });

  it('sends typing indicators to onDeliver at once, even during a request', async () => {
    const late: OutgoingMessage[][] = [];
    const http = new HttpAdapter({ onDeliver: (_address, messages) => void late.push(messages) });
    const bot = new SessionManager({ deliver: http.deliver });
    managers.push(bot);
    bot.dialog('/', (session) => {
      session.sendTyping();
      session.send('ready');
    });
    const url = await listen(http.handler(bot));
    const body = await say(url, 'go');
    expect({ replies: texts(body.replies), late }).toEqual({ replies: ['ready'], late: [[{ type: 'typing' }]] });
  });

  it('splits a batch delivered during a request: typing to onDeliver, the messages into the answer', async () => {
    const late: OutgoingMessage[][] = [];
    const http = new HttpAdapter({ onDeliver: (_address, messages) => void late.push(messages) });
    const bot = new SessionManager({ deliver: http.deliver });
    managers.push(bot);
    const running = deferred();
    const gate = deferred();
    bot.dialog('/', async (session) => {
      running.resolve();
      await gate.promise;
      session.send('answer');
    });
    const url = await listen(http.handler(bot));
    const answer = say(url, 'go');
    await running.promise;
    await http.deliver(address(), [{ type: 'typing' }, { type: 'message', text: 'meanwhile' }]);
    gate.resolve();
    expect({ replies: texts((await answer).replies), late }).toEqual({
      replies: ['meanwhile', 'answer'],
      late: [[{ type: 'typing' }]],
    });
  });

  it('sends dialogAction buttons as they are, and runs a posted press as the action with its data', async () => {
    const http = new HttpAdapter();
    const bot = new SessionManager({ deliver: http.deliver });
    managers.push(bot);
    bot.action('sizeHelp', { beginDialog: '/sizes' });
    bot.dialog(
      '/',
      (session) =>
        void session.send(
          new Message()
            .text('Menu')
            .suggestedActions([CardAction.dialogAction('sizeHelp', { topic: 'sizes' }, 'Help with sizes')]),
        ),
    );
    bot.dialog('/sizes', (session, args: ActionArgs<{ topic: string }>) =>
      session.endDialog('Help on %s.', args.data?.topic ?? 'nothing'),
    );
    const url = await listen(http.handler(bot));
    const menu = await say(url, 'hi');
    const button = menu.replies[0]?.suggestedActions?.[0];
    const response = await post(url, {
      address: address(),
      value: { dialogAction: button?.value, data: button?.data },
    });
    const body = (await response.json()) as HttpTurnResponse;
    expect({ button, replies: texts(body.replies) }).toEqual({
      button: { type: 'dialogAction', title: 'Help with sizes', value: 'sizeHelp', data: { topic: 'sizes' } },
      replies: ['Help on sizes.'],
    });
  });

  it('answers 200 with the error and the dialog error message when a dialog throws', async () => {
    const http = new HttpAdapter();
    const bot = new SessionManager({ deliver: http.deliver, dialogErrorMessage: 'Sorry, something went wrong.' });
    bot.on('error', () => undefined);
    managers.push(bot);
    bot.dialog('/', () => {
      throw new Error('broken step');
    });
    const url = await listen(http.handler(bot));
    const body = await say(url, 'hi');
    expect({ replies: texts(body.replies), code: body.error?.code }).toEqual({
      replies: ['Sorry, something went wrong.'],
      code: 'DIALOG_FAILED',
    });
  });

  it('serves many users at once, each getting only their own replies', async () => {
    const { url } = await tutorial();
    const users = Array.from({ length: 40 }, (_, i) => `user${i}`);
    const transcripts = await Promise.all(
      users.map(async (user) => {
        const lines: (string | undefined)[] = [];
        for (const text of ['hi', user, `555-${user}`, `City of ${user}`])
          lines.push(...texts((await say(url, text, user)).replies));
        return lines;
      }),
    );
    expect(transcripts).toEqual(
      users.map((user) => [
        "Hi, I'm Botty. What's your name?",
        `Hi ${user}. What is your phone number?`,
        `Can you tell Botty your location, ${user}?`,
        `So, ${user}, you are in City of ${user}`,
        'Done',
      ]),
    );
  });

  it('runs concurrent messages of one user in order, each answered with its own replies', async () => {
    const { url } = await tutorial();
    const answers = await Promise.all(['hi', 'Lars', '555'].map((text) => say(url, text)));
    expect(answers.map((body) => texts(body.replies))).toEqual([
      ["Hi, I'm Botty. What's your name?"],
      ['Hi Lars. What is your phone number?'],
      ['Can you tell Botty your location, Lars?'],
    ]);
  });
});

describe('HttpAdapter: bad requests', () => {
  it('answers 400 INVALID_JSON to a body that is not JSON', async () => {
    const { url } = await tutorial();
    const response = await post(url, '{"address": ');
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 400,
      body: { error: { code: 'INVALID_JSON', message: expect.stringContaining('not valid JSON') } },
    });
  });

  it('answers 400 INVALID_MESSAGE naming the field when the message is invalid', async () => {
    const { url } = await tutorial();
    const response = await post(url, {
      address: { channelId: 'web', user: {}, conversation: { id: 'c' } },
      text: 'hi',
    });
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect({ status: response.status, code: body.error.code }).toEqual({ status: 400, code: 'INVALID_MESSAGE' });
    expect(body.error.message).toContain('address.user.id');
  });

  it('answers 400 INVALID_MESSAGE to JSON that is not an object', async () => {
    const { url } = await tutorial();
    const response = await post(url, '[1, 2]');
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 400,
      body: { error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('an array') } },
    });
  });

  it('answers 405 with an Allow header to a GET', async () => {
    const { url } = await tutorial();
    const response = await fetch(url);
    expect({
      status: response.status,
      allow: response.headers.get('allow'),
      code: ((await response.json()) as { error: { code: string } }).error.code,
    }).toEqual({
      status: 405,
      allow: 'POST',
      code: 'METHOD_NOT_ALLOWED',
    });
  });

  it('answers 415 to a body that is not declared as JSON', async () => {
    const { url } = await tutorial();
    const response = await post(url, 'hi', { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
  });

  it('answers 413 to a body over maxBodyBytes, by its Content-Length', async () => {
    const { url } = await tutorial({}, { maxBodyBytes: 1000 });
    const response = await post(url, { address: address(), text: 'x'.repeat(5000) });
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 413,
      body: { error: { code: 'BODY_TOO_LARGE', message: expect.stringContaining('1000 bytes') } },
    });
  });

  it('answers 413 to a chunked body that grows over maxBodyBytes', async () => {
    const { url } = await tutorial({}, { maxBodyBytes: 1000 });
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        url,
        { method: 'POST', headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' } },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.write(`{"text": "${'x'.repeat(800)}`);
      req.end(`${'y'.repeat(800)}"}`);
    });
    expect(status).toBe(413);
  });

  it('keeps serving after a burst of malformed requests', async () => {
    const { url } = await tutorial();
    const bad = ['', '{', 'null', '"text"', '{"address": 5}', '{"address": {"channelId": ""}}', '\u0000\u0001'];
    const statuses = await Promise.all(bad.map(async (body) => (await post(url, body)).status));
    expect(statuses).toEqual([400, 400, 400, 400, 400, 400, 400]);
    expect(texts((await say(url, 'hi')).replies)).toEqual(["Hi, I'm Botty. What's your name?"]);
  });

  it('answers 500 and reports the error when the bot fails unexpectedly', async () => {
    const onError = vi.fn();
    const http = new HttpAdapter({ onError });
    const url = await listen(http.handler({ receive: () => Promise.reject(new Error('disk on fire')) }));
    const response = await post(url, { address: address(), text: 'hi' });
    expect({
      status: response.status,
      code: ((await response.json()) as { error: { code: string } }).error.code,
    }).toEqual({ status: 500, code: 'INTERNAL' });
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'disk on fire' }));
  });

  it('answers 504 COMMIT_UNKNOWN, not a plain retry, when the store lost the answer to the commit', async () => {
    const http = new HttpAdapter({ onError: () => undefined });
    const lost = new PalaverError('COMMIT_UNKNOWN', 'Redis took no answer back');
    const url = await listen(http.handler({ receive: () => Promise.reject(lost) }));
    const response = await post(url, { address: address(), text: 'hi' });
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect({ status: response.status, code: body.error.code, message: body.error.message }).toEqual({
      status: 504,
      code: 'COMMIT_UNKNOWN',
      message: expect.stringContaining('check before sending it again'),
    });
  });

  it('answers 429 when too many turns already wait for the same session', async () => {
    const http = new HttpAdapter();
    const bot = new SessionManager({ deliver: http.deliver, maxQueuedTurns: 1 });
    managers.push(bot);
    const gate = deferred();
    const running = deferred();
    bot.dialog('/', async (session) => {
      running.resolve();
      await gate.promise;
      session.send('done');
    });
    const url = await listen(http.handler(bot));
    const first = say(url, 'one');
    await running.promise;
    // One turn runs, one may wait (maxQueuedTurns: 1): of the next two, the later one is turned away at once.
    const next = [post(url, { address: address(), text: 'two' }), post(url, { address: address(), text: 'three' })];
    const turnedAway = await Promise.race(next);
    gate.resolve();
    const statuses = await Promise.all(next.map(async (response) => (await response).status));
    expect({ turnedAway: turnedAway.status, statuses: statuses.sort(), first: texts((await first).replies) }).toEqual({
      turnedAway: 429,
      statuses: [200, 429],
      first: ['done'],
    });
  });
});

describe('HttpAdapter: options and mounting', () => {
  it('uses a body that a framework has already parsed (express.json, Fastify)', async () => {
    const http = new HttpAdapter();
    const bot = createTutorialBot({ deliver: http.deliver });
    managers.push(bot);
    const handler = http.handler(bot);
    const url = await listen((req, res) => {
      // What express.json() leaves behind: the stream consumed, the object on req.body.
      req.resume();
      req.on('end', () => void handler(Object.assign(req, { body: { address: address(), text: 'hi' } }), res));
    });
    const body = (await (await post(url, 'ignored, already parsed')).json()) as HttpTurnResponse;
    expect(texts(body.replies)).toEqual(["Hi, I'm Botty. What's your name?"]);
  });

  it('lets toMessage build the address from the request', async () => {
    const http = new HttpAdapter({
      toMessage: (body, req) => ({
        ...(body as object),
        address: { channelId: 'web', user: { id: String(req.headers['x-user']) }, conversation: { id: 'main' } },
      }),
    });
    const bot = new SessionManager({ deliver: http.deliver });
    managers.push(bot);
    bot.dialog('/', (session) => void session.send('hello %s', session.address.user.id));
    const url = await listen(http.handler(bot));
    const body = (await (await post(url, { text: 'hi' }, { 'x-user': 'ada' })).json()) as HttpTurnResponse;
    expect(texts(body.replies)).toEqual(['hello ada']);
  });

  it('answers with the status of an HttpError thrown by toMessage', async () => {
    const http = new HttpAdapter({
      toMessage: () => {
        throw new HttpError(401, 'Sign in first.');
      },
    });
    const url = await listen(http.handler({ receive: () => Promise.reject(new Error('not reached')) }));
    const response = await post(url, { text: 'hi' });
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 401,
      body: { error: { code: 'HTTP_401', message: 'Sign in first.' } },
    });
  });

  it('builds the answer with responseBody', async () => {
    const { url } = await tutorial(
      {},
      { responseBody: (response, message) => ({ count: response.replies.length, echo: message.text }) },
    );
    const response = await post(url, { address: address(), text: 'hi' });
    expect(await response.json()).toEqual({ count: 1, echo: 'hi' });
  });

  it('sends what was held for a client that hung up to onDeliver', async () => {
    const late: OutgoingMessage[][] = [];
    const http = new HttpAdapter({ onDeliver: (_address, messages) => void late.push(messages) });
    const bot = new SessionManager({ deliver: http.deliver, autoBatchDelay: 0 });
    managers.push(bot);
    const gate = deferred();
    const running = deferred();
    bot.dialog('/', async (session) => {
      session.send('early');
      await session.sendBatch();
      running.resolve();
      await gate.promise;
      session.send('late');
    });
    const handler = http.handler(bot);
    let handled: Promise<void> | undefined;
    let hangUp!: () => void;
    const hungUp = new Promise<void>((resolve) => (hangUp = resolve));
    const url = await listen((req, res) => {
      res.on('close', hangUp);
      handled = handler(req, res);
    });
    const controller = new AbortController();
    const request = fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: address(), text: 'go' }),
      signal: controller.signal,
    }).catch(() => 'aborted');
    await running.promise; // the turn runs: the body was read, and 'early' is held for this request
    controller.abort();
    expect(await request).toBe('aborted');
    await hungUp;
    gate.resolve();
    await handled;
    await bot.close();
    expect(late.map(texts)).toEqual([['early'], ['late']]);
  });

  it('drops a request whose client hangs up while sending the body, reporting nothing', async () => {
    const onError = vi.fn();
    const receive = vi.fn();
    const http = new HttpAdapter({ onError });
    const handler = http.handler({ receive });
    let handled!: Promise<void>;
    let arrived!: () => void;
    const arrival = new Promise<void>((resolve) => (arrived = resolve));
    const url = await listen((req, res) => {
      handled = handler(req, res);
      req.once('data', () => arrived());
    });
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': '1000' },
    });
    req.on('error', () => undefined);
    req.write('{"text": "half');
    await arrival;
    req.destroy();
    await handled;
    expect({ errors: onError.mock.calls.length, turns: receive.mock.calls.length }).toEqual({ errors: 0, turns: 0 });
  });

  it('rejects a maxBodyBytes that is not a positive integer', () => {
    expect(() => new HttpAdapter({ maxBodyBytes: 0 })).toThrow(/maxBodyBytes/);
  });
});
