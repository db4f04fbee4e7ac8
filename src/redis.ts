// palaver/redis: sessions shared by several bot processes through Redis. Needs the `redis` package (node-redis v5+).
export { RedisStore, nodeRedisClient } from './stores/redis';
export type { RedisStoreOptions, RedisScriptClient, RedisScript, NodeRedisClient } from './stores/redis';
