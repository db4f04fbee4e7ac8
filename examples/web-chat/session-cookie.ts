// The web chat's proof of who is who: a random user id chosen by the server on the first visit, in a cookie signed with
// HMAC-SHA256. The page cannot read it (HttpOnly), other sites' requests do not carry it (SameSite=Lax), and a client
// that edits it breaks the signature. The id is all it holds: nothing about the user is in the cookie.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage as HttpRequest, ServerResponse } from 'node:http';

/** Options of {@link SessionCookie}. */
export interface SessionCookieOptions {
  /** The signing key: at least 32 bytes, the same on every server of the app, kept out of the code and the logs. */
  secret: string | Buffer;
  /** @default 'palaver_user' */
  name?: string;
  /** Adds `Secure` (the browser sends it over HTTPS only): set it in production. @default false (plain-HTTP localhost) */
  secure?: boolean;
}

const ID = /^[\w-]{22}$/;

/** Issues and checks the signed cookie that says which user a browser is. */
export class SessionCookie {
  private readonly secret: Buffer;
  private readonly name: string;
  private readonly secure: boolean;

  /** @throws TypeError for a secret shorter than 32 bytes (a guessable key signs anyone's id). */
  constructor(options: SessionCookieOptions) {
    this.secret = Buffer.from(options.secret);
    if (this.secret.length < 32)
      throw new TypeError(`Expected a \`secret\` of at least 32 bytes, got ${this.secret.length}.`);
    this.name = options.name ?? 'palaver_user';
    this.secure = options.secure ?? false;
  }

  /** The user id of the request's cookie, or undefined when it has none or its signature is not ours. */
  read(req: HttpRequest): string | undefined {
    const value = cookieValue(req.headers.cookie, this.name);
    if (value === undefined) return undefined;
    const dot = value.indexOf('.');
    const id = value.slice(0, dot);
    if (dot < 0 || !ID.test(id)) return undefined;
    const given = Buffer.from(value.slice(dot + 1));
    const expected = Buffer.from(this.sign(id));
    return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined;
  }

  /** Gives the browser a new user id (in a `Set-Cookie` header on `res`) and returns it. */
  issue(res: ServerResponse): string {
    const id = randomBytes(16).toString('base64url');
    const attributes = ['Path=/', 'HttpOnly', 'SameSite=Lax', ...(this.secure ? ['Secure'] : [])];
    // No Max-Age: a session cookie, gone when the browser ends its session.
    res.setHeader('Set-Cookie', `${this.name}=${id}.${this.sign(id)}; ${attributes.join('; ')}`);
    return id;
  }

  private sign(id: string): string {
    return createHmac('sha256', this.secret).update(id).digest('base64url');
  }
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of header?.split(';') ?? []) {
    const eq = pair.indexOf('=');
    if (eq > 0 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}
