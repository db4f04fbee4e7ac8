// palaver/testing: drive a bot in a test as a user would, with time under the test's control.
import { createRequire } from 'node:module';
import { describe, PalaverError } from './errors';
import type { SessionManager, SessionManagerEvents, TurnResult } from './manager';
import type { Address, IncomingMessage, OutgoingMessage, SessionInfo } from './types';

/** A length of time: milliseconds, or text such as `'45s'`, `'31m'`, `'2h'`, `'1d'`, `'1h30m'`, `'250ms'`. */
export type Duration = number | string;

/** Options of {@link createTestClient}. */
export interface TestClientOptions {
  /** Who the client is. @default { channelId: 'test', user: { id: 'user' }, conversation: { id: 'conversation' } } */
  address?: Address;
  /**
   * Moves the test's fake clock forward by `ms` and lets what comes due run: with vitest,
   * `(ms) => vi.advanceTimersByTimeAsync(ms)` (after `vi.useFakeTimers()`). Without it, the client installs a fake clock
   * of its own from `@sinonjs/fake-timers` (which you then add to your dev dependencies), removed by `client.close()`.
   */
  advance?: (ms: number) => unknown;
}

/** A `sessionEnd` event of the client's session key. */
export type SessionEndEvent = Parameters<SessionManagerEvents['sessionEnd']>[0];

/** One user talking to a bot in a test. Reading methods (`replies`, `messages`, `batches`) return what arrived since the last read. */
export interface TestClient {
  /** The client's address. */
  readonly address: Address;
  /** Session starts of this client's session key, in order. */
  readonly sessionStarts: SessionInfo[];
  /** Session ends of this client's session key, in order (with reason and summary). */
  readonly sessionEnds: SessionEndEvent[];
  /** Every batch delivered to this client since it was created (never cleared by reads). */
  readonly transcript: OutgoingMessage[][];
  /** Sends a message (its text, or the message without its address) and resolves once the turn is saved. */
  say(message: string | Omit<IncomingMessage, 'address'>): Promise<TurnResult>;
  /** Sends an event (`type: 'event'`) named `name`. */
  event(name: string, value?: unknown): Promise<TurnResult>;
  /** Delivers waiting replies now, then returns the texts of the new message replies (typing indicators left out). */
  replies(): Promise<(string | undefined)[]>;
  /** As `replies`, with the whole messages, typing indicators included. */
  messages(): Promise<OutgoingMessage[]>;
  /** As `messages`, grouped by `deliver` call. */
  batches(): Promise<OutgoingMessage[][]>;
  /**
   * Lets `duration` pass without a word from the user (`31m`, `'2h'`, `45_000`): nudges, closes and batching delays that
   * come due in that time run, and what they send is then delivered.
   * @throws PalaverError `INVALID_ARGUMENT` for a duration it cannot read; `INVALID_OPTIONS` when `advance` did not move
   * `Date.now()` forward by the duration (fake timers not installed, or installed without `Date`).
   */
  idle(duration: Duration): Promise<void>;
  /** Stops listening to the bot, and removes the fake clock the client installed (if it did). */
  close(): Promise<void>;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Milliseconds in a duration: a number as it is, or text of number-unit parts (`'31m'`, `'1h30m'`, `'1.5s'`).
 * @throws PalaverError `INVALID_ARGUMENT` for anything else.
 */
export function parseDuration(value: Duration): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  if (typeof value === 'string') {
    const text = value.trim();
    const part = /\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)/gy;
    let total = 0;
    let end = 0;
    for (let match = part.exec(text); match !== null; match = part.exec(text)) {
      total += Number(match[1]) * UNITS[match[2]!]!;
      end = part.lastIndex;
    }
    if (end > 0 && end === text.length) return total;
  }
  throw new PalaverError(
    'INVALID_ARGUMENT',
    `Expected a duration as milliseconds or text such as '45s', '31m', '2h' or '1h30m', got ${describe(value)}.`,
  );
}

/**
 * Creates a user that talks to `bot` in a test: says things, reads the replies, and lets time pass.
 * The bot's own `deliver` still runs; the client records the batches handed to it for its address.
 * @throws PalaverError `INVALID_OPTIONS` when `advance` is missing and `@sinonjs/fake-timers` cannot be loaded.
 * @example
 * vi.useFakeTimers();
 * const client = createTestClient(bot, { advance: (ms) => vi.advanceTimersByTimeAsync(ms) });
 * await client.say('hi');
 * expect(await client.replies()).toEqual(["Hi! What's your name?"]);
 * await client.idle('31m');
 * expect(client.sessionEnds.map((end) => end.reason)).toEqual(['timeout']);
 */
