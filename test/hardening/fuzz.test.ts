// Property-based: whatever JSON reaches a public entry point, the answer is success or a PalaverError with a code:
// never another exception, a hang, an unhandled rejection, a polluted prototype, or a change to another user's state.
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import {
  MemoryStore,
  PalaverError,
  Prompts,
  SessionManager,
  type Address,
  type Session,
  type SessionManagerOptions,
  type SessionStore,
} from '../../src';
import * as arb from './arbitraries';
import { MINUTE } from '../support/fixtures';
import {
  bystander,
  isTyped,
  makeBot,
  outcome,
  type Outcome,
  rejection,
  useFakeTime,
  watchProcess,
} from '../support/hardening';

useFakeTime(0);
const watch = watchProcess();

/** `FUZZ_RUNS=10 npx vitest run test/hardening` for a longer hunt. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 1);
const OBJECT_PROTO = Object.getOwnPropertyNames(Object.prototype).sort();

/** Describes an outcome that is neither a success nor a typed rejection (undefined when it is fine). */
function untyped(result: Outcome<unknown>): string | undefined {
  if (result.status === 'fulfilled') return undefined;
  if (result.status === 'hung') return 'hung';
  if (isTyped(result.reason)) return undefined;
  return `untyped rejection: ${String((result.reason as Error)?.stack ?? result.reason)}`;
}

/** A synchronous call, as an outcome. */
function attempt<T>(run: () => T): Outcome<T> {
  try {
    return { status: 'fulfilled', value: run() };
  } catch (reason) {
    return { status: 'rejected', reason };
  }
}

/** Numbers kept in every scope, so that a lost or misplaced update shows. */
function bump(session: Session<any, any, any, any>): void {
  const add = (bag: Record<string, unknown>) => (bag.count = (typeof bag.count === 'number' ? bag.count : 0) + 1);
  add(session.userData);
  add(session.conversationData);
  add(session.privateConversationData);
  add(session.entities);
}

/** A bot whose root dialog does a different thing for each first character of the text (all of palaver's operations). */
function fuzzBot(options: Partial<SessionManagerOptions> = {}) {
  const made = makeBot({ closeMessage: 'Bye %s (100%)', dialogErrorMessage: 'Oops %(x)s', ...options });
  const { bot } = made;
  bot.dialog('/', async (session, resumed) => {
    if (resumed !== undefined) return; // a child dialog returned: nothing more this turn
    bump(session);
    const text = session.message?.text ?? '';
    if (text === 'count') return;
    switch (text.charCodeAt(0) % 10 || 0) {
      case 1:
        session.beginDialog('/form', session.message?.value);
        break;
      case 2:
        session.endSession();
        break;
      case 3:
        session.newSession({ carry: ['count'] });
        break;
      case 4:
        session.refresh();
        break;
      case 5:
        session.endConversation(text);
        break;
      case 6:
        session.send(text);
        await session.sendBatch();
        session.send('after %s', text);
        break;
      case 7:
        session.setEntity(text, session.message?.value as never);
        break;
      case 8:
        session.entities.payload = session.message?.value as never;
        session.dialogData.payload = session.message?.value as never;
        session.userData.payload = session.message?.value as never;
        break;
      case 9:
        throw new Error('a bug in a dialog');
      default:
        session.send(text);
    }
  });
  bot.dialog('/form', [
    (session) => Prompts.text(session, 'Name? %s'),
    (session) => Prompts.number(session, 'Age?', { maxRetries: 1 }),
    (session) => Prompts.choice(session, 'Pick', 'a|b|%s', { listStyle: 'list' }),
    (session) => Prompts.confirm(session, 'Sure?'),
    (session, results) => session.endDialogWithResult(results),
  ]);
  return made;
}

/** The checks every property run ends with. */
async function afterRun(
  made: ReturnType<typeof makeBot>,
  quiet: Awaited<ReturnType<typeof bystander>> | undefined,
): Promise<void> {
  quiet?.untouched();
  // The scheduler runs too: every session the run left goes idle and ends.
  await vi.advanceTimersByTimeAsync(31 * MINUTE);
  const closed = await outcome(made.bot.close());
  expect(closed.status).toBe('fulfilled');
  expect(vi.getTimerCount()).toBe(0);
  expect(made.errors.filter((error) => !isTyped(error))).toEqual([]);
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(OBJECT_PROTO);
  expect(({} as Record<string, unknown>).isAdmin).toBeUndefined();
  expect(watch.unhandled).toEqual([]);
}

