// The mountings the README gives for Express and Fastify, run in the real frameworks over a real socket.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { HttpAdapter, type HttpAdapterOptions, type HttpTurnResponse } from '../../src/adapters/http';
import type { Address, OutgoingMessage } from '../../src';
import { createTutorialBot } from '../../examples/session-callbacks';

const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function address(user = 'u1'): Address {
  return { channelId: 'web', user: { id: user }, conversation: { id: `c-${user}` } };
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const texts = (body: HttpTurnResponse) => body.replies.map((message: OutgoingMessage) => message.text);

/** The tutorial bot behind an HttpAdapter, closed after the test. */
function tutorialBot(adapterOptions: HttpAdapterOptions = {}) {
  const http = new HttpAdapter(adapterOptions);
  const bot = createTutorialBot({ deliver: http.deliver });
  cleanups.push(() => bot.close());
  return { http, bot, handler: http.handler(bot) };
}

async function listenExpress(app: express.Express): Promise<string> {
  const server = await new Promise<Server>((resolve) => {
    const started = app.listen(0, '127.0.0.1', () => resolve(started));
  });
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/messages`;
}

async function listenFastify(app: FastifyInstance): Promise<string> {
  cleanups.push(() => app.close());
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}/api/messages`;
}

describe('HttpAdapter in Express 5', () => {
  it('carries a conversation across requests when mounted as it is', async () => {
    const { handler } = tutorialBot();
    const app = express();
    app.post('/api/messages', handler);
    const url = await listenExpress(app);
    await post(url, { address: address(), text: 'hi' });
    const response = await post(url, { address: address(), text: 'Lars' });
    expect(response.status).toBe(200);
    expect(texts((await response.json()) as HttpTurnResponse)).toEqual(['Hi Lars. What is your phone number?']);
  });

  it('answers a body that is not JSON with INVALID_JSON when no parser runs before it', async () => {
    const { handler } = tutorialBot();
    const app = express();
    app.post('/api/messages', handler);
    const url = await listenExpress(app);
    const response = await post(url, '{"address": ');
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INVALID_JSON');
  });

  it('refuses a body over maxBodyBytes with BODY_TOO_LARGE when no parser runs before it', async () => {
    const { handler } = tutorialBot({ maxBodyBytes: 1_000 });
    const app = express();
    app.post('/api/messages', handler);
    const url = await listenExpress(app);
    const response = await post(url, { address: address(), text: 'x'.repeat(2_000) });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('BODY_TOO_LARGE');
  });

  it('uses the body that express.json() parsed', async () => {
    const { handler } = tutorialBot();
    const app = express();
    app.use(express.json());
    app.post('/api/messages', handler);
    const url = await listenExpress(app);
    const response = await post(url, { address: address(), text: 'hi' });
    expect(response.status).toBe(200);
    expect(texts((await response.json()) as HttpTurnResponse)).toEqual(["Hi, I'm Botty. What's your name?"]);
  });

  it("leaves a body that is not JSON to express.json()'s own error answer when that parser runs first", async () => {
    const { handler } = tutorialBot();
    const app = express();
    app.use(express.json());
    app.post('/api/messages', handler);
    const url = await listenExpress(app);
    const response = await post(url, '{"address": ');
    expect({ status: response.status, type: response.headers.get('content-type') }).toEqual({
      status: 400,
      type: expect.stringContaining('text/html'),
    });
  });

  it('does not apply maxBodyBytes to a body that express.json() parsed', async () => {
    const { handler } = tutorialBot({ maxBodyBytes: 1_000 });
    const app = express();
    app.use(express.json());
    app.post('/api/messages', handler);
    const url = await listenExpress(app);
    const response = await post(url, { address: address(), text: `hi ${'x'.repeat(2_000)}` });
    expect(response.status).toBe(200);
  });

  it('answers a message that fails validation with its palaver code after express.json()', async () => {
    const { handler } = tutorialBot();
    const app = express();
    app.use(express.json());
    app.post('/api/messages', handler);
    const url = await listenExpress(app);
    const response = await post(url, {
      address: { channelId: 'web', user: { id: '' }, conversation: { id: 'c' } },
      text: 'hi',
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string; message: string } }).error).toMatchObject({
      code: 'INVALID_MESSAGE',
      message: expect.stringContaining('address.user.id'),
    });
  });
});