export function createTestClient(bot: SessionManager<any, any, any, any>, options: TestClientOptions = {}): TestClient {
  if (typeof options !== 'object' || options === null) {
    throw new PalaverError(
      'INVALID_OPTIONS',
      `Expected createTestClient() options as an object, got ${describe(options)}.`,
    );
  }
  if (options.advance !== undefined && typeof options.advance !== 'function') {
    throw new PalaverError(
      'INVALID_OPTIONS',
      `Expected \`advance\` to be a function of milliseconds, got ${describe(options.advance)}.`,
    );
  }
  const address: Address = options.address ?? {
    channelId: 'test',
    user: { id: 'user' },
    conversation: { id: 'conversation' },
  };
  const key = bot.keyOf(address);
  let clock: FakeClock | undefined;
  let advance = options.advance;
  if (advance === undefined) {
    clock = installFakeClock(createRequire(`${process.cwd()}/`));
    const installed = clock;
    advance = (ms) => installed.tickAsync(ms);
  }
  const tick = advance;

  const transcript: OutgoingMessage[][] = [];
  const sessionStarts: SessionInfo[] = [];
  const sessionEnds: SessionEndEvent[] = [];
  let read = 0;
  const onBatch: SessionManagerEvents['batch'] = (event) => {
    if (sameLane(event.address, address)) transcript.push([...event.messages]);
  };
  const onStart: SessionManagerEvents['sessionStart'] = (event) => {
    if (event.session.key === key) sessionStarts.push(event.session);
  };
  const onEnd: SessionManagerEvents['sessionEnd'] = (event) => {
    if (event.session.key === key) sessionEnds.push(event);
  };
  bot.on('batch', onBatch);
  bot.on('sessionStart', onStart);
  bot.on('sessionEnd', onEnd);

  const unread = async (): Promise<OutgoingMessage[][]> => {
    await bot.flush();
    const batches = transcript.slice(read);
    read = transcript.length;
    return batches;
  };

  return {
    address,
    sessionStarts,
    sessionEnds,
    transcript,
    say: (message) => bot.receive(typeof message === 'string' ? { address, text: message } : { ...message, address }),
    event: (name, value) => bot.receive({ address, type: 'event', name, value }),
    replies: async () =>
      (await unread())
        .flat()
        .filter((m) => (m.type ?? 'message') === 'message')
        .map((m) => m.text),
    messages: async () => (await unread()).flat(),
    batches: unread,
    idle: async (duration) => {
      await idleFor(duration, tick);
      await bot.flush();
    },
    close: async () => {
      bot.off('batch', onBatch);
      bot.off('sessionStart', onStart);
      bot.off('sessionEnd', onEnd);
      clock?.uninstall();
    },
  };
}

/** Moves the clock by `duration` with `tick`, and throws when Date.now() did not move with it. */
async function idleFor(duration: Duration, tick: (ms: number) => unknown): Promise<void> {
  const ms = parseDuration(duration);
  const before = Date.now();
  await tick(ms);
  // palaver's deadlines read Date.now(): an `advance` that leaves it behind (real timers, or fake timers without
  // Date) would let the idle time pass without anything coming due, and the test would pass for the wrong reason.
  const moved = Date.now() - before;
  if (moved < ms) {
    throw new PalaverError(
      'INVALID_OPTIONS',
      `idle(${JSON.stringify(duration)}) asked \`advance\` to move the clock ${ms} ms, but Date.now() moved ${moved} ms. ` +
        'Call vi.useFakeTimers() (with Date faked, its default) before using the client, or leave out `advance` to let ' +
        'the client install a fake clock of its own.',
    );
  }
}

/** The part of an `@sinonjs/fake-timers` clock the client uses. */
interface FakeClock {
  tickAsync(ms: number): Promise<unknown>;
  uninstall(): void;
}

/**
 * Installs `@sinonjs/fake-timers` over the global clock (`Date`, `setTimeout`, `setInterval`), loaded with `load`.
 * @internal exported for the tests
 * @throws PalaverError `INVALID_OPTIONS` when it cannot be loaded.
 */
export function installFakeClock(load: (id: string) => unknown): FakeClock {
  let timers: { install(config: object): FakeClock };
  try {
    timers = load('@sinonjs/fake-timers') as typeof timers;
  } catch (error) {
    throw new PalaverError(
      'INVALID_OPTIONS',
      'createTestClient() needs `advance` to move time, e.g. `{ advance: (ms) => vi.advanceTimersByTimeAsync(ms) }` after ' +
        '`vi.useFakeTimers()`, or the @sinonjs/fake-timers package (npm install -D @sinonjs/fake-timers) to install a fake clock of its own.',
      { cause: error },
    );
  }
  return timers.install({
    now: Date.now(),
    toFake: ['Date', 'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval'],
  });
}

function sameLane(a: Address, b: Address): boolean {
  return a.channelId === b.channelId && a.conversation.id === b.conversation.id && a.user.id === b.user.id;
}
