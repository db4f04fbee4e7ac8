// Load: 100,000 users × 10 turns, concurrent; no lost update, no cross-user reply, every session ends exactly once.
// Prints turns per second and wall time. `LOAD_USERS=20000 npx vitest run test/hardening/load.test.ts` for a smaller run.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MemoryStore, SessionManager, type Address, type OutgoingMessage } from '../../src';
import { MINUTE } from '../support/fixtures';

const USERS = Number(process.env.LOAD_USERS ?? 100_000);
const TURNS = 10;
/**
 * Users whose turns are in flight at once (2,500 turns): all 10 turns of each are queued together, so per-key order
 * matters. Larger waves test nothing more and cost more in garbage collection (5,000 users: about 40 % slower).
 */
const WAVE = 250;

type Entities = { n?: number };

interface Figures {
  turns: number;
  turnMs: number;
  expireMs: number;
}

describe(`${USERS.toLocaleString('en')} users × ${TURNS} turns, concurrent`, () => {
  const crossUser: string[] = [];
  const outOfOrder: string[] = [];
  /** The last reply number delivered per user. */
  const lastReply = new Map<string, number>();
  const ends = new Map<string, number>();
  const endReasons = new Set<string>();
  let delivered = 0;
  const results: { turnCount: number; user: string }[] = [];
  let store: MemoryStore;
  let bot: SessionManager<Entities>;
  const figures: Figures = { turns: 0, turnMs: 0, expireMs: 0 };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);

  function deliver(to: Address, messages: OutgoingMessage[]): void {
    for (const message of messages) {
      delivered++;
      const [user, n] = (message.text ?? '').split(' ');
      if (user !== to.user.id) crossUser.push(`${message.text} went to ${to.user.id}`);
      const expected = (lastReply.get(to.user.id) ?? 0) + 1;
      if (Number(n) !== expected) outOfOrder.push(`${to.user.id} got ${n}, expected ${expected}`);
      lastReply.set(to.user.id, Number(n));
    }
  }

  beforeAll(async () => {
    process.on('unhandledRejection', onUnhandled);
    vi.useFakeTimers({ now: 0, toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] });
    store = new MemoryStore({ maxSessions: USERS });
    bot = new SessionManager<Entities>({ deliver, store, autoBatchDelay: 0, timeout: 30 * MINUTE });
    bot.on('error', (error) => crossUser.push(`error event ${error.code}: ${error.message}`));
    bot.on('sessionEnd', ({ session, reason }) => {
      ends.set(session.id, (ends.get(session.id) ?? 0) + 1);
      endReasons.add(reason);
    });
    bot.dialog('/', async (session) => {
      const n = (session.entities.n ?? 0) + 1;
      // Yield between the read and the write: any turn of the same user that ran now would lose this update.
      await Promise.resolve();
      session.entities.n = n;
      session.userData.n = ((session.userData.n as number | undefined) ?? 0) + 1;
      session.send(`${session.address.user.id} ${n}`);
    });

    const started = performance.now();
    for (let first = 0; first < USERS; first += WAVE) {
      const wave: Promise<unknown>[] = [];
      for (let u = first; u < Math.min(first + WAVE, USERS); u++) {
        const address: Address = { channelId: 'load', user: { id: `user${u}` }, conversation: { id: `room${u}` } };
        for (let t = 0; t < TURNS - 1; t++) wave.push(bot.receive({ address, text: 'count' }));
        // Keep each user's last result only: enough to check the turn counts, without holding a million objects.
        wave.push(
          bot
            .receive({ address, text: 'count' })
            .then((r) => void results.push({ turnCount: r.session.turnCount, user: r.session.user.id })),
        );
      }
      await Promise.all(wave);
    }
    figures.turns = USERS * TURNS;
    figures.turnMs = performance.now() - started;

    const expiring = performance.now();
    await vi.advanceTimersByTimeAsync(31 * MINUTE);
    figures.expireMs = performance.now() - expiring;
    const perSecond = Math.round(figures.turns / (figures.turnMs / 1000));
    console.log(
      `[load] ${figures.turns.toLocaleString('en')} turns for ${USERS.toLocaleString('en')} users in ${(figures.turnMs / 1000).toFixed(1)} s ` +
        `(${perSecond.toLocaleString('en')} turns/s); ${ends.size.toLocaleString('en')} sessions expired in ${(figures.expireMs / 1000).toFixed(1)} s`,
    );
  }, 240_000);

  afterAll(async () => {
    await bot.close();
    vi.useRealTimers();
    process.off('unhandledRejection', onUnhandled);
  });

  it('loses no update: every user has turn count 10 and counters of 10 in entities and userData', () => {
    const stored = { wrongCount: 0, wrongUserData: 0 };
    for (let u = 0; u < USERS; u++) {
      const user = JSON.parse(store.get(`u:load:user${u}`)?.data ?? '{}') as { n?: number };
      if (user.n !== TURNS) stored.wrongUserData++;
    }
    const wrongTurnCounts = results.filter((r) => r.turnCount !== TURNS).length;
    expect([results.length, wrongTurnCounts, stored.wrongUserData]).toEqual([USERS, 0, 0]);
  });

  it('delivers every reply to its own user, each user’s in order, none lost', () => {
    const incomplete = [...lastReply.values()].filter((n) => n !== TURNS).length;
    expect([crossUser.slice(0, 5), outOfOrder.slice(0, 5), delivered, lastReply.size, incomplete]).toEqual([
      [],
      [],
      USERS * TURNS,
      USERS,
      0,
    ]);
  });

  it('ends every session exactly once, on timeout, after fake time passes the timeout', () => {
    const twice = [...ends.values()].filter((count) => count !== 1).length;
    expect([ends.size, twice, [...endReasons], store.pendingDeadlines]).toEqual([USERS, 0, ['timeout'], 0]);
  });

  it('raises no unhandled rejection', async () => {
    await new Promise((resolve) => setImmediate(resolve));
    expect(unhandled).toEqual([]);
  });
});
