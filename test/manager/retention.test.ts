// The typed retention policy: entities declared once with a schema, a scope, a TTL and keepOnReset; checked and migrated on load.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import {
  defineEntities,
  MemoryStore,
  SessionManager,
  type JsonObject,
  type PalaverError,
  type SessionManagerOptions,
} from '../../src';
import { createTestClient } from '../../src/testing';
import { MINUTE } from '../support/fixtures';
import { decodeState } from '../../src/codec';

const advance = (ms: number) => vi.advanceTimersByTimeAsync(ms);

const entities = {
  UserName: { schema: z.string(), scope: 'user' },
  Consent: { schema: z.boolean(), keepOnReset: true },
  Coupon: { schema: z.string(), ttl: 60 * MINUTE },
  Cart: { schema: z.array(z.string()) },
} as const;

/**
 * A bot over `store` that understands `set <entity> <json>`, `end`, `refresh` and `show`; `show` replies with the
 * entities as JSON.
 */
function retentionBot(store: MemoryStore, options: Partial<SessionManagerOptions> = {}) {
  const errors: PalaverError[] = [];
  const bot = new SessionManager({
    deliver: () => undefined,
    autoBatchDelay: 0,
    store,
    shutdown: 'persist',
    entities,
    ...options,
  });
  bot.on('error', (error) => errors.push(error));
  bot.dialog('/', (session) => {
    const [verb, name, ...rest] = (session.message?.text ?? '').split(' ');
    const value = rest.join(' ');
    if (verb === 'set' && name && value) (session.entities as JsonObject)[name] = JSON.parse(value);
    if (verb === 'end') session.endSession();
    if (verb === 'refresh') session.refresh();
    if (verb === 'show') session.send(JSON.stringify(session.entities));
  });
  const client = createTestClient(bot, { advance });
  const show = async () => {
    await client.replies();
    await client.say('show');
    return JSON.parse((await client.replies())[0]!) as JsonObject;
  };
  return { bot, client, errors, show };
}

/** A store holding what a bot with `options` saved after the lines said to it. */
async function storedBy(options: Partial<SessionManagerOptions>, ...lines: string[]): Promise<MemoryStore> {
  const store = new MemoryStore({ maxSessions: 10 });
  const { bot, client } = retentionBot(store, options);
  for (const line of lines) await client.say(line);
  await bot.close();
  return store;
}

async function fill(client: ReturnType<typeof createTestClient>): Promise<void> {
  for (const text of ['set UserName "Lars"', 'set Consent true', 'set Coupon "SAVE10"', 'set Cart ["pizza"]'])
    await client.say(text);
}

