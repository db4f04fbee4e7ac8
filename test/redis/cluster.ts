// The parent side of the multi-process Redis tests: forks bot processes (test/redis/worker.ts, bundled once with
// esbuild so that each process starts in a fraction of a second, from src/, without dist/), sends them messages over
// IPC, and collects what they report.
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { buildSync } from 'esbuild';
import type { Command, FromWorker, WorkerConfig } from './worker';

const root = resolve(__dirname, '../..');
let bundle: { dir: string; file: string } | undefined;

/** Bundles the worker (our code only; packages resolve from the repository's node_modules). */
function workerBundle(): string {
  if (bundle === undefined) {
    const dir = mkdtempSync(join(tmpdir(), 'palaver-worker-'));
    const file = join(dir, 'worker.js');
    buildSync({
      entryPoints: [join(__dirname, 'worker.ts')],
      outfile: file,
      bundle: true,
      platform: 'node',
      target: 'node20',
      packages: 'external',
      logLevel: 'error',
    });
    bundle = { dir, file };
    process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  }
  return bundle.file;
}

export type Done = Extract<FromWorker, { t: 'done' }>;
/** An event and when the test received it. */
export type Received<T extends FromWorker['t'] = FromWorker['t']> = Extract<FromWorker, { t: T }> & { at: number };
let ids = 0;

/** One forked bot process. */
export class Worker {
  readonly events: Received[] = [];
  private readonly pending = new Map<number, (done: Done) => void>();
  private readonly exited: Promise<void>;
  private constructor(
    readonly name: string,
    readonly child: ChildProcess,
  ) {
    child.on('message', (message: FromWorker) => {
      this.events.push({ ...message, at: Date.now() });
      if (message.t === 'done') {
        this.pending.get(message.id)?.(message);
        this.pending.delete(message.id);
      }
    });
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
  }

  /** Forks a bot process and waits until its manager is set up. */
  static async start(config: WorkerConfig): Promise<Worker> {
    const child = fork(workerBundle(), [], {
      cwd: root,
      env: { ...process.env, NODE_PATH: join(root, 'node_modules') },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const worker = new Worker(config.name, child);
    child.send({ t: 'setup', config });
    await worker.next('ready', 15_000);
    return worker;
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends one message; resolves when the process reports the turn done (saved, or failed with a code). */
  receive(user: string, command: Omit<Command, 'id'> = {}): Promise<Done> {
    const id = ++ids;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ t: 'recv', id, user, command: { ...command, id } });
    });
  }

  /** Resolves with the next event of type `t` (one already received counts if not yet taken). */
  async next<T extends FromWorker['t']>(t: T, timeout = 10_000): Promise<Received<T>> {
    const started = Date.now();
    for (;;) {
      const found = this.events.find((e) => e.t === t);
      if (found !== undefined) {
        this.events.splice(this.events.indexOf(found), 1);
        return found as Received<T>;
      }
      if (!this.alive)
        throw new Error(
          `worker ${this.name} exited (${this.child.exitCode ?? this.child.signalCode}) before a "${t}" event`,
        );
      if (Date.now() - started > timeout) throw new Error(`worker ${this.name}: no "${t}" event within ${timeout} ms`);
      await sleep(5);
    }
  }

  of<T extends FromWorker['t']>(t: T): Received<T>[] {
    return this.events.filter((e) => e.t === t) as Received<T>[];
  }

  signal(signal: NodeJS.Signals): void {
    this.child.kill(signal);
  }

  /** Kills the process with SIGKILL and waits for it to be gone. */
  async kill(): Promise<void> {
    if (this.alive) this.child.kill('SIGKILL');
    await this.exited;
  }

  /** Closes the manager and lets the process exit (SIGKILL after 5 s). */
  async close(): Promise<void> {
    if (!this.alive) return;
    this.child.send({ t: 'close' });
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Several bot processes on one Redis. */
export class Cluster {
  private constructor(readonly workers: Worker[]) {}

  static async start(count: number, config: Omit<WorkerConfig, 'name'>, names = 'ABCDEFGH'): Promise<Cluster> {
    return new Cluster(
      await Promise.all(Array.from({ length: count }, (_, i) => Worker.start({ ...config, name: names[i]! }))),
    );
  }

  random(): Worker {
    return this.workers[Math.floor(Math.random() * this.workers.length)]!;
  }

  of<T extends FromWorker['t']>(t: T): (Received<T> & { worker: string })[] {
    return this.workers.flatMap((w) => w.of(t).map((e) => ({ ...e, worker: w.name })));
  }

  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 20 ms until it holds or `timeout` ms pass; resolves to whether it held. */
export async function until(condition: () => boolean, timeout: number): Promise<boolean> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeout) return false;
    await sleep(20);
  }
  return true;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}
