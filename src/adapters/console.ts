// palaver/console: chat with a palaver bot in a terminal (readline), as one user.
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import type { SessionManager, SessionManagerEvents } from '../manager';
import type { DeliverFn } from '../outbox';
import type { Address, Attachment, CardAction, OutgoingMessage } from '../types';
import type { DialogActionValue } from '../dialogs/actions';
import { DeliveryTracker, errorText, type CardContent } from './shared';

/** The part of a {@link SessionManager} the console uses. */
export type ConsoleBot = Pick<SessionManager<any, any, any, any>, 'receive' | 'endSession' | 'keyOf' | 'on' | 'off'>;

/** Options of {@link ConsoleAdapter}. */
export interface ConsoleAdapterOptions {
  /** Where the user types. @default process.stdin */
  input?: NodeJS.ReadableStream;
  /** Where the conversation is printed. @default process.stdout */
  output?: NodeJS.WritableStream;
  /** The one user's address. @default `{ channelId: 'console', user: { id: 'user', name: 'You' }, conversation: { id: 'console' }, bot: { id: 'bot' } }` */
  address?: Address;
  /** The name the bot's lines start with. @default 'bot' */
  botName?: string;
  /** The name the user's lines start with. @default 'you' */
  userName?: string;
  /**
   * Terminal mode: readline echoes what the user types, the prompt comes back after each batch, and the typing
   * indicator is erased when the batch arrives. Off, every line (the user's too) is printed once, as in a transcript.
   * @default `output.isTTY`
   */
  terminal?: boolean;
  /** Print a line when a session of this user starts or ends (with the reason and the entities kept). @default false */
  showSessionEvents?: boolean;
}

/**
 * Talks to any palaver bot in the terminal, as one user. Give {@link ConsoleAdapter.deliver} to the manager, then
 * {@link ConsoleAdapter.start} it. Each line the user types is one turn; the typing indicator shows while the turn's
 * batch waits in the outbox (and when the bot calls `sendTyping()`), and batches print as they arrive, proactive
 * ones included. Typing the title of a `CardAction.dialogAction` button of the latest batch that had any presses it.
 * Commands: `/end` ends the session, `/timeout` ends it as if it had timed out, `/quit` leaves.
 * @example
 * const chat = new ConsoleAdapter({ botName: 'Botty' });
 * const bot = new SessionManager({ deliver: chat.deliver });
 * bot.dialog('/', (session) => session.send('You said %s', session.message?.text));
 * await chat.start(bot);   // resolves when the input ends or the user types /quit
 * await bot.close();
 */
export class ConsoleAdapter {
  /** The address of the console's one user. */
  readonly address: Address;
  private readonly input: NodeJS.ReadableStream;
  private readonly output: NodeJS.WritableStream;
  private readonly botName: string;
  private readonly userName: string;
  private readonly terminal: boolean;
  private readonly tracker = new DeliveryTracker();
  private rl: Interface | undefined;
  private closed = false;
  private busy = false;
  private typingShown = false;
  /** The `dialogAction` buttons of the latest batch that had any, by lower-cased title: typing a title presses it. */
  private buttons = new Map<string, DialogActionValue>();

  constructor(private readonly options: ConsoleAdapterOptions = {}) {
    this.input = options.input ?? process.stdin;
    this.output = options.output ?? process.stdout;
    this.address = options.address ?? {
      channelId: 'console',
      user: { id: 'user', name: 'You' },
      conversation: { id: 'console' },
      bot: { id: 'bot' },
    };
    this.botName = options.botName ?? 'bot';
    this.userName = options.userName ?? 'you';
    this.terminal = options.terminal ?? (this.output as { isTTY?: boolean }).isTTY === true;
  }

  /** The `deliver` function to give the {@link SessionManager}: prints each batch as it arrives. */
  readonly deliver: DeliverFn = (_address, messages) => {
    const lines: string[] = [];
    let typing = false;
    const buttons = dialogActionButtons(messages);
    if (buttons.size > 0) this.buttons = buttons;
    for (const message of messages) {
      if (message.type === 'typing') typing = true;
      else if (message.type !== 'event') {
        lines.push(...renderMessage(message, this.botName));
        typing = false;
      }
    }
    this.print(lines);
    if (typing) this.showTyping();
    this.tracker.settle(messages);
  };

