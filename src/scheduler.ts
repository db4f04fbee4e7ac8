/** setTimeout's longest delay; a later wake is reached in hops. */
const MAX_DELAY = 2 ** 31 - 1;

/**
 * One timer for every session deadline. `arm(at)` keeps the earliest wake time; the owner decides,
 * when it fires, what is due and when to wake next. The timer is unref'ed: it never keeps a process alive.
 */
export class Scheduler {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private armedAt = Infinity;
  private stopped = false;

  constructor(private readonly fire: () => void) {}

  /** Makes sure the timer fires no later than `at` (ms since the epoch, `Date.now()` clock). */
  arm(at: number): void {
    if (this.stopped || at >= this.armedAt) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.armedAt = at;
    const delay = Math.min(Math.max(0, at - Date.now()), MAX_DELAY);
    this.timer = setTimeout(this.onTimer, delay);
    this.timer.unref?.();
  }

  /** The wake time armed now, or `undefined`. */
  get nextWake(): number | undefined {
    return this.timer === undefined ? undefined : this.armedAt;
  }

  /** Clears the timer for good. */
  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedAt = Infinity;
  }

  private readonly onTimer = (): void => {
    const at = this.armedAt;
    this.timer = undefined;
    this.armedAt = Infinity;
    if (at > Date.now())
      this.arm(at); // a hop of a delay longer than setTimeout allows
    else this.fire();
  };
}
