import { describe, expectTypeOf, it } from 'vitest';
import { SessionManager, type ActionArgs, type IncomingMessage, type Session } from '../../src';

type Entities = { UserName?: string };
type UserData = { pings?: number };

describe('types of actions and middleware', () => {
  it('gives middleware and matcher functions the manager’s typed session', () => {
    const bot = new SessionManager<Entities, UserData>({ deliver: () => {} });
    bot.use(async (session, next) => {
      expectTypeOf(session).toEqualTypeOf<Session<Entities, UserData>>();
      expectTypeOf(next).toEqualTypeOf<() => Promise<void>>();
      await next();
    });
    bot.action('shout', {
      matches: (message, session) => {
        expectTypeOf(message).toEqualTypeOf<IncomingMessage>();
        expectTypeOf(session.userData.pings).toEqualTypeOf<number | undefined>();
        return true;
      },
      beginDialog: '/calm',
    });
    bot.dialog('/calm', (session, args: ActionArgs<{ topic: string }>) => {
      expectTypeOf(args.data).toEqualTypeOf<{ topic: string } | undefined>();
      expectTypeOf(args.matched).toEqualTypeOf<string[]>();
      session.endDialog();
    });
  });

  it('rejects a matcher that is not a RegExp, a string or a function', () => {
    const bot = new SessionManager({ deliver: () => {} });
    // @ts-expect-error: a number is not a matcher
    bot.action('x', { matches: 42, cancel: true });
  });
});