  /**
   * Reads lines from the input and runs one turn per line, in order, on `manager`, until the input ends or the user
   * types `/quit`. Resolves once the last turn's replies are printed; the process stays up until then. The manager is
   * left open.
   */
  start(manager: ConsoleBot): Promise<void> {
    if (this.rl !== undefined) return Promise.reject(new Error('This ConsoleAdapter is already started.'));
    this.closed = false;
    const rl = createInterface({
      input: this.input,
      output: this.terminal ? this.output : undefined,
      terminal: this.terminal,
      prompt: `${this.userName}> `,
    });
    this.rl = rl;
    const key = manager.keyOf(this.address);
    const onStart: SessionManagerEvents['sessionStart'] = ({ session }) => {
      if (session.key === key) this.print([`[session ${session.id} started]`]);
    };
    const onEnd: SessionManagerEvents['sessionEnd'] = ({ session, reason, kept }) => {
      if (session.key === key)
        this.print([`[session ${session.id} ended: ${reason}; kept ${kept.length > 0 ? kept.join(', ') : 'nothing'}]`]);
    };
    if (this.options.showSessionEvents) {
      manager.on('sessionStart', onStart);
      manager.on('sessionEnd', onEnd);
    }

    // One line at a time: the next turn starts when the previous one's replies are out, as in a real chat.
    let queue = Promise.resolve();
    let quitting = false;
    rl.on('line', (line) => {
      if (quitting) return;
      const text = line.trim();
      if (text === '/quit' || text === '/exit') {
        quitting = true;
        rl.close();
        return;
      }
      queue = queue.then(() => this.handle(manager, text));
    });
    if (this.terminal) rl.prompt();
    // palaver's timers are unref'ed: when the input is a pipe that has ended, this keeps the process up until the
    // last batch has been printed.
    const keepAlive = setInterval(() => undefined, 2 ** 30);
    return new Promise((resolve) => {
      rl.once('close', () => {
        this.closed = true;
        void queue.then(() => {
          clearInterval(keepAlive);
          if (this.options.showSessionEvents) {
            manager.off('sessionStart', onStart);
            manager.off('sessionEnd', onEnd);
          }
          this.rl = undefined;
          resolve();
        });
      });
    });
  }

  private async handle(manager: ConsoleBot, text: string): Promise<void> {
    if (text.length === 0) {
      this.prompt();
      return;
    }
    if (!this.terminal) this.print([`${this.userName}> ${text}`]);
    this.busy = true;
    try {
      if (text === '/end' || text === '/timeout') {
        const ended = await manager.endSession(this.address, text === '/end' ? 'endSession' : 'timeout');
        if (!ended) this.print(['[no active session]']);
      } else {
        const press = this.buttons.get(text.toLowerCase());
        const { replies } = await manager.receive(
          press === undefined ? { address: this.address, text } : { address: this.address, value: press },
        );
        const pending = replies.filter((reply) => !this.tracker.has(reply));
        if (pending.some((reply) => reply.type !== 'typing' && reply.type !== 'event')) this.showTyping();
        await this.tracker.wait(pending);
      }
    } catch (error) {
      this.hideTyping();
      this.print([`[error: ${errorText(error)}]`]);
    }
    this.busy = false;
    this.prompt();
  }

  private prompt(): void {
    if (this.terminal && !this.closed) this.rl?.prompt(true);
  }

  private showTyping(): void {
    if (this.typingShown) return;
    this.typingShown = true;
    const line = `${this.botName} is typing…`;
    if (this.terminal) {
      this.clearPromptLine();
      this.output.write(line);
    } else {
      this.output.write(`${line}\n`);
    }
  }

  private hideTyping(): void {
    if (!this.typingShown) return;
    this.typingShown = false;
    if (this.terminal) this.clearPromptLine();
  }

