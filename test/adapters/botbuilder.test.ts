import { TestAdapter, TurnContext, type Activity, type ConversationReference, type ResourceResponse } from 'botbuilder';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { BotbuilderAdapter, type BotbuilderAdapterOptions } from '../../src/adapters/botbuilder';
import {
  CardAction,
  HeroCard,
  Message,
  Prompts,
  SessionManager,
  type ActionArgs,
  type Address,
  type IncomingMessage,
  type OutgoingMessage,
  type SessionManagerOptions,
} from '../../src';
import { createTutorialBot } from '../../examples/session-callbacks';

/**
 * botbuilder's TestAdapter, with the proactive path a CloudAdapter has (TestAdapter itself rejects it): a turn context
 * on the saved reference, run through the adapter's middleware. `failNextSend` makes the next send fail.
 */
class ProactiveTestAdapter extends TestAdapter {
  readonly continued: Partial<ConversationReference>[] = [];
  failNextSend = false;

  override async continueConversationAsync(_appId: unknown, reference: unknown, logic: unknown): Promise<void> {
    const ref = reference as Partial<ConversationReference>;
    this.continued.push(ref);
    const activity = TurnContext.applyConversationReference({ type: 'event', name: 'ContinueConversation' }, ref, true);
    await this.runMiddleware(new TurnContext(this, activity), logic as (context: TurnContext) => Promise<void>);
  }

  override sendActivities(context: TurnContext, activities: Partial<Activity>[]): Promise<ResourceResponse[]> {
    if (this.failNextSend) {
      this.failNextSend = false;
      return Promise.reject(new Error('channel unavailable'));
    }
    return super.sendActivities(context, activities);
  }
}

const managers: { close(): Promise<void> }[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.all(managers.splice(0).map((manager) => manager.close()));
});

type ManagerFactory = (deliver: SessionManagerOptions['deliver']) => SessionManager<any, any, any, any>;

function harness(options: { manager?: ManagerFactory; bridge?: Partial<BotbuilderAdapterOptions> } = {}) {
  let bf!: BotbuilderAdapter;
  let manager!: SessionManager<any, any, any, any>;
  const results: unknown[] = [];
  const adapter = new ProactiveTestAdapter(async (context) => {
    results.push(await bf.run(context, manager));
  });
  bf = new BotbuilderAdapter({ adapter, ...options.bridge });
  manager = options.manager?.(bf.deliver) ?? createTutorialBot({ deliver: bf.deliver, autoBatchDelay: 0 });
  manager.on('error', () => undefined);
  managers.push(manager);
  return { adapter, bf, manager, results };
}

/** A manager whose root dialog sends `message` on every turn. */
function sending(message: OutgoingMessage | string): ManagerFactory {
  return (deliver) =>
    new SessionManager({ deliver, autoBatchDelay: 0 }).dialog('/', (session) => void session.send(message));
}

function capturing(into: IncomingMessage[]): ManagerFactory {
  return (deliver) =>
    new SessionManager({ deliver, autoBatchDelay: 0 }).dialog('/', (session) => void into.push(session.message!));
}

describe('BotbuilderAdapter: turns in a botbuilder bot', () => {
  it('runs the tutorial in a TestAdapter conversation', async () => {
    const { adapter } = harness();
    await adapter
      .send('hi')
      .assertReply("Hi, I'm Botty. What's your name?")
      .send('Lars')
      .assertReply('Hi Lars. What is your phone number?')
      .send('555-555-5555')
      .assertReply('Can you tell Botty your location, Lars?')
      .send('Seattle')
      .assertReply('So, Lars, you are in Seattle')
      .assertReply('Done')
      .startTest();
    expect(adapter.activeQueue).toEqual([]);
  });

  it('maps the activity to a palaver address that keeps the conversation reference', async () => {
    const seen: IncomingMessage[] = [];
    const { adapter } = harness({ manager: capturing(seen) });
    await adapter.send('hi').startTest();
    expect(seen[0]?.address).toEqual({
      channelId: 'test',
      user: { id: 'user1', name: 'User1' },
      conversation: { id: 'Convo1', name: 'Convo1', isGroup: false },
      bot: { id: 'bot', name: 'Bot' },
      serviceUrl: 'https://test.com',
    } satisfies Address);
  });

  it('passes the text, id, time, value and channelData along', async () => {
    const seen: IncomingMessage[] = [];
    const { adapter } = harness({ manager: capturing(seen) });
    await adapter
      .send({ type: 'message', text: 'hi', value: { size: 'L' }, channelData: { clientActivityID: 'x1' } })
      .startTest();
    expect(seen[0]).toMatchObject({
      text: 'hi',
      id: '0',
      value: { size: 'L' },
      sourceEvent: { clientActivityID: 'x1' },
      timestamp: expect.any(Number),
    });
  });

  it('runs event activities as palaver events', async () => {
    const seen: IncomingMessage[] = [];
    const { adapter } = harness({ manager: capturing(seen) });
    await adapter.send({ type: 'event', name: 'locationChanged', value: 'Seattle' }).startTest();
    expect(seen[0]).toMatchObject({ type: 'event', name: 'locationChanged', value: 'Seattle' });
  });

  it('reports a typing activity to manager.typing with its address, and runs no turn', async () => {
    const typing = vi.fn();
    const receive = vi.fn();
    const bf = new BotbuilderAdapter({ adapter: new TestAdapter() });
    const context = new TurnContext(new TestAdapter(), {
      type: 'typing',
      channelId: 'test',
      from: { id: 'user1', name: 'User1' },
      conversation: { id: 'conv1' } as Activity['conversation'],
    });
    expect(await bf.run(context, { receive, typing })).toBeUndefined();
    expect(typing).toHaveBeenCalledWith(
      expect.objectContaining({ channelId: 'test', user: { id: 'user1', name: 'User1' } }),
    );
    expect(receive).not.toHaveBeenCalled();
  });

  it('leaves other activity types to the bot and resolves to undefined', async () => {
    const seen: IncomingMessage[] = [];
    const { adapter, results } = harness({ manager: capturing(seen) });
    await adapter.send({ type: 'conversationUpdate', membersAdded: [{ id: 'user1', name: 'User1' }] }).startTest();
    expect({ seen, results }).toEqual({ seen: [], results: [undefined] });
  });

  it('resolves with the turn result', async () => {
    const { adapter, results } = harness();
    await adapter.send('hi').startTest();
    expect(results[0]).toMatchObject({
      replies: [{ text: "Hi, I'm Botty. What's your name?" }],
      session: { turnCount: 1 },
    });
  });
});

