// Reads the project's Markdown: which files are documentation, their TypeScript blocks and their marked tables.
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const root = resolve(__dirname, '../..');

/** Where each public import path's source is: the tsup entries behind package.json's `exports`. */
export const publicEntryPoints: Record<string, string> = {
  palaver: 'src/index.ts',
  'palaver/redis': 'src/redis.ts',
  'palaver/console': 'src/adapters/console.ts',
  'palaver/http': 'src/adapters/http.ts',
  'palaver/grammy': 'src/adapters/grammy.ts',
  'palaver/botbuilder': 'src/adapters/botbuilder.ts',
  'palaver/testing': 'src/testing.ts',
};

/** README.md, CONTRIBUTING.md and every page under docs/ (the generated docs/api/ aside), as paths from the root. */
export function documentationFiles(): string[] {
  const files = ['README.md', 'CONTRIBUTING.md'].filter((file) => existsSync(join(root, file)));
  const walk = (dir: string): void => {
    for (const name of readdirSync(join(root, dir)).sort()) {
      const path = join(dir, name);
      if (path === join('docs', 'api')) continue;
      if (statSync(join(root, path)).isDirectory()) walk(path);
      else if (name.endsWith('.md')) files.push(path);
    }
  };
  walk('docs');
  return files;
}

export interface CodeBlock {
  /** The Markdown file, from the root. */
  file: string;
  /** 1-based line of the block's first code line. */
  line: number;
  code: string;
  /** Why the block is not type-checked, from `<!-- not-checked: reason -->` on the line before its fence. */
  skipReason: string | undefined;
}

const skipMarker = /^<!--\s*not-checked:\s*(.*?)\s*-->$/;

/** The ```ts and ```typescript blocks of one Markdown file. */
export function typeScriptBlocks(file: string): CodeBlock[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const fence = /^(\s*)```(\w*)\s*$/.exec(lines[i]!);
    if (!fence) continue;
    const end = lines.findIndex((text, j) => j > i && text.trim() === '```');
    if (end === -1) throw new Error(`${file}:${i + 1}: a code fence that is never closed`);
    if (fence[2] === 'ts' || fence[2] === 'typescript') {
      let previous = i - 1;
      while (previous >= 0 && lines[previous]!.trim() === '') previous--;
      const marker = previous >= 0 ? skipMarker.exec(lines[previous]!.trim()) : null;
      blocks.push({
        file,
        line: i + 2,
        code: lines.slice(i + 1, end).join('\n'),
        skipReason: marker ? marker[1] : undefined,
      });
    }
    i = end;
  }
  return blocks;
}

export interface MarkedTable {
  file: string;
  line: number;
  /** What the marker names: `options-of` or `codes-of`. */
  kind: 'options-of' | 'codes-of';
  /** The exported type whose members the table lists. */
  typeName: string;
  /** The entry file it is exported from, from the root. */
  entry: string;
  /** The first backticked name of each row's first cell. */
  names: string[];
}

const tableMarker = /^<!--\s*(options-of|codes-of):\s*(\w+)\s+from\s+(\S+)\s*-->$/;

/**
 * Tables that list the members of a type, each announced by `<!-- options-of: Name from src/file.ts -->` (the
 * properties of an interface) or `<!-- codes-of: Name from src/file.ts -->` (the members of a string union).
 */
export function markedTables(file: string): MarkedTable[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const tables: MarkedTable[] = [];
  lines.forEach((text, i) => {
    const marker = tableMarker.exec(text.trim());
    if (!marker) return;
    let row = i + 1;
    while (row < lines.length && lines[row]!.trim() === '') row++;
    const names: string[] = [];
    // The header row and the separator row come first.
    for (row += 2; row < lines.length && lines[row]!.trim().startsWith('|'); row++) {
      const cell = lines[row]!.trim().slice(1).split('|')[0]!;
      const name = /`([A-Za-z_$][\w$]*)/.exec(cell);
      if (!name) throw new Error(`${file}:${row + 1}: a row without a backticked name in its first cell`);
      names.push(name[1]!);
    }
    tables.push({
      file,
      line: i + 1,
      kind: marker[1] as MarkedTable['kind'],
      typeName: marker[2]!,
      entry: marker[3]!,
      names,
    });
  });
  return tables;
}

export function fromRoot(path: string): string {
  return relative(root, path);
}
