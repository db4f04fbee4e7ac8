// palaver/http: a node:http request handler that runs one turn per POST and answers with that turn's replies.
import type { IncomingMessage as HttpRequest, ServerResponse } from 'node:http';
import type { SessionManager, TurnResult } from '../manager';
import type { DeliverFn } from '../outbox';
import type { Address, Awaitable, IncomingMessage, OutgoingMessage } from '../types';
import { errorText, laneOf } from './shared';

/** The part of a {@link SessionManager} the HTTP adapter uses. */
export type HttpTurnRunner = Pick<SessionManager<any, any, any, any>, 'receive'>;

/** Options of {@link HttpAdapter}. */
export interface HttpAdapterOptions {
  /**
   * Receives the batches that no HTTP response carries: proactive messages (`manager.send`), the `closeMessage` of a
   * timed-out session, typing indicators, and replies sent after their turn ended. Forward them to a push channel
   * (server-sent events, a WebSocket, a webhook). A throw is a failed delivery, retried by the manager.
   * @default drops the batch with a warning on the console
   */
  onDeliver?: DeliverFn;
  /**
   * Says who sends a request, from something the server trusts (a signed session cookie, a verified token), so that no
   * client can speak as another user or receive their replies. It runs before the body is read; when it throws or
   * returns nothing, the request gets a 401 (`UNAUTHENTICATED`) and no turn runs (throw an {@link HttpError} for
   * another status or message). The fields it returns make the message's address: the body may leave them out or
   * repeat them, and a body naming anything else (another user id, channel or conversation) gets a 403
   * (`IDENTITY_MISMATCH`). Fields it leaves out (e.g. `conversation`) come from the body. Use
   * {@link HttpAdapter.authenticate} on the push channel (server-sent events, a WebSocket) so it trusts the same.
   * @default none: the address, user id included, comes from the body, so any client can act as any user. Only for a
   * server that authenticates its callers in front of the adapter (see docs/operations/privacy.md).
   */
  identify?: (req: HttpRequest) => Awaitable<HttpIdentity | null | undefined>;
  /** The largest request body accepted, in bytes; a larger one gets a 413. @default 102_400 (100 KiB, as body-parser) */
  maxBodyBytes?: number;
  /**
   * Turns the parsed JSON body into the message to run, e.g. to check that the identified user may post to the
   * conversation the body names. Throw an {@link HttpError} to answer with its status. `identity` is what `identify`
   * returned (its fields are set on the message's address after this). @default the body as it is
   */
  toMessage?: (body: unknown, req: HttpRequest, identity: HttpIdentity | undefined) => Awaitable<unknown>;
  /** Builds the JSON body of a successful answer. @default `{ replies, session, error? }` (see {@link HttpTurnResponse}) */
  responseBody?: (response: HttpTurnResponse, message: IncomingMessage) => Awaitable<unknown>;
  /** Receives failures that are not the client's fault (they are answered with a 500). @default console.error */
  onError?: (error: unknown) => void;
}

/**
 * Who sends a request, as `identify` established it: the user, and whatever of the address the server decides rather
 * than the client (a web chat whose every user has one conversation sets it too; a group chat may leave it to the body).
 */
export interface HttpIdentity {
  /** The user the request speaks as: its `id` is the one every turn and reply of this request belongs to. */
  user: Address['user'];
  /** The channel, when the server decides it. */
  channelId?: string;
  /** The conversation, when the server decides it (otherwise the body names it). */
  conversation?: Address['conversation'];
}

/** The JSON body of a successful answer: the replies of the turn, in order, and the session as of its end. */
export interface HttpTurnResponse {
  /** The turn's replies, plus any message for the same user that was delivered while the turn ran. */
  replies: OutgoingMessage[];
  /** The metadata of the session that handled the turn, as of its end (also when the turn ended that session). */
  session: TurnResult['session'];
  /** Set when a dialog threw: the replies then hold the manager's `dialogErrorMessage`. */
  error?: { code: string; message: string };
}

