// Every relative link in the README and docs leads to a file of the repository, and every #anchor to a heading of the
// page it names (as GitHub makes anchors from headings).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { documentationFiles, root } from './markdown';

/** Pages that other work writes; the index links them already. */
const writtenElsewhere = [
  'docs/architecture.md',
  'docs/guides/actions.md',
  'docs/guides/prompts.md',
  'docs/guides/typescript.md',
  'docs/operations/privacy.md',
];

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens; repeats get -1, -2... */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const heading = !fenced && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!heading) continue;
    const base = heading[1]!
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    result.add(count === 0 ? base : `${base}-${count}`);
  }
  return result;
}

/** The relative links of a page outside code: `[text](target)`. */
function links(markdown: string): string[] {
  const prose = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...prose.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1]!)
    .filter((target) => !/^[a-z]+:/i.test(target));
}

describe('the links of the docs', () => {
  it.each(documentationFiles())('lead somewhere in %s', (file) => {
    const broken: string[] = [];
    const markdown = readFileSync(join(root, file), 'utf8');
    for (const target of links(markdown)) {
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const resolved = path === '' ? file : normalize(join(dirname(file), path));
      if (writtenElsewhere.includes(resolved)) continue;
      if (!existsSync(join(root, resolved))) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor === undefined || !resolved.endsWith('.md') || statSync(join(root, resolved)).isDirectory()) continue;
      if (!anchors(readFileSync(join(root, resolved), 'utf8')).has(anchor)) broken.push(`${target}: no such heading`);
    }
    expect(broken).toEqual([]);
  });
});
