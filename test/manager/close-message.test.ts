// closeMessage takes what nudge messages take: text, a message, a Message builder, or a function of the session.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Message, SessionManager } from '../../src';
import { address, MINUTE } from '../support/fixtures';
import { harness } from '../support/manager';

describe('closeMessage', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  async function closedWith(closeMessage: ConstructorParameters<typeof SessionManager>[0]['closeMessage']) {
    const { bot, texts, errors } = harness<{ name?: string }>({ timeout: MINUTE, closeMessage: closeMessage as never });
    bot.dialog('/', (session) => {
      session.entities.name = 'Lars';
      session.send('hi');
    });
    await bot.receive({ address: address(), text: 'hi' });
    await vi.advanceTimersByTimeAsync(MINUTE + 1_000);
    return { texts: texts(), errors: errors.map((e) => e.code) };
  }

  it('sends a Message builder', async () => {
    expect(await closedWith(new Message().text('Bye for now.'))).toEqual({ texts: ['hi', 'Bye for now.'], errors: [] });
  });

  it('sends what a function of the ending session returns', async () => {
    const farewell = (session: { entities: { name?: string } }) => `Bye, ${session.entities.name}.`;
    expect(await closedWith(farewell)).toEqual({ texts: ['hi', 'Bye, Lars.'], errors: [] });
  });

  it('says nothing when the function returns nothing', async () => {
    expect(await closedWith(() => undefined)).toEqual({ texts: ['hi'], errors: [] });
  });

  it('reports a function that throws, ends the session all the same, and says nothing', async () => {
    const result = await closedWith(() => {
      throw new Error('no farewell');
    });
    expect(result).toEqual({ texts: ['hi'], errors: ['HOOK_FAILED'] });
  });

  it('refuses a value that is no message, naming what it may be', () => {
    expect(() => new SessionManager({ deliver: () => undefined, closeMessage: 42 as never })).toThrow(
      expect.objectContaining({
        code: 'INVALID_OPTIONS',
        message: expect.stringContaining(
          'must be a string, an OutgoingMessage, a Message builder or a function of the session',
        ),
      }),
    );
  });
});
