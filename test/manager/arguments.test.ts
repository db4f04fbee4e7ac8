import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryStore, PalaverError, SessionManager, type Address, type SessionManagerOptions } from '../../src';
import { thrown } from '../support/bot';

const address: Address = { channelId: 'test', user: { id: 'lars' }, conversation: { id: 'c1' } };
const deliver = () => undefined;
const smallStore = () => new MemoryStore({ maxSessions: 10 });

describe('SessionManager options', () => {
  const bad: [string, unknown, string][] = [
    ['no options at all', undefined, '(root)'],
    ['options that are not an object', 'fast', '(root)'],
    ['a missing deliver', {}, '`deliver` must be a function (got undefined)'],
    ['a deliver that is not a function', { deliver: 'console' }, '`deliver` must be a function'],
    ['a negative timeout', { deliver, timeout: -5 }, '`timeout`'],
    ['a zero timeout', { deliver, timeout: 0 }, '`timeout`'],
    ['a fractional timeout', { deliver, timeout: 1.5 }, '`timeout`'],
    ['a timeout given as text', { deliver, timeout: '30m' }, '`timeout`'],
    ['an unknown closePolicy', { deliver, closePolicy: 'eager' }, '`closePolicy`'],
    ['a continueIf that is not a function', { deliver, continueIf: true }, '`continueIf` must be a function'],
    ['a closeMessage that is not a message', { deliver, closeMessage: { text: 5 } }, '`closeMessage`'],
    ['a negative autoBatchDelay', { deliver, autoBatchDelay: -1 }, '`autoBatchDelay`'],
    ['a preserve that is not an array', { deliver, preserve: 'UserName' }, '`preserve`'],
    ['a preserve with a non-string name', { deliver, preserve: ['UserName', 5] }, '`preserve.1`'],
    [
      'an onSessionStart that is not a function',
      { deliver, onSessionStart: 'hello' },
      '`onSessionStart` must be a function',
    ],
    [
      'an onSessionEnd that is not a function',
      { deliver, onSessionEnd: ['UserName'] },
      '`onSessionEnd` must be a function',
    ],
    ['a sessionKey that is not a function', { deliver, sessionKey: 'user' }, '`sessionKey` must be a function'],
    [
      'a store that does not implement the contract',
      { deliver, store: { get() {} } },
      '`store` must implement the SessionStore contract',
    ],
    ['a botId that is not a string', { deliver, botId: 7 }, '`botId`'],
    ['an empty rootDialog', { deliver, rootDialog: '' }, '`rootDialog`'],
    ['a zero maxQueuedTurns', { deliver, maxQueuedTurns: 0 }, '`maxQueuedTurns`'],
    ['a negative maxCommitRetries', { deliver, maxCommitRetries: -1 }, '`maxCommitRetries`'],
    ['an unknown deliveryRetry option', { deliver, deliveryRetry: { retry: 3 } }, 'retry'],
    ['a negative deliveryRetry.retries', { deliver, deliveryRetry: { retries: -1 } }, '`deliveryRetry.retries`'],
    ['an unknown shutdown mode', { deliver, shutdown: 'kill' }, '`shutdown`'],
    ['a misspelled option', { deliver, timout: 5000 }, 'timout'],
  ];

  it.each(bad)('rejects %s with INVALID_OPTIONS naming the field', (_what, options, field) => {
    expect(thrown(() => new SessionManager(options as SessionManagerOptions))).toMatchObject({
      name: 'PalaverError',
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining(field),
    });
  });

  it('says what came in and what was expected', () => {
    expect(thrown(() => new SessionManager({ deliver, timeout: -5 }))).toMatchObject({
      message: 'Invalid SessionManager options: `timeout` Too small: expected number to be >0 (got -5 (number))',
    });
  });

  it('keeps the ZodError as the cause', () => {
    const error = thrown(() => new SessionManager({ deliver, timeout: -5 })) as PalaverError;
    expect(error).toBeInstanceOf(PalaverError);
    expect((error.cause as Error).name).toBe('ZodError');
  });

  it('accepts every option at once', () => {
    const manager = new SessionManager({
      deliver,
      store: new MemoryStore({ maxSessions: 100 }),
      timeout: 60_000,
      closePolicy: 'lazy',
      continueIf: () => true,
      closeMessage: { text: 'bye' },
      autoBatchDelay: 0,
      preserve: ['a'],
      onSessionStart: () => undefined,
      onSessionEnd: () => undefined,
      dialogErrorMessage: null,
      sessionKey: (a) => a.user.id,
      botId: 'b',
      version: '1',
      locale: 'en',
      rootDialog: '/main',
      persistUserData: false,
      persistConversationData: false,
      maxQueuedTurns: 10,
      maxCommitRetries: 0,
      maxDialogOperations: 10,
      maxStateBytes: 1000,
      deliveryRetry: { retries: 0 },
      sweepInterval: 100,
      shutdown: 'persist',
      trace: false,
    });
    expect(manager).toBeInstanceOf(SessionManager);
  });
});

