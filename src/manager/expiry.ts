// The expiry sweeper: claims due sessions from the store and ends each in a unit of work of its own, a bounded number
// at a time, so that a process killed in a sweep repeats at most that many end hooks. Claims whose end failed (the
// store was down) are kept and retried by the next sweeps, never dropped.
import { describe, PalaverError } from '../errors';
import { Scheduler } from '../scheduler';
import type { ExpiryClaim } from '../stores/store';
import type { Engine } from './turns';
import { expireUnit, LAPSED } from './units';

export class Sweeper {
  readonly scheduler: Scheduler;
  readonly #engine: Engine;
  #sweeping = false;
  #failing = false;
  #again = false;
  #stopped = false;
  /** Claims whose session could not be ended (the store failed): the store has cleared their deadline, so the next sweeps retry them. */
  readonly #retry = new Map<string, ExpiryClaim>();
  /**
   * Lazy policy: claims the automatic sweep (which runs for nudges) took whose idle time had run out. It leaves the
   * close to the next message, or to an explicit `sweepExpired()`, which ends these first.
   */
  readonly #lapsed = new Map<string, ExpiryClaim>();

  constructor(engine: Engine) {
    this.#engine = engine;
    this.scheduler = new Scheduler(() => void this.#sweep());
  }

  /**
   * Looks for due sessions now and ends them; resolves to the number ended. See `SessionManager.sweepExpired`.
   * `explicit`: called by the bot rather than the scheduler, so that sessions of the lazy policy are ended too.
   */
  async sweepExpired(now?: number, explicit = true): Promise<number> {
    // NaN compares false with every deadline: a bad `now` would end every session.
    if (now !== undefined && !(typeof now === 'number' && Number.isFinite(now))) {
      throw new PalaverError(
        'INVALID_ARGUMENT',
        `Expected \`now\` to be a time in ms since the epoch, got ${describe(now)}.`,
      );
    }
    const engine = this.#engine;
    const { store, sweepConcurrency } = engine.settings;
    // A batch a few times the concurrency: claims taken but not yet run are not repeated by a crash, only delayed.
    const batch = Math.max(64, sweepConcurrency * 4);
    let ended = 0;
    let retried = [...this.#retry.values()];
    if (explicit && this.#lapsed.size > 0) {
      retried.push(...this.#lapsed.values());
      this.#lapsed.clear();
    }
    for (;;) {
      const due = await store.claimDue(batch, now);
      engine.gate.retryReleases();
      const claims = retried.length === 0 ? due : [...retried, ...due];
      retried = [];
      if (claims.length === 0) return ended;
      ended += await this.#endAll(claims, now, explicit);
      if (due.length < batch) return ended;
    }
  }

  /** A commit filed a deadline at `at`: wakes the scheduler for it, when sweeps run by themselves. */
  wake(at: number): void {
    if (this.#automatic()) this.scheduler.arm(at);
  }

  /** Arms the scheduler for the next deadline (stores that know it) or the next poll. */
  rearm(): void {
    const settings = this.#engine.settings;
    if (this.#stopped || !this.#automatic()) return;
    const store = settings.store;
    const interval = settings.sweepInterval;
    const now = Date.now();
    let at: number;
    if (store.nextDeadline !== undefined) {
      at = store.nextDeadline() ?? Infinity;
      // While the store fails, a deadline already due would re-fire the timer at once, in a loop: poll instead.
      if (this.#failing) at = Math.max(at, now + interval);
    } else {
      at = now + interval * (0.8 + Math.random() * 0.4);
    }
    if (this.#retry.size > 0) at = Math.min(at, now + interval);
    if (at !== Infinity) this.scheduler.arm(at);
  }

  stop(): void {
    this.#stopped = true;
    this.scheduler.stop();
  }

  /** Sweeps run by themselves: with the proactive policy, and for nudges (which the lazy policy sends on time too). */
  #automatic(): boolean {
    return this.#engine.settings.proactive || this.#engine.idle !== undefined;
  }

  /** Ends `claims`, `sweepConcurrency` at a time, holding the claims not yet done; resolves to how many it ended. */
  async #endAll(claims: readonly ExpiryClaim[], now: number | undefined, explicit: boolean): Promise<number> {
    const engine = this.#engine;
    const pending = new Set(claims.map((claim) => claim.key));
    const stopHolding = this.#hold(claims, pending);
    let next = 0;
    let ended = 0;
    const worker = async (): Promise<void> => {
      while (next < claims.length) {
        const claim = claims[next++]!;
        if (await this.#end(claim, now, explicit)) ended++;
        pending.delete(claim.key);
      }
    };
    try {
      const workers = Math.min(engine.settings.sweepConcurrency, claims.length);
      await Promise.all(Array.from({ length: workers }, worker));
    } finally {
      stopHolding();
    }
    return ended;
  }

  /**
   * Stores whose claims lapse (Redis): renews the claims still `pending` every third of their hold, so that a slow
   * `onSessionEnd` keeps its claim while a killed process loses its claims within one hold.
   */
  #hold(claims: readonly ExpiryClaim[], pending: Set<string>): () => void {
    const store = this.#engine.settings.store;
    const holdMs = claims[0]?.holdMs;
    if (store.holdClaims === undefined || holdMs === undefined) return () => undefined;
    const timer = setInterval(
      () => {
        Promise.resolve()
          .then(() => store.holdClaims!([...pending]))
          .catch(() => undefined); // an unreachable store: the claims may lapse, and another process ends them
      },
      Math.max(1, Math.floor(holdMs / 3)),
    );
    timer.unref?.();
    return () => clearInterval(timer);
  }

  async #end(claim: ExpiryClaim, now: number | undefined, explicit: boolean): Promise<boolean> {
    const engine = this.#engine;
    const key = claim.key;
    // A lapsed claim that lapsed in the store too (Redis) comes back to each automatic sweep: it is parked already.
    if (!explicit && this.#lapsed.get(key)?.generation === claim.generation) return false;
    engine.seal?.(key); // a message in its coalescing window came before this deadline was reached
    try {
      const done = await engine.gate.run(key, () =>
        engine.transact(key, undefined, 'its expiry', (unit) => expireUnit(engine, unit, claim, now, explicit)),
      );
      this.#retry.delete(key);
      if (done === LAPSED) this.#lapsed.set(key, claim);
      return done === true;
    } catch (error) {
      // Reported once per claim, and kept: a failed expiry is tried again, never dropped (the session would stay forever).
      if (!this.#retry.has(key)) engine.reporter.fail(error, 'STORE_UNAVAILABLE', 'expiring a session');
      this.#retry.set(key, claim);
      return false;
    }
  }

  async #sweep(): Promise<void> {
    if (this.#sweeping) {
      this.#again = true;
      return;
    }
    this.#sweeping = true;
    try {
      do {
        this.#again = false;
        await this.sweepExpired(undefined, false);
      } while (this.#again);
      this.#failing = false;
    } catch (error) {
      // An outage is reported once, not on every sweep; the sweeps go on and catch up once the store answers again.
      if (!this.#failing) this.#engine.reporter.fail(error, 'STORE_UNAVAILABLE', 'the expiry sweep');
      this.#failing = true;
    } finally {
      this.#sweeping = false;
      this.rearm();
    }
  }
}