/** The JSON body of every error answer. `code` is palaver's error code, or one of the adapter's own (below). */
export interface HttpErrorBody {
  error: {
    /** `UNAUTHENTICATED`, `IDENTITY_MISMATCH`, `INVALID_JSON`, `INVALID_MESSAGE`, `INVALID_ADDRESS`, `METHOD_NOT_ALLOWED`, `UNSUPPORTED_MEDIA_TYPE`, `BODY_TOO_LARGE`, `TURN_QUEUE_FULL`, `CLOSED`, `INTERNAL`... */
    code: string;
    message: string;
  };
}

/** Throw it from `identify` or `toMessage` to answer with `status` (e.g. 401) and `message`. */
export class HttpError extends Error {
  constructor(
    /** The HTTP status to answer with. */
    readonly status: number,
    message: string,
    /** The `error.code` of the answer. @default 'HTTP_<status>' */
    readonly code: string = `HTTP_${status}`,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HttpError';
  }
}

/** Messages delivered while a request of the same lane was running: they go into that request's answer. */
interface Lane {
  requests: number;
  held: { address: Address; messages: OutgoingMessage[] }[];
}

const STATUS_OF_CODE: Record<string, number> = {
  INVALID_MESSAGE: 400,
  INVALID_ADDRESS: 400,
  MESSAGE_TOO_LARGE: 413,
  TURN_QUEUE_FULL: 429,
  CLOSED: 503,
};

/**
 * Serves a palaver bot over HTTP: each `POST` carries one JSON message (`{ address, text, ... }`), runs one turn, and
 * is answered with the replies of that turn as soon as the turn is saved (without waiting for the batching delay).
 * Everything else the bot delivers goes to `onDeliver`. Bad input gets a 4xx with a JSON error, never a crash.
 *
 * Give the adapter's {@link HttpAdapter.deliver} to the manager, then mount {@link HttpAdapter.handler}. Set `identify`
 * unless something in front of the adapter authenticates the caller: without it, the body says who speaks.
 * @example
 * const http = new HttpAdapter({
 *   identify: (req) => signedInUser(req),                    // { user: { id } }, or undefined for a 401
 *   onDeliver: (address, messages) => push(address.user.id, messages),
 * });
 * const bot = new SessionManager({ deliver: http.deliver });
 * createServer(http.handler(bot)).listen(3000);           // or app.post('/bot', http.handler(bot)) in Express
 */
export class HttpAdapter {
  private readonly lanes = new Map<string, Lane>();
  // Replies that an HTTP answer already carried; when the outbox delivers them after its delay, they are skipped.
  private readonly answered = new WeakSet<OutgoingMessage>();
  private readonly maxBodyBytes: number;

  /** @throws TypeError when `maxBodyBytes` is not a positive integer. */
  constructor(private readonly options: HttpAdapterOptions = {}) {
    this.maxBodyBytes = options.maxBodyBytes ?? 102_400;
    if (!Number.isInteger(this.maxBodyBytes) || this.maxBodyBytes <= 0) {
      throw new TypeError(`Expected \`maxBodyBytes\` to be a positive integer, got ${String(options.maxBodyBytes)}.`);
    }
  }

  /** The `deliver` function to give the {@link SessionManager}. */
  readonly deliver: DeliverFn = (address, messages) => {
    const fresh = messages.filter((message) => !this.answered.has(message));
    if (fresh.length === 0) return undefined;
    const lane = this.lanes.get(laneOf(address));
    if (lane === undefined) return this.forward(address, fresh);
    // Typing indicators are live signals, of no use in a finished answer: they go out at once, the rest waits for it.
    const rest = fresh.filter((message) => message.type !== 'typing');
    if (rest.length > 0) lane.held.push({ address, messages: rest });
    return rest.length === fresh.length
      ? undefined
      : this.forward(
          address,
          fresh.filter((message) => message.type === 'typing'),
        );
  };