type Command =
  | { kind: 'receive'; message: unknown }
  | { kind: 'send'; address: unknown; message: unknown; args: unknown[] }
  | { kind: 'startSession'; address: unknown; options: unknown }
  | { kind: 'endSession'; target: unknown; reason: unknown }
  | { kind: 'keyOf'; address: unknown }
  | { kind: 'sweepExpired'; now: unknown };

const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 5, arbitrary: arb.message.map((message) => ({ kind: 'receive' as const, message })) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('send' as const),
      address: arb.address,
      message: arb.outgoing,
      args: arb.args,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('startSession' as const),
      address: arb.address,
      options: fc.oneof(
        arb.json,
        fc.record(
          { dialogId: fc.oneof(fc.constantFrom('/form', '/', 'nope'), arb.json), args: arb.json },
          { requiredKeys: [] },
        ),
      ),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('endSession' as const),
      target: fc.oneof(arb.address, arb.nastyText),
      reason: fc.oneof(fc.constantFrom(undefined, 'endSession', 'timeout', 'refresh'), arb.json),
    }),
  },
  { weight: 1, arbitrary: arb.address.map((address) => ({ kind: 'keyOf' as const, address })) },
  {
    weight: 1,
    // Any `now` but a real time (which would rightly end the bystander's session too).
    arbitrary: fc
      .oneof(
        fc.constantFrom(NaN, Infinity, -Infinity, '1e15', null),
        arb.json.filter((v) => !(typeof v === 'number' && Number.isFinite(v))),
      )
      .map((now) => ({ kind: 'sweepExpired' as const, now })),
  },
);

function perform(bot: SessionManager<any>, c: Command): Promise<unknown> {
  switch (c.kind) {
    case 'receive':
      return bot.receive(c.message as never);
    case 'send':
      return bot.send(c.address as Address, c.message as string, ...c.args);
    case 'startSession':
      return bot.startSession(c.address as Address, c.options as never);
    case 'endSession':
      return bot.endSession(c.target as Address, c.reason as never);
    case 'keyOf': {
      const key = attempt(() => bot.keyOf(c.address as Address));
      return key.status === 'fulfilled' ? Promise.resolve(key.value) : Promise.reject(rejection(key));
    }
    case 'sweepExpired':
      return bot.sweepExpired(c.now as number);
  }
}

