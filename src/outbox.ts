import { DeliveryError, errorText, PalaverError } from './errors';
import type { Address, Awaitable, OutgoingMessage } from './types';

/** Hands one batch of replies to the channel. A throw or rejection is a failed delivery. */
export type DeliverFn = (address: Address, messages: OutgoingMessage[]) => Awaitable<void>;

/** How failed deliveries are retried. */
export interface DeliveryRetryOptions {
  /** Attempts after the first one. @default 3 */
  retries: number;
  /** Wait before the first retry (ms); each next wait is `factor` times longer, capped by `maxDelay`. @default 200 */
  minDelay: number;
  /** @default 5000 */
  maxDelay: number;
  /** @default 2 */
  factor: number;
  /** A delivery that has not settled after this many ms counts as failed (0: wait forever). @default 30000 */
  timeout: number;
}

/** The retry policy when `deliveryRetry` is not given: 3 retries after 200, 400 and 800 ms; 30 s per attempt. */
export const defaultRetry: DeliveryRetryOptions = {
  retries: 3,
  minDelay: 200,
  maxDelay: 5000,
  factor: 2,
  timeout: 30_000,
};

class Lane {
  pending: OutgoingMessage[] = [];
  due = 0;
  /** Put before the trace line of the next batch (the session's stack, v3-style). */
  label = '';
  /** The last delivery in flight for this address; later batches chain behind it. */
  tail: Promise<void> | undefined;
  constructor(
    readonly key: string,
    public address: Address,
  ) {}
}

interface OutboxOptions {
  deliver: DeliverFn;
  delay: number;
  retry: DeliveryRetryOptions;
  onError: (error: DeliveryError) => void;
  trace?: ((line: string) => void) | undefined;
  /** Told of each batch as it is handed to `deliver` (once, however many retries follow). */
  observe?: ((address: Address, batch: OutgoingMessage[]) => void) | undefined;
}

/**
 * Auto-batching, ordered delivery per address. Replies wait `delay` ms after the last one queued, then go out in
 * one `deliver` call; a batch never starts before the previous batch of the same address has settled.
 * One timer serves every address: all batches wait the same delay, so the map of waiting lanes stays in due order.
 */