describe('MemoryStore options', () => {
  it.each([
    ['a zero maxSessions', { maxSessions: 0 }, '`maxSessions`'],
    ['a fractional maxSessions', { maxSessions: 2.5 }, '`maxSessions`'],
    ['a negative maxDataRecords', { maxDataRecords: -1 }, '`maxDataRecords`'],
    ['an unknown option', { max: 5 }, 'max'],
  ])('rejects %s with INVALID_OPTIONS naming the field', (_what, options, field) => {
    expect(thrown(() => new MemoryStore(options as never))).toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining(field),
    });
  });
});

describe('incoming messages', () => {
  const bot = new SessionManager({ deliver, store: smallStore() });
  bot.dialog('/', () => undefined);

  it.each([
    ['no message', undefined, '(root)'],
    ['a message that is text', 'hi', '(root)'],
    ['a message without an address', { text: 'hi' }, '`address`'],
    [
      'an address without a channel',
      { address: { user: { id: 'u' }, conversation: { id: 'c' } } },
      '`address.channelId`',
    ],
    ['an address without a user', { address: { channelId: 'x', conversation: { id: 'c' } } }, '`address.user`'],
    [
      'an address with an empty user id',
      { address: { ...address, user: { id: '' } } },
      '`address.user.id` must be a non-empty string',
    ],
    [
      'an address without a conversation id',
      { address: { ...address, conversation: {} } },
      '`address.conversation.id`',
    ],
    ['text that is not a string', { address, text: 42 }, '`text`'],
    ['an unknown message type', { address, type: 'typing' }, '`type`'],
    ['attachments that are not an array', { address, attachments: 'cat.png' }, '`attachments`'],
    [
      'an attachment without a contentType',
      { address, attachments: [{ contentUrl: 'x' }] },
      '`attachments.0.contentType`',
    ],
    ['a developer flag that is not a boolean', { address, text: 'hi', developer: 'yes' }, '`developer`'],
    ['a locale that is not a string', { address, text: 'hi', locale: 1 }, '`locale`'],
  ])('rejects %s with INVALID_MESSAGE naming the field', async (_what, message, field) => {
    await expect(bot.receive(message as never)).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
      message: expect.stringContaining(field),
    });
  });
});