  /**
   * Runs the `identify` option on `req`: resolves to who sends it, or rejects with an {@link HttpError} (401
   * `UNAUTHENTICATED` when `identify` threw or returned nothing; the `HttpError` it threw as it is). Give the push
   * channel the same check, so a stream opened by one browser carries only its own user's messages:
   * @example
   * const who = await http.authenticate(req).catch(() => undefined);
   * if (who === undefined) return void res.writeHead(401).end();
   * openStream(who.user.id, res);
   * @throws TypeError when the adapter has no `identify` option, or it returned something without a `user.id`.
   */
  async authenticate(req: HttpRequest): Promise<HttpIdentity> {
    const identify = this.options.identify;
    if (identify === undefined)
      throw new TypeError(
        'authenticate() needs the `identify` option of the HttpAdapter: set it to say who sends a request.',
      );
    let identity: unknown;
    try {
      identity = await identify(req);
    } catch (error) {
      if (error instanceof HttpError) throw error;
      // Verifiers throw for a bad or expired credential: that is the client's problem, not the server's.
      throw new HttpError(401, UNAUTHENTICATED, 'UNAUTHENTICATED', { cause: error });
    }
    if (identity === undefined || identity === null) throw new HttpError(401, UNAUTHENTICATED, 'UNAUTHENTICATED');
    if (!isIdentity(identity)) {
      throw new TypeError(
        `Expected identify() to return { user: { id } } with a non-empty string id (and optionally channelId and conversation), or nothing, got ${describe(identity)}.`,
      );
    }
    return identity;
  }

  /**
   * A `node:http` request listener running turns on `manager`. Mount it as it is in `http.createServer`, in Express
   * (`app.post('/api/messages', handler)`; a body parsed by `express.json()` is used as it is), or in Fastify (in a
   * route: `reply.hijack(); return handler(Object.assign(request.raw, { body: request.body }), reply.raw)`).
   * The returned promise never rejects.
   */
  handler(manager: HttpTurnRunner): (req: HttpRequest, res: ServerResponse) => Promise<void> {
    return (req, res) =>
      this.handle(manager, req, res).catch((error: unknown) => {
        this.reportError(error);
        if (!res.headersSent) sendJson(res, 500, errorBody('INTERNAL', 'The bot failed while handling this request.'));
        else res.end();
      });
  }

  private async handle(manager: HttpTurnRunner, req: HttpRequest, res: ServerResponse): Promise<void> {
    if (req.method !== 'POST') {
      res.setHeader('Allow', 'POST');
      sendJson(
        res,
        405,
        errorBody('METHOD_NOT_ALLOWED', `Expected a POST with a JSON message, got ${req.method ?? 'no method'}.`),
      );
      req.resume();
      return;
    }
    const type = req.headers['content-type'];
    if (type !== undefined && !/^application\/([\w.+-]+\+)?json\s*(;|$)/i.test(type)) {
      sendJson(
        res,
        415,
        errorBody('UNSUPPORTED_MEDIA_TYPE', `Expected the content type application/json, got ${type}.`),
      );
      req.resume();
      return;
    }
    let identity: HttpIdentity | undefined;
    if (this.options.identify !== undefined) {
      try {
        identity = await this.authenticate(req);
      } catch (error) {
        if (!(error instanceof HttpError)) throw error;
        sendJson(res, error.status, errorBody(error.code, error.message));
        req.resume();
        return;
      }
    }
    const body = await this.readBody(req);
    if (body.ok === 'aborted') return; // the client went away while sending: nobody to answer
    if (!body.ok) {
      res.setHeader('Connection', 'close');
      sendJson(
        res,
        413,
        errorBody('BODY_TOO_LARGE', `The body is larger than ${this.maxBodyBytes} bytes (maxBodyBytes).`),
      );
      return;
    }
    let parsed: unknown;
    try {
      parsed = body.json ?? JSON.parse(body.text);
    } catch (error) {
      sendJson(res, 400, errorBody('INVALID_JSON', `The body is not valid JSON: ${errorText(error)}`));
      return;
    }
    let message: unknown;
    try {
      message = this.options.toMessage ? await this.options.toMessage(parsed, req, identity) : parsed;
    } catch (error) {
      if (!(error instanceof HttpError)) throw error;
      sendJson(res, error.status, errorBody(error.code, error.message));
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      sendJson(
        res,
        400,
        errorBody(
          'INVALID_MESSAGE',
          `Expected a JSON object with an \`address\`, got ${Array.isArray(message) ? 'an array' : message === null ? 'null' : typeof message}.`,
        ),
      );
      return;
    }
    if (identity !== undefined) {
      const claimed = claim(message as Record<string, unknown>, identity);
      if (claimed instanceof HttpError) {
        sendJson(res, claimed.status, errorBody(claimed.code, claimed.message));
        return;
      }
      message = claimed;
    }
    await this.runTurn(manager, message as IncomingMessage, res);
  }