export class Outbox {
  private readonly lanes = new Map<string, Lane>();
  private readonly waiting = new Map<string, Lane>();
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly options: OutboxOptions) {}

  /**
   * Queues committed replies; they go out after the batching delay, or at once when `flush` is true or the delay is 0.
   * `label` starts the batch's trace line.
   */
  enqueue(key: string, address: Address, messages: readonly OutgoingMessage[], flush: boolean, label = ''): void {
    if (messages.length === 0) return;
    if ((flush || this.options.delay <= 0) && !this.lanes.has(key)) {
      this.deliverNow(key, address, messages.slice(), label);
      return;
    }
    const lane = this.lane(key, address);
    lane.label = label;
    for (const message of messages) lane.pending.push(message);
    if (flush || this.options.delay <= 0) {
      void this.dispatch(lane);
      return;
    }
    this.waiting.delete(key);
    lane.due = Date.now() + this.options.delay;
    this.waiting.set(key, lane);
    if (this.timer === undefined) this.arm(lane.due);
  }

  /**
   * Sends what is queued for `key` plus `messages` now, in order; resolves when delivered (and when every earlier batch
   * of `key` has settled), rejects with a DeliveryError. `label` starts the batch's trace line.
   */
  send(key: string, address: Address, messages: readonly OutgoingMessage[], label = ''): Promise<void> {
    const lane = this.lane(key, address);
    if (messages.length > 0) lane.label = label;
    for (const message of messages) lane.pending.push(message);
    return this.dispatch(lane) ?? Promise.resolve();
  }

  /** Delivers every waiting batch now and resolves when every address has settled. */
  async flushAll(): Promise<void> {
    for (const lane of [...this.waiting.values()]) void this.dispatch(lane);
    this.clearTimer();
    await Promise.all([...this.lanes.values()].map((lane) => lane.tail));
  }

  /**
   * Drops the replies waiting for their batching delay to addresses that `matches` (`forgetUser`); a batch already handed
   * to `deliver` goes on. Returns how many replies it dropped.
   */
  discard(matches: (address: Address) => boolean): number {
    let dropped = 0;
    for (const lane of [...this.lanes.values()]) {
      if (lane.pending.length === 0 || !matches(lane.address)) continue;
      dropped += lane.pending.length;
      lane.pending = [];
      this.waiting.delete(lane.key);
      if (lane.tail === undefined) this.release(lane);
    }
    return dropped;
  }

  /** Addresses with replies waiting or in flight. */
  get activeLanes(): number {
    return this.lanes.size;
  }

  /** Clears the batching timer (after `flushAll`, nothing is left for it). */
  stop(): void {
    this.clearTimer();
  }

  private lane(key: string, address: Address): Lane {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = new Lane(key, address);
      this.lanes.set(key, lane);
    } else {
      lane.address = address;
    }
    return lane;
  }

  /**
   * `dispatch` for an address with nothing waiting or in flight: a synchronous `deliver` that succeeds costs no lane
   * at all; a lane is made only when the delivery goes on asynchronously (a promise, or a throw to retry).
   */
  private deliverNow(key: string, address: Address, batch: OutgoingMessage[], label: string): void {
    this.options.trace?.(`${label}sendBatch() sending ${batch.length} message${batch.length === 1 ? '' : 's'}`);
    this.options.observe?.(address, batch);
    let result: Awaitable<void>;
    try {
      result = this.options.deliver(address, batch);
    } catch (error) {
      const lane = this.lane(key, address);
      lane.label = label;
      void this.chain(lane, () => this.retry(lane, batch, error, 1));
      return;
    }
    if (!isThenable(result)) return;
    const lane = this.lane(key, address);
    lane.label = label;
    void this.chain(lane, () => this.settle(lane, batch, result as PromiseLike<void>, 0));
  }

  /** Moves the pending batch of `lane` into its delivery chain. Returns the batch's promise when it is async. */
  private dispatch(lane: Lane): Promise<void> | undefined {
    this.waiting.delete(lane.key);
    const batch = lane.pending;
    if (batch.length === 0) {
      if (lane.tail === undefined) this.release(lane);
      return lane.tail;
    }
    lane.pending = [];
    this.options.trace?.(`${lane.label}sendBatch() sending ${batch.length} message${batch.length === 1 ? '' : 's'}`);
    this.options.observe?.(lane.address, batch);
    if (lane.tail === undefined) {
      // Nothing in flight: try synchronously, so a synchronous `deliver` costs no promise at all.
      let result: Awaitable<void>;
      try {
        result = this.options.deliver(lane.address, batch);
      } catch (error) {
        return this.chain(lane, () => this.retry(lane, batch, error, 1));
      }
      if (!isThenable(result)) {
        this.release(lane);
        return undefined;
      }
      return this.chain(lane, () => this.settle(lane, batch, result as PromiseLike<void>, 0));
    }
    return this.chain(lane, () => this.attempt(lane, batch, 0));
  }

  /** Appends a delivery to the lane's chain; the chain itself never rejects, the returned promise does. */
  private chain(lane: Lane, run: () => Promise<void>): Promise<void> {
    const previous = lane.tail ?? Promise.resolve();
    const batchDone = previous.then(run);
    const tail = batchDone.then(
      () => undefined,
      (error: DeliveryError) => this.options.onError(error),
    );
    lane.tail = tail;
    void tail.then(() => {
      if (lane.tail === tail) {
        lane.tail = undefined;
        this.release(lane);
      }
    });
    // The caller may not await this promise (turn replies); make sure that is not an unhandled rejection.
    batchDone.catch(() => undefined);
    return batchDone;
  }

  private async attempt(lane: Lane, batch: OutgoingMessage[], attempt: number): Promise<void> {
    let result: Awaitable<void>;
    try {
      result = this.options.deliver(lane.address, batch);
    } catch (error) {
      return this.retry(lane, batch, error, attempt + 1);
    }
    if (isThenable(result)) return this.settle(lane, batch, result, attempt);
  }

  private async settle(
    lane: Lane,
    batch: OutgoingMessage[],
    result: PromiseLike<void>,
    attempt: number,
  ): Promise<void> {
    try {
      await withTimeout(result, this.options.retry.timeout);
    } catch (error) {
      return this.retry(lane, batch, error, attempt + 1);
    }
  }

  private async retry(lane: Lane, batch: OutgoingMessage[], error: unknown, attempt: number): Promise<void> {
    const { retries, minDelay, maxDelay, factor } = this.options.retry;
    if (attempt > retries) {
      throw new DeliveryError(
        `deliver failed ${attempt} time${attempt === 1 ? '' : 's'} for ${batch.length} message${batch.length === 1 ? '' : 's'} to ` +
          `${lane.address.channelId}/${lane.address.conversation.id}/${lane.address.user.id}: ${errorText(error)}`,
        lane.address,
        batch,
        { cause: error },
      );
    }
    await sleep(Math.min(maxDelay, minDelay * factor ** (attempt - 1)));
    return this.attempt(lane, batch, attempt);
  }

  private release(lane: Lane): void {
    if (lane.tail === undefined && lane.pending.length === 0 && this.lanes.get(lane.key) === lane)
      this.lanes.delete(lane.key);
  }

  private arm(due: number): void {
    this.timer = setTimeout(this.onTimer, Math.max(0, due - Date.now()));
    this.timer.unref?.();
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private readonly onTimer = (): void => {
    this.timer = undefined;
    const now = Date.now();
    for (const lane of this.waiting.values()) {
      if (lane.due > now) {
        this.arm(lane.due);
        return;
      }
      void this.dispatch(lane);
    }
  };
}

function isThenable(value: unknown): value is PromiseLike<void> {
  return typeof (value as PromiseLike<void> | undefined)?.then === 'function';
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref?.();
  });
}

function withTimeout(promise: PromiseLike<void>, ms: number): Promise<void> {
  if (ms <= 0) return Promise.resolve(promise);
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new PalaverError('DELIVERY_FAILED', `deliver did not settle within ${ms} ms`)),
      ms,
    );
    timer.unref?.();
    promise.then(
      () => {
        clearTimeout(timer);
        resolve();
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error);
      },
    );
  });
}
