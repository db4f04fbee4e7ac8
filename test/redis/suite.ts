// The set-up most RedisStore suites share: one redis-server and an admin client for the suite, stores on prefixes of
// their own, all stopped after the suite.
import { createClient } from 'redis';
import { afterAll, beforeAll } from 'vitest';
import { RedisStore, type RedisStoreOptions } from '../../src/redis';
import { RedisServer } from './server';

function adminClient(url: string) {
  return createClient({ url }).on('error', () => undefined);
}

export type AdminClient = ReturnType<typeof adminClient>;

export interface RedisSuite {
  readonly server: RedisServer;
  readonly admin: AdminClient;
  /** A store on a prefix of its own (`<letter><n>`), closed after the suite. */
  makeStore(options?: Partial<RedisStoreOptions>): { store: RedisStore; prefix: string };
}

/** Call inside `describeRedis`: starts the server and the admin client before the suite's tests. */
export function redisSuite(letter: string): RedisSuite {
  let server: RedisServer | undefined;
  let admin: AdminClient | undefined;
  let prefixes = 0;
  const stores: RedisStore[] = [];
  beforeAll(async () => {
    server = await RedisServer.start();
    admin = adminClient(server.url);
    await admin.connect();
  });
  afterAll(async () => {
    await Promise.all(stores.map((store) => store.close()));
    admin?.destroy();
    await server?.dispose();
  });
  return {
    get server() {
      return server!;
    },
    get admin() {
      return admin!;
    },
    makeStore(options = {}) {
      const prefix = `${letter}${++prefixes}`;
      const store = new RedisStore({ url: server!.url, prefix, commandTimeout: 2000, ...options } as RedisStoreOptions);
      stores.push(store);
      return { store, prefix };
    },
  };
}