describe('BotbuilderAdapter: activities out', () => {
  const hero = {
    contentType: 'application/vnd.microsoft.card.hero',
    content: {
      title: 'Margherita',
      subtitle: 'Tomato, mozzarella',
      images: [{ url: 'https://example.com/m.png' }],
      buttons: [{ type: 'imBack', title: 'Order', value: 'order margherita' }],
    },
  };
  const thumbnail = {
    contentType: 'application/vnd.microsoft.card.thumbnail',
    content: { title: 'Hours', text: '11–23' },
  };
  const receipt = {
    contentType: 'application/vnd.microsoft.card.receipt',
    content: {
      title: 'Order 42',
      items: [{ title: 'Margherita', price: '$9.00', quantity: '2' }],
      facts: [{ key: 'Table', value: '7' }],
      tax: '$1.80',
      total: '$19.80',
    },
  };

  it('sends hero, thumbnail and receipt cards as Bot Framework attachments', async () => {
    const { adapter } = harness({
      manager: sending({ attachments: [hero, thumbnail, receipt], attachmentLayout: 'carousel' }),
    });
    await adapter.send('hi').startTest();
    expect(adapter.activeQueue).toEqual([
      expect.objectContaining({
        type: 'message',
        attachments: [hero, thumbnail, receipt],
        attachmentLayout: 'carousel',
      }),
    ]);
  });

  it('sends an image as an attachment with its content URL', async () => {
    const image = { contentType: 'image/png', contentUrl: 'https://example.com/p.png', name: 'pizza.png' };
    const { adapter } = harness({ manager: sending({ text: 'Yours:', attachments: [image] }) });
    await adapter.send('hi').startTest();
    expect(adapter.activeQueue).toEqual([expect.objectContaining({ text: 'Yours:', attachments: [image] })]);
  });

  it('sends the choices of a choice prompt as suggested actions for the user', async () => {
    const { adapter } = harness({
      manager: (deliver) =>
        new SessionManager({ deliver, autoBatchDelay: 0 }).dialog('/', [
          (session) => Prompts.choice(session, 'Which size?', ['Small', 'Large']),
        ]),
    });
    await adapter.send('hi').startTest();
    expect(adapter.activeQueue).toEqual([
      expect.objectContaining({
        text: 'Which size?',
        inputHint: 'expectingInput',
        suggestedActions: {
          to: ['user1'],
          actions: [
            { type: 'imBack', title: 'Small', value: 'Small' },
            { type: 'imBack', title: 'Large', value: 'Large' },
          ],
        },
      }),
    ]);
  });

  it('sends a dialogAction button as a postBack whose press triggers its action with its data', async () => {
    const { adapter } = harness({
      manager: (deliver) => {
        const manager = new SessionManager({ deliver, autoBatchDelay: 0 });
        manager.action('sizeHelp', { matches: /^sizes$/i, beginDialog: '/sizes' });
        const button = CardAction.dialogAction('sizeHelp', { topic: 'sizes' }, 'Help with sizes');
        manager.dialog(
          '/',
          (session) =>
            void session.send(
              new Message()
                .text('Menu')
                .suggestedActions([button])
                .addAttachment(new HeroCard().buttons([button])),
            ),
        );
        manager.dialog('/sizes', (session, args: ActionArgs<{ topic: string }>) =>
          session.endDialog('Help on %s.', args.data?.topic ?? 'nothing'),
        );
        return manager;
      },
    });
    await adapter.send('hi').startTest();
    const sent = adapter.activeQueue.splice(0)[0] as Activity;
    const suggested = sent.suggestedActions!.actions[0]!;
    const onCard = (sent.attachments![0]!.content as { buttons: { type: string; value: string }[] }).buttons[0]!;
    expect({ type: suggested.type, title: suggested.title, card: onCard }).toEqual({
      type: 'postBack',
      title: 'Help with sizes',
      card: { type: 'postBack', title: 'Help with sizes', value: suggested.value },
    });
    await adapter
      .send({ type: 'message', text: suggested.value as string })
      .assertReply('Help on sizes.')
      .startTest();
  });

  it('sends typing as a typing activity', async () => {
    const { adapter } = harness({
      manager: (deliver) =>
        new SessionManager({ deliver, autoBatchDelay: 0 }).dialog('/', (session) => void session.sendTyping()),
    });
    await adapter.send('hi').startTest();
    expect(adapter.activeQueue.map((activity) => activity.type)).toEqual(['typing']);
  });

  it('sends sourceEvent as channelData', async () => {
    const { adapter } = harness({ manager: sending({ text: 'hi', sourceEvent: { notification: { alert: true } } }) });
    await adapter.send('hi').startTest();
    expect(adapter.activeQueue[0]?.channelData).toEqual({ notification: { alert: true } });
  });

  it('sends the replies through the turn context, as replies to the incoming activity', async () => {
    const { adapter } = harness();
    await adapter.send('hi').startTest();
    expect(adapter.activeQueue[0]).toMatchObject({
      replyToId: '0',
      recipient: { id: 'user1' },
      conversation: { id: 'Convo1' },
    });
  });
});

