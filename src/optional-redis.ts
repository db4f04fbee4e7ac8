// The `redis` package (node-redis) is an optional peer dependency: only RedisStore's `url` option needs it (a client
// passed in as `redis` or `client`, ioredis included, does not). It is loaded when first needed, so that importing
// palaver/redis without it works, and a store that does need it says how to install it instead of a bare
// "Cannot find module".
import { createRequire } from 'node:module';
import type * as Redis from 'redis';
import { PalaverError } from './errors';

let redis: typeof Redis | undefined;

/** node-redis's `createClient`, loading the package on the first call. */
export const createClient: typeof Redis.createClient = ((...args: Parameters<typeof Redis.createClient>) =>
  loadRedis().createClient(...args)) as typeof Redis.createClient;

/** node-redis's `createCluster`, loading the package on the first call. */
export const createCluster: typeof Redis.createCluster = ((...args: Parameters<typeof Redis.createCluster>) =>
  loadRedis().createCluster(...args)) as unknown as typeof Redis.createCluster;

/**
 * The `redis` package.
 * @throws PalaverError `MISSING_DEPENDENCY` when it is not installed.
 */
export function loadRedis(): typeof Redis {
  if (redis !== undefined) return redis;
  try {
    // Resolved from palaver's own location, as a static import would be; __filename is shimmed in the ESM build.
    redis = createRequire(__filename)('redis') as typeof Redis;
    return redis;
  } catch (error) {
    if (
      (error as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND' &&
      /['"]redis['"]/.test((error as Error).message)
    ) {
      throw new PalaverError(
        'MISSING_DEPENDENCY',
        "RedisStore's `url` and `cluster` options need the `redis` package (node-redis v5 or later), which is not installed: run " +
          '`npm install redis`, or pass a client you made as the `redis` or `client` option.',
        { cause: error },
      );
    }
    throw error;
  }
}
