// palaver/testing as the built package serves it (run after `npm run build`, as `npm test` does).
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');

function node(args: string[]): string {
  return execFileSync(process.execPath, args, { cwd: root, encoding: 'utf8' });
}

describe('the palaver/testing subpath of the built package', () => {
  it('loads from CommonJS with require()', () => {
    expect(
      node([
        '-e',
        "const t = require('palaver/testing'); console.log(typeof t.createTestClient, typeof t.parseDuration)",
      ]).trim(),
    ).toBe('function function');
  });

  it('loads from ESM with import', () => {
    const script =
      "const t = await import('palaver/testing'); console.log(typeof t.createTestClient, t.parseDuration('31m'))";
    expect(node(['--input-type=module', '-e', script]).trim()).toBe('function 1860000');
  });

  it('needs neither vitest nor any fake-timer library to load', () => {
    const script = `
      const Module = require('module');
      const load = Module._load;
      const loaded = new Set();
      Module._load = function (request, ...rest) { loaded.add(request); return load.call(this, request, ...rest); };
      require('palaver/testing');
      console.log([...loaded].filter((r) => /^(vitest|@sinonjs|zod|eventemitter3|lru-cache)(\\/|$)/.test(r)).join(',') || 'none');`;
    expect(node(['-e', script]).trim()).toBe('none');
  });

  it('drives a bot built from the package, with an advance function', () => {
    const script = `
      const { SessionManager, MemoryStore } = require('palaver');
      const { createTestClient } = require('palaver/testing');
      const bot = new SessionManager({ deliver: () => {}, store: new MemoryStore({ maxSessions: 10 }) });
      bot.dialog('/', (session) => session.send('hi %s', session.message.text));
      const client = createTestClient(bot, { advance: async () => {} });
      (async () => { await client.say('there'); console.log(JSON.stringify(await client.replies())); await bot.close(); })();`;
    expect(node(['-e', script]).trim()).toBe('["hi there"]');
  });
});
