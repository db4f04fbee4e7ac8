// The runner stays synchronous with actions registered: a turn whose matchers and steps return no promise costs no
// promise (dispatch returns the shared settled DONE); only middleware, or an async matcher, makes the turn async.
import { describe, expect, it } from 'vitest';
import {
  HOST,
  type Dialog,
  type DialogAction,
  type DialogHostInternals,
  type DialogInstance,
  type DialogSession,
} from '../../src/dialogs/dialog';
import { DialogRegistry } from '../../src/dialogs/registry';
import { dispatch, DONE } from '../../src/dialogs/runner';

/** A bare DialogSession over `stack`, enough for the runner: it records one operation at a time and keeps what was sent. */
function bareSession(text: string, stack: DialogInstance[]) {
  const sent: string[] = [];
  let pending: DialogAction | undefined;
  const internals: DialogHostInternals = {
    stack,
    record: (action) => void (pending = action),
    hasAction: () => pending !== undefined,
    take: () => {
      const action = pending;
      pending = undefined;
      return action;
    },
    requestFlush: () => undefined,
    trace: undefined,
    locale: undefined,
    saving: () => undefined,
    beganTask: () => undefined,
  };
  const session: DialogSession = {
    message: { address: { channelId: 't', user: { id: 'u' }, conversation: { id: 'c' } }, text },
    info: { locale: undefined },
    get dialogData() {
      return stack[stack.length - 1]?.data ?? {};
    },
    set dialogData(value) {
      const top = stack[stack.length - 1];
      if (top !== undefined) top.data = value;
    },
    send(message) {
      sent.push(String(message));
      return this;
    },
    beginDialog(id, args) {
      internals.record({ kind: 'begin', id, args });
      return this;
    },
    endDialogWithResult(result) {
      internals.record({ kind: 'end', result: { resumed: 'completed', ...result } });
      return this;
    },
    [HOST]: internals,
  };
  return { session, sent };
}

const echo: Dialog = {
  type: 'test',
  begin: () => undefined,
  reply: (session) => void session.send(`echo ${session.message?.text}`),
  resume: () => undefined,
};
const help: Dialog = {
  type: 'test',
  begin: (session) => void session.send('help').endDialogWithResult(),
  reply: () => undefined,
  resume: () => undefined,
};

function registry(): DialogRegistry {
  const r = new DialogRegistry();
  r.add('/', echo);
  r.add('/help', help);
  r.routes.action('help', { matches: /^help$/, beginDialog: '/help' });
  return r;
}

describe('dispatch with actions registered', () => {
  it('returns DONE for a message an action takes, when its matchers and dialogs are synchronous', () => {
    const { session, sent } = bareSession('help', [{ id: '/', data: {} }]);
    expect(
      dispatch(session, registry(), '/', 100, { endConversation: () => undefined, topChanged: () => undefined }),
    ).toBe(DONE);
    expect(sent).toEqual(['help']);
  });

  it('returns DONE for a message no action takes, handed to the dialog on top', () => {
    const { session, sent } = bareSession('hello', [{ id: '/', data: {} }]);
    expect(
      dispatch(session, registry(), '/', 100, { endConversation: () => undefined, topChanged: () => undefined }),
    ).toBe(DONE);
    expect(sent).toEqual(['echo hello']);
  });

  it('runs middleware asynchronously, and the message still reaches its action', async () => {
    const r = registry();
    r.routes.use((_session, next) => next());
    const { session, sent } = bareSession('help', [{ id: '/', data: {} }]);
    const running = dispatch(session, r, '/', 100, { endConversation: () => undefined, topChanged: () => undefined });
    expect(running).not.toBe(DONE);
    await running;
    expect(sent).toEqual(['help']);
  });
});