describe('HttpAdapter in Express 5, behind an authentication middleware', () => {
  /** An app whose middleware puts the caller on `req.auth` (as passport or express-jwt do), which `identify` reads. */
  async function authenticatedApp() {
    const { handler } = tutorialBot({ identify: (req) => (req as { auth?: Address }).auth });
    const app = express();
    app.use((req, _res, next) => {
      const user = { 'token-ann': 'ann', 'token-bob': 'bob' }[String(req.headers.authorization)];
      if (user !== undefined) Object.assign(req, { auth: address(user) });
      next();
    });
    app.post('/api/messages', express.json(), handler);
    return listenExpress(app);
  }

  it('speaks as the user the middleware put on the request, with a body that gives only the text', async () => {
    const url = await authenticatedApp();
    const response = await post(url, { text: 'hi' }, { authorization: 'token-ann' });
    expect({ status: response.status, replies: texts((await response.json()) as HttpTurnResponse) }).toEqual({
      status: 200,
      replies: ["Hi, I'm Botty. What's your name?"],
    });
  });

  it('refuses a parsed body that names another user with 403 IDENTITY_MISMATCH', async () => {
    const url = await authenticatedApp();
    const response = await post(url, { address: address('bob'), text: 'hi' }, { authorization: 'token-ann' });
    expect({
      status: response.status,
      code: ((await response.json()) as { error: { code: string } }).error.code,
    }).toEqual({ status: 403, code: 'IDENTITY_MISMATCH' });
  });

  it('answers 401 UNAUTHENTICATED when the middleware found no user', async () => {
    const url = await authenticatedApp();
    const response = await post(url, { address: address('bob'), text: 'hi' });
    expect({
      status: response.status,
      code: ((await response.json()) as { error: { code: string } }).error.code,
    }).toEqual({ status: 401, code: 'UNAUTHENTICATED' });
  });
});

describe('HttpAdapter in Fastify 5', () => {
  /** The README's route: Fastify parses the JSON, the adapter answers on the raw response. */
  function fastifyApp(
    handler: ReturnType<HttpAdapter['handler']>,
    options: { bodyLimit?: number } = {},
  ): FastifyInstance {
    const app = Fastify(options);
    app.post('/api/messages', (request, reply) => {
      reply.hijack();
      return handler(Object.assign(request.raw, { body: request.body }), reply.raw);
    });
    return app;
  }

  it("leaves a body that is not JSON to Fastify's own error answer in the parsed route", async () => {
    const { handler } = tutorialBot();
    const url = await listenFastify(fastifyApp(handler));
    const response = await post(url, '{"address": ');
    expect({ status: response.status, body: await response.json() }).toEqual({
      status: 400,
      body: expect.objectContaining({ statusCode: 400, code: expect.stringMatching(/^FST_/) }),
    });
  });

  it("applies Fastify's bodyLimit instead of maxBodyBytes in the parsed route", async () => {
    const { handler } = tutorialBot({ maxBodyBytes: 100_000 });
    const url = await listenFastify(fastifyApp(handler, { bodyLimit: 1_000 }));
    const response = await post(url, { address: address(), text: `hi ${'x'.repeat(2_000)}` });
    expect(response.status).toBe(413);
  });

  it('carries a conversation across requests in a hijacked route', async () => {
    const { handler } = tutorialBot();
    const url = await listenFastify(fastifyApp(handler));
    await post(url, { address: address(), text: 'hi' });
    const response = await post(url, { address: address(), text: 'Lars' });
    expect(response.status).toBe(200);
    expect(texts((await response.json()) as HttpTurnResponse)).toEqual(['Hi Lars. What is your phone number?']);
  });

  it('answers a message that fails validation with its palaver code', async () => {
    const { handler } = tutorialBot();
    const url = await listenFastify(fastifyApp(handler));
    const response = await post(url, { address: address(), text: 42 });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('INVALID_MESSAGE');
  });

  /** A Fastify app whose route, in an encapsulated plugin, leaves the JSON body to the adapter; its URL. */
  async function listenWithBodyLeftToAdapter(): Promise<string> {
    const { handler } = tutorialBot();
    const app = Fastify();
    // In an encapsulated plugin: the other routes keep Fastify's own JSON parser.
    await app.register(async (scope) => {
      scope.removeContentTypeParser('application/json');
      scope.addContentTypeParser('application/json', (_request, _payload, done) => done(null, undefined));
      scope.post('/api/messages', (request, reply) => {
        reply.hijack();
        return handler(request.raw, reply.raw);
      });
    });
    return listenFastify(app);
  }

  it('answers a body that is not JSON with INVALID_JSON when the route leaves the body to the adapter', async () => {
    const bad = await post(await listenWithBodyLeftToAdapter(), '{"address": ');
    expect({ status: bad.status, code: ((await bad.json()) as { error: { code: string } }).error.code }).toEqual({
      status: 400,
      code: 'INVALID_JSON',
    });
  });

  it('still answers a good request when the route leaves the body to the adapter', async () => {
    const good = await post(await listenWithBodyLeftToAdapter(), { address: address(), text: 'hi' });
    expect(texts((await good.json()) as HttpTurnResponse)).toEqual(["Hi, I'm Botty. What's your name?"]);
  });
});