  private async runTurn(manager: HttpTurnRunner, message: IncomingMessage, res: ServerResponse): Promise<void> {
    const address = (message as { address?: unknown }).address;
    // Until the manager has validated it, the address may be anything: only hold deliveries for a usable one.
    const key = isAddressLike(address) ? laneOf(address) : undefined;
    const lane = key === undefined ? undefined : this.enter(key);
    let result: TurnResult;
    try {
      result = await manager.receive(message);
    } catch (error) {
      this.leave(key, lane);
      const code = codeOf(error);
      if (code === undefined) throw error;
      const status = STATUS_OF_CODE[code];
      if (status !== undefined) {
        sendJson(res, status, errorBody(code, errorText(error)));
        return;
      }
      // The store or the bot failed (STORE_UNAVAILABLE, CONFLICT...): say which, but not the details.
      this.reportError(error);
      if (code === 'COMMIT_UNKNOWN') {
        // Saved or not, nobody knows yet: a blind retry could handle the message twice.
        sendJson(res, 504, errorBody(code, 'The bot may have handled this message; check before sending it again.'));
        return;
      }
      sendJson(res, 500, errorBody(code, 'The bot could not handle this message; try again.'));
      return;
    }
    const held = lane === undefined ? [] : lane.held.splice(0);
    this.leave(key, lane);
    if (res.destroyed) {
      // The client is gone: what was held for it is late now. The turn's other replies reach onDeliver on their own.
      for (const batch of held) this.forwardLater(batch.address, batch.messages);
      return;
    }
    const replies: OutgoingMessage[] = held.flatMap((batch) => batch.messages);
    const carried = new Set(replies);
    for (const reply of result.replies) if (!carried.has(reply)) replies.push(reply);
    for (const reply of replies) this.answered.add(reply);
    const response: HttpTurnResponse = { replies, session: result.session };
    if (result.error !== undefined) response.error = { code: result.error.code, message: result.error.message };
    const json = this.options.responseBody ? await this.options.responseBody(response, message) : response;
    sendJson(res, 200, json);
  }

  private enter(key: string): Lane {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { requests: 0, held: [] };
      this.lanes.set(key, lane);
    }
    lane.requests++;
    return lane;
  }

  private leave(key: string | undefined, lane: Lane | undefined): void {
    if (key === undefined || lane === undefined) return;
    lane.requests--;
    if (lane.requests > 0) return;
    this.lanes.delete(key);
    for (const batch of lane.held.splice(0)) this.forwardLater(batch.address, batch.messages);
  }

  private forward(address: Address, messages: OutgoingMessage[]): ReturnType<DeliverFn> {
    const onDeliver = this.options.onDeliver;
    if (onDeliver !== undefined) return onDeliver(address, messages);
    console.warn(
      `[palaver/http] ${messages.length} message(s) for ${address.channelId}/${address.user.id} outside any request were dropped: set the onDeliver option to push them.`,
    );
    return undefined;
  }

  /** Forwards outside the outbox (whose delivery already succeeded): a failure can only be reported. */
  private forwardLater(address: Address, messages: OutgoingMessage[]): void {
    Promise.resolve()
      .then(() => this.forward(address, messages))
      .catch((error: unknown) => this.reportError(error));
  }

  private reportError(error: unknown): void {
    if (this.options.onError) this.options.onError(error);
    else console.error('[palaver/http]', error);
  }

  /** Reads the body up to `maxBodyBytes`; uses a body that a framework already parsed. */
  private readBody(
    req: HttpRequest,
  ): Promise<{ ok: true; text: string; json?: unknown } | { ok: false } | { ok: 'aborted' }> {
    const preparsed = (req as { body?: unknown }).body;
    if (preparsed !== undefined) {
      if (typeof preparsed === 'string' || Buffer.isBuffer(preparsed)) {
        const text = preparsed.toString();
        return Promise.resolve(Buffer.byteLength(text) > this.maxBodyBytes ? { ok: false } : { ok: true, text });
      }
      return Promise.resolve({ ok: true, text: '', json: preparsed });
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > this.maxBodyBytes) {
      req.resume();
      return Promise.resolve({ ok: false });
    }
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let tooLarge = false;
      req.on('data', (chunk: Buffer) => {
        if (tooLarge) return;
        size += chunk.length;
        if (size > this.maxBodyBytes) {
          tooLarge = true;
          chunks.length = 0;
          resolve({ ok: false });
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => resolve({ ok: true, text: Buffer.concat(chunks).toString('utf8') }));
      req.on('error', () => resolve({ ok: 'aborted' }));
    });
  }
}

