// State types declared as interfaces (which have no implicit index signature) are accepted like type aliases.
import { describe, expectTypeOf, it } from 'vitest';
import { Prompts, SessionManager, type Session, type TimeResult } from '../src';
import { createTestClient } from '../src/testing';

interface Entities {
  UserName?: string;
  Size?: 'Small' | 'Large';
}
interface UserData {
  visits?: number;
}
interface ConversationData {
  topic?: string;
}
interface PrivateData {
  draft?: string;
}

describe('state declared with interfaces', () => {
  it('types the session from interfaces given to the manager', () => {
    const bot = new SessionManager<Entities, UserData, ConversationData, PrivateData>({
      deliver: () => {},
      preserve: ['UserName'],
    });
    bot.dialog('/', (session) => {
      expectTypeOf(session.entities.Size).toEqualTypeOf<'Small' | 'Large' | undefined>();
      expectTypeOf(session.userData.visits).toEqualTypeOf<number | undefined>();
      expectTypeOf(session.conversationData.topic).toEqualTypeOf<string | undefined>();
      expectTypeOf(session.privateConversationData.draft).toEqualTypeOf<string | undefined>();
    });
  });

  it('still refuses entity names the interface does not have', () => {
    // @ts-expect-error: 'Nope' is not an entity
    new SessionManager<Entities>({ deliver: () => {}, preserve: ['Nope'] });
  });

  it('takes a Session of interfaces in hooks and in the test client', () => {
    const bot = new SessionManager<Entities>({
      deliver: () => {},
      onSessionStart: (session: Session<Entities>) => void session.entities.UserName,
    });
    expectTypeOf(createTestClient(bot)).not.toBeAny();
  });

  it('types the time prompt’s result as plain JSON', () => {
    expectTypeOf<TimeResult>().toEqualTypeOf<{ iso: string; end?: string; text: string }>();
    expectTypeOf(Prompts.time).parameter(2).toMatchTypeOf<{ timezone?: string } | undefined>();
  });
});