describe('arbitrary input at the public entry points', () => {
  it('answers any sequence of receive, send, startSession, endSession, keyOf and sweepExpired with success or a PalaverError, sparing a bystander', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 8 }), async (commands) => {
        const made = fuzzBot();
        const quiet = await bystander(made.bot);
        for (const c of commands) {
          const result = await outcome(perform(made.bot, c));
          expect(untyped(result), `${c.kind} gave`).toBeUndefined();
        }
        await afterRun(made, quiet);
      }),
      { numRuns: 250 * RUNS },
    );
  });

  it('answers session.send() inside a dialog with success or a PalaverError, and the turn still commits', async () => {
    let payload: { message: unknown; args: unknown[] } = { message: '', args: [] };
    let sent: Outcome<unknown> = { status: 'hung' };
    let runs = 0;
    const made = fuzzBot();
    made.bot.dialog('/send', (session) => {
      sent = attempt(() => session.send(payload.message as string, ...payload.args));
      session.endDialog();
    });
    const to: Address = { channelId: 'fuzz', user: { id: 'sender' }, conversation: { id: 'c' } };
    await made.bot.startSession(to);
    const quiet = await bystander(made.bot);
    await fc.assert(
      fc.asyncProperty(arb.outgoing, arb.args, async (message, args) => {
        payload = { message, args };
        sent = { status: 'hung' };
        // A few senders, so that the store's LRU bound never evicts the bystander.
        const sender = { ...to, user: { id: `sender${++runs % 50}` } };
        const turn = await outcome(made.bot.startSession(sender, { dialogId: '/send' }));
        expect(untyped(sent)).toBeUndefined();
        expect(turn.status).toBe('fulfilled');
        await made.bot.endSession(sender);
      }),
      { numRuns: 300 * RUNS },
    );
    await afterRun(made, quiet);
  });

  it('turns a dialog that lets a bad send() throw into a typed DIALOG_FAILED-or-input error on the turn result', async () => {
    let payload: { message: unknown; args: unknown[] } = { message: '', args: [] };
    let runs = 0;
    const made = fuzzBot({ dialogErrorMessage: null });
    made.bot.dialog('/raw', (session) => void session.send(payload.message as string, ...payload.args));
    await fc.assert(
      fc.asyncProperty(arb.outgoing, arb.args, async (message, args) => {
        payload = { message, args };
        const sender: Address = { channelId: 'fuzz', user: { id: `raw${++runs % 50}` }, conversation: { id: 'c' } };
        const turn = await outcome(made.bot.startSession(sender, { dialogId: '/raw' }));
        expect(untyped(turn)).toBeUndefined();
        await made.bot.endSession(sender);
      }),
      { numRuns: 200 * RUNS },
    );
    await afterRun(made, undefined);
  });

  it('answers any SessionManager options with a working manager or INVALID_OPTIONS', async () => {
    const deliver = () => undefined;
    const known = fc.record(
      {
        timeout: fc.oneof(fc.integer({ min: -5, max: 10 * MINUTE }), arb.json),
        closePolicy: fc.oneof(fc.constantFrom('proactive', 'lazy'), arb.json),
        closeMessage: arb.outgoing,
        autoBatchDelay: fc.oneof(fc.integer({ min: -5, max: 2 ** 32 }), arb.json),
        preserve: fc.oneof(fc.array(arb.nastyKey), arb.json),
        dialogErrorMessage: fc.oneof(arb.outgoing, fc.constant(null)),
        botId: arb.json,
        locale: arb.json,
        rootDialog: fc.oneof(fc.constantFrom('/', '/form', 'nope', ''), arb.json),
        persistUserData: arb.json,
        maxQueuedTurns: arb.json,
        maxCommitRetries: arb.json,
        maxStateBytes: fc.oneof(fc.integer({ min: -1, max: 5000 }), arb.json),
        deliveryRetry: fc.oneof(
          fc.record(
            {
              retries: fc.integer({ min: -1, max: 5 }),
              minDelay: fc.double(),
              maxDelay: fc.integer({ min: -1, max: 2 ** 33 }),
              factor: fc.double(),
              timeout: fc.integer({ min: -1, max: 2 ** 33 }),
            },
            { requiredKeys: [] },
          ),
          arb.json,
        ),
        shutdown: fc.oneof(fc.constantFrom('end', 'persist'), arb.json),
        trace: arb.json,
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          { weight: 4, arbitrary: known },
          { weight: 1, arbitrary: arb.jsonObject },
          { weight: 1, arbitrary: arb.json },
        ),
        async (options) => {
          const built = attempt(() => {
            const withDeliver =
              typeof options === 'object' && options !== null && !Array.isArray(options)
                ? { ...options, deliver, store: new MemoryStore({ maxSessions: 10 }) }
                : options;
            return new SessionManager(withDeliver as SessionManagerOptions);
          });
          expect(untyped(built)).toBeUndefined();
          expect(
            built.status === 'fulfilled' ||
              (built.status === 'rejected' && (built.reason as PalaverError).code === 'INVALID_OPTIONS'),
          ).toBe(true);
          if (built.status !== 'fulfilled') return;
          const bot = built.value;
          bot.on('error', () => undefined);
          bot.dialog('/', (session) => void session.send('hi %s', session.message?.text ?? ''));
          const turn = await outcome(
            bot.receive({ address: { channelId: 'o', user: { id: 'u' }, conversation: { id: 'c' } }, text: 'x' }),
          );
          expect(untyped(turn)).toBeUndefined();
          await vi.advanceTimersByTimeAsync(11 * MINUTE);
          const closed = await outcome(bot.close());
          expect(closed.status).toBe('fulfilled');
          expect(vi.getTimerCount()).toBe(0);
        },
      ),
      { numRuns: 300 * RUNS },
    );
    expect(watch.unhandled).toEqual([]);
  });

  it('answers any MemoryStore options with a store or INVALID_OPTIONS', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.record(
            { maxSessions: fc.oneof(fc.integer({ min: -2, max: 50 }), arb.json), maxDataRecords: arb.json },
            { requiredKeys: [] },
          ),
          arb.json,
        ),
        (options) => {
          const built = attempt(() => new MemoryStore(options as never));
          expect(
            built.status === 'fulfilled' ||
              (built.status === 'rejected' && (built.reason as PalaverError).code === 'INVALID_OPTIONS'),
          ).toBe(true);
        },
      ),
      { numRuns: 500 * RUNS },
    );
  });
});

