// The turn path's hand-written checks (src/validate.ts) and the message size bound (jsonBound in src/manager.ts) on
// objects that are not plain JSON: class instances with getters, non-enumerable fields, toJSON methods. Each must be
// handled as the zod schemas and JSON.stringify handle it.
import { describe, expect, it } from 'vitest';
import { messageSchema, outgoingMessageSchema } from '../src/schema';
import { plainMessage, plainOutgoing } from '../src/validate';
import { makeBot } from './support/bot';
import { address } from './support/fixtures';

/** An address whose fields are accessors on a class (as a channel SDK's object may be): valid for addressSchema. */
class BotRef {
  get id(): string {
    return 'bot-1';
  }
}
class UserRef {
  get id(): string {
    return 'lars';
  }
}

describe('plainMessage and the address schema', () => {
  it('keeps fields that the schema reads through accessors (bot.id on a class)', () => {
    const message = { address: { ...address(), bot: new BotRef() }, text: 'hi' };
    const bySchema = messageSchema.parse(message);
    expect(bySchema.address.bot).toEqual({ id: 'bot-1' });
    expect(plainMessage(message)?.address.bot).toEqual(bySchema.address.bot);
  });

  it('receive() accepts an address whose user id is a getter, as the schema does', async () => {
    const { bot } = makeBot();
    bot.dialog('/', (session) => session.send('ok'));
    const message = { address: { channelId: 'test', user: new UserRef(), conversation: { id: 'c1' } }, text: 'hi' };
    expect(messageSchema.safeParse(message).success).toBe(true);
    await expect(bot.receive(message as never)).resolves.toMatchObject({ replies: [{ text: 'ok' }] });
    await bot.close();
  });

  it('a turn with such an address stores a state that the next turn can read back (no CORRUPT_STATE)', async () => {
    const { bot, errors, say } = makeBot<{ n?: number }>();
    bot.dialog('/', (session) => {
      session.entities.n = (session.entities.n ?? 0) + 1;
      session.send(`n=${session.entities.n}`);
    });
    const to = { ...address(), bot: new BotRef() };
    await say('one', to as never);
    const second = await say('two', to as never);
    expect(errors.map((error) => error.code)).toEqual([]);
    expect(second.replies).toEqual([{ type: 'message', text: 'n=2' }]);
    await bot.close();
  });

  it('plainOutgoing keeps a non-enumerable text, as the schema does', () => {
    const reply = Object.defineProperty({}, 'text', { value: 'hello', enumerable: false });
    expect(outgoingMessageSchema.parse(reply)).toEqual({ text: 'hello' });
    expect(plainOutgoing(reply) ?? outgoingMessageSchema.parse(reply)).toEqual({ text: 'hello' });
  });
});

describe('the message size check', () => {
  class Big {
    toJSON(): string {
      return 'x'.repeat(100_000);
    }
  }

  it('rejects a message whose JSON (through a toJSON method) is over maxMessageBytes', async () => {
    const { bot } = makeBot({ maxMessageBytes: 5_000 });
    bot.dialog('/', () => undefined);
    expect(JSON.stringify({ address: address(), text: 'hi', value: new Big() }).length).toBeGreaterThan(100_000);
    await expect(bot.receive({ address: address(), text: 'hi', value: new Big() })).rejects.toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
    });
    await bot.close();
  });

  it('rejects a message whose toJSON throws, as INVALID_MESSAGE', async () => {
    const { bot } = makeBot();
    bot.dialog('/', () => undefined);
    const value = new (class {
      toJSON(): never {
        throw new Error('no JSON here');
      }
    })();
    await expect(bot.receive({ address: address(), text: 'hi', value })).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
    });
    await bot.close();
  });
});
