import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Scheduler } from '../src/scheduler';

describe('Scheduler', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('fires once when the armed time comes', () => {
    const fire = vi.fn();
    const scheduler = new Scheduler(fire);
    scheduler.arm(Date.now() + 1000);
    vi.advanceTimersByTime(999);
    expect(fire).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fire).toHaveBeenCalledTimes(1);
    vi.advanceTimersByTime(10_000);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('keeps one timer however many times it is armed', () => {
    const scheduler = new Scheduler(() => undefined);
    const now = Date.now();
    for (let i = 0; i < 1000; i++) scheduler.arm(now + 1000 + ((i * 7919) % 5000));
    expect(vi.getTimerCount()).toBe(1);
    scheduler.stop();
  });

  it('moves the timer earlier when armed for an earlier time', () => {
    const fire = vi.fn();
    const scheduler = new Scheduler(fire);
    scheduler.arm(Date.now() + 5000);
    scheduler.arm(Date.now() + 100);
    vi.advanceTimersByTime(100);
    expect(fire).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('keeps the earlier time when armed for a later one', () => {
    const fire = vi.fn();
    const scheduler = new Scheduler(fire);
    const at = Date.now() + 100;
    scheduler.arm(at);
    scheduler.arm(at + 5000);
    expect(scheduler.nextWake).toBe(at);
    vi.advanceTimersByTime(100);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('fires at once for a time already past', () => {
    const fire = vi.fn();
    new Scheduler(fire).arm(Date.now() - 50);
    vi.advanceTimersByTime(0);
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('reaches a wake time beyond the longest setTimeout delay in hops', () => {
    const fire = vi.fn();
    const scheduler = new Scheduler(fire);
    const far = 2 ** 31 + 10_000;
    scheduler.arm(Date.now() + far);
    vi.advanceTimersByTime(2 ** 31 - 1);
    expect(fire).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(far - (2 ** 31 - 1));
    expect(fire).toHaveBeenCalledTimes(1);
  });

  it('can be armed again from inside its own fire callback', () => {
    let fired = 0;
    const scheduler: Scheduler = new Scheduler(() => {
      fired++;
      if (fired < 3) scheduler.arm(Date.now() + 10);
    });
    scheduler.arm(Date.now() + 10);
    vi.advanceTimersByTime(100);
    expect(fired).toBe(3);
  });

  it('leaves no timer after stop and ignores later arms', () => {
    const fire = vi.fn();
    const scheduler = new Scheduler(fire);
    scheduler.arm(Date.now() + 100);
    scheduler.stop();
    scheduler.arm(Date.now() + 100);
    expect(vi.getTimerCount()).toBe(0);
    expect(scheduler.nextWake).toBeUndefined();
    vi.advanceTimersByTime(1000);
    expect(fire).not.toHaveBeenCalled();
  });

  it('fires no later than the earliest of any set of armed times', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 10_000 }), { minLength: 1, maxLength: 50 }), (offsets) => {
        const start = Date.now();
        const firedAt: number[] = [];
        const scheduler = new Scheduler(() => firedAt.push(Date.now() - start));
        for (const offset of offsets) scheduler.arm(start + offset);
        expect(vi.getTimerCount()).toBe(1);
        vi.advanceTimersByTime(10_001);
        expect(firedAt).toEqual([Math.min(...offsets)]);
        scheduler.stop();
      }),
      { numRuns: 100 },
    );
  });
});

describe('Scheduler timer', () => {
  it('is unref’ed so that it never keeps the process alive', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const scheduler = new Scheduler(() => undefined);
    scheduler.arm(Date.now() + 60_000);
    const timer = spy.mock.results[0]?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    scheduler.stop();
    spy.mockRestore();
  });

  it('never asks setTimeout for a delay longer than it allows', () => {
    const spy = vi.spyOn(globalThis, 'setTimeout');
    const scheduler = new Scheduler(() => undefined);
    scheduler.arm(Date.now() + 2 ** 32);
    expect(spy.mock.calls[0]?.[1]).toBe(2 ** 31 - 1);
    scheduler.stop();
    spy.mockRestore();
  });

  it('works where setTimeout returns a plain number, as in a browser', () => {
    const set = vi.spyOn(globalThis, 'setTimeout').mockImplementation((() => 1) as never);
    const clear = vi.spyOn(globalThis, 'clearTimeout').mockImplementation(() => undefined);
    try {
      const scheduler = new Scheduler(() => undefined);
      const at = Date.now() + 60_000;
      scheduler.arm(at);
      expect(scheduler.nextWake).toBe(at);
      scheduler.stop();
      expect(clear).toHaveBeenCalledWith(1);
    } finally {
      set.mockRestore();
      clear.mockRestore();
    }
  });
});
