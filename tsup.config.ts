import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {
    index: 'src/index.ts',
    redis: 'src/redis.ts',
    console: 'src/adapters/console.ts',
    http: 'src/adapters/http.ts',
    grammy: 'src/adapters/grammy.ts',
    botbuilder: 'src/adapters/botbuilder.ts',
    testing: 'src/testing.ts',
  },
  format: ['cjs', 'esm'],
  dts: true,
  sourcemap: true,
  clean: true,
  // Shared chunks in the CommonJS build too: every entry then uses the one PalaverError class, so instanceof holds across palaver and palaver/redis.
  splitting: true,
  // Rollup turns the split ESM into CommonJS (without it tsup uses sucrase, which rewrites every `?.` and `??` into helper calls that allocate on the hot path).
  treeshake: true,
  target: 'node20',
  // __filename in the ESM build (optional-redis.ts resolves the optional redis package from palaver's own location).
  shims: true,
  outExtension: ({ format }) => ({ js: format === 'esm' ? '.mjs' : '.js' }),
});
