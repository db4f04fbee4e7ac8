// The data scopes a bot replaces (not mutates) in a turn survive into the next session of the same turn.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { address } from '../support/fixtures';
import { harness } from '../support/manager';

describe('replaced data scopes', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('carries a userData object replaced before newSession() into the new session and saves it', async () => {
    const { bot } = harness();
    const seen: unknown[] = [];
    bot.dialog('/', (session) => {
      seen.push(session.userData.plan);
      if (session.message?.text === 'upgrade' && session.userData.plan === undefined) {
        session.userData = { plan: 'gold' };
        session.newSession();
      }
    });
    await bot.receive({ address: address(), text: 'upgrade' });
    await bot.receive({ address: address(), text: 'hi' });
    expect(seen).toEqual([undefined, 'gold', 'gold']);
  });

  it('carries a conversationData object replaced by onSessionEnd into the session that follows', async () => {
    const { bot } = harness({
      onSessionEnd: (session) => {
        session.conversationData = { endedBefore: true };
      },
    });
    const seen: unknown[] = [];
    bot.dialog('/', (session) => {
      seen.push(session.conversationData.endedBefore);
      if (session.message?.text === 'again') session.refresh();
    });
    await bot.receive({ address: address(), text: 'again' });
    expect(seen).toEqual([undefined]);
    await bot.receive({ address: address(), text: 'hi' });
    expect(seen).toEqual([undefined, true]);
  });
});
