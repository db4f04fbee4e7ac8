// The typed retention policy: entities declared once with a schema, a scope, a TTL and keepOnReset; checked and migrated on load.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { MemoryStore, SessionManager, type JsonObject, type PalaverError, type SessionManagerOptions } from '../../src';
import { createTestClient } from '../../src/testing';
import { MINUTE } from './helpers';
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
  const bot = new SessionManager({ deliver: () => undefined, autoBatchDelay: 0, store, shutdown: 'persist', entities, ...options });
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

async function fill(client: ReturnType<typeof createTestClient>): Promise<void> {
  for (const text of ['set UserName "Lars"', 'set Consent true', 'set Coupon "SAVE10"', 'set Cart ["pizza"]']) await client.say(text);
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
    const { bot, client, show } = retentionBot(new MemoryStore({ maxSessions: 10 }), { preserve: ['Cart'], onSessionEnd: () => ['Note'] });
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
    const store = new MemoryStore({ maxSessions: 10 });
    const before = retentionBot(store, { entities: undefined });
    await before.client.say('set UserName 42');
    await before.bot.close();
    const after = retentionBot(store);
    await after.client.say('hi');
    expect(after.errors).toEqual([expect.objectContaining({ code: 'CORRUPT_STATE', message: expect.stringContaining('entity "UserName"') })]);
    await after.bot.close();
  });

  it('hands the record with the bad entity to the store’s quarantine', async () => {
    const store = new MemoryStore({ maxSessions: 10 });
    const before = retentionBot(store, { entities: undefined });
    await before.client.say('set UserName 42');
    await before.bot.close();
    const after = retentionBot(store);
    await after.client.say('hi');
    expect(store.quarantinedRecords().map(({ key, record }) => decodeState(record.data, key).entities)).toEqual([{ UserName: 42 }]);
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

  it('rejects an entity without a zod schema as INVALID_OPTIONS', () => {
    expect(() => new SessionManager({ deliver: () => undefined, entities: { UserName: { schema: 'string' } } as never })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
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
    const store = new MemoryStore({ maxSessions: 10 });
    const before = retentionBot(store, { entities: undefined });
    await before.client.say('set UserName "Lars Nilsson"');
    await before.bot.close();
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
    expect({ codes: after.errors.map((e) => e.code), same: again.id === session.id }).toEqual({ codes: ['CORRUPT_STATE'], same: true });
    await after.bot.close();
  });

  it('rejects a migration key that is not a positive integer as INVALID_OPTIONS', () => {
    expect(() => new SessionManager({ deliver: () => undefined, migrations: { 0: (old: JsonObject) => old } })).toThrow(
      expect.objectContaining({ code: 'INVALID_OPTIONS' }),
    );
  });
});