const UNAUTHENTICATED =
  'This request does not say who sends it (no valid session or credential came with it): sign in, or reload the page to get a new session.';

function isIdentity(value: unknown): value is HttpIdentity {
  const identity = value as HttpIdentity;
  return (
    typeof identity === 'object' &&
    identity !== null &&
    typeof identity.user === 'object' &&
    identity.user !== null &&
    typeof identity.user.id === 'string' &&
    identity.user.id.length > 0 &&
    (identity.channelId === undefined || typeof identity.channelId === 'string') &&
    (identity.conversation === undefined || typeof identity.conversation?.id === 'string')
  );
}

/**
 * The message with the identity's fields as its address. A body that names another user, channel or conversation is
 * refused rather than rewritten: a forgery (or a client that mixes up its users) shows, and nothing runs.
 */
function claim(message: Record<string, unknown>, identity: HttpIdentity): Record<string, unknown> | HttpError {
  const given = message.address;
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) {
    return new HttpError(
      400,
      `Expected \`address\` to be an object or absent (the server sets the user), got ${describe(given)}.`,
      'INVALID_ADDRESS',
    );
  }
  const body = (given ?? {}) as { channelId?: unknown; user?: { id?: unknown }; conversation?: { id?: unknown } };
  const claims: [string, unknown, string | undefined][] = [
    ['address.user.id', body.user?.id, identity.user.id],
    ['address.channelId', body.channelId, identity.channelId],
    ['address.conversation.id', body.conversation?.id, identity.conversation?.id],
  ];
  for (const [field, claimed, established] of claims) {
    if (claimed === undefined || established === undefined || claimed === established) continue;
    return new HttpError(
      403,
      `The body's ${field} is ${describe(claimed)}, but this request is identified as ${JSON.stringify(established)}: leave it out of the body (the server sets it).`,
      'IDENTITY_MISMATCH',
    );
  }
  const address: Record<string, unknown> = { ...body, user: identity.user };
  if (identity.channelId !== undefined) address.channelId = identity.channelId;
  if (identity.conversation !== undefined) address.conversation = identity.conversation;
  return { ...message, address };
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  return typeof value === 'object' ? 'an object' : `${String(value)} (${typeof value})`;
}

function isAddressLike(value: unknown): value is Address {
  const address = value as Address | undefined;
  return (
    typeof address === 'object' &&
    address !== null &&
    typeof address.channelId === 'string' &&
    typeof address.user?.id === 'string' &&
    typeof address.conversation?.id === 'string'
  );
}

function codeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return error instanceof Error && error.name === 'PalaverError' && typeof code === 'string' ? code : undefined;
}

function errorBody(code: string, message: string): HttpErrorBody {
  return { error: { code, message } };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed || res.writableEnded) return;
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    'Cache-Control': 'no-store',
  });
  res.end(text);
}
