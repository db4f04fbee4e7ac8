// Every TypeScript block in the README and docs compiles against palaver's public entry points, in one compiler run.
// A block that is deliberately partial says so on the line before its fence: <!-- not-checked: why -->.
// The README's quick start also runs, from the built package, as a user would run it with ts-node.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentationFiles, publicEntryPoints, root, typeScriptBlocks, type CodeBlock } from './markdown';

const entryPoints = publicEntryPoints;
const files = documentationFiles();
const blocks = files.flatMap(typeScriptBlocks);
const checked = blocks.filter((block) => block.skipReason === undefined);
// Each block is its own module in a folder of the root, so that zod, grammy and the rest resolve from node_modules.
const blockDir = join(root, '.doc-blocks');
const blockPath = (block: CodeBlock, index: number): string =>
  join(blockDir, `${index}-${block.file.replace(/[^\w]+/g, '-')}-${block.line}.ts`);
const diagnosticsByFile = new Map<string, string[]>();

beforeAll(() => {
  const sources = new Map(
    checked.map((block, index) => [blockPath(block, index), { block, text: `${block.code}\nexport {};\n` }]),
  );
  const { config } = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const { options } = ts.convertCompilerOptionsFromJson(config.compilerOptions, root);
  const compilerOptions: ts.CompilerOptions = {
    ...options,
    // Blocks show one thing each: a value declared for the reader need not be used.
    noUnusedLocals: false,
    noUnusedParameters: false,
    noEmit: true,
    baseUrl: root,
    paths: Object.fromEntries(Object.entries(entryPoints).map(([name, path]) => [name, [path]])),
  };
  const host = ts.createCompilerHost(compilerOptions);
  const getSourceFile = host.getSourceFile.bind(host);
  host.getSourceFile = (fileName, language, ...rest) => {
    const virtual = sources.get(fileName);
    return virtual ? ts.createSourceFile(fileName, virtual.text, language) : getSourceFile(fileName, language, ...rest);
  };
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (fileName) => sources.has(fileName) || fileExists(fileName);
  const readFile = host.readFile.bind(host);
  host.readFile = (fileName) => sources.get(fileName)?.text ?? readFile(fileName);

  const program = ts.createProgram([...sources.keys()], compilerOptions, host);
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const virtual = diagnostic.file && sources.get(diagnostic.file.fileName);
    const text = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
    if (!virtual) {
      diagnosticsByFile.set('(outside the docs)', [...(diagnosticsByFile.get('(outside the docs)') ?? []), text]);
      continue;
    }
    const { line, character } = diagnostic.file!.getLineAndCharacterOfPosition(diagnostic.start ?? 0);
    const where = `${virtual.block.file}:${virtual.block.line + line}:${character + 1}`;
    diagnosticsByFile.set(virtual.block.file, [
      ...(diagnosticsByFile.get(virtual.block.file) ?? []),
      `${where} ${text}`,
    ]);
  }
}, 120_000);

describe('the TypeScript blocks of the docs', () => {
  it('map every public import path of package.json to its source', () => {
    const exported = Object.keys(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).exports)
      .filter((path) => path !== './package.json')
      .map((path) => (path === '.' ? 'palaver' : `palaver/${path.slice(2)}`));
    expect(Object.keys(entryPoints).sort()).toEqual(exported.sort());
  });

  it('include the README quick start among the checked blocks', () => {
    expect(checked.some((block) => block.file === 'README.md' && block.code.includes('async function main'))).toBe(
      true,
    );
  });

  it('give a reason for every block they leave unchecked', () => {
    expect(blocks.filter((block) => block.skipReason === '').map((block) => `${block.file}:${block.line}`)).toEqual([]);
  });

  it('type-check without errors outside the docs themselves', () => {
    expect(diagnosticsByFile.get('(outside the docs)') ?? []).toEqual([]);
  });

  it.each(files.filter((file) => checked.some((block) => block.file === file)))('compile in %s', (file) => {
    expect(diagnosticsByFile.get(file) ?? []).toEqual([]);
  });
});

describe('the README quick start', () => {
  const scratch = join(root, 'test/artifacts/quick-start');

  afterAll(() => {
    rmSync(scratch, { recursive: true, force: true });
  });

  it('runs as pasted with ts-node against the built package and prints the conversation', () => {
    expect(existsSync(join(root, 'dist/index.js')), 'run `npm run build` first').toBe(true);
    const block = checked.find(
      (candidate) => candidate.file === 'README.md' && candidate.code.includes('async function main'),
    )!;
    mkdirSync(scratch, { recursive: true });
    writeFileSync(join(scratch, 'quick-start.ts'), block.code);
    // `palaver` resolves to this package's own build through its exports map, as it would from node_modules.
    const output = execFileSync(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', join(scratch, 'quick-start.ts')],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 30_000,
      },
    );
    expect(output.trim().split('\n')).toEqual(['bot → u1: Hi! What is your name?', 'bot → u1: Hello Lars!']);
  }, 40_000);
});
