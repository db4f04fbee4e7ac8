import { describe, expect, it } from 'vitest';
import { KeyQueue } from '../src/key-queue';

function deferred<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('KeyQueue', () => {
  it('runs the tasks of one key one at a time, in arrival order', async () => {
    const queue = new KeyQueue(100);
    const log: string[] = [];
    const gates = [deferred(), deferred(), deferred()];
    const runs = gates.map((gate, i) =>
      queue.run('k', async () => {
        log.push(`start ${i}`);
        await gate.promise;
        log.push(`end ${i}`);
        return i;
      }),
    );
    await tick();
    expect(log).toEqual(['start 0']);
    gates[2]!.resolve();
    gates[1]!.resolve();
    await tick();
    expect(log).toEqual(['start 0']);
    gates[0]!.resolve();
    await expect(Promise.all(runs)).resolves.toEqual([0, 1, 2]);
    expect(log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2']);
  });

  it('makes a task that arrives after the first one ended wait for the one still running', async () => {
    const queue = new KeyQueue(100);
    const log: string[] = [];
    const first = deferred();
    const second = deferred();
    const a = queue.run('k', () => first.promise);
    const b = queue.run('k', async () => {
      log.push('b start');
      await second.promise;
      log.push('b end');
    });
    first.resolve();
    await a;
    await tick();
    expect(log).toEqual(['b start']);
    const c = queue.run('k', async () => void log.push('c'));
    await tick();
    expect(log).toEqual(['b start']);
    second.resolve();
    await Promise.all([b, c]);
    expect(log).toEqual(['b start', 'b end', 'c']);
  });

  it('runs tasks of different keys concurrently', async () => {
    const queue = new KeyQueue(100);
    const gate = deferred();
    const started: string[] = [];
    const a = queue.run('a', async () => {
      started.push('a');
      await gate.promise;
    });
    const b = queue.run('b', async () => {
      started.push('b');
    });
    await b;
    expect(started).toEqual(['a', 'b']);
    gate.resolve();
    await a;
  });

  it('goes on with the next task after one rejects', async () => {
    const queue = new KeyQueue(100);
    const failing = queue.run('k', async () => {
      throw new Error('boom');
    });
    const next = queue.run('k', async () => 'next');
    await expect(failing).rejects.toThrow('boom');
    await expect(next).resolves.toBe('next');
  });

  it('rejects a task with TURN_QUEUE_FULL when maxDepth tasks are already waiting behind the running one', async () => {
    const queue = new KeyQueue(2);
    const gate = deferred();
    const running = queue.run('k', () => gate.promise);
    const waiting = [queue.run('k', async () => undefined), queue.run('k', async () => undefined)];
    await expect(queue.run('k', async () => undefined)).rejects.toMatchObject({
      code: 'TURN_QUEUE_FULL',
      message: expect.stringContaining('2 turns are already waiting for session "k" (maxQueuedTurns is 2)'),
    });
    await expect(queue.run('other', async () => 'ok')).resolves.toBe('ok');
    gate.resolve();
    await Promise.all([running, ...waiting]);
    await expect(queue.run('k', async () => 'again')).resolves.toBe('again');
  });

  it('forgets a key once its tasks are done', async () => {
    const queue = new KeyQueue(10);
    await Promise.all([queue.run('a', async () => 1), queue.run('b', async () => 2), queue.run('a', async () => 3)]);
    await tick();
    expect(queue.size).toBe(0);
  });

  it('resolves idle() once every running and waiting task has settled', async () => {
    const queue = new KeyQueue(10);
    const gate = deferred();
    const done: string[] = [];
    void queue.run('a', async () => {
      await gate.promise;
      done.push('a1');
    });
    void queue
      .run('a', async () => {
        done.push('a2');
      })
      .catch(() => undefined);
    let idle = false;
    const waiting = queue.idle().then(() => {
      idle = true;
    });
    await tick();
    expect(idle).toBe(false);
    gate.resolve();
    await waiting;
    expect(done).toEqual(['a1', 'a2']);
  });
});
