// Who may speak as whom over HTTP: with `identify`, the server says who sends a request and the body cannot name
// another user. Everything runs over a real socket.
import { createServer, type IncomingMessage as HttpRequest, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  HttpAdapter,
  HttpError,
  type HttpAdapterOptions,
  type HttpIdentity,
  type HttpTurnResponse,
} from '../../src/adapters/http';
import { SessionManager, type Address, type OutgoingMessage } from '../../src';
import { createTutorialBot } from '../../examples/session-callbacks';

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

async function listen(handler: (req: HttpRequest, res: ServerResponse) => void): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/messages`;
}

function address(user: string): Address {
  return { channelId: 'web', user: { id: user }, conversation: { id: `c-${user}` } };
}

// What the server trusts in these tests: a bearer token it handed out, one per user.
const TOKENS: Record<string, string> = { 'token-ann': 'ann', 'token-bob': 'bob' };
const as = (user: string) => ({ authorization: `Bearer token-${user}` });

function byToken(req: HttpRequest): Address | undefined {
  const user = TOKENS[(req.headers.authorization ?? '').replace(/^Bearer /, '')];
  return user === undefined ? undefined : address(user);
}

function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
}

/** A bot that answers with who it thinks is speaking, and records every turn it runs. */
async function whoBot(options: HttpAdapterOptions = {}) {
  const http = new HttpAdapter({ identify: byToken, onDeliver: () => undefined, ...options });
  const bot = new SessionManager({ deliver: http.deliver });
  managers.push(bot);
  const turns: Address[] = [];
  bot.dialog('/', (session) => {
    turns.push(session.address);
    session.send('%s in %s: %s', session.address.user.id, session.address.conversation.id, session.message?.text ?? '');
  });
  return { bot, http, turns, url: await listen(http.handler(bot)) };
}

/** The tutorial bot (it remembers the user's name) with bob's conversation under way. */
async function tutorialWithBob() {
  const late: { address: Address; messages: OutgoingMessage[] }[] = [];
  const http = new HttpAdapter({
    identify: byToken,
    onDeliver: (address, messages) => void late.push({ address, messages }),
  });
  const bot = createTutorialBot({ deliver: http.deliver });
  managers.push(bot);
  const url = await listen(http.handler(bot));
  for (const text of ['hi', 'Bob Secretname']) expect((await post(url, { text }, as('bob'))).status).toBe(200);
  return { bot, url, late };
}

const texts = (body: HttpTurnResponse) => body.replies.map((reply) => reply.text);

describe('HttpAdapter identify: the identified user speaks', () => {
  it('runs the turn as the identified user when the body carries only the text', async () => {
    const { url, turns } = await whoBot();
    const body = (await (await post(url, { text: 'hello' }, as('ann'))).json()) as HttpTurnResponse;
    expect({ replies: texts(body), turns }).toEqual({ replies: ['ann in c-ann: hello'], turns: [address('ann')] });
  });

  it('accepts a body that repeats the identified address', async () => {
    const { url } = await whoBot();
    const response = await post(url, { address: address('ann'), text: 'hello' }, as('ann'));
    expect({ status: response.status, replies: texts((await response.json()) as HttpTurnResponse) }).toEqual({
      status: 200,
      replies: ['ann in c-ann: hello'],
    });
  });

  it("uses the identity's user object, not the body's name for it", async () => {
    const { url, turns } = await whoBot({
      identify: () => ({ user: { id: 'ann', name: 'Ann' }, channelId: 'web', conversation: { id: 'c-ann' } }),
    });
    await post(url, { address: { user: { id: 'ann', name: 'Admin' } }, text: 'hello' });
    expect(turns.map((turn) => turn.user)).toEqual([{ id: 'ann', name: 'Ann' }]);
  });

  it('takes the conversation from the body when identify leaves it out', async () => {
    const { url } = await whoBot({
      identify: (req) => (byToken(req) ? { user: byToken(req)!.user, channelId: 'web' } : undefined),
    });
    const body = (await (
      await post(url, { address: { conversation: { id: 'team-room' } }, text: 'hello' }, as('ann'))
    ).json()) as HttpTurnResponse;
    expect(texts(body)).toEqual(['ann in team-room: hello']);
  });

  it('gives toMessage the identity', async () => {
    const toMessage = vi.fn((body: unknown, _req: HttpRequest, _identity: HttpIdentity | undefined) => body);
    const { url } = await whoBot({ toMessage });
    await post(url, { text: 'hello' }, as('ann'));
    expect(toMessage.mock.calls[0]?.[2]).toEqual(address('ann'));
  });

  it('answers with the replies of the identified user only, while another user talks at the same time', async () => {
    const { url } = await whoBot();
    const [ann, bob] = await Promise.all([
      post(url, { text: 'one' }, as('ann')),
      post(url, { text: 'two' }, as('bob')),
    ]);
    expect({
      ann: texts((await ann.json()) as HttpTurnResponse),
      bob: texts((await bob.json()) as HttpTurnResponse),
    }).toEqual({
      ann: ['ann in c-ann: one'],
      bob: ['bob in c-bob: two'],
    });
  });
});

describe('HttpAdapter identify: a body cannot name another user', () => {
  it("answers 403 IDENTITY_MISMATCH to a body with another user's id, and runs no turn", async () => {
    const { url, turns } = await whoBot();
    const response = await post(url, { address: address('bob'), text: 'I am bob' }, as('ann'));
    expect({ status: response.status, body: await response.json(), turns }).toEqual({
      status: 403,
      body: { error: { code: 'IDENTITY_MISMATCH', message: expect.stringContaining('address.user.id is "bob"') } },
      turns: [],
    });
  });

  it("gives a forged request nothing of the other user's conversation, which goes on untouched", async () => {
    const { bot, url, late } = await tutorialWithBob();
    const forged = await post(url, { address: address('bob'), text: '555-555-5555' }, as('ann'));
    const forgedText = await forged.text();
    const bobs = (await (await post(url, { text: '555-555-5555' }, as('bob'))).json()) as HttpTurnResponse;
    await bot.close();
    expect({
      status: forged.status,
      leaked: forgedText.includes('Secretname'),
      bob: texts(bobs),
      turnCount: bobs.session.turnCount,
      late,
    }).toEqual({
      status: 403,
      leaked: false,
      bob: ['Can you tell Botty your location, Bob Secretname?'],
      turnCount: 3,
      late: [],
    });
  });

  it('answers 403 to a body naming another conversation when identify sets the conversation', async () => {
    const { url, turns } = await whoBot();
    const response = await post(url, { address: { conversation: { id: 'c-bob' } }, text: 'hello' }, as('ann'));
    expect({
      status: response.status,
      code: ((await response.json()) as { error: { code: string } }).error.code,
      turns,
    }).toEqual({
      status: 403,
      code: 'IDENTITY_MISMATCH',
      turns: [],
    });
  });

  it('answers 403 to a body naming another channel when identify sets the channel', async () => {
    const { url, turns } = await whoBot();
    const response = await post(url, { address: { channelId: 'telegram' }, text: 'hello' }, as('ann'));
    expect({ status: response.status, turns }).toEqual({ status: 403, turns: [] });
  });

  it('answers 400 INVALID_ADDRESS to an address that is not an object', async () => {
    const { url, turns } = await whoBot();
    const response = await post(url, { address: 'bob', text: 'hello' }, as('ann'));
    expect({
      status: response.status,
      code: ((await response.json()) as { error: { code: string } }).error.code,
      turns,
    }).toEqual({
      status: 400,
      code: 'INVALID_ADDRESS',
      turns: [],
    });
  });
});

describe('HttpAdapter identify: an unidentified request runs nothing', () => {
  it('answers 401 UNAUTHENTICATED with a clear body when identify returns nothing, reading no body', async () => {
    const toMessage = vi.fn((body: unknown) => body);
    const { url, turns } = await whoBot({ toMessage });
    const response = await post(url, { address: address('bob'), text: 'hello' });
    expect({
      status: response.status,
      body: await response.json(),
      toMessage: toMessage.mock.calls.length,
      turns,
    }).toEqual({
      status: 401,
      body: { error: { code: 'UNAUTHENTICATED', message: expect.stringContaining('does not say who sends it') } },
      toMessage: 0,
      turns: [],
    });
  });

  it('answers 401 UNAUTHENTICATED when identify throws, without the thrown message', async () => {
    const onError = vi.fn();
    const { url, turns } = await whoBot({
      identify: () => Promise.reject(new Error('jwt malformed at secret-key-id 7')),
      onError,
    });
    const response = await post(url, { text: 'hello' }, as('ann'));
    const text = await response.text();
    expect({
      status: response.status,
      code: (JSON.parse(text) as { error: { code: string } }).error.code,
      detail: text.includes('secret-key-id'),
      turns,
      onError: onError.mock.calls,
    }).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
      detail: false,
      turns: [],
      onError: [],
    });
  });

  it('answers with the status, code and message of an HttpError thrown by identify', async () => {
    const { url, turns } = await whoBot({
      identify: () => {
        throw new HttpError(403, 'This account is suspended.', 'SUSPENDED');
      },
    });
    const response = await post(url, { text: 'hello' }, as('ann'));
    expect({ status: response.status, body: await response.json(), turns }).toEqual({
      status: 403,
      body: { error: { code: 'SUSPENDED', message: 'This account is suspended.' } },
      turns: [],
    });
  });

  it('answers 500 and reports the error when identify returns something without a user id', async () => {
    const onError = vi.fn();
    const { url, turns } = await whoBot({ identify: () => ({ user: { id: '' } }), onError });
    const response = await post(url, { text: 'hello' }, as('ann'));
    expect({ status: response.status, turns, reported: String(onError.mock.calls[0]?.[0]) }).toEqual({
      status: 500,
      turns: [],
      reported: expect.stringContaining('Expected identify() to return { user: { id } }'),
    });
  });

  it('serves the next request after a refused one on the same connection', async () => {
    const { url } = await whoBot();
    const statuses = [];
    for (const headers of [{}, as('ann')])
      statuses.push((await post(url, { text: 'x'.repeat(50_000) }, headers)).status);
    expect(statuses).toEqual([401, 200]);
  });
});

describe('HttpAdapter.authenticate: the same check for a push channel', () => {
  /** A server whose only route answers with what authenticate() says of the request. */
  async function probe(options: HttpAdapterOptions) {
    const http = new HttpAdapter(options);
    return listen((req, res) => {
      http.authenticate(req).then(
        (identity) => res.end(JSON.stringify({ identity })),
        (error: unknown) =>
          res.end(
            JSON.stringify({
              status: (error as HttpError).status,
              code: (error as HttpError).code,
              type: (error as Error).name,
            }),
          ),
      );
    });
  }

  it('resolves to the identity of the request', async () => {
    const url = await probe({ identify: byToken });
    expect(await (await fetch(url, { headers: as('bob') })).json()).toEqual({ identity: address('bob') });
  });

  it('rejects with an HttpError 401 UNAUTHENTICATED for a request identify does not know', async () => {
    const url = await probe({ identify: byToken });
    expect(await (await fetch(url, { headers: { authorization: 'Bearer forged' } })).json()).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
      type: 'HttpError',
    });
  });

  it('rejects with a TypeError when the adapter has no identify option', async () => {
    await expect(new HttpAdapter().authenticate({ headers: {} } as HttpRequest)).rejects.toThrow(
      /needs the `identify` option/,
    );
  });
});
