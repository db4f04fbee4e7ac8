// What RedisStore does differently on the sharded layout (Redis Cluster): a read or commit whose keys span shards is
// split into one script per shard, and the expiry sweep visits every shard's deadline set.
import { PalaverError } from '../errors';
import { ROLLBACK, STAGE } from './redis-cluster-scripts';
import { OPEN } from './redis-scripts';
import type { RedisScript } from './redis';
import type { KeyLayout } from './redis-layout';
import { busy, toRecord } from './redis-replies';
import type { CommitResult, CommitWrite, OpenResult, StoredRecord } from './store';

/** What the split operations need of the store. */
export interface ShardRunner {
  readonly layout: KeyLayout;
  readonly tombstoneTtl: number;
  /** Runs a script (bounded by `commandTimeout`, retried while the cluster redirects or fails over). */
  call(script: RedisScript, keys: string[], args: string[], doing: string): Promise<unknown>;
  /** Runs a commit-like script with the store's retry rules for ambiguous failures (replayed by turn id). */
  runCommit(script: RedisScript, keys: string[], args: string[], turnId: string, doing: string): Promise<unknown[]>;
}

/** Groups the indexes of `keys` by shard, `home` first. */
export function byShard(layout: KeyLayout, keys: readonly string[], home: number): Map<number, number[]> {
  const groups = new Map<number, number[]>([[home, []]]);
  for (let i = 0; i < keys.length; i++) {
    const shard = layout.shardOf(keys[i]!);
    let group = groups.get(shard);
    if (group === undefined) groups.set(shard, (group = []));
    group.push(i);
  }
  return groups;
}

/** An open whose keys span shards: the first key's shard takes the lease and reads; the others read at the same time. */
export async function splitOpen(
  runner: ShardRunner,
  keys: readonly string[],
  groups: Map<number, number[]>,
  home: number,
  leaseKey: string,
  leaseArgs: string[],
  doing: string,
): Promise<OpenResult> {
  const records: (StoredRecord | undefined)[] = new Array<StoredRecord | undefined>(keys.length);
  let held: OpenResult | undefined;
  await Promise.all(
    [...groups].map(async ([shard, indexes]) => {
      const recordKeys = indexes.map((i) => runner.layout.record(keys[i]!));
      // A shard without the lease reads only: its first key stands in for the lease key, which OPEN then leaves alone.
      const reply = (await runner.call(
        OPEN,
        [shard === home ? leaseKey : recordKeys[0]!, ...recordKeys],
        // Without the session in the same call, a read-only shard looks for earlier releases' records on every miss.
        shard === home ? leaseArgs : ['', '0', '1'],
        doing,
      )) as unknown[];
      if (reply[0] === 'busy') held = busy(reply);
      else indexes.forEach((i, j) => (records[i] = toRecord(reply[j + 1], keys[i]!)));
    }),
  );
  return held ?? { records };
}

/**
 * A commit whose writes span shards: the writes outside `home` (the shard of the lease: the session's and its user's)
 * are staged first, one compare-and-set per shard; then `commitHome` commits the home writes and gives the lease up.
 * A conflict anywhere, or a home commit that certainly did not run, undoes the staged writes that are still the last
 * ones of their records. A crash (or an unanswered home commit) between the two steps leaves the staged writes applied.
 */
