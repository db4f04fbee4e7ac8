// palaver/redis: sessions shared by several bot processes through Redis. The `url` option needs the `redis` package
// (node-redis v5+); a client passed in does not.
export { RedisStore, nodeRedisClient } from './stores/redis';
export type { RedisStoreOptions, RedisScriptClient, RedisScript, NodeRedisClient } from './stores/redis';
