// The published declarations carry the public surface only: nothing the engine keeps for itself shows up in `dist`.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dist = process.env.DIST_UNDER_TEST ?? join(__dirname, '..', '..', 'dist');
const declarations = () =>
  readdirSync(dist)
    .filter((file) => file.endsWith('.d.ts') || file.endsWith('.d.mts'))
    .map((file) => ({ file, text: readFileSync(join(dist, file), 'utf8') }));

/** The body of `declare class <name>` in `text`, up to its closing brace at the start of a line. */
function classBody(text: string, name: string): string | undefined {
  const start = text.search(new RegExp(`declare class ${name}\\b`));
  if (start < 0) return undefined;
  const end = text.indexOf('\n}', start);
  return text.slice(start, end);
}

describe('the published type declarations', () => {
  it('declare Session with none of the engine’s bookkeeping', () => {
    const bodies = declarations()
      .map(({ text }) => classBody(text, 'Session'))
      .filter((body): body is string => body !== undefined);
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies) {
      for (const member of ['replies', 'state', 'host', 'lifecycle', 'saved', 'closed', 'previousDialog', 'flush']) {
        expect(body).not.toMatch(new RegExp(`^\\s+(/\\*\\*.*?\\*/\\s*)?(readonly |private )?${member}\\b`, 'm'));
      }
    }
  });

  it('declare SessionManager with none of its collaborators', () => {
    const bodies = declarations()
      .map(({ text }) => classBody(text, 'SessionManager'))
      .filter((body): body is string => body !== undefined);
    expect(bodies.length).toBeGreaterThan(0);
    for (const body of bodies)
      expect(body).not.toMatch(/^\s+(private )?(readonly )?(registry|outbox|queue|leases|options|counters)\b/m);
  });

  it('leave out what is exported for palaver’s own tests', () => {
    for (const { file, text } of declarations())
      expect({ file, found: text.includes('installFakeClock') }).toEqual({ file, found: false });
  });
});
