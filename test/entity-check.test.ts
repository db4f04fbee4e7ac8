import { types } from 'node:util';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { Session } from '../src';
import { makeBot } from './support/bot';

const entities = { Quantity: { schema: z.number().int().positive() }, Size: { schema: z.enum(['Small', 'Large']) } };
type Entities = { Quantity?: number; Size?: 'Small' | 'Large'; Note?: string };

beforeEach(() => {
  vi.useFakeTimers({ now: 0 });
});
afterEach(() => {
  vi.useRealTimers();
});

/** A bot with entity schemas whose root dialog runs `step` and records what it threw. */
function checkedBot(step: (session: Session<Entities>) => void) {
  const made = makeBot<Entities>({ entities });
  const thrown: unknown[] = [];
  made.bot.dialog('/', (session) => {
    try {
      step(session);
    } catch (error) {
      thrown.push(error);
    }
  });
  return { ...made, thrown };
}

describe('entities checked when set', () => {
  it('throws INVALID_ARGUMENT at the assignment of a value that fails its schema', async () => {
    const { say, thrown } = checkedBot((session) => {
      (session.entities as Record<string, unknown>).Quantity = 'two';
    });
    await say('hi');
    expect(thrown).toMatchObject([
      {
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('Entity "Quantity" cannot be set to "two" (string)'),
      },
    ]);
  });

  it('says in the error what the schema expected', async () => {
    const { say, thrown } = checkedBot((session) => {
      (session.entities as Record<string, unknown>).Size = 'Huge';
    });
    await say('hi');
    expect(thrown).toMatchObject([{ message: expect.stringMatching(/Entity "Size".*"Small"\|"Large"/) }]);
  });

  it('leaves the entity as it was when the assignment is refused', async () => {
    const { say, stored } = checkedBot((session) => {
      session.entities.Quantity = 2;
      (session.entities as Record<string, unknown>).Quantity = -1;
    });
    await say('hi');
    expect((await stored())?.entities).toEqual({ Quantity: 2 });
  });

  it('throws INVALID_ARGUMENT from setEntity for a value that fails its schema', async () => {
    const { say, thrown } = checkedBot((session) => {
      session.setEntity('Quantity', 1.5);
    });
    await say('hi');
    expect(thrown).toMatchObject([{ code: 'INVALID_ARGUMENT', message: expect.stringContaining('Entity "Quantity"') }]);
  });

  it('checks each entity of an object that replaces session.entities', async () => {
    const { say, thrown, stored } = checkedBot((session) => {
      session.entities = { Quantity: 1 };
      session.entities = { Quantity: 3, Size: 'Medium' as 'Small' };
    });
    await say('hi');
    expect([thrown, (await stored())?.entities]).toMatchObject([
      [{ code: 'INVALID_ARGUMENT', message: expect.stringContaining('"Size"') }],
      { Quantity: 1 },
    ]);
  });

  it('keeps values that fit, lets undefined unset an entity, and leaves undeclared entities unchecked', async () => {
    const { say, thrown, stored } = checkedBot((session) => {
      session.entities.Quantity = 3;
      session.entities.Size = 'Large';
      session.entities.Size = undefined;
      session.entities.Note = 'anything';
      session.setEntity('Quantity', 4);
    });
    await say('hi');
    expect([thrown, (await stored())?.entities]).toEqual([[], { Quantity: 4, Note: 'anything' }]);
  });

  it('checks the values newSession carries', async () => {
    const { say, thrown } = checkedBot((session) => {
      session.newSession({ carry: { Quantity: 0 } });
    });
    await say('hi');
    expect(thrown).toMatchObject([
      { code: 'INVALID_ARGUMENT', message: expect.stringContaining('Entity "Quantity" cannot be set to 0') },
    ]);
  });

  it('checks what onSessionStart sets', async () => {
    const thrown: unknown[] = [];
    const { bot, say } = makeBot<Entities>({
      entities,
      onSessionStart: (session) => {
        try {
          (session.entities as Record<string, unknown>).Quantity = '1';
        } catch (error) {
          thrown.push(error);
        }
      },
    });
    bot.dialog('/', () => undefined);
    await say('hi');
    expect(thrown).toMatchObject([{ code: 'INVALID_ARGUMENT' }]);
  });

  it('fails the turn with the INVALID_ARGUMENT when the refused assignment is not caught', async () => {
    const { bot, say } = makeBot<Entities>({ entities });
    bot.dialog('/', (session) => {
      (session.entities as Record<string, unknown>).Quantity = 'two';
    });
    expect((await say('hi')).error).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('"Quantity"'),
    });
  });
});

describe('the cost when nothing is declared', () => {
  it('hands out the plain entities object, no proxy, when no schema is declared', async () => {
    const { bot, say } = makeBot<Entities>();
    const seen: boolean[] = [];
    bot.dialog('/', (session) => void seen.push(types.isProxy(session.entities)));
    await say('hi');
    expect(seen).toEqual([false]);
  });

  it('hands out no proxy when only migrations are declared', async () => {
    const { bot, say } = makeBot<Entities>({ migrations: { 1: (old) => old } });
    const seen: boolean[] = [];
    bot.dialog('/', (session) => void seen.push(types.isProxy(session.entities)));
    await say('hi');
    expect(seen).toEqual([false]);
  });

  it('hands out the same checked view on every read within a turn', async () => {
    const { bot, say } = makeBot<Entities>({ entities });
    const seen: unknown[] = [];
    bot.dialog('/', (session) => void seen.push(session.entities, session.entities));
    await say('hi');
    expect([types.isProxy(seen[0]), seen[0] === seen[1]]).toEqual([true, true]);
  });
});
