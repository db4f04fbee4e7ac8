// One source for options and error codes: the tables in the docs list exactly what the code declares. The members are
// read with the TypeScript compiler from the public entry files, so the test follows a type wherever it is moved to, as
// long as the entry file still exports it.
import { readFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { documentationFiles, markedTables, publicEntryPoints, root, type MarkedTable } from './markdown';

const tables = documentationFiles().flatMap(markedTables);
let program: ts.Program;

beforeAll(() => {
  const entries = [...new Set(tables.map((table) => join(root, table.entry)))];
  program = ts.createProgram(entries, {
    strict: true,
    skipLibCheck: true,
    noEmit: true,
    types: ['node'],
    esModuleInterop: true,
  });
}, 120_000);

/** The members a table should list: an interface's properties, or a string union's members. */
function declared(table: MarkedTable): string[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(join(root, table.entry));
  if (!source) throw new Error(`${table.file}:${table.line}: no entry file ${table.entry}`);
  const exported = checker
    .getExportsOfModule(checker.getSymbolAtLocation(source)!)
    .find((symbol) => symbol.name === table.typeName);
  if (!exported) throw new Error(`${table.file}:${table.line}: ${table.entry} does not export ${table.typeName}`);
  const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
  const type = checker.getDeclaredTypeOfSymbol(symbol);
  if (table.kind === 'options-of') return checker.getPropertiesOfType(type).map((property) => property.name);
  if (!type.isUnion())
    throw new Error(`${table.file}:${table.line}: ${table.typeName} is not a union of string literals`);
  return type.types.map((member) => (member.isStringLiteral() ? member.value : checker.typeToString(member)));
}

describe('the options and error-code tables', () => {
  it('cover the options of SessionManager, MemoryStore and RedisStore and every error code', () => {
    const covered = tables.map((table) => `${table.kind} ${table.typeName}`);
    expect(covered).toEqual(
      expect.arrayContaining([
        'options-of SessionManagerOptions',
        'options-of MemoryStoreOptions',
        'options-of RedisStoreOptions',
        'codes-of PalaverErrorCode',
      ]),
    );
  });

  it.each(tables.map((table) => [`${table.file}:${table.line} (${table.typeName})`, table] as const))(
    '%s lists every member the code declares, once, and nothing else',
    (_, table) => {
      const names = declared(table);
      expect({
        missing: names.filter((name) => !table.names.includes(name)),
        unknown: table.names.filter((name) => !names.includes(name)),
      }).toEqual({
        missing: [],
        unknown: [],
      });
      expect(new Set(table.names).size).toBe(table.names.length);
    },
  );
});

describe('the generated API reference', () => {
  it('has one module per public import path, named after it and made from its source', () => {
    const { entryPoints } = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as { entryPoints: string[] };
    const modules = Object.fromEntries(
      entryPoints.map((entry) => {
        const text = readFileSync(join(root, entry), 'utf8');
        const name = /@module\s+(\S+)/.exec(text)?.[1] ?? `(no @module in ${entry})`;
        const from = /export \* from '([^']+)'/.exec(text)?.[1] ?? `(no export * in ${entry})`;
        return [name, relative(root, join(root, dirname(entry), from)) + '.ts'];
      }),
    );
    expect(modules).toEqual(publicEntryPoints);
  });
});