describe('addresses outside a turn', () => {
  const bot = new SessionManager({ deliver, store: smallStore() });
  bot.dialog('/', () => undefined);
  const badAddress = { channelId: 'x', user: { id: 'u' } } as unknown as Address;

  it('rejects a bad address passed to send() with INVALID_ADDRESS naming the field', async () => {
    await expect(bot.send(badAddress, 'hi')).rejects.toMatchObject({
      code: 'INVALID_ADDRESS',
      message: expect.stringContaining('`conversation`'),
    });
  });

  it('rejects a bad address passed to startSession() with INVALID_ADDRESS naming the field', async () => {
    await expect(bot.startSession({ ...address, channelId: '' })).rejects.toMatchObject({
      code: 'INVALID_ADDRESS',
      message: expect.stringContaining('`channelId`'),
    });
  });

  it('rejects a bad address passed to endSession() with INVALID_ADDRESS naming the field', async () => {
    await expect(bot.endSession(badAddress)).rejects.toMatchObject({
      code: 'INVALID_ADDRESS',
      message: expect.stringContaining('`conversation`'),
    });
  });

  it('rejects an unknown end reason passed to endSession() with INVALID_ARGUMENT', async () => {
    await expect(bot.endSession(address, 'bored' as never)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('`reason`'),
    });
  });

  it('rejects an unknown dialog passed to startSession() with DIALOG_NOT_FOUND', async () => {
    await expect(bot.startSession(address, { dialogId: '/nope' })).rejects.toMatchObject({
      code: 'DIALOG_NOT_FOUND',
      message: expect.stringContaining('"/nope"'),
    });
  });

  it('rejects an outgoing message that does not match the schema with INVALID_MESSAGE', async () => {
    await expect(bot.send(address, { text: 5 } as never)).rejects.toMatchObject({
      code: 'INVALID_MESSAGE',
      message: expect.stringContaining('`text`'),
    });
  });
});

describe('the sessionKey option’s result', () => {
  it.each([
    ['an empty string', ''],
    ['a number', 42],
    ['undefined', undefined],
  ])('rejects %s with INVALID_OPTIONS naming sessionKey', async (_what, key) => {
    const bot = new SessionManager({ deliver, store: smallStore(), sessionKey: () => key as string });
    bot.dialog('/', () => undefined);
    await expect(bot.receive({ address, text: 'hi' })).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('sessionKey'),
    });
  });

  it('rejects a sessionKey that throws for startSession() too', async () => {
    const bot = new SessionManager({ deliver, store: smallStore(), sessionKey: () => '' });
    await expect(bot.startSession(address)).rejects.toMatchObject({
      code: 'INVALID_OPTIONS',
      message: expect.stringContaining('sessionKey'),
    });
  });
});

describe('values set inside a turn', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Runs `step` in a turn and returns the error the turn reports. */
  async function turnError(
    step: (session: {
      timeout: number;
      setEntity: (name: string, value: unknown, options?: { ttl?: number }) => unknown;
    }) => void,
  ) {
    const bot = new SessionManager({ deliver, store: smallStore(), dialogErrorMessage: null });
    bot.on('error', () => undefined);
    bot.dialog('/', (session) => step(session as never));
    const { error } = await bot.receive({ address, text: 'hi' });
    await bot.close();
    return error;
  }

  it.each([
    ['a negative timeout', -1],
    ['a zero timeout', 0],
    ['an infinite timeout', Infinity],
    ['a timeout given as text', '5m'],
  ])('rejects %s for session.timeout with INVALID_ARGUMENT naming timeout', async (_what, value) => {
    expect(await turnError((session) => void (session.timeout = value as number))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('`session.timeout`'),
    });
  });

  it('rejects a ttl that is not a positive number with INVALID_ARGUMENT naming ttl', async () => {
    expect(await turnError((session) => void session.setEntity('Coupon', 'x', { ttl: -1 }))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('`ttl`'),
    });
  });
});

describe('dialog registration', () => {
  const bot = new SessionManager({ deliver, store: smallStore() });

  it.each([
    ['an empty id', '', () => undefined, 'dialog id'],
    ['an empty waterfall', '/a', [], 'waterfall'],
    ['a waterfall with a step that is not a function', '/b', [() => undefined, 'step 2'], 'waterfall'],
    ['a dialog that is a string', '/c', 'hello', 'expected an array of steps, a function or a Dialog'],
  ])('rejects %s with INVALID_ARGUMENT', (_what, id, dialog, text) => {
    expect(thrown(() => bot.dialog(id, dialog as never))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining(text),
    });
  });

  it('rejects an id registered twice with DIALOG_EXISTS', () => {
    bot.dialog('/twice', () => undefined);
    expect(thrown(() => bot.dialog('/twice', () => undefined))).toMatchObject({
      code: 'DIALOG_EXISTS',
      message: expect.stringContaining('"/twice"'),
    });
  });
});
