// A real redis-server for the Redis suites: spawned on a free loopback port, killed after. Without redis-server the
// suites are skipped with the reason printed, unless PALAVER_REQUIRE_REDIS=1 (CI), where they fail.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const BINARY = process.env.PALAVER_REDIS_SERVER ?? 'redis-server';
let probed: { reason: string | undefined } | undefined;

/** Why the Redis suites cannot run on this machine, or `undefined` when they can. */
export function redisUnavailable(): string | undefined {
  if (probed === undefined) {
    const probe = spawnSync(BINARY, ['--version'], { encoding: 'utf8' });
    probed = {
      reason:
        probe.error !== undefined
          ? `\`${BINARY}\` was not found (${probe.error.message}); install it (Debian: apt-get install redis-server) to run them`
          : probe.status !== 0
            ? `\`${BINARY} --version\` exited with ${probe.status}`
            : undefined,
    };
  }
  return probed.reason;
}

/** `describe` for suites that need redis-server: skipped loudly without it, failed without it when PALAVER_REQUIRE_REDIS=1. */
export function describeRedis(name: string, body: () => void): void {
  const reason = redisUnavailable();
  if (reason === undefined) {
    describe(name, body);
  } else if (process.env.PALAVER_REQUIRE_REDIS === '1') {
    describe(name, () => {
      it('has a redis-server to run against (PALAVER_REQUIRE_REDIS=1 makes this suite mandatory)', () => {
        expect.fail(`The Redis suites are required here but cannot run: ${reason}.`);
      });
    });
  } else {
    console.warn(`[palaver] SKIPPED "${name}": ${reason}. Set PALAVER_REQUIRE_REDIS=1 to make this a failure.`);
    describe.skip(name, body);
  }
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** Sends PING on a fresh connection; true on +PONG (not while Redis is still loading its data). */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** One redis-server process (restartable on the same port and data directory). */
export class RedisServer {
  private child: ChildProcess | undefined;

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly appendonly: boolean,
    /** More command-line options (a cluster node's). */
    private readonly extra: readonly string[] = [],
    /** For a Sentinel: the master it watches. */
    private readonly master?: RedisServer,
  ) {}

  /**
   * Starts redis-server on a free port; `appendonly` turns on AOF with fsync on every write (for restart tests); `args`
   * are more options for the command line.
   */
  static async start(options: { appendonly?: boolean; args?: readonly string[] } = {}): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'palaver-redis-'));
    for (let attempt = 0; ; attempt++) {
      const server = new RedisServer(await freePort(), dir, options.appendonly ?? false, options.args);
      try {
        await server.spawn();
        return server;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  }

  /** Starts a Sentinel (redis-server --sentinel) watching `master` under the name `mymaster`. */
  static async sentinel(master: RedisServer): Promise<RedisServer> {
    const dir = mkdtempSync(join(tmpdir(), 'palaver-sentinel-'));
    const server = new RedisServer(await freePort(), dir, false, [], master);
    await server.spawn();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Kills the server (SIGKILL by default: no chance to save) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
    live.delete(child);
  }

  /** Starts it again on the same port and data directory. */
  async restart(): Promise<void> {
    await this.kill();
    await this.spawn();
  }

  /** Kills it and removes its data directory. */
  async dispose(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async spawn(): Promise<void> {
    const args = [
      '--port',
      String(this.port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--dir',
      this.dir,
      '--loglevel',
      'warning',
    ];
    args.push(...(this.appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
    args.push(...this.extra);
    if (this.master !== undefined) {
      const conf = join(this.dir, 'sentinel.conf');
      writeFileSync(conf, `sentinel monitor mymaster 127.0.0.1 ${this.master.port} 1\n`);
      args.splice(
        0,
        args.length,
        conf,
        '--sentinel',
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--dir',
        this.dir,
        '--loglevel',
        'warning',
      );
    }
    const child = spawn(BINARY, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    live.add(child);
    let stderr = '';
    child.stderr?.on('data', (chunk) => (stderr += chunk.toString()));
    const started = Date.now();
    while (!(await ping(this.port))) {
      if (child.exitCode !== null || Date.now() - started > 10_000) {
        child.kill('SIGKILL');
        live.delete(child);
        throw new Error(`redis-server did not start on port ${this.port}: ${stderr.trim() || 'no output'}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    this.child = child;
  }
}
