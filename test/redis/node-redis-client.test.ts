// The node-redis adapter of RedisStore, on a fake client: what it asks of node-redis for each script call.
import { describe, expect, it } from 'vitest';
import { nodeRedisClient, type NodeRedisClient } from '../../src/redis';
import { script } from '../../src/stores/redis-scripts';

/** A node-redis look-alike that records which of its copies ran each command. */
function fakeClient(name: string, log: string[]): NodeRedisClient {
  const client: NodeRedisClient = {
    evalSha: (sha1) => {
      log.push(`${name} EVALSHA ${sha1.slice(0, 6)}`);
      return Promise.resolve('ok');
    },
    eval: () => {
      log.push(`${name} EVAL`);
      return Promise.resolve('ok');
    },
    withCommandOptions: (options) => fakeClient(`${name}+${JSON.stringify(options)}`, log),
  };
  return client;
}

describe('nodeRedisClient', () => {
  it('runs scripts on a copy of the client without node-redis’s own per-command timer', async () => {
    const log: string[] = [];
    const adapter = nodeRedisClient(fakeClient('client', log));
    await adapter.run(script('return 1'), ['k'], ['a']);
    expect(log).toEqual([`client+{"timeout":0} EVALSHA ${script('return 1').sha1.slice(0, 6)}`]);
  });

  it('runs scripts on the client itself when it cannot make such a copy (node-redis 5)', async () => {
    const log: string[] = [];
    const client = fakeClient('client', log);
    delete client.withCommandOptions;
    await nodeRedisClient(client).run(script('return 1'), ['k'], ['a']);
    expect(log).toEqual([`client EVALSHA ${script('return 1').sha1.slice(0, 6)}`]);
  });
});