describe('typed retention', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('keeps user-scoped, keepOnReset and TTL entities across a timeout and clears the session-scoped ones', async () => {
    const { bot, client, show } = retentionBot(new MemoryStore({ maxSessions: 10 }));
    await fill(client);
    await client.idle('31m');
    expect(await show()).toEqual({ UserName: 'Lars', Consent: true, Coupon: 'SAVE10' });
    await bot.close();
  });

  it('keeps only the keepOnReset entities through refresh()', async () => {
    const { bot, client, show } = retentionBot(new MemoryStore({ maxSessions: 10 }));
    await fill(client);
    await client.say('refresh');
    expect(await show()).toEqual({ Consent: true });
    await bot.close();
  });

  it('drops a TTL entity once its own TTL has run out, across sessions', async () => {
    const { bot, client, show } = retentionBot(new MemoryStore({ maxSessions: 10 }));
    await fill(client);
    await client.say('end');
    await client.idle('61m');
    expect(await show()).toEqual({ UserName: 'Lars', Consent: true });
    await bot.close();
  });

  it('still keeps what preserve and the end hook name, on top of the declarations', async () => {
    const { bot, client, show } = retentionBot(new MemoryStore({ maxSessions: 10 }), {
      preserve: ['Cart'],
      onSessionEnd: () => ['Note'],
    });
    await fill(client);
    await client.say('set Note "hello"');
    await client.say('end');
    expect(await show()).toEqual({ UserName: 'Lars', Consent: true, Coupon: 'SAVE10', Cart: ['pizza'], Note: 'hello' });
    await bot.close();
  });

  it('drops a stored entity that fails its schema and keeps the rest of the session', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const before = retentionBot(store, { entities: undefined });
    const { session } = await before.client.say('set UserName 42');
    await before.client.say('set Cart ["pizza"]');
    await before.bot.close();
    const after = retentionBot(store);
    const shown = await after.show();
    const { session: again } = await after.client.say('hi');
    expect({ shown, same: again.id === session.id }).toEqual({ shown: { Cart: ['pizza'] }, same: true });
    await after.bot.close();
  });

  it('reports the dropped entity as CORRUPT_STATE, naming it', async () => {
    const store = await storedBy({ entities: undefined }, 'set UserName 42');
    const after = retentionBot(store);
    await after.client.say('hi');
    expect(after.errors).toEqual([
      expect.objectContaining({ code: 'CORRUPT_STATE', message: expect.stringContaining('entity "UserName"') }),
    ]);
    await after.bot.close();
  });

  it('hands the record with the bad entity to the store’s quarantine', async () => {
    const store = await storedBy({ entities: undefined }, 'set UserName 42');
    const after = retentionBot(store);
    await after.client.say('hi');
    expect(store.quarantinedRecords().map(({ key, record }) => decodeState(record.data, key).entities)).toEqual([
      { UserName: 42 },
    ]);
    await after.bot.close();
  });

  it('costs nothing when no entities are declared: the stored state carries no entity version', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const { bot, client } = retentionBot(store, { entities: undefined });
    await client.say('set UserName "Lars"');
    const key = bot.keyOf(client.address);
    const stored = decodeState((await store.get(key))!.data, key);
    expect(stored.entitiesVersion).toBeUndefined();
    await bot.close();
  });

  it('starts a declared TTL when the entity is set, not again at each later save', async () => {
    const { bot, client, show } = retentionBot(new MemoryStore({ maxSessions: 10 }));
    await client.say('set Coupon "SAVE10"');
    await client.idle('20m');
    await client.say('hi');
    await client.idle('20m');
    await client.say('hi');
    await client.idle('21m');
    expect(await show()).toEqual({});
    await bot.close();
  });

  it('stores no entity version when entities are declared without migrations', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const { bot, client } = retentionBot(store);
    await client.say('set UserName "Lars"');
    const key = bot.keyOf(client.address);
    const stored = decodeState((await store.get(key))!.data, key);
    expect(stored.entitiesVersion).toBeUndefined();
    await bot.close();
  });

  it('keeps the value its schema gives back when loaded (unknown keys of an object schema stripped)', async () => {
    const store = await storedBy({ entities: undefined }, 'set Profile {"first":"Ada","extra":1}');
    const after = retentionBot(store, { entities: { Profile: { schema: z.object({ first: z.string() }) } } });
    expect(await after.show()).toEqual({ Profile: { first: 'Ada' } });
    await after.bot.close();
  });

  it('gives a value set again after a bad one was dropped its own fresh TTL', async () => {
    const store = await storedBy({ entities: { Coupon: { schema: z.unknown(), ttl: 60 * MINUTE } } }, 'set Coupon 42');
    const after = retentionBot(store);
    await after.client.say('hi');
    await after.client.idle('20m');
    await after.client.say('set Coupon "SAVE10"');
    await after.client.idle('20m');
    await after.client.say('hi');
    await after.client.idle('21m');
    expect(await after.show()).toEqual({ Coupon: 'SAVE10' });
    await after.bot.close();
  });

  it('keeps a user-scoped entity declared with keepOnReset: false across a session end', async () => {
    const { bot, client, show } = retentionBot(new MemoryStore({ maxSessions: 10 }), {
      entities: { UserName: { schema: z.string(), scope: 'user', keepOnReset: false } },
    });
    await client.say('set UserName "Lars"');
    await client.say('end');
    expect(await show()).toEqual({ UserName: 'Lars' });
    await bot.close();
  });

  it('clears an entity declared with scope: session at a session end', async () => {
    const { bot, client, show } = retentionBot(new MemoryStore({ maxSessions: 10 }), {
      entities: { Cart: { schema: z.array(z.string()), scope: 'session' } },
    });
    await client.say('set Cart ["pizza"]');
    await client.say('end');
    expect(await show()).toEqual({});
    await bot.close();
  });

  it.each([null, 'string'])(
    'rejects an entity whose schema is %j as INVALID_OPTIONS, saying it must be a zod schema',
    (schema) => {
      expect(
        () => new SessionManager({ deliver: () => undefined, entities: { UserName: { schema } } as never }),
      ).toThrow(
        expect.objectContaining({
          code: 'INVALID_OPTIONS',
          message: expect.stringContaining('`entities.UserName.schema` must be a zod schema'),
        }),
      );
    },
  );

  it('gives back the declarations defineEntities is given', () => {
    expect(defineEntities(entities)).toBe(entities);
  });
});

