// The shard walk of RedisStore's expiry sweep on the sharded layout, without Redis: every shard is visited, the limit
// is never passed, and a shard with more due than its share is visited again.
import { describe, expect, it } from 'vitest';
import { claimShards } from '../../src/stores/redis-shards';
import { keySlot, shardTags } from '../../src/stores/redis-layout';

/** 64 shards whose due entries are given per shard; `claim` takes up to `most` of them, as CLAIM does. */
function shardsWith(due: Record<number, number>) {
  const left = new Map(Object.entries(due).map(([shard, n]) => [Number(shard), n]));
  const visits: number[] = [];
  const claim = async (shard: number, most: number) => {
    visits.push(shard);
    const n = Math.min(most, left.get(shard) ?? 0);
    left.set(shard, (left.get(shard) ?? 0) - n);
    return Array.from({ length: n }, (_, i) => `${shard}.${i}`);
  };
  return { claim, visits, left };
}

describe('claimShards', () => {
  it('finds the one due entry with a limit of 1, whichever shard holds it', async () => {
    for (const shard of [0, 17, 63]) {
      const { claim } = shardsWith({ [shard]: 1 });
      expect((await claimShards(64, 40, 1, 16, claim)).claims).toEqual([`${shard}.0`]);
    }
  });

  it('never claims more than the limit, and drains a shard with more due than its share', async () => {
    const { claim, left } = shardsWith({ 5: 100, 9: 3 });
    const { claims } = await claimShards(64, 0, 64, 16, claim);
    expect(claims).toHaveLength(64);
    expect(left.get(9)).toBe(0);
    expect(left.get(5)).toBe(100 - 61);
  });

  it('starts the next walk after the last shard it visited', async () => {
    const { claim } = shardsWith({ 2: 10 });
    expect((await claimShards(64, 0, 4, 16, claim)).next).toBe(3);
  });
});

describe('shardTags', () => {
  it('gives shard i a tag in the i-th equal range of hash slots', () => {
    const tags = shardTags(64);
    expect(tags.map((tag, i) => Math.floor(keySlot(tag) / 256) === i)).toEqual(tags.map(() => true));
  });

  it('computes Redis’s hash slot of a key, its hash tag only when it has one', () => {
    expect([keySlot('123456789'), keySlot('{user1000}.following'), keySlot('user1000')]).toEqual([
      12739,
      keySlot('user1000'),
      keySlot('user1000'),
    ]);
  });
});
