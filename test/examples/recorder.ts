// Shared set-up for the example suites: options that record what the bot delivers.
import type { Address, OutgoingMessage, PalaverError, SessionManager } from '../../src';
import { smallStore } from '../support/bot';
import { address } from '../support/fixtures';
import { decodeState } from '../../src/codec';

export { address };

/** Options for an example's factory that record every delivery, and helpers to read them. */
export function recorder() {
  const delivered: { address: Address; messages: OutgoingMessage[] }[] = [];
  return {
    delivered,
    options: {
      deliver: (to: Address, messages: OutgoingMessage[]) => {
        delivered.push({ address: to, messages });
      },
      store: smallStore(),
      autoBatchDelay: 0,
    },
    /** Every delivered message, flattened. */
    messages: () => delivered.flatMap((batch) => batch.messages),
    /** The texts delivered so far (typing indicators as `'(typing)'`). */
    texts: () => delivered.flatMap((batch) => batch.messages.map((m) => (m.type === 'typing' ? '(typing)' : m.text))),
  };
}

/** Records the manager's error events. */
export function errorsOf(bot: SessionManager<any, any, any, any>): PalaverError[] {
  const errors: PalaverError[] = [];
  bot.on('error', (error) => errors.push(error));
  return errors;
}

/** The ids on the stored dialog stack of `to`. */
export async function stackOf(bot: SessionManager<any, any, any, any>, to: Address = address()): Promise<string[]> {
  const key = bot.keyOf(to);
  const record = await bot.store.get(key);
  return record === undefined ? [] : decodeState(record.data, key).stack.map((d) => d.id);
}
