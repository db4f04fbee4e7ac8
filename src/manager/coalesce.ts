// Type-ahead coalescing (the `coalesce` option): messages of one session key that arrive within `window` ms of each
// other, or while an earlier turn of the key runs, become one turn. A batch takes messages until its turn starts: while
// its window runs, and after that while it waits in the key's queue behind a running turn. It is submitted to the queue
// when its window closes, when it holds `max` messages, when something that is never merged (an event, a button
// press, another unit of work of the key) comes for the key, or at close(). Merging is per process: the batch lives
// here, not in the store.
import { merge } from '../merged';
import type { EarlyRecognition } from '../recognizers';
import { isThenable } from '../types';
import type { IncomingMessage } from '../types';
import type { TurnGate } from './gate';
import type { Engine } from './turns';
import { messageTurn, type TurnResult } from './units';

/** The `coalesce` option with its defaults applied. */
export interface CoalesceSettings {
  readonly window: number;
  readonly max: number;
}

/**
 * Queues a turn of `key`; when it starts, it calls `start` for the message to handle (merged or not) and the time the
 * last of its messages arrived.
 */
export type RunTurn = (
  key: string,
  start: () => { message: IncomingMessage; receivedAt: number },
) => Promise<TurnResult>;

/** The message turns of a manager, as a coalescer runs them: through the key's queue, then one unit of work. */
export function messageTurns(gate: TurnGate, engine: Engine): RunTurn {
  return (key, start) =>
    gate.run(key, () => {
      const { message, receivedAt } = start();
      const recognizers = engine.recognizers;
      const early = recognizers.active ? recognizers.begin(message) : undefined;
      const turn = (found: EarlyRecognition | undefined) =>
        engine.transact(key, message.address, 'its turn', (unit) =>
          messageTurn(engine, unit, message, receivedAt, found),
        );
      return isThenable(early) ? early.then(turn) : turn(early);
    });
}

interface Batch {
  readonly key: string;
  readonly messages: IncomingMessage[];
  readonly arrivals: number[];
  timer: ReturnType<typeof setTimeout> | undefined;
  /** In the key's queue: its window is over, and it takes messages until its turn starts. */
  queued: boolean;
  readonly done: Promise<TurnResult>;
  settle: (turn: Promise<TurnResult>) => void;
}

/** True for a message that may be merged: a plain message, not an event and not a button press (a `value`). */
export function isMergeable(message: IncomingMessage): boolean {
  return (message.type ?? 'message') === 'message' && message.value === undefined;
}

export class Coalescer {
  /** The batch of each key that still takes messages. */
  readonly #open = new Map<string, Batch>();

  constructor(
    private readonly settings: CoalesceSettings,
    private readonly runTurn: RunTurn,
  ) {}

  /** Adds `message` to the open batch of `key` (or opens one); resolves with the result of the turn it joins. */
  add(key: string, message: IncomingMessage, at: number): Promise<TurnResult> {
    let batch = this.#open.get(key);
    if (batch === undefined) {
      let settle!: Batch['settle'];
      const done = new Promise<TurnResult>((resolve) => (settle = resolve));
      batch = { key, messages: [], arrivals: [], timer: undefined, queued: false, done, settle };
      this.#open.set(key, batch);
    }
    batch.messages.push(message);
    batch.arrivals.push(at);
    if (batch.messages.length >= this.settings.max) {
      this.#open.delete(key);
      if (!batch.queued) this.#submit(batch);
    } else if (!batch.queued) {
      // The window restarts with each message: it closes `window` ms after the last one.
      if (batch.timer !== undefined) clearTimeout(batch.timer);
      const waiting = batch;
      // Not unref'ed: a caller awaits this turn, and the process must not exit before it runs.
      batch.timer = setTimeout(() => this.#submit(waiting), this.settings.window);
    }
    return batch.done;
  }

  /** The user of `key` is typing: a batch still in its window waits `window` ms from now. */
  extend(key: string): void {
    const batch = this.#open.get(key);
    if (batch === undefined || batch.queued) return;
    clearTimeout(batch.timer);
    batch.timer = setTimeout(() => this.#submit(batch), this.settings.window);
  }

  /** Something that is never merged comes for `key`: its open batch goes ahead of it and takes no more messages. */
  seal(key: string): void {
    const batch = this.#open.get(key);
    if (batch === undefined) return;
    this.#open.delete(key);
    if (!batch.queued) this.#submit(batch);
  }

  /** Seals the open batches whose messages `match`; resolves once their turns settled. */
  settleWhere(match: (message: IncomingMessage) => boolean): Promise<unknown> {
    const waiting: Promise<unknown>[] = [];
    for (const [key, batch] of [...this.#open]) {
      if (!batch.messages.some(match)) continue;
      this.seal(key);
      waiting.push(batch.done.catch(() => undefined));
    }
    return Promise.all(waiting);
  }

  /** Submits every batch still waiting for its window (close()). */
  flushAll(): void {
    for (const key of [...this.#open.keys()]) this.seal(key);
  }

  /** Queues the turn of `batch`; until that turn starts, later messages of the key still join it. */
  #submit(batch: Batch): void {
    if (batch.timer !== undefined) clearTimeout(batch.timer);
    batch.timer = undefined;
    batch.queued = true;
    const turn = this.runTurn(batch.key, () => {
      if (this.#open.get(batch.key) === batch) this.#open.delete(batch.key);
      return { message: merge(batch.messages, batch.arrivals), receivedAt: batch.arrivals[batch.arrivals.length - 1]! };
    });
    batch.settle(
      turn.then((result) => (batch.messages.length > 1 ? { ...result, merged: batch.messages.length } : result)),
    );
  }
}
