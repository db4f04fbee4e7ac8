// One bot process of the multi-process Redis tests: a SessionManager on a RedisStore, driven over IPC by the test
// (test/redis/cluster.ts bundles this file and forks it). It reports what it does: replies, hooks, claims, refusals.
import { SessionManager } from '../../src/manager';
import type { CommitOptions, CommitWrite } from '../../src/stores/store';
import { RedisStore } from '../../src/stores/redis';

export interface WorkerConfig {
  name: string;
  url: string;
  /** Redis Cluster: the URLs of its nodes (then `url` is not used). */
  cluster?: string[];
  prefix: string;
  timeout?: number;
  sweepInterval?: number;
  leaseTtl?: number;
  leaseWait?: number;
  claimTimeout?: number;
  commandTimeout?: number;
  tombstoneTtl?: number;
  maxCommitRetries?: number;
  /** onSessionEnd never returns (the test kills the process while it hangs). */
  hangInEndHook?: boolean;
}

/** What one message asks the bot to do (its text is this, as JSON). */
export interface Command {
  id: number;
  /** Logged in the session's state, to check the order in which turns were applied. */
  seq?: number;
  /** ms of work inside every attempt of the turn. */
  work?: number;
  /** ms of pause inside the first attempt only, announced with an `inside` event (the test may SIGSTOP then). */
  pause?: number;
  /** The conversation (shared by its users) the message comes from, instead of the user's own; its conversationData counts turns. */
  group?: string;
}

export type ToWorker =
  { t: 'setup'; config: WorkerConfig } | { t: 'recv'; id: number; user: string; command: Command } | { t: 'close' };

export type FromWorker =
  | { t: 'ready'; pid: number }
  | { t: 'done'; id: number; ok: boolean; code?: string; ms: number }
  | { t: 'deliver'; user: string; texts: string[] }
  | { t: 'hook'; key: string; sid: string; reason: string; lag: number; turns: number }
  | { t: 'ended'; key: string; sid: string; reason: string }
  | { t: 'started'; key: string; sid: string }
  | { t: 'claim'; key: string; generation: number; version: number }
  | { t: 'rejected'; key: string; reason: string }
  | { t: 'span'; user: string; seq: number | undefined; start: number; end: number; attempt: number }
  | { t: 'inside'; user: string; id: number }
  | { t: 'error'; code: string; message: string }
  | { t: 'closed' };

function send(message: FromWorker): void {
  if (process.connected) process.send?.(message);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The store, reporting its claims and refused commits to the test. */
class ObservedStore extends RedisStore {
  override async claimDue(limit: number, now?: number) {
    const claims = await super.claimDue(limit, now);
    for (const claim of claims)
      send({ t: 'claim', key: claim.key, generation: claim.generation, version: claim.version });
    return claims;
  }

  override async commit(writes: readonly CommitWrite[], options?: CommitOptions) {
    const result = await super.commit(writes, options);
    if (!result.ok) send({ t: 'rejected', key: result.key, reason: result.reason });
    return result;
  }
}

type Data = { n?: number; log?: [number, string][] };
let bot: SessionManager<{}, {}, { n?: number }, Data> | undefined;
const attempts = new Map<number, number>();

function setup(config: WorkerConfig): void {
  const store = new ObservedStore({
    ...(config.cluster === undefined ? { url: config.url } : { cluster: config.cluster }),
    prefix: config.prefix,
    ...(config.claimTimeout === undefined ? {} : { claimTimeout: config.claimTimeout }),
    ...(config.commandTimeout === undefined ? {} : { commandTimeout: config.commandTimeout }),
    ...(config.tombstoneTtl === undefined ? {} : { tombstoneTtl: config.tombstoneTtl }),
  });
  const manager = new SessionManager<{}, {}, { n?: number }, Data>({
    store,
    autoBatchDelay: 0,
    timeout: config.timeout ?? 60_000,
    sweepInterval: config.sweepInterval ?? 200,
    leaseTtl: config.leaseTtl ?? 5_000,
    leaseWait: config.leaseWait ?? 20_000,
    maxCommitRetries: config.maxCommitRetries ?? 5,
    deliver: (address, messages) =>
      send({ t: 'deliver', user: address.user.id, texts: messages.map((m) => m.text ?? '') }),
    onSessionEnd: async (session, reason) => {
      const info = session.info;
      send({
        t: 'hook',
        key: info.key,
        sid: info.id,
        reason,
        lag: Date.now() - (info.lastActiveAt + info.timeout),
        turns: info.turnCount,
      });
      if (config.hangInEndHook) await new Promise(() => undefined);
    },
  });
  manager.on('error', (error) => send({ t: 'error', code: error.code, message: error.message }));
  manager.on('sessionStart', ({ session }) => send({ t: 'started', key: session.key, sid: session.id }));
  manager.on('sessionEnd', ({ session, reason }) => send({ t: 'ended', key: session.key, sid: session.id, reason }));
  manager.dialog('/', async (session) => {
    const command = JSON.parse(session.message?.text ?? '{}') as Command;
    const user = session.address.user.id;
    const attempt = (attempts.get(command.id) ?? 0) + 1;
    attempts.set(command.id, attempt);
    const start = Date.now();
    const data = session.privateConversationData;
    data.n = (data.n ?? 0) + 1;
    if (command.group !== undefined) session.conversationData.n = (session.conversationData.n ?? 0) + 1;
    if (command.seq !== undefined) data.log = [...(data.log ?? []), [command.seq, config.name]];
    if (command.pause !== undefined && attempt === 1) {
      send({ t: 'inside', user, id: command.id });
      await sleep(command.pause);
    }
    if (command.work !== undefined) await sleep(command.work);
    session.send(`${config.name}:${user}:${data.n}`);
    send({ t: 'span', user, seq: command.seq, start, end: Date.now(), attempt });
  });
  bot = manager;
  send({ t: 'ready', pid: process.pid });
}

process.on('message', (message: ToWorker) => {
  if (message.t === 'setup') return setup(message.config);
  if (message.t === 'close') {
    void (bot?.close() ?? Promise.resolve()).finally(() => {
      send({ t: 'closed' });
      process.disconnect?.();
    });
    return;
  }
  const started = Date.now();
  const conversation = message.command.group ?? message.user;
  const address = { channelId: 't', user: { id: message.user }, conversation: { id: conversation } };
  bot!.receive({ address, text: JSON.stringify(message.command) }).then(
    () => send({ t: 'done', id: message.id, ok: true, ms: Date.now() - started }),
    (error: { code?: string }) =>
      send({ t: 'done', id: message.id, ok: false, code: error.code ?? 'UNKNOWN', ms: Date.now() - started }),
  );
});

process.on('disconnect', () => process.exit(0));
