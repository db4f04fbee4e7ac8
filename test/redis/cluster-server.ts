// A real Redis Cluster for the cluster suites: six redis-server processes on free loopback ports (3 primaries, 3
// replicas, a short node timeout so that a failover takes about a second), joined with `redis-cli --cluster create`,
// torn down after. Skipped or required exactly as the single-node suites are (describeRedis in server.ts).
import { spawnSync } from 'node:child_process';
import { createClient, createCluster } from 'redis';
import { RedisServer } from './server';

const CLI = process.env.PALAVER_REDIS_CLI ?? 'redis-cli';

/** One node as `CLUSTER NODES` describes it. */
export interface ClusterNode {
  readonly id: string;
  readonly port: number;
  readonly primary: boolean;
  /** Primaries: the slot ranges they serve, as [first, last]. */
  readonly slots: readonly (readonly [number, number])[];
  readonly failed: boolean;
}

export class RedisCluster {
  private constructor(readonly servers: RedisServer[]) {}

  /** Starts `size` nodes (default 6) and makes a cluster of them with one replica per primary. */
  static async start(size = 6, nodeTimeout = 1000): Promise<RedisCluster> {
    const servers = await Promise.all(
      Array.from({ length: size }, () =>
        RedisServer.start({
          args: [
            '--cluster-enabled',
            'yes',
            '--cluster-node-timeout',
            String(nodeTimeout),
            '--cluster-config-file',
            'nodes.conf',
          ],
        }),
      ),
    );
    const cluster = new RedisCluster(servers);
    try {
      cli([
        '--cluster',
        'create',
        ...servers.map((s) => `127.0.0.1:${s.port}`),
        '--cluster-replicas',
        '1',
        '--cluster-yes',
      ]);
      await cluster.waitUntilOk(20_000);
    } catch (error) {
      await cluster.dispose();
      throw error;
    }
    return cluster;
  }

  /** `redis://` URLs of every node (any of them will do as a root node). */
  get urls(): string[] {
    return this.servers.map((s) => s.url);
  }

  /** A node-redis cluster client on this cluster, failing fast while a node is down (not yet connected). */
  client() {
    return createCluster({
      rootNodes: this.servers.map((s) => ({ url: s.url })),
      defaults: {
        disableOfflineQueue: true,
        socket: { connectTimeout: 1000, reconnectStrategy: () => 100 },
      },
    }).on('error', () => undefined);
  }

  /** Runs one command on the node at `port` (a fresh connection) and returns its reply. */
  async on(port: number, command: string[]): Promise<unknown> {
    const client = createClient({ url: `redis://127.0.0.1:${port}` }).on('error', () => undefined);
    await client.connect();
    try {
      return await client.sendCommand(command);
    } finally {
      client.destroy();
    }
  }

  /** The nodes as the node at `port` (default: the first one alive) sees them. */
  async nodes(port?: number): Promise<ClusterNode[]> {
    const at = port ?? this.servers.find((s) => s.pid !== undefined)!.port;
    const text = String(await this.on(at, ['CLUSTER', 'NODES']));
    return text
      .trim()
      .split('\n')
      .map((line) => {
        const [id, address, flags, , , , , , ...slots] = line.split(' ');
        return {
          id: id!,
          port: Number(address!.split('@')[0]!.split(':')[1]),
          primary: flags!.includes('master'),
          failed: flags!.includes('fail'),
          slots: slots
            .filter((s) => !s.startsWith('['))
            .map((s) => {
              const [from, to] = s.split('-');
              return [Number(from), Number(to ?? from)] as const;
            }),
        };
      });
  }

  /** The live primaries, in slot order. */
  async primaries(): Promise<ClusterNode[]> {
    return (await this.nodes())
      .filter((n) => n.primary && !n.failed && n.slots.length > 0)
      .sort((a, b) => a.slots[0]![0] - b.slots[0]![0]);
  }

  server(port: number): RedisServer {
    return this.servers.find((s) => s.port === port)!;
  }

  /** Waits until every live node says `cluster_state:ok` and agrees on the slots (all 16,384 covered). */
  async waitUntilOk(timeout: number): Promise<void> {
    const started = Date.now();
    for (;;) {
      const live = this.servers.filter((s) => s.pid !== undefined);
      const states = await Promise.all(live.map((s) => this.on(s.port, ['CLUSTER', 'INFO']).then(String, () => '')));
      if (states.every((info) => info.includes('cluster_state:ok') && info.includes('cluster_slots_ok:16384'))) return;
      if (Date.now() - started > timeout)
        throw new Error(`the cluster did not reach cluster_state:ok within ${timeout} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async dispose(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.dispose()));
  }
}

/** Runs redis-cli; throws with its output when it fails. */
export function cli(args: string[]): string {
  const run = spawnSync(CLI, args, { encoding: 'utf8', timeout: 60_000 });
  if (run.error !== undefined || run.status !== 0) {
    throw new Error(`redis-cli ${args.join(' ')} failed: ${run.error?.message ?? ''} ${run.stdout} ${run.stderr}`);
  }
  return run.stdout;
}
