import { PalaverError } from './errors';

interface Lane {
  depth: number;
  tail: Promise<void> | undefined;
}

/** Runs tasks one at a time per key, in arrival order; different keys run concurrently. */
export class KeyQueue {
  private readonly lanes = new Map<string, Lane>();

  constructor(private readonly maxDepth: number) {}

  /** Runs `task` after every earlier task of `key` has settled. Rejects with TURN_QUEUE_FULL past `maxDepth` waiting tasks. */
  run<T>(key: string, task: () => Promise<T>): Promise<T> {
    let lane = this.lanes.get(key);
    if (lane === undefined) {
      lane = { depth: 0, tail: undefined };
      this.lanes.set(key, lane);
    } else if (lane.depth > this.maxDepth) {
      // depth counts the running task too: maxDepth tasks may wait behind it.
      return Promise.reject(
        new PalaverError(
          'TURN_QUEUE_FULL',
          `${lane.depth - 1} turns are already waiting for session "${key}" (maxQueuedTurns is ${this.maxDepth}); this message was rejected.`,
        ),
      );
    }
    const owned = lane;
    owned.depth++;
    const result = owned.tail === undefined ? task() : owned.tail.then(task);
    // One handler for both outcomes. A lane leaves the map exactly when its depth drops to 0, so it is still the key's.
    const release = (): void => {
      if (--owned.depth === 0) this.lanes.delete(key);
    };
    owned.tail = result.then(release, release);
    return result;
  }

  /** True while a task of `key` runs or waits. */
  busy(key: string): boolean {
    return this.lanes.has(key);
  }

  /** Keys with a task running or waiting. */
  get size(): number {
    return this.lanes.size;
  }

  /** Resolves when no task of any key is running or waiting. */
  async idle(): Promise<void> {
    while (this.lanes.size > 0) await Promise.all([...this.lanes.values()].map((lane) => lane.tail));
  }
}
