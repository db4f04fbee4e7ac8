// The published shape: pack the package as npm would, install it in a scratch project, and load it the ways users do.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
let project: string;

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: project, encoding: 'utf8' });
}

beforeAll(() => {
  project = mkdtempSync(join(tmpdir(), 'palaver-pack-'));
  const packed = execFileSync('npm', ['pack', '--silent', '--pack-destination', project], {
    cwd: root,
    encoding: 'utf8',
  })
    .trim()
    .split('\n')
    .pop()!;
  const modules = join(project, 'node_modules');
  mkdirSync(join(modules, 'palaver'), { recursive: true });
  execFileSync('tar', ['-xzf', join(project, packed), '-C', join(modules, 'palaver'), '--strip-components=1']);
  for (const dependency of ['eventemitter3', 'zod', 'sprintf-js', 'chrono-node', 'redis', '@redis']) {
    symlinkSync(join(root, 'node_modules', dependency), join(modules, dependency), 'dir');
  }
}, 60_000);

afterAll(() => {
  rmSync(project, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('ships only dist, the README, the license and package.json', () => {
    const files = readdirSync(join(project, 'node_modules', 'palaver')).sort();
    expect(files).toEqual(['LICENSE', 'README.md', 'dist', 'package.json']);
  });

  it('loads from CommonJS with require()', () => {
    const out = node([
      '-e',
      "const p = require('palaver'); console.log(typeof p.SessionManager, typeof p.MemoryStore, typeof p.Prompts.text)",
    ]);
    expect(out.trim()).toBe('function function function');
  });

  it('loads from ESM with import', () => {
    const out = node([
      '--input-type=module',
      '-e',
      "import { SessionManager, PalaverError } from 'palaver'; console.log(typeof SessionManager, new PalaverError('CLOSED', 'x').code)",
    ]);
    expect(out.trim()).toBe('function CLOSED');
  });

  it('loads palaver/redis from CommonJS and ESM, and loads redis only for a store given a url', () => {
    const cjs = node([
      '-e',
      "const r = require('palaver/redis'); require('palaver'); const before = Object.keys(require.cache).some((f) => f.includes('@redis'));" +
        "const store = new r.RedisStore({ url: 'redis://127.0.0.1:1' }); console.log(typeof r.RedisStore, before, Object.keys(require.cache).some((f) => f.includes('@redis')));" +
        'store.close().finally(() => process.exit(0));',
    ]);
    const esm = node([
      '--input-type=module',
      '-e',
      "import { RedisStore } from 'palaver/redis'; console.log(typeof RedisStore, new RedisStore({ client: { run: async () => null } }).persistent)",
    ]);
    const core = node([
      '-e',
      "require('palaver'); console.log(Object.keys(require.cache).some((f) => f.includes('@redis')))",
    ]);
    expect([cjs.trim(), esm.trim(), core.trim()]).toEqual(['function false true', 'function true', 'false']);
  });

  it('throws errors from palaver/redis that are instances of the PalaverError palaver exports, in CommonJS and ESM', () => {
    const cjs = node([
      '-e',
      "const { PalaverError } = require('palaver'); const { RedisStore } = require('palaver/redis'); try { new RedisStore({}); } catch (e) { console.log(e instanceof PalaverError, e.code); }",
    ]);
    const esm = node([
      '--input-type=module',
      '-e',
      "import { PalaverError } from 'palaver'; import { RedisStore } from 'palaver/redis'; try { new RedisStore({}); } catch (e) { console.log(e instanceof PalaverError, e.code); }",
    ]);
    expect([cjs.trim(), esm.trim()]).toEqual(['true INVALID_OPTIONS', 'true INVALID_OPTIONS']);
  });

  it('loads palaver/redis without the redis package, and a store given a url then says to install it, in CommonJS and ESM', () => {
    // A second install of the package, beside the core dependencies only.
    const bare = mkdtempSync(join(tmpdir(), 'palaver-no-redis-'));
    try {
      const modules = join(bare, 'node_modules');
      mkdirSync(join(modules, 'palaver'), { recursive: true });
      const packed = readdirSync(project).find((f) => f.endsWith('.tgz'))!;
      execFileSync('tar', ['-xzf', join(project, packed), '-C', join(modules, 'palaver'), '--strip-components=1']);
      for (const dependency of ['eventemitter3', 'zod', 'sprintf-js', 'chrono-node'])
        symlinkSync(join(root, 'node_modules', dependency), join(modules, dependency), 'dir');
      const attempt =
        "try { new RedisStore({ url: 'redis://127.0.0.1:1' }); } catch (e) { console.log(typeof RedisStore, e instanceof PalaverError, e.code, e.message.includes('npm install redis')); }";
      const run = (args: string[]) => execFileSync(process.execPath, args, { cwd: bare, encoding: 'utf8' }).trim();
      const cjs = run([
        '-e',
        `const { RedisStore } = require('palaver/redis'); const { PalaverError } = require('palaver'); ${attempt}`,
      ]);
      const esm = run([
        '--input-type=module',
        '-e',
        `import { RedisStore } from 'palaver/redis'; import { PalaverError } from 'palaver'; ${attempt}`,
      ]);
      const client = run([
        '-e',
        "const { RedisStore } = require('palaver/redis'); console.log(new RedisStore({ client: { run: async () => null } }).persistent)",
      ]);
      expect([cjs, esm, client]).toEqual([
        'function true MISSING_DEPENDENCY true',
        'function true MISSING_DEPENDENCY true',
        'true',
      ]);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });

  it('runs a turn from the built code', () => {
    const script = `
      const { SessionManager } = require('palaver');
      const replies = [];
      const bot = new SessionManager({ deliver: (a, m) => { replies.push(...m.map((x) => x.text)); }, autoBatchDelay: 0 });
      bot.dialog('/', (s) => s.send('echo %s', s.message.text));
      bot.receive({ address: { channelId: 'c', user: { id: 'u' }, conversation: { id: 'k' } }, text: 'hi' })
        .then(() => bot.close()).then(() => console.log(JSON.stringify(replies)));`;
    expect(node(['-e', script]).trim()).toBe('["echo hi"]');
  });

  it('answers a time prompt from the built code, loading chrono-node only then, in CommonJS and ESM', () => {
    const script = (load: string) => `
      ${load}
      const replies = [];
      const bot = new SessionManager({ deliver: (a, m) => { replies.push(...m.map((x) => x.text)); }, autoBatchDelay: 0 });
      bot.dialog('/', [(s) => Prompts.time(s, 'When?', { timezone: 'UTC' }), (s, r) => s.send(r.response.iso.slice(0, 10))]);
      const address = { channelId: 'c', user: { id: 'u' }, conversation: { id: 'k' } };
      const before = typeof require === 'function' && Object.keys(require.cache).some((f) => f.includes('chrono-node'));
      bot.receive({ address, text: 'hi' }).then(() => bot.receive({ address, text: 'December 24, 2030' }))
        .then(() => bot.close()).then(() => console.log(before, JSON.stringify(replies)));`;
    const cjs = node(['-e', script("const { SessionManager, Prompts } = require('palaver');")]);
    const esm = node(['--input-type=module', '-e', script("import { SessionManager, Prompts } from 'palaver';")]);
    expect([cjs.trim(), esm.trim()]).toEqual(['false ["When?","2030-12-24"]', 'false ["When?","2030-12-24"]']);
  });

  it('type-checks for TypeScript consumers in both module systems', () => {
    const consumer = `
      import { SessionManager, type Session } from 'palaver';
      type E = { UserName?: string };
      const bot = new SessionManager<E>({ deliver: () => {} });
      bot.dialog('/', (session: Session<E>) => { const name: string | undefined = session.entities.UserName; void name; });
    `;
    writeFileSync(join(project, 'consumer.mts'), consumer);
    writeFileSync(join(project, 'consumer.cts'), consumer);
    writeFileSync(
      join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: false,
          types: [],
        },
        files: ['consumer.mts', 'consumer.cts'],
      }),
    );
    symlinkSync(join(root, 'node_modules', 'typescript'), join(project, 'node_modules', 'typescript'), 'dir');
    const tsc = join(project, 'node_modules', 'typescript', 'bin', 'tsc');
    expect(() =>
      execFileSync(process.execPath, [tsc, '-p', project], { cwd: project, encoding: 'utf8' }),
    ).not.toThrow();
  }, 60_000);
});
