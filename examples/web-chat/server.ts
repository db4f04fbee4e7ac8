// A web chat with the Conversation Learner tutorial bot: palaver/http answers each message with its turn's replies,
// and server-sent events push everything else (proactive messages, typing, session starts and ends) to the page.
// Who is who comes from a signed session cookie set on the first visit (session-cookie.ts), never from the page: the
// messages, the event stream and the session panel all take the user from it, so no browser can act as another.
// Run it: npm run web-chat   then open http://127.0.0.1:3000
// (PORT, SESSION_TIMEOUT_MS and WEB_CHAT_SECRET, the cookie signing key, change the defaults)
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage as HttpRequest, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { HttpAdapter, HttpError } from '../../src/adapters/http';
import { SessionCookie } from './session-cookie';
import { decodeState, type Address } from '../../src';
import { createTutorialBot } from '../session-callbacks';

/** Options of {@link startWebChat}. */
export interface WebChatOptions {
  /** @default 3000 (0 picks a free port) */
  port?: number;
  /** @default '127.0.0.1' */
  host?: string;
  /** The inactivity timeout of a session, in ms. @default 300_000 */
  timeout?: number;
  /** The cookie signing key (at least 32 bytes). @default WEB_CHAT_SECRET, else a random one (cookies die with the process) */
  secret?: string | Buffer;
  /** Marks the cookie `Secure`: set it when the chat is served over HTTPS. @default false */
  secureCookie?: boolean;
}

/** A running web chat. */
export interface WebChat {
  url: string;
  bot: ReturnType<typeof createTutorialBot>;
  close(): Promise<void>;
}

/** One web chat user: the server picks the id (in the signed cookie) and makes the whole address. */
function addressOf(user: string): Address {
  return { channelId: 'webchat', user: { id: user, name: 'You' }, conversation: { id: `webchat-${user}` } };
}

const page = readFileSync(join(__dirname, 'index.html'));

/** Starts the web chat server; resolves once it listens. */
export async function startWebChat(options: WebChatOptions = {}): Promise<WebChat> {
  // Server-sent event streams per user, and what arrived for a user whose page is not connected (yet).
  const streams = new Map<string, Set<ServerResponse>>();
  const backlog = new Map<string, string[]>();
  const push = (user: string, event: string, data: unknown) => {
    const frame = `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
    const open = streams.get(user);
    if (open !== undefined && open.size > 0) for (const res of open) res.write(frame);
    else backlog.set(user, [...(backlog.get(user) ?? []), frame].slice(-50));
  };

  const cookie = new SessionCookie({
    secret: options.secret ?? process.env.WEB_CHAT_SECRET ?? randomBytes(32),
    secure: options.secureCookie ?? false,
  });
  const http = new HttpAdapter({
    onDeliver: (address, messages) => push(address.user.id, 'batch', { messages }),
    // The whole address comes from the cookie: the page sends `{ text }`, and a body naming another user gets a 403.
    identify: (req) => {
      const user = cookie.read(req);
      return user === undefined ? undefined : addressOf(user);
    },
    // The page shows the active session (none once a turn ended it) and its entities: read them from the store,
    // where palaver keeps plain JSON.
    responseBody: async (response, message) => {
      const state = await stored(message.address);
      return { ...response, activeSession: state.id, entities: state.entities };
    },
  });
  const bot = createTutorialBot({ deliver: http.deliver, timeout: options.timeout ?? 300_000 });
  bot.on('sessionStart', ({ session }) => push(session.user.id, 'session', { id: session.id }));
  bot.on('sessionEnd', ({ session, reason, entities, kept }) => {
    const keptEntities = Object.fromEntries(kept.map((name) => [name, entities[name]]));
    push(session.user.id, 'session', { id: null, ended: session.id, reason, entities: keptEntities });
  });

  async function stored(address: Address): Promise<{ id: string | null; entities: Record<string, unknown> }> {
    const key = bot.keyOf(address);
    const record = await bot.store.get(key);
    if (record === undefined) return { id: null, entities: {} };
    const state = decodeState(record.data, key);
    return { id: state.id ?? null, entities: state.entities };
  }

  const handleMessage = http.handler(bot);
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname === '/api/messages') return void handleMessage(req, res);
    if (url.pathname === '/' && req.method === 'GET') {
      // The first visit makes a user: a fresh id, signed, in a cookie the page cannot read.
      if (cookie.read(req) === undefined) cookie.issue(res);
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
      return void res.end(page);
    }
    if (!url.pathname.startsWith('/api/')) return void notFound(req, res, url);
    // Every other route acts for the user of the cookie, as the messages do.
    http.authenticate(req).then(
      (identity) => route(identity.user.id, url, req, res),
      (error: unknown) => {
        if (error instanceof HttpError)
          json(res, error.status, { error: { code: error.code, message: error.message } });
        else json(res, 500, { error: { code: 'INTERNAL', message: 'The chat could not tell who you are.' } });
      },
    );
  });

  function route(user: string, url: URL, req: HttpRequest, res: ServerResponse): void {
    if (url.pathname === '/api/events' && req.method === 'GET') return openStream(user, req, res);
    if (url.pathname === '/api/session' && req.method === 'GET') {
      return void stored(addressOf(user)).then(
        (state) => json(res, 200, state),
        (error: Error) => json(res, 500, { error: { code: 'STORE', message: error.message } }),
      );
    }
    if (url.pathname === '/api/timeout' && req.method === 'POST') {
      // What the inactivity timeout would do, now: end the session with reason `timeout`, then tell the user.
      const address = addressOf(user);
      return void bot
        .endSession(address, 'timeout')
        .then(async (ended) => {
          if (ended) await bot.send(address, 'Your session timed out. Say hi to start a new one.');
          json(res, 200, { ended });
        })
        .catch((error: Error) => json(res, 500, { error: { code: 'TIMEOUT_FAILED', message: error.message } }));
    }
    notFound(req, res, url);
  }

  function openStream(user: string, req: HttpRequest, res: ServerResponse): void {
    res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
    res.write('retry: 1000\n\n');
    const open = streams.get(user) ?? new Set<ServerResponse>();
    open.add(res);
    streams.set(user, open);
    for (const frame of backlog.get(user) ?? []) res.write(frame);
    backlog.delete(user);
    req.on('close', () => {
      open.delete(res);
      if (open.size === 0) streams.delete(user);
    });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 3000, options.host ?? '127.0.0.1', resolve));
  const { address, port } = server.address() as AddressInfo;
  return {
    url: `http://${address}:${port}/`,
    bot,
    async close() {
      for (const open of streams.values()) for (const res of open) res.end();
      await bot.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function notFound(req: HttpRequest, res: ServerResponse, url: URL): void {
  json(res, 404, { error: { code: 'NOT_FOUND', message: `No ${req.method} ${url.pathname} here.` } });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(body));
}

if (require.main === module) {
  startWebChat({
    port: Number(process.env.PORT ?? 3000),
    timeout: process.env.SESSION_TIMEOUT_MS === undefined ? undefined : Number(process.env.SESSION_TIMEOUT_MS),
  }).then(
    (chat) => console.log(`Web chat with Botty on ${chat.url} (Ctrl-C to stop)`),
    (error) => {
      console.error(error);
      process.exitCode = 1;
    },
  );
}