  /** Prints whole lines above whatever the user is typing, then puts the prompt and their input back. */
  private print(lines: readonly string[]): void {
    if (lines.length === 0) return;
    this.hideTyping();
    if (this.terminal) this.clearPromptLine();
    this.output.write(lines.join('\n') + '\n');
    // During a turn the prompt comes back once its replies are out; between turns (a proactive batch), at once.
    if (!this.busy) this.prompt();
  }

  private clearPromptLine(): void {
    clearLine(this.output, 0);
    cursorTo(this.output, 0);
  }
}

/** The lines a message prints as: its text, then each attachment, then its suggested actions. */
export function renderMessage(message: OutgoingMessage, botName = 'bot'): string[] {
  const lines: string[] = [];
  if (message.text) lines.push(`${botName}> ${message.text}`);
  for (const attachment of message.attachments ?? []) {
    lines.push(...renderAttachment(attachment).map((line) => `  ${line}`));
  }
  if (message.suggestedActions?.length) lines.push(`  ${renderActions(message.suggestedActions)}`);
  if (lines.length === 0 && message.type !== 'typing') lines.push(`${botName}> …`);
  return lines;
}

function renderAttachment(attachment: Attachment): string[] {
  const type = attachment.contentType;
  const card = (
    typeof attachment.content === 'object' && attachment.content !== null ? attachment.content : {}
  ) as CardContent;
  if (type === 'application/vnd.microsoft.card.hero' || type === 'application/vnd.microsoft.card.thumbnail') {
    const lines = [`┌ ${[card.title, card.subtitle].filter(Boolean).join(' — ') || 'card'}`];
    if (card.text) lines.push(`│ ${card.text}`);
    for (const image of card.images ?? []) lines.push(`│ [image: ${image.alt ?? image.url ?? ''}]`);
    if (card.buttons?.length) lines.push(`│ ${renderActions(card.buttons)}`);
    lines.push('└');
    return lines;
  }
  if (type === 'application/vnd.microsoft.card.receipt') {
    const lines = [`┌ ${card.title ?? 'receipt'}`];
    for (const item of card.items ?? []) {
      const quantity = item.quantity === undefined ? '' : ` × ${item.quantity}`;
      lines.push(`│ ${item.title ?? ''}${quantity}  ${item.price ?? ''}`);
    }
    for (const fact of card.facts ?? []) lines.push(`│ ${fact.key ?? ''}: ${fact.value ?? ''}`);
    if (card.tax !== undefined) lines.push(`│ Tax: ${card.tax}`);
    if (card.total !== undefined) lines.push(`│ Total: ${card.total}`);
    if (card.buttons?.length) lines.push(`│ ${renderActions(card.buttons)}`);
    lines.push('└');
    return lines;
  }
  if (type.startsWith('image/')) return [`[image: ${attachment.name ?? attachment.contentUrl ?? type}]`];
  return [`[${attachment.name ?? type}${attachment.contentUrl ? ` ${attachment.contentUrl}` : ''}]`];
}

function renderActions(actions: readonly CardAction[]): string {
  return actions
    .map((action) =>
      action.type === 'openUrl'
        ? `[${action.title ?? action.value} → ${action.value}]`
        : `[${action.title ?? action.value}]`,
    )
    .join(' ');
}

/** The `dialogAction` buttons (suggested actions, card buttons and taps) of `messages`, by lower-cased title. */
function dialogActionButtons(messages: readonly OutgoingMessage[]): Map<string, DialogActionValue> {
  const found = new Map<string, DialogActionValue>();
  const add = (action: CardAction | undefined) => {
    if (action?.type !== 'dialogAction') return;
    const press: DialogActionValue =
      action.data === undefined ? { dialogAction: action.value } : { dialogAction: action.value, data: action.data };
    found.set((action.title ?? action.value).trim().toLowerCase(), press);
  };
  for (const message of messages) {
    for (const action of message.suggestedActions ?? []) add(action);
    for (const attachment of message.attachments ?? []) {
      const card = (
        typeof attachment.content === 'object' && attachment.content !== null ? attachment.content : {}
      ) as CardContent & { tap?: CardAction };
      for (const action of card.buttons ?? []) add(action);
      add(card.tap);
    }
  }
  return found;
}
