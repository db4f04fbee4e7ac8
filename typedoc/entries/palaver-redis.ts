/**
 * RedisStore: sessions shared by several bot processes through Redis. Needs the `redis` package (node-redis 5 or later).
 * @module palaver/redis
 */
export * from '../../src/redis';
