import { defineConfig } from 'vitest/config';

// Suites that load the whole machine (several OS processes, a million turns, a browser) run after the others and one
// at a time: on a 2-core CI runner they starve each other's timing when run side by side.
const heavy = [
  'test/redis/multiprocess.test.ts',
  'test/redis/cluster-multiprocess.test.ts',
  'test/hardening/load.test.ts',
  'test/e2e/**/*.test.ts',
];
const heavyRun = process.env.PALAVER_HEAVY === '1';

export default defineConfig({
  test: {
    include: heavyRun ? heavy : ['test/**/*.test.ts'],
    exclude: heavyRun ? [] : heavy,
    fileParallelism: !heavyRun,
    typecheck: { enabled: !heavyRun, include: ['test/**/*.test-d.ts'] },
    testTimeout: 20_000,
    pool: 'forks',
  },
});