export async function splitCommit(
  runner: ShardRunner,
  writes: readonly CommitWrite[],
  groups: Map<number, number[]>,
  home: number,
  turnId: string,
  doing: string,
  commitHome: (indexes: readonly number[]) => Promise<unknown[]>,
): Promise<CommitResult> {
  const versions: number[] = new Array<number>(writes.length);
  const staged: { key: string; version: number }[] = [];
  const undo = () => rollback(runner, staged, turnId);
  try {
    for (const [shard, indexes] of groups) {
      if (shard === home) continue;
      const keys: string[] = [];
      // The undo key lives at least a minute, whatever the tombstones' ttl: an undo never comes later than that.
      const args = [turnId, String(Math.max(runner.tombstoneTtl, 60_000))];
      for (const i of indexes) {
        const write = writes[i]!;
        if (write.data === null || write.idleMs != null) {
          throw new PalaverError(
            'INVALID_ARGUMENT',
            `A commit on a Redis Cluster deletes and files deadlines only in the shard of its first key, but "${write.key}" ` +
              `is in another shard than "${writes[0]!.key}": commit it on its own.`,
          );
        }
        const record = runner.layout.record(write.key);
        keys.push(record, record + ':tomb', record + ':undo');
        args.push(
          write.expected === null ? '' : String(write.expected.version),
          write.expected === null ? '' : String(write.expected.generation),
          write.data,
        );
      }
      const reply = await runner.runCommit(STAGE, keys, args, turnId, doing);
      if (reply[0] !== 'ok') {
        await undo();
        return failed(reply, writes, indexes);
      }
      indexes.forEach((i, j) => {
        versions[i] = Number(reply[j + 1]);
        staged.push({ key: writes[i]!.key, version: versions[i] });
      });
    }
  } catch (error) {
    await undo();
    throw error;
  }
  const homeIndexes = groups.get(home)!;
  let reply: unknown[];
  try {
    reply = await commitHome(homeIndexes);
  } catch (error) {
    // An unanswered home commit may have been applied: then the staged writes belong to it and stay.
    if (!(error instanceof PalaverError && error.code === 'COMMIT_UNKNOWN')) await undo();
    throw error;
  }
  if (reply[0] !== 'ok') {
    await undo();
    return failed(reply, writes, homeIndexes);
  }
  homeIndexes.forEach((i, j) => (versions[i] = Number(reply[j + 1])));
  return { ok: true, versions };
}

function failed(reply: unknown[], writes: readonly CommitWrite[], indexes: readonly number[]): CommitResult {
  return {
    ok: false,
    reason: reply[0] === 'ended' ? 'ended' : 'conflict',
    key: writes[indexes[Number(reply[1]) - 1]!]!.key,
  };
}

/** Best effort: a rollback Redis does not answer leaves the staged write in place (as a crash would). */
async function rollback(
  runner: ShardRunner,
  staged: readonly { key: string; version: number }[],
  turnId: string,
): Promise<void> {
  await Promise.all(
    staged.map(({ key, version }) => {
      const record = runner.layout.record(key);
      return runner
        .call(
          ROLLBACK,
          [record, record + ':tomb', record + ':undo'],
          [turnId, String(version), String(runner.tombstoneTtl)],
          `undoing the staged write of "${key}"`,
        )
        .catch(() => undefined);
    }),
  );
}

/**
 * Runs `claim(shard, limit)` over every shard, `parallel` at a time, starting at `start`, until `limit` claims are
 * taken; a shard that filled its share is visited again while the limit is not reached. Resolves to the claims and
 * where the next sweep should start.
 */
export async function claimShards<T>(
  shards: number,
  start: number,
  limit: number,
  parallel: number,
  claim: (shard: number, limit: number) => Promise<readonly T[]>,
): Promise<{ claims: T[]; next: number }> {
  const claims: T[] = [];
  let queue = Array.from({ length: shards }, (_, i) => (start + i) % shards);
  let next = start;
  while (queue.length > 0 && claims.length < limit) {
    const full: number[] = [];
    for (let at = 0; at < queue.length && claims.length < limit;) {
      const remaining = limit - claims.length;
      // No more shards at once than claims still wanted, each with a share, the shares adding up to what is left.
      const wave = queue.slice(at, at + Math.min(parallel, remaining));
      at += wave.length;
      const shares = wave.map((_, i) => Math.floor(remaining / wave.length) + (i < remaining % wave.length ? 1 : 0));
      const replies = await Promise.all(wave.map((shard, i) => claim(shard, shares[i]!)));
      replies.forEach((reply, i) => {
        claims.push(...reply);
        if (reply.length === shares[i]) full.push(wave[i]!);
      });
      next = (wave[wave.length - 1]! + 1) % shards;
    }
    queue = full;
  }
  return { claims, next };
}
