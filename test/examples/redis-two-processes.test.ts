// Runs examples/redis-two-processes.ts as a user would (ts-node, no REDIS_URL: it starts its own redis-server) and
// checks that it tells the whole story and exits by itself.
import { execFile } from 'node:child_process';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { describeRedis } from '../redis/server';

const root = resolve(__dirname, '../..');

function runExample(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env = { ...process.env };
  delete env.REDIS_URL;
  return new Promise((done) => {
    execFile(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', 'examples/redis-two-processes.ts'],
      { cwd: root, env, timeout: 60_000 },
      (error, stdout, stderr) => done({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describeRedis('examples/redis-two-processes.ts', () => {
  it('carries one conversation across two processes, ends the session once, and exits by itself', async () => {
    const started = Date.now();
    const { code, stdout, stderr } = await runExample();
    console.log(`[example] exited with ${code} after ${Date.now() - started} ms:\n${stdout}`);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('[B] bot: Nice to meet you, Ada.');
    expect(stdout).toContain('[A] bot: You are Ada (turn 3 of this session).');
    expect(stdout.match(/session ended \(timeout\) after 3 turns/g)).toHaveLength(1);
    expect(stdout.trim().endsWith('done')).toBe(true);
  }, 70_000);
});
