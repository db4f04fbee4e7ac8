// Where RedisStore puts a session key's records in Redis. Two layouts:
// - single: `<prefix>:{<key>}` per record and one deadline and one claim set for all (standalone Redis, Sentinel);
// - sharded: a fixed number of virtual shards, each with a hash tag of its own: `<prefix>:{<tag>}:<key>` per record and
//   `<prefix>:{<tag>}deadlines`, `<prefix>:{<tag>}claims` per shard, so that every key one commit touches sits in one
//   hash slot of a Redis Cluster. A session key and its user's userData key go to the same shard (the user's).
import { addressOfKey, joinKey } from '../keys';
import { USER_PREFIX } from './store';
import { encode } from './redis-scripts';

/** Redis Cluster's hash slot of a key (CRC16/XMODEM of its hash tag, or of the whole key, modulo 16,384). */
export function keySlot(key: string): number {
  let tagged = key;
  const open = key.indexOf('{');
  if (open !== -1) {
    const close = key.indexOf('}', open + 1);
    if (close > open + 1) tagged = key.slice(open + 1, close);
  }
  let crc = 0;
  for (const byte of Buffer.from(tagged, 'utf8')) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc % 16384;
}

const tagCache = new Map<number, readonly string[]>();

/**
 * The hash tags of `count` shards: shard `i`'s tag falls in the `i`-th of `count` equal ranges of hash slots, so that
 * shards spread evenly over primaries that serve equal slot ranges (what `redis-cli --cluster create` makes). Found by
 * a deterministic search, so every process computes the same tags.
 */
export function shardTags(count: number): readonly string[] {
  let tags = tagCache.get(count);
  if (tags !== undefined) return tags;
  const found: string[] = [];
  for (let i = 0; i < count; i++) {
    const low = Math.floor((i * 16384) / count);
    const high = Math.floor(((i + 1) * 16384) / count);
    for (let n = 0; ; n++) {
      const tag = n === 0 ? String(i) : `${i}.${n}`;
      const slot = keySlot(tag);
      if (slot >= low && slot < high) {
        found.push(tag);
        break;
      }
    }
  }
  tags = found;
  tagCache.set(count, tags);
  return tags;
}

/**
 * The key whose shard a key goes to: a default session key (`s:<channel>:<conversation>:<user>`) goes with its user's
 * userData key (`u:<channel>:<user>`); every other key (a userData or conversationData key, a session key a custom
 * `sessionKey` function made) is its own.
 */
export function groupOf(key: string): string {
  const address = addressOfKey(key);
  return address === undefined ? key : USER_PREFIX + joinKey(address.channelId, address.user.id);
}

/** FNV-1a (32 bits) of a string's UTF-16 code units: cheap, stable across versions and platforms. */
function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The Redis keys of one store. */
export interface KeyLayout {
  /** The number of shards (1 for the single layout). */
  readonly shards: number;
  /** The shard of a session, userData or conversationData key. */
  shardOf(key: string): number;
  /** The Redis key of a record (its tombstone, lease and quarantine copies add a suffix). */
  record(key: string): string;
  deadlines(shard: number): string;
  claims(shard: number): string;
  /** What CLAIM puts before and after a member of the deadline set to rebuild its record key. */
  memberAffixes(shard: number): readonly [string, string];
}

/** The single-node layout: every record under its own hash tag, one deadline set and one claim set. */
export function singleLayout(prefix: string): KeyLayout {
  const deadlines = `${prefix}:deadlines`;
  const claims = `${prefix}:claims`;
  const affixes = [`${prefix}:{`, '}'] as const;
  return {
    shards: 1,
    shardOf: () => 0,
    record: (key) => `${prefix}:{${encode(key)}}`,
    deadlines: () => deadlines,
    claims: () => claims,
    memberAffixes: () => affixes,
  };
}

/** The sharded layout (Redis Cluster): `count` shards, each with its hash tag, deadline set and claim set. */
export function shardedLayout(prefix: string, count: number): KeyLayout {
  const bases = shardTags(count).map((tag) => `${prefix}:{${tag}}`);
  const layout: KeyLayout = {
    shards: count,
    shardOf: (key) => fnv1a(groupOf(key)) % count,
    record: (key) => `${bases[layout.shardOf(key)]}:${encode(key)}`,
    deadlines: (shard) => `${bases[shard]}deadlines`,
    claims: (shard) => `${bases[shard]}claims`,
    memberAffixes: (shard) => [`${bases[shard]}:`, ''],
  };
  return layout;
}
