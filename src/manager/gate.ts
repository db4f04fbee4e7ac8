// One unit of work at a time per session key: the in-process queue and, on stores with leases, the store's turn lease.
// The lease is taken by the store call that opens the records, renewed while the work runs, and given up by the store
// call that commits; a release the store did not take (an outage) is kept and retried, and this manager's own token
// takes over a lease it still holds, so a lease left behind never blocks this process's next turn.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { PalaverError } from '../errors';
import { KeyQueue } from '../key-queue';
import type { SessionStore } from '../stores/store';
import { isThenable, type Address, type Awaitable } from '../types';
import type { Opened, Records } from './records';
import type { Settings } from './options';

interface HeldLease {
  readonly timer: ReturnType<typeof setInterval>;
  /** A renewal found the lease taken by another holder. */
  lost: boolean;
}

export class TurnGate {
  /** Names this manager as the holder of its leases: host, process and a random part. */
  readonly token: string;
  readonly #queue: KeyQueue;
  readonly #store: SessionStore;
  readonly #records: Records;
  readonly #ttl: number;
  readonly #wait: number;
  readonly #leased: boolean;
  readonly #held = new Map<string, HeldLease>();
  /** Keys whose lease this manager could not give up (the store failed): released as soon as the store answers. */
  readonly #unreleased = new Set<string>();

  constructor(settings: Settings, records: Records) {
    this.#queue = new KeyQueue(settings.maxQueuedTurns);
    this.#store = settings.store;
    this.#records = records;
    this.#ttl = settings.leaseTtl;
    this.#wait = settings.leaseWait;
    this.#leased = settings.store.renew !== undefined;
    this.token = `${safeHostname()}:${process.pid}:${randomBytes(6).toString('hex')}`;
  }

  /** Runs `task` after the earlier tasks of `key` in this process; a lease it still holds afterwards is given up. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    if (!this.#leased) return this.#queue.run(key, task);
    return this.#queue.run(key, async () => {
      try {
        return await task();
      } finally {
        await this.release(key);
      }
    });
  }

  /** Resolves when no task of any key is running or waiting. */
  idle(): Promise<void> {
    return this.#queue.idle();
  }

  /** Opens the records of `key`, under its lease on stores with leases (waiting up to `leaseWait` for another holder). */
  open(key: string, address: Address | undefined): Awaitable<Opened> {
    if (!this.#leased) return this.#records.open(key, address);
    return this.#openLeased(key, address);
  }

  /** The release a commit of `key` carries, when this manager holds its lease. */
  releaseOf(key: string): { key: string; token: string } | undefined {
    return this.#held.has(key) ? { key, token: this.token } : undefined;
  }

  /** A commit that carried `releaseOf(key)` succeeded: the store gave the lease up. */
  released(key: string): void {
    const held = this.#held.get(key);
    if (held === undefined) return;
    clearInterval(held.timer);
    this.#held.delete(key);
  }

  /** Gives up the lease of `key` if this manager still holds it; a failure leaves it to be retried. */
  async release(key: string): Promise<void> {
    const held = this.#held.get(key);
    if (held === undefined) return;
    this.released(key);
    if (held.lost) return;
    try {
      await this.#store.release?.(key, this.token);
      this.#unreleased.delete(key);
    } catch {
      this.#unreleased.add(key);
    }
  }

  /** Retries the releases the store did not take; called whenever the store has answered again. */
  retryReleases(): void {
    if (this.#unreleased.size === 0) return;
    for (const key of [...this.#unreleased]) {
      this.#unreleased.delete(key);
      // A turn of this key, running or waiting, takes the lease over with the same token and its commit releases it:
      // releasing it here could take the lease from under that turn.
      if (this.#held.has(key) || this.#queue.busy(key)) continue;
      Promise.resolve()
        .then(() => (this.#held.has(key) || this.#queue.busy(key) ? undefined : this.#store.release?.(key, this.token)))
        .catch(() => this.#unreleased.add(key));
    }
  }

  /** Stops every renewal (shutdown). */
  stop(): void {
    for (const key of [...this.#held.keys()]) this.released(key);
  }

  async #openLeased(key: string, address: Address | undefined): Promise<Opened> {
    const started = Date.now();
    const lease = { token: this.token, ttlMs: this.#ttl };
    for (let backoff = 5; ; backoff = Math.min(backoff * 2, 200)) {
      const pending = this.#records.open(key, address, lease);
      const opened = isThenable(pending) ? await pending : pending;
      // The store answered: a release it could not take before may go through now.
      this.#unreleased.delete(key);
      this.retryReleases();
      if (opened.busy === undefined) {
        this.#hold(key);
        return opened;
      }
      const waited = Date.now() - started;
      if (waited >= this.#wait) {
        throw new PalaverError(
          'LEASE_TIMEOUT',
          `Another process (${opened.busy.holder}) held the turn lease of session "${key}" for over ${this.#wait} ms ` +
            `(leaseWait; it lapses in ${opened.busy.ttlMs} ms unless renewed); the turn was not run.`,
        );
      }
      const delay = Math.min(this.#wait - waited, backoff * (0.5 + Math.random()));
      await new Promise<void>((resolve) => setTimeout(resolve, delay).unref?.());
    }
  }

  #hold(key: string): void {
    const held = this.#held.get(key);
    if (held !== undefined) {
      if (!held.lost) return; // a re-run after a lost race: the open just extended it
      this.released(key); // lost, then taken again by the open: renew it afresh
    }
    const ttl = this.#ttl;
    const lease: HeldLease = {
      timer: setInterval(() => void this.#renew(key, lease, ttl), Math.max(1, Math.floor(ttl / 3))),
      lost: false,
    };
    lease.timer.unref?.();
    this.#held.set(key, lease);
  }

  async #renew(key: string, lease: HeldLease, ttl: number): Promise<void> {
    try {
      if ((await this.#store.renew?.(key, this.token, ttl)) === false) {
        lease.lost = true;
        clearInterval(lease.timer);
      }
    } catch {
      // Unreachable store: the lease may lapse. The commit, not the lease, decides whether the turn counts.
    }
  }
}

function safeHostname(): string {
  try {
    return hostname();
  } catch {
    return 'unknown-host';
  }
}
