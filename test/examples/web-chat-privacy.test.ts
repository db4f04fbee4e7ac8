// The web chat example's identity, over its real socket: a signed session cookie says which user a browser is, and
// no request (message, event stream, session panel, timeout) can reach another user's conversation or replies.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startWebChat, type WebChat } from '../../examples/web-chat/server';
import type { Address } from '../../src';

const SECRET = 'a test signing key of at least thirty-two bytes';
let chat: WebChat;
const streams: AbortController[] = [];

beforeEach(async () => {
  chat = await startWebChat({ port: 0, secret: SECRET });
});

afterEach(async () => {
  for (const stream of streams.splice(0)) stream.abort();
  await chat.close();
});

/** Visits the page as a new browser would, and returns the cookie it was given. */
async function visit(): Promise<string> {
  const response = await fetch(chat.url);
  await response.text();
  return (response.headers.get('set-cookie') ?? '').split(';')[0]!;
}

const userOf = (cookie: string) => cookie.slice(cookie.indexOf('=') + 1, cookie.indexOf('.'));
const addressOf = (user: string): Address => ({
  channelId: 'webchat',
  user: { id: user, name: 'You' },
  conversation: { id: `webchat-${user}` },
});

function api(path: string, cookie: string | undefined, init: RequestInit = {}): Promise<Response> {
  return fetch(new URL(path, chat.url), {
    ...init,
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
  });
}

async function say(cookie: string | undefined, body: unknown): Promise<{ status: number; text: string }> {
  const response = await api('/api/messages', cookie, { method: 'POST', body: JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}

/** Opens the event stream; `until(...texts)` resolves with everything received once one of `texts` has arrived. */
async function events(cookie: string | undefined, query = '') {
  const controller = new AbortController();
  streams.push(controller);
  const response = await fetch(new URL(`/api/events${query}`, chat.url), {
    headers: cookie ? { cookie } : {},
    signal: controller.signal,
  });
  let received = '';
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  return {
    status: response.status,
    async until(...texts: string[]): Promise<string> {
      while (!texts.some((text) => received.includes(text))) {
        const { value, done } = await reader.read();
        if (done) break;
        received += decoder.decode(value, { stream: true });
      }
      return received;
    },
  };
}

describe('the web chat: a browser is the user of its signed cookie', () => {
  it('sets a signed, HttpOnly, SameSite=Lax session cookie on the first visit', async () => {
    const response = await fetch(chat.url);
    expect(response.headers.get('set-cookie')).toMatch(
      /^palaver_user=[\w-]{22}\.[\w-]{43}; Path=\/; HttpOnly; SameSite=Lax$/,
    );
  });

  it('gives each new browser its own user', async () => {
    expect(userOf(await visit())).not.toBe(userOf(await visit()));
  });

  it('sets no new cookie on a visit that brings a valid one', async () => {
    const cookie = await visit();
    expect((await fetch(chat.url, { headers: { cookie } })).headers.get('set-cookie')).toBeNull();
  });

  it('runs the conversation of a browser with a valid cookie', async () => {
    const cookie = await visit();
    const first = await say(cookie, { text: 'hi' });
    const session = (await (await api('/api/session', cookie)).json()) as { id: string | null };
    expect({ status: first.status, greeted: first.text.includes("Hi, I'm Botty"), session: typeof session.id }).toEqual(
      { status: 200, greeted: true, session: 'string' },
    );
  });
});

describe('the web chat: no request reaches another user', () => {
  it('answers 401 to a message without the cookie, starting no session', async () => {
    let started = 0;
    chat.bot.on('sessionStart', () => void started++);
    const answer = await say(undefined, { address: addressOf('someone'), text: 'hi' });
    expect({
      status: answer.status,
      code: (JSON.parse(answer.text) as { error: { code: string } }).error.code,
      started,
    }).toEqual({
      status: 401,
      code: 'UNAUTHENTICATED',
      started: 0,
    });
  });

  it("answers 401 to a cookie carrying another user's id under its own signature", async () => {
    const ann = await visit();
    const bob = await visit();
    const forged = `palaver_user=${userOf(bob)}${ann.slice(ann.indexOf('.'))}`;
    expect((await say(forged, { text: 'hi' })).status).toBe(401);
  });

  it('answers 401 to a cookie signed with another key', async () => {
    const other = await startWebChat({ port: 0, secret: 'another key, also at least thirty-two bytes' });
    const response = await fetch(other.url);
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]!;
    await other.close();
    expect((await say(cookie, { text: 'hi' })).status).toBe(401);
  });

  it("refuses a message whose body names another user, leaving that user's conversation as it was", async () => {
    const ann = await visit();
    const bob = await visit();
    await say(bob, { text: 'hi' });
    await say(bob, { text: 'Bob Secretname' });
    const forged = await say(ann, { address: addressOf(userOf(bob)), text: '555-555-5555' });
    const bobs = await say(bob, { text: '555-555-5555' });
    expect({
      status: forged.status,
      leaked: forged.text.includes('Secretname'),
      bob: bobs.text.includes('Can you tell Botty your location, Bob Secretname?'),
    }).toEqual({
      status: 403,
      leaked: false,
      bob: true,
    });
  });

  it("speaks as the cookie's user when the body carries the old `user` field", async () => {
    const ann = await visit();
    const bob = await visit();
    await say(ann, { user: userOf(bob), text: 'hi' });
    const bobs = (await (await api('/api/session', bob)).json()) as { id: string | null };
    const anns = (await (await api('/api/session', ann)).json()) as { id: string | null };
    expect({ bob: bobs.id, ann: typeof anns.id }).toEqual({ bob: null, ann: 'string' });
  });

  it('answers 401 to an event stream opened without the cookie', async () => {
    const stream = await events(undefined);
    expect({ status: stream.status, body: await stream.until('UNAUTHENTICATED') }).toEqual({
      status: 401,
      body: expect.stringContaining('UNAUTHENTICATED'),
    });
  });

  it("streams to each browser only its own user's pushed messages", async () => {
    const ann = await visit();
    const bob = await visit();
    const annStream = await events(ann);
    const bobStream = await events(bob);
    // Pushed in this order, a misrouted message would reach the other stream before what it reads up to.
    await chat.bot.send(addressOf(userOf(bob)), 'for bob');
    await chat.bot.send(addressOf(userOf(ann)), 'for ann');
    await chat.bot.send(addressOf(userOf(bob)), 'for bob, again');
    const [annGot, bobGot] = await Promise.all([
      annStream.until('for ann', 'for bob'),
      bobStream.until('for bob, again'),
    ]);
    expect({
      ann: [annGot.includes('for ann'), annGot.includes('for bob')],
      bobGotAnns: bobGot.includes('for ann'),
    }).toEqual({ ann: [true, false], bobGotAnns: false });
  });

  it('ignores a ?user= naming another user on the event stream', async () => {
    const ann = await visit();
    const bob = await visit();
    const annStream = await events(ann, `?user=${userOf(bob)}`);
    await chat.bot.send(addressOf(userOf(bob)), 'for bob only');
    await chat.bot.send(addressOf(userOf(ann)), 'for ann');
    const got = await annStream.until('for ann', 'for bob only');
    expect({ ann: got.includes('for ann'), bob: got.includes('for bob only') }).toEqual({ ann: true, bob: false });
  });

  it('answers 401 to the session panel and the timeout button without the cookie', async () => {
    const statuses = [
      (await api('/api/session', undefined)).status,
      (await api('/api/timeout', undefined, { method: 'POST' })).status,
    ];
    expect(statuses).toEqual([401, 401]);
  });
});
