// Mutation testing with Stryker: changes the code one small way at a time (a condition, an operator, a string) and
// checks that some test fails. A mutant that survives is a behaviour no test pins down, or code that does nothing.
//
//   MUTATE=src/outbox.ts MUTATE_TESTS=test/outbox.test.ts npm run mutate     one module against its own tests (minutes)
//   MUTATE=src/outbox.ts npm run mutate                                       against every related test (can take hours)
//
// The report is printed and written to reports/mutation/. Not part of `npm test`: it reruns the tests once per mutant.
const mutate = (process.env.MUTATE ?? 'src/**/*.ts').split(',');
const tests = process.env.MUTATE_TESTS;

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  mutate,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/index.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  coverageAnalysis: 'perTest',
  concurrency: Number(process.env.MUTATE_CONCURRENCY ?? 2),
  tempDirName: '.stryker-tmp',
  ignorePatterns: ['bench', 'dist', 'reports', '.scratch', 'coverage'],
  vitest: tests ? { configFile: 'test/mutation/vitest.config.ts', related: false } : { related: true },
};
