import { describe, expectTypeOf, it } from 'vitest';
import {
  SessionManager,
  type EndReason,
  type PalaverErrorCode,
  type Session,
  type SessionInfo,
  type TurnResult,
} from '../src';

type Entities = { BotName?: string; UserName?: string; UserPhone?: string; UserLocation?: string };
type UserData = { profile?: { name: string; email?: string } };

describe('types that guide', () => {
  it('types entities and data scopes from the manager generics', () => {
    const bot = new SessionManager<Entities, UserData>({ deliver: () => {} });
    bot.dialog('/', (session) => {
      expectTypeOf(session.entities.UserName).toEqualTypeOf<string | undefined>();
      expectTypeOf(session.userData.profile).toEqualTypeOf<{ name: string; email?: string } | undefined>();
      expectTypeOf(session.info).toEqualTypeOf<SessionInfo>();
    });
  });

  it('limits what onSessionEnd may keep to entity names', () => {
    new SessionManager<Entities>({ deliver: () => {}, onSessionEnd: () => ['UserName', 'UserPhone'] });
    // @ts-expect-error: 'Nope' is not an entity
    new SessionManager<Entities>({ deliver: () => {}, onSessionEnd: () => ['Nope'] });
    // @ts-expect-error: preserve names entities too
    new SessionManager<Entities>({ deliver: () => {}, preserve: ['Nope'] });
  });

  it('types hook arguments and the end reason', () => {
    new SessionManager<Entities>({
      deliver: () => {},
      onSessionEnd: (session, reason) => {
        expectTypeOf(session).toEqualTypeOf<Session<Entities>>();
        expectTypeOf(reason).toEqualTypeOf<EndReason>();
      },
    });
  });

  it('types setEntity values by entity name', () => {
    const bot = new SessionManager<Entities>({ deliver: () => {} });
    bot.dialog('/', (session) => {
      session.setEntity('UserName', 'Lars', { ttl: 60_000 });
      // @ts-expect-error: a number is not a UserName
      session.setEntity('UserName', 42);
    });
  });

  it('resolves receive to a TurnResult', () => {
    const bot = new SessionManager({ deliver: () => {} });
    expectTypeOf(bot.receive).returns.toEqualTypeOf<Promise<TurnResult>>();
  });

  it('types the event payloads', () => {
    const bot = new SessionManager({ deliver: () => {} });
    bot.on('sessionEnd', ({ reason, kept }) => {
      expectTypeOf(reason).toEqualTypeOf<EndReason>();
      expectTypeOf(kept).toEqualTypeOf<string[]>();
    });
    bot.on('error', (error) => {
      expectTypeOf(error.code).toEqualTypeOf<PalaverErrorCode>();
    });
  });
});
