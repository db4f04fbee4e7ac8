// The adapters' subpath exports, as the built package serves them (run after `npm run build`, as `npm test` does).
// Node and TypeScript resolve `palaver/...` from inside this package through its own `exports` map (self-reference).
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const subpaths = {
  console: 'ConsoleAdapter',
  http: 'HttpAdapter',
  grammy: 'GrammyAdapter',
  botbuilder: 'BotbuilderAdapter',
};
const scratch = join(root, 'test/artifacts/subpath-consumer');

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
}

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('the adapter subpaths of the built package', () => {
  it('load from CommonJS with require()', () => {
    const script = Object.entries(subpaths)
      .map(([path, name]) => `typeof require('palaver/${path}').${name}`)
      .join(', ');
    expect(node(['-e', `console.log([${script}].join(' '))`]).trim()).toBe('function function function function');
  });

  it('load from ESM with import', () => {
    const script = Object.entries(subpaths)
      .map(([path, name]) => `typeof (await import('palaver/${path}')).${name}`)
      .join(', ');
    expect(node(['--input-type=module', '-e', `console.log([${script}].join(' '))`]).trim()).toBe(
      'function function function function',
    );
  });

  it('need none of grammy, botbuilder or the core dependencies at run time', () => {
    const script = `
      const Module = require('module');
      const load = Module._load;
      const loaded = new Set();
      Module._load = function (request, ...rest) { loaded.add(request); return load.call(this, request, ...rest); };
      ${Object.keys(subpaths)
        .map((path) => `require('palaver/${path}');`)
        .join('\n')}
      console.log([...loaded].filter((r) => /^(grammy|botbuilder|zod|eventemitter3|lru-cache|sprintf-js)(\\/|$)/.test(r)).join(',') || 'none');`;
    expect(node(['-e', script]).trim()).toBe('none');
  });

  it('type-check for TypeScript consumers in both module systems', () => {
    const consumer = `
      import { SessionManager } from 'palaver';
      import { ConsoleAdapter } from 'palaver/console';
      import { HttpAdapter, HttpError } from 'palaver/http';
      import { GrammyAdapter } from 'palaver/grammy';
      import { BotbuilderAdapter } from 'palaver/botbuilder';
      import { Bot } from 'grammy';
      import { TestAdapter } from 'botbuilder';
      const http = new HttpAdapter({ onDeliver: () => undefined });
      const manager = new SessionManager({ deliver: http.deliver });
      const handler: (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => Promise<void> = http.handler(manager);
      const telegram = new GrammyAdapter(new Bot('0:x').api);
      new Bot('0:x').use(telegram.middleware(manager));
      const bf = new BotbuilderAdapter({ adapter: new TestAdapter() });
      void [handler, bf.deliver, new ConsoleAdapter().deliver, new HttpError(401, 'no')];
    `;
    mkdirSync(scratch, { recursive: true });
    writeFileSync(join(scratch, 'consumer.mts'), consumer);
    writeFileSync(join(scratch, 'consumer.cts'), consumer);
    writeFileSync(
      join(scratch, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'nodenext',
          moduleResolution: 'nodenext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['consumer.mts', 'consumer.cts'],
      }),
    );
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    expect(() => execFileSync(process.execPath, [tsc, '-p', scratch], { cwd: root, encoding: 'utf8' })).not.toThrow();
  }, 60_000);
});
