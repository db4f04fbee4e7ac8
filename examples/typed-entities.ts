// Typed entities: declared once with a zod schema, a scope, a TTL and keepOnReset; checked and migrated when loaded.
// The script runs two versions of the bot over one store, as a deploy would: version 2 splits the stored name into
// first and last through a migration instead of forgetting every user.
// Run it: npx ts-node examples/typed-entities.ts
import { z } from 'zod';
import {
  defineEntities,
  MemoryStore,
  SessionManager,
  type Address,
  type EntitiesOf,
  type SessionManagerOptions,
} from '../src';
import { runIfMain } from './lib/terminal';

/** Version 1: the name is one string. */
export const entitiesV1 = defineEntities({
  UserName: { schema: z.string(), scope: 'user' },
  Consent: { schema: z.boolean(), keepOnReset: true },
  Coupon: { schema: z.string(), ttl: 24 * 3_600_000 },
  Cart: { schema: z.array(z.string()) },
});

/** Version 2: the name has parts; migration 1 turns version-1 entities into version 2. */
export const entitiesV2 = defineEntities({
  ...entitiesV1,
  UserName: { schema: z.object({ first: z.string(), last: z.string().optional() }), scope: 'user' },
});

export const migrationsV2 = {
  1: (old: Record<string, unknown>) => {
    if (typeof old.UserName !== 'string') return old;
    const [first = '', ...rest] = old.UserName.split(' ');
    return { ...old, UserName: rest.length ? { first, last: rest.join(' ') } : { first } };
  },
};

type Options = Pick<SessionManagerOptions, 'deliver' | 'store'> &
  Partial<Pick<SessionManagerOptions, 'autoBatchDelay' | 'shutdown' | 'timeout'>>;

/** Version 1 of the bot: `my name is ...`, `add ...`, `agree`, `reset`, anything else: what it knows. */
export function createBotV1(options: Options) {
  const bot = new SessionManager<EntitiesOf<typeof entitiesV1>>({ ...options, entities: entitiesV1 });
  bot.dialog('/', (session) => {
    const text = session.message?.text ?? '';
    const e = session.entities;
    if (text.startsWith('my name is ')) e.UserName = text.slice('my name is '.length);
    else if (text.startsWith('add ')) e.Cart = [...(e.Cart ?? []), text.slice(4)];
    else if (text === 'agree') e.Consent = true;
    else if (text === 'coupon') e.Coupon = 'SAVE10';
    else if (text === 'reset') return void session.refresh();
    else if (text === 'bye') return void session.endSession();
    session.send(
      'v1 knows: name=%s cart=%s consent=%s coupon=%s',
      e.UserName ?? '?',
      (e.Cart ?? []).join('+') || '-',
      e.Consent ?? false,
      e.Coupon ?? '-',
    );
  });
  return bot;
}

/** Version 2: greets by first name. */
export function createBotV2(options: Options) {
  const bot = new SessionManager<EntitiesOf<typeof entitiesV2>>({
    ...options,
    entities: entitiesV2,
    migrations: migrationsV2,
  });
  bot.dialog('/', (session) => {
    const e = session.entities;
    session.send(
      'v2 knows: first=%s last=%s cart=%s consent=%s',
      e.UserName?.first ?? '?',
      e.UserName?.last ?? '-',
      (e.Cart ?? []).join('+') || '-',
      e.Consent ?? false,
    );
  });
  return bot;
}

async function main(): Promise<void> {
  const address: Address = { channelId: 'console', user: { id: 'lars' }, conversation: { id: 'shop' } };
  const store = new MemoryStore({ maxSessions: 100 }); // stands for a store that outlives a deploy (Redis)
  const deliver: SessionManagerOptions['deliver'] = (_to, messages) =>
    messages.forEach((m) => console.log(`  bot> ${m.text}`));
  const v1 = createBotV1({ deliver, store, autoBatchDelay: 0, shutdown: 'persist' });
  for (const text of ['my name is Lars Nilsson', 'add pizza', 'agree', 'coupon', 'bye', 'hello']) {
    console.log(`user> ${text}`);
    await v1.receive({ address, text });
  }
  console.log('(deploy: version 2 of the bot, same store)');
  await v1.close();
  const v2 = createBotV2({ deliver, store, autoBatchDelay: 0 });
  console.log('user> hi');
  await v2.receive({ address, text: 'hi' });
  await v2.close();
}

runIfMain(module, main);
