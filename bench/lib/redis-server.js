'use strict';
// A redis-server of the bench's own: a free loopback port, no persistence, stopped by the caller (and on exit).
const { spawn } = require('node:child_process');
const net = require('node:net');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

/** A TCP port nobody listens on right now (the kernel picks it). */
function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Resolves once something accepts connections on `port`, rejects after `timeoutMs`. */
async function waitForPort(port, timeoutMs) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > until) throw new Error(`redis-server did not listen on port ${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts `redis-server` (from PATH, or REDIS_SERVER) on a free loopback port, without RDB or AOF. Resolves to
 * `{ url, port, version, stop() }`; `args` are more command-line options. The server is killed when this process exits, on a signal too.
 */
async function startRedis(args = []) {
  const binary = process.env.REDIS_SERVER || 'redis-server';
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'palaver-bench-redis-'));
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--loglevel',
      'warning',
      ...args,
    ],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.once('error', (error) => (stderr += String(error)));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  // Ctrl-C or a kill: Node does not run 'exit' listeners on a signal it has no handler for, so stop the server here.
  const onSignal = (signal) => {
    kill();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    await Promise.race([
      waitForPort(port, 10_000),
      exited.then((code) => Promise.reject(new Error(`redis-server exited (${code}): ${stderr.trim()}`))),
    ]);
  } catch (error) {
    kill();
    throw error;
  }
  let version = '?';
  try {
    version =
      require('node:child_process')
        .execFileSync(binary, ['--version'], { encoding: 'utf8' })
        .match(/v=(\S+)/)?.[1] ?? '?';
  } catch {
    // only for the report
  }
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    version,
    async stop() {
      process.removeListener('exit', kill);
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      kill();
      await exited;
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

module.exports = { startRedis, freePort };
