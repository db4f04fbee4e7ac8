// The TypeScript guide's code blocks compile as written, against the sources, under the project's strict settings.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '../..');
const guide = readFileSync(join(root, 'docs/guides/typescript.md'), 'utf8');
const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);

function compile(sources: readonly string[]): string[] {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile).config as { compilerOptions: object };
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, root);
  options.noEmit = true;
  options.baseUrl = root;
  options.paths = { palaver: ['src/index.ts'] };
  const files = new Map(sources.map((text, i) => [join(root, `docs-block-${i + 1}.ts`), text]));
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, version, ...rest) => {
    const text = files.get(resolve(name));
    return text === undefined ? read(name, version, ...rest) : ts.createSourceFile(name, text, version);
  };
  const exists = host.fileExists.bind(host);
  host.fileExists = (name) => files.has(resolve(name)) || exists(name);
  const program = ts.createProgram([...files.keys()], options, host);
  return ts
    .getPreEmitDiagnostics(program)
    .filter((d) => d.file !== undefined && files.has(resolve(d.file.fileName)))
    .map((d) => `${d.file!.fileName.slice(root.length + 1)}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`);
}

describe('docs/guides/typescript.md', () => {
  it('has code blocks to check', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(6);
  });

  it('compiles every TypeScript block as written', () => {
    expect(compile(blocks)).toEqual([]);
  }, 120_000);

  it('would report a block that does not compile', () => {
    const broken = `import { SessionManager } from 'palaver';\nconst bot = new SessionManager<{ N?: string }>({ deliver: async () => {} });\nbot.dialog('/', (s) => s.send('%d', 'x'));\n`;
    expect(compile([broken])).toHaveLength(1);
  }, 120_000);
});
