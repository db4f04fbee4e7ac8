import { defineConfig } from 'vitest/config';

// The tests a mutation run uses when MUTATE_TESTS names them (comma-separated), see stryker.config.mjs.
export default defineConfig({
  test: {
    include: (process.env.MUTATE_TESTS ?? '').split(',').filter(Boolean),
    testTimeout: 20_000,
    pool: 'forks',
  },
});