describe('BotbuilderAdapter: batching and proactive messages', () => {
  it('waits for the batching delay so that the turn context sends the batch', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { adapter } = harness({ manager: (deliver) => createTutorialBot({ deliver, autoBatchDelay: 250 }) });
    let done = false;
    const turn = adapter.processActivity(adapter.makeActivity('hi')).then(() => (done = true));
    await vi.advanceTimersByTimeAsync(249);
    expect({ done, queued: adapter.activeQueue.length }).toEqual({ done: false, queued: 0 });
    await vi.advanceTimersByTimeAsync(1);
    await turn;
    expect({
      continued: adapter.continued.length,
      replies: adapter.activeQueue.map((activity) => activity.text),
    }).toEqual({
      continued: 0,
      replies: ["Hi, I'm Botty. What's your name?"],
    });
  });

  it('with awaitReplies off, returns at once and sends the batch proactively', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    const { adapter } = harness({
      manager: (deliver) => createTutorialBot({ deliver, autoBatchDelay: 250 }),
      bridge: { awaitReplies: false },
    });
    await adapter.processActivity(adapter.makeActivity('hi'));
    expect(adapter.activeQueue).toEqual([]);
    await vi.advanceTimersByTimeAsync(250);
    expect({
      continued: adapter.continued.length,
      replies: adapter.activeQueue.map((activity) => activity.text),
    }).toEqual({
      continued: 1,
      replies: ["Hi, I'm Botty. What's your name?"],
    });
  });

  it('sends proactive messages through continueConversation with the saved reference', async () => {
    const seen: IncomingMessage[] = [];
    const { adapter, manager } = harness({ manager: capturing(seen) });
    await adapter.send('hi').startTest();
    await manager.send(seen[0]!.address, 'Your pizza is on its way!');
    expect(adapter.continued).toEqual([
      {
        channelId: 'test',
        serviceUrl: 'https://test.com',
        user: { id: 'user1', name: 'User1' },
        bot: { id: 'bot', name: 'Bot' },
        conversation: { id: 'Convo1', name: 'Convo1', isGroup: false },
      },
    ]);
    expect(adapter.activeQueue).toEqual([
      expect.objectContaining({
        type: 'message',
        text: 'Your pizza is on its way!',
        from: { id: 'bot', name: 'Bot' },
        recipient: { id: 'user1', name: 'User1' },
        conversation: expect.objectContaining({ id: 'Convo1' }),
      }),
    ]);
  });

  it('stops waiting when the turn context fails to send, and the retry goes out proactively', async () => {
    const { adapter } = harness({
      manager: (deliver) => createTutorialBot({ deliver, autoBatchDelay: 0, deliveryRetry: { minDelay: 0 } }),
    });
    adapter.failNextSend = true;
    await adapter.processActivity(adapter.makeActivity('hi'));
    await vi.waitFor(() => expect(adapter.activeQueue).toHaveLength(1));
    expect({ continued: adapter.continued.length, text: adapter.activeQueue[0]?.text }).toEqual({
      continued: 1,
      text: "Hi, I'm Botty. What's your name?",
    });
  });

  it('uses a custom continueConversation when given', async () => {
    const continueConversation = vi.fn(async () => undefined);
    const seen: IncomingMessage[] = [];
    const { adapter, manager } = harness({ manager: capturing(seen), bridge: { continueConversation } });
    await adapter.send('hi').startTest();
    await manager.send(seen[0]!.address, 'ping');
    expect(continueConversation).toHaveBeenCalledWith(
      expect.objectContaining({ channelId: 'test', conversation: expect.objectContaining({ id: 'Convo1' }) }),
      expect.any(Function),
    );
  });
});
