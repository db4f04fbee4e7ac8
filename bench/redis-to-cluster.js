'use strict';
// One-off migration of RedisStore's single-node key layout to the sharded layout of Redis Cluster: copies every
// session, userData and conversationData record (value, version, generation, turn id, pending claim, expiry), every
// user index (for forgetUser) and every deadline and claim into the shard each belongs to. Stop every bot process first (nothing may write during the copy),
// run it, then start the bots on the cluster. It only reads the source, so the single node stays as it was: to roll
// back, start the bots on it again. Needs `npm run build` (it takes the layout from dist/redis.js).
//
//   node bench/redis-to-cluster.js redis://old-host:6379 redis://cluster-node-1:6379 [redis://cluster-node-2:6379 …]
//     [--prefix=palaver] [--shards=64]
const path = require('node:path');
const { createClient, createCluster } = require('redis');

const dist = process.env.PALAVER_DIST ?? path.join(__dirname, '../dist/index.js');

/**
 * Copies the records, deadlines and claims under `prefix` from the standalone client `from` to the cluster client `to`
 * (both connected), in the sharded layout of `shards` shards. Resolves to what it copied.
 */
async function copyToCluster(from, to, { prefix = 'palaver', shards = 64 } = {}) {
  const { RedisStore } = require(path.join(path.dirname(dist), 'redis.js'));
  // Only its layout is used: which Redis key each record, deadline and claim goes to.
  const { layout } = new RedisStore({
    client: { run: () => Promise.reject(new Error('unused')), cluster: true },
    prefix,
    shards,
  });
  const decode = (member) =>
    member.replace(/%(25|7B|7D)/g, (_, hex) => (hex === '25' ? '%' : hex === '7B' ? '{' : '}'));
  const copied = { records: 0, indexes: 0, deadlines: 0, claims: 0 };
  const escaped = prefix.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const record = new RegExp(`^${escaped}:\\{(.*)\\}$`);
  const index = new RegExp(`^${escaped}:\\{(.*)\\}:index$`);
  // A record or an index keeps the expiry it has (idle + sessionGrace, retention): the copy must not live longer.
  const keepExpiry = async (source, target) => {
    const ttl = await from.pTTL(source);
    if (ttl > 0) await to.pExpire(target, ttl);
  };
  for await (const keys of from.scanIterator({ MATCH: `${prefix}:{*`, COUNT: 1000 })) {
    for (const redisKey of keys) {
      // Leases, tombstones and quarantined copies (a suffix other than :index) are not copied.
      const match = record.exec(redisKey);
      const type = match === null ? undefined : await from.type(redisKey);
      // A record is a string; one an earlier release wrote is a hash, which the store upgrades when it meets it.
      if (type === 'string' || type === 'hash') {
        const target = layout.record(decode(match[1]));
        await to.del(target);
        if (type === 'string') await to.set(target, await from.get(redisKey));
        else await to.hSet(target, await from.hGetAll(redisKey));
        await keepExpiry(redisKey, target);
        copied.records++;
        continue;
      }
      const owner = index.exec(redisKey);
      if (owner === null || (await from.type(redisKey)) !== 'set') continue;
      const target = `${layout.record(decode(owner[1]))}:index`;
      const members = await from.sMembers(redisKey);
      await to.del(target);
      if (members.length > 0) await to.sAdd(target, members);
      await keepExpiry(redisKey, target);
      copied.indexes++;
    }
  }
  for (const [set, field] of [
    ['deadlines', 'deadlines'],
    ['claims', 'claims'],
  ]) {
    const entries = await from.zRangeWithScores(`${prefix}:${set}`, 0, -1);
    for (const { value, score } of entries) {
      const key = decode(value);
      await to.zAdd(layout[field](layout.shardOf(key)), { score, value });
      copied[set]++;
    }
  }
  return copied;
}

async function main() {
  const args = process.argv.slice(2);
  const option = (name) => args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
  const [source, ...nodes] = args.filter((a) => !a.startsWith('--'));
  if (source === undefined || nodes.length === 0) {
    console.error(
      'usage: node bench/redis-to-cluster.js <source redis url> <cluster node url>... [--prefix=] [--shards=]',
    );
    process.exit(2);
  }
  const from = createClient({ url: source });
  const to = createCluster({ rootNodes: nodes.map((url) => ({ url })) });
  await Promise.all([from.connect(), to.connect()]);
  try {
    const copied = await copyToCluster(from, to, {
      prefix: option('prefix') ?? 'palaver',
      shards: Number(option('shards') ?? 64),
    });
    console.log(
      `copied ${copied.records} records, ${copied.indexes} user indexes, ${copied.deadlines} deadlines, ${copied.claims} claims`,
    );
  } finally {
    await Promise.all([from.close(), to.close()]);
  }
}

if (require.main === module) {
  main().catch((error) => {
    console.error(error);
    process.exit(1);
  });
}

module.exports = { copyToCluster };