describe('entity migrations', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  const v2 = {
    entities: { UserName: { schema: z.object({ first: z.string(), last: z.string() }), scope: 'user' } },
    migrations: {
      1: (old: JsonObject) => ({ ...old, UserName: { full: old.UserName } }),
      2: (old: JsonObject) => {
        const [first = '', last = ''] = String((old.UserName as { full: string }).full).split(' ');
        return { ...old, UserName: { first, last } };
      },
    },
  } satisfies Partial<SessionManagerOptions>;

  it('upgrades entities stored before any migration through the whole chain, in order', async () => {
    const store = await storedBy({ entities: undefined }, 'set UserName "Lars Nilsson"');
    const after = retentionBot(store, v2);
    expect(await after.show()).toEqual({ UserName: { first: 'Lars', last: 'Nilsson' } });
    await after.bot.close();
  });

  it('runs only the migrations after the stored version', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const one = retentionBot(store, { entities: undefined, migrations: { 1: (old) => old } });
    await one.client.say('set UserName {"full":"Ada Lovelace"}');
    await one.bot.close();
    const two = retentionBot(store, v2);
    expect(await two.show()).toEqual({ UserName: { first: 'Ada', last: 'Lovelace' } });
    await two.bot.close();
  });

  it('stores the current version with the entities', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const { bot, client } = retentionBot(store, v2);
    await client.say('hi');
    const key = bot.keyOf(client.address);
    const stored = decodeState((await store.get(key))!.data, key);
    expect(stored.entitiesVersion).toBe(2);
    await bot.close();
  });

  it('reports a migration that throws as CORRUPT_STATE and keeps the session', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const before = retentionBot(store, { entities: undefined });
    const { session } = await before.client.say('set Cart ["pizza"]');
    await before.bot.close();
    const after = retentionBot(store, {
      migrations: {
        1: () => {
          throw new Error('bad data');
        },
      },
    });
    const { session: again } = await after.client.say('hi');
    expect({ codes: after.errors.map((e) => e.code), same: again.id === session.id }).toEqual({
      codes: ['CORRUPT_STATE'],
      same: true,
    });
    await after.bot.close();
  });

  it('names the migration that threw and its error in the report', async () => {
    const store = await storedBy({ entities: undefined }, 'set Cart ["pizza"]');
    const after = retentionBot(store, {
      migrations: {
        1: () => {
          throw new Error('bad data');
        },
      },
    });
    await after.client.say('hi');
    expect(after.errors.map((e) => e.message)).toEqual([
      expect.stringContaining('migration 1 threw (bad data); the entities stay as the migration before it left them'),
    ]);
    await after.bot.close();
  });

  it('stops at a migration that throws: the later ones do not run', async () => {
    const store = await storedBy({ entities: undefined }, 'set Cart ["pizza"]');
    const after = retentionBot(store, {
      migrations: {
        1: () => {
          throw new Error('bad data');
        },
        2: (old: JsonObject) => ({ ...old, Cart: ['migrated'] }),
      },
    });
    expect(await after.show()).toEqual({ Cart: ['pizza'] });
    await after.bot.close();
  });

  it('keeps the entities as they were when a migration changes what it was given and then throws', async () => {
    const store = await storedBy({ entities: undefined }, 'set Cart ["pizza"]');
    const after = retentionBot(store, {
      migrations: {
        1: (old: JsonObject) => {
          old.Cart = ['half-migrated'];
          throw new Error('bad data');
        },
      },
    });
    expect(await after.show()).toEqual({ Cart: ['pizza'] });
    await after.bot.close();
  });

  it.each([
    ['nothing', undefined],
    ['null', null],
    ['an array', []],
  ])(
    'reports a migration that returns %s instead of an object and keeps the entities as they were',
    async (_what, returned) => {
      const store = await storedBy({ entities: undefined }, 'set Cart ["pizza"]');
      const after = retentionBot(store, { migrations: { 1: () => returned as unknown as JsonObject } });
      const shown = await after.show();
      expect({ shown, errors: after.errors.map((e) => e.message) }).toEqual({
        shown: { Cart: ['pizza'] },
        errors: [expect.stringContaining('migration 1 threw (it did not return an object of entities)')],
      });
      await after.bot.close();
    },
  );

  it('reports a migration that throws undefined', async () => {
    const store = await storedBy({ entities: undefined }, 'set Cart ["pizza"]');
    const after = retentionBot(store, {
      migrations: {
        1: () => {
          throw undefined;
        },
      },
    });
    const shown = await after.show();
    expect({ shown, errors: after.errors.map((e) => e.message) }).toEqual({
      shown: { Cart: ['pizza'] },
      errors: [expect.stringContaining('migration 1 threw (undefined)')],
    });
    await after.bot.close();
  });

  it('runs the migrations in version order, however their keys are ordered', async () => {
    // Keys past 2^32 - 2 are not array indices: Object.entries gives them in insertion order, not numeric order.
    const store = await storedBy({ entities: undefined }, 'set Cart ["pizza"]');
    const after = retentionBot(store, {
      migrations: {
        5_000_000_001: (old: JsonObject) => ({ ...old, Cart: [...(old.Cart as string[]), 'second'] }),
        5_000_000_000: (old: JsonObject) => ({ ...old, Cart: [...(old.Cart as string[]), 'first'] }),
      },
    });
    expect(await after.show()).toEqual({ Cart: ['pizza', 'first', 'second'] });
    await after.bot.close();
  });

  it('rejects a migration that is not a function as INVALID_OPTIONS', () => {
    expect(() => new SessionManager({ deliver: () => undefined, migrations: { 1: 'upgrade' } as never })).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining('`migrations.1` must be a function'),
      }),
    );
  });

  it.each(['0', 'a1', '1a', '-1', '1.5'])(
    'rejects the migration key %j, which is not a positive integer, as INVALID_OPTIONS',
    (key) => {
      expect(
        () => new SessionManager({ deliver: () => undefined, migrations: { [key]: (old: JsonObject) => old } }),
      ).toThrow(expect.objectContaining({ code: 'INVALID_OPTIONS' }));
    },
  );

  it('takes a migration key of several digits as the current version', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const { bot, client } = retentionBot(store, { migrations: { 10: (old: JsonObject) => old } });
    await client.say('hi');
    const key = bot.keyOf(client.address);
    expect(decodeState((await store.get(key))!.data, key).entitiesVersion).toBe(10);
    await bot.close();
  });

  it('checks entities of a newer version against its schemas and names that version when one fails', async () => {
    const store = await storedBy(
      { entities: undefined, migrations: { 1: (old: JsonObject) => old, 2: (old: JsonObject) => old } },
      'set UserName 42',
      'set Cart ["pizza"]',
    );
    const after = retentionBot(store);
    const shown = await after.show();
    expect({ shown, errors: after.errors.map((e) => e.message) }).toEqual({
      shown: { Cart: ['pizza'] },
      errors: [
        expect.stringMatching(
          /entity "UserName" .*dropped \(its entities were written in version 2, newer than this bot's 0\)\.$/,
        ),
      ],
    });
    await after.bot.close();
  });

  it('keeps entities of a newer version that pass its schemas, without a report', async () => {
    const store = await storedBy(
      { migrations: { 1: (old: JsonObject) => old, 2: (old: JsonObject) => old } },
      'set Cart ["pizza"]',
    );
    const after = retentionBot(store);
    expect({ shown: await after.show(), errors: after.errors }).toEqual({ shown: { Cart: ['pizza'] }, errors: [] });
    await after.bot.close();
  });

  it('does not migrate again an entity that a bot rolled back to an older version left alone', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const upgrade = {
      1: (old: JsonObject) => ({ ...old, Cart: [...((old.Cart as string[] | undefined) ?? []), 'v1'] }),
    };
    const v1 = retentionBot(store, { migrations: upgrade });
    await v1.client.say('set Cart ["pizza"]');
    await v1.bot.close();
    const rolledBack = retentionBot(store);
    await rolledBack.client.say('hi');
    await rolledBack.bot.close();
    const again = retentionBot(store, { migrations: upgrade });
    expect(await again.show()).toEqual({ Cart: ['pizza'] });
    await again.bot.close();
  });

  it('keeps the version of the entities a session end keeps, so that they are not migrated again', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const upgrade = {
      1: (old: JsonObject) => (typeof old.UserName === 'string' ? { ...old, UserName: `${old.UserName}!` } : old),
    };
    const v1 = retentionBot(store, { migrations: upgrade });
    await v1.client.say('set UserName "Lars"');
    await v1.bot.close();
    const rolledBack = retentionBot(store);
    await rolledBack.client.say('end');
    await rolledBack.client.say('hi');
    await rolledBack.bot.close();
    const again = retentionBot(store, { migrations: upgrade });
    expect(await again.show()).toEqual({ UserName: 'Lars' });
    await again.bot.close();
  });
});