describe('corrupt records read back from a store', () => {
  const victim: Address = { channelId: 'fuzz', user: { id: 'victim' }, conversation: { id: 'room' } };
  const valid = {
    v: 1,
    id: 'abc',
    startedAt: 0,
    lastActiveAt: 0,
    turnCount: 1,
    interactive: true,
    developer: false,
    address: victim,
    entities: { count: 1 },
    stack: [{ id: '/', data: {}, step: 0 }],
    privateConversationData: {},
  };
  /** A session record: text that is not JSON, any JSON, or a valid record with one field replaced by anything. */
  const sessionData = fc.oneof(
    fc.string({ maxLength: 30 }),
    arb.json.map((value) => JSON.stringify(value) ?? 'undefined'),
    fc
      .tuple(
        fc.constantFrom(...Object.keys(valid), 'ended', 'timeout', 'entityExpiry', 'previousDialogState'),
        arb.json,
      )
      .map(([field, value]) => JSON.stringify({ ...valid, [field]: value })),
    fc
      .tuple(
        fc.constantFrom('/', '/form', 'palaver:prompt:number', 'nope'),
        arb.json,
        fc.oneof(fc.integer({ min: -1, max: 9 }), arb.json),
      )
      .map(([id, data, step]) => JSON.stringify({ ...valid, stack: [{ id, data, step }] })),
  );
  const bagData = fc.oneof(
    fc.string({ maxLength: 20 }),
    arb.json.map((value) => JSON.stringify(value) ?? 'null'),
  );
  const action = fc.constantFrom('receive', 'startSession', 'endSession', 'expire');

  it('answers turns on corrupt session, userData and conversationData records with success or a PalaverError, sparing a bystander', async () => {
    await fc.assert(
      fc.asyncProperty(
        sessionData,
        bagData,
        bagData,
        fc.integer({ min: 0, max: 20 * MINUTE }),
        action,
        async (session, user, conversation, idleMs, what) => {
          const store = new MemoryStore({ maxSessions: 100 });
          const made = fuzzBot({ store });
          const quiet = await bystander(made.bot);
          const key = made.bot.keyOf(victim);
          store.commit([
            { key, expected: null, data: session, idleMs },
            { key: 'u:fuzz:victim', expected: null, data: user },
            { key: 'c:fuzz:room', expected: null, data: conversation },
          ]);
          const run: Promise<unknown> =
            what === 'receive'
              ? made.bot.receive({ address: victim, text: 'count' })
              : what === 'startSession'
                ? made.bot.startSession(victim, { dialogId: '/form' })
                : what === 'endSession'
                  ? made.bot.endSession(victim)
                  : vi.advanceTimersByTimeAsync(21 * MINUTE);
          expect(untyped(await outcome(run))).toBeUndefined();
          // The key works again afterwards.
          const next = await outcome(made.bot.receive({ address: victim, text: 'count' }));
          expect(untyped(next)).toBeUndefined();
          await afterRun(made, quiet);
        },
      ),
      { numRuns: 300 * RUNS },
    );
  });

  it('answers turns with success or a PalaverError when a store hands back records that are not records at all', async () => {
    const garbage = fc.oneof(
      fc.constantFrom(null, 0, '', 'x', [], {}),
      fc.record(
        {
          data: fc.oneof(fc.string(), arb.json),
          version: fc.oneof(fc.nat(), arb.json),
          generation: fc.oneof(fc.nat(), arb.json),
        },
        { requiredKeys: [] },
      ),
      arb.json,
    );
    await fc.assert(
      fc.asyncProperty(garbage, fc.constantFrom('s:', 'u:', 'c:'), action, async (record, prefix, what) => {
        const inner = new MemoryStore({ maxSessions: 100 });
        const store: SessionStore = {
          get: (key) =>
            (key.startsWith(prefix) && key.includes('victim')) || (key === 'c:fuzz:room' && prefix === 'c:')
              ? (record as never)
              : inner.get(key),
          commit: (writes, options) => inner.commit(writes, options),
          delete: (key) => inner.delete(key),
          claimDue: (limit, now) => inner.claimDue(limit, now),
          nextDeadline: () => inner.nextDeadline(),
          sessionKeys: () => inner.sessionKeys(),
        };
        const made = fuzzBot({ store });
        const quiet = await bystander(made.bot);
        const run: Promise<unknown> =
          what === 'receive'
            ? made.bot.receive({ address: victim, text: 'count' })
            : what === 'startSession'
              ? made.bot.startSession(victim)
              : what === 'endSession'
                ? made.bot.endSession(victim)
                : made.bot.receive({ address: victim, text: '\u0002' }); // begins the end of the session
        expect(untyped(await outcome(run))).toBeUndefined();
        await afterRun(made, quiet);
      }),
      { numRuns: 200 * RUNS },
    );
  });
});
