// Type behaviour of idle nudges, typed retention, proactive dialogs, summaries and the test client.
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import {
  defineEntities,
  SessionManager,
  type EntitiesOf,
  type HistoryEntry,
  type IncomingMessage,
  type TurnResult,
  type ManagerStats,
  type Session,
  type SessionInfo,
  type SessionSummary,
} from '../src';
import { createTestClient, type TestClient } from '../src/testing';

describe('types of the session features', () => {
  it('types session.messages, session.history and TurnResult.merged', () => {
    const bot = new SessionManager({ deliver: () => {}, coalesce: { window: 1000 }, history: { max: 10 } });
    bot.dialog('/', (session) => {
      expectTypeOf(session.messages).toEqualTypeOf<readonly IncomingMessage[]>();
      expectTypeOf(session.history).toEqualTypeOf<HistoryEntry[]>();
      expectTypeOf(session.history[0]!.role).toEqualTypeOf<'user' | 'bot'>();
    });
    expectTypeOf<TurnResult['merged']>().toEqualTypeOf<number | undefined>();
    // @ts-expect-error: the window is required
    new SessionManager({ deliver: () => {}, coalesce: { max: 3 } });
  });

  it('infers the entity types from the schemas of the entities option', () => {
    const bot = new SessionManager({
      deliver: () => {},
      entities: { UserName: { schema: z.string() }, Age: { schema: z.number(), scope: 'user' } },
    });
    bot.dialog('/', (session) => {
      expectTypeOf(session.entities.UserName).toEqualTypeOf<string | undefined>();
      expectTypeOf(session.entities.Age).toEqualTypeOf<number | undefined>();
    });
  });

  it('types entities declared with defineEntities through EntitiesOf', () => {
    const _entities = defineEntities({
      Cart: { schema: z.array(z.string()) },
      Consent: { schema: z.boolean(), keepOnReset: true },
    });
    expectTypeOf<EntitiesOf<typeof _entities>>().toEqualTypeOf<{ Cart?: string[]; Consent?: boolean }>();
  });

  it('checks a declaration against the manager’s entity types', () => {
    // @ts-expect-error: UserName is a string, not a number
    new SessionManager<{ UserName?: string }>({ deliver: () => {}, entities: { UserName: { schema: z.number() } } });
  });

  it('passes the typed session to a nudge message function', () => {
    new SessionManager<{ UserName?: string }>({
      deliver: () => {},
      nudge: {
        after: 60_000,
        message: (session, count) => {
          expectTypeOf(session).toEqualTypeOf<Session<{ UserName?: string }>>();
          expectTypeOf(count).toEqualTypeOf<number>();
          return `Still there, ${session.entities.UserName ?? 'friend'}?`;
        },
      },
    });
  });

  it('types beginDialog, stats and the sessionEnd summary', () => {
    const bot = new SessionManager({ deliver: () => {} });
    expectTypeOf(bot.beginDialog).returns.toEqualTypeOf<Promise<SessionInfo>>();
    expectTypeOf(bot.stats()).toEqualTypeOf<ManagerStats>();
    bot.on('sessionEnd', ({ summary }) => {
      expectTypeOf(summary).toEqualTypeOf<SessionSummary>();
    });
  });

  it('creates a test client for any manager', () => {
    const bot = new SessionManager<{ UserName?: string }, { profile?: string }>({ deliver: () => {} });
    expectTypeOf(createTestClient(bot, { advance: () => undefined })).toEqualTypeOf<TestClient>();
  });
});
