// How RedisStore reads Redis's answers: records, busy leases, and which failures may still have run.
import { PalaverError } from '../errors';
import type { OpenResult, StoredRecord } from './store';

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Errors of calls that never reached Redis (the store closed, or the connection not up yet). */
const NEVER_SENT = new WeakSet<object>();

export function notSent<T>(error: T): T {
  if (typeof error === 'object' && error !== null) NEVER_SENT.add(error);
  return error;
}

/** Answers of a cluster in motion to a command that did not run: worth sending again in a moment. */
export const CLUSTER_MOVING = /^(TRYAGAIN|CLUSTERDOWN|The client is offline|Cannot find node)/;

/** node-redis errors that say a command did not run: Redis answered with an error, or the client never sent it. */
const NOT_RUN = new Set(['ErrorReply', 'SimpleError', 'BlobError', 'ClientOfflineError', 'ClientClosedError']);

/**
 * Whether a failed call may still have run on Redis: it timed out, or the connection dropped after it was sent. Not
 * when Redis answered with an error, or when the client refused to send it (offline, closed).
 */
export function mayHaveRun(error: unknown): boolean {
  if (NEVER_SENT.has(error as object)) return false;
  const cause = error instanceof PalaverError ? error.cause : error;
  if (cause === undefined) return true; // our own timeout: the script may be running or done
  const kind = (cause as object | null)?.constructor?.name ?? '';
  if (NOT_RUN.has(kind)) return false;
  return !/^(The client is (offline|closed)|(ERR|NOSCRIPT|LOADING|READONLY|BUSY|MASTERDOWN|NOPERM|WRONGTYPE|OOM)\b)/.test(
    messageOf(cause),
  );
}

export function outcomeUnknown(error: unknown, doing: string): PalaverError {
  return new PalaverError(
    'COMMIT_UNKNOWN',
    `Redis took no answer back while ${doing} (${messageOf(error)}): the commit may or may not have been applied. ` +
      'Its replies were not sent; the next turn reads what is stored.',
    { cause: error },
  );
}

/**
 * A record as the scripts store it: `<version> <generation> <turn> <x> <claim version> <claim deadline>`, a newline,
 * then the data. `null`: no record.
 * @throws PalaverError `STORE_UNAVAILABLE` for a value that is not a palaver record (the key was written by something
 * else), rather than read as an absent record and overwritten.
 */
export function toRecord(value: unknown, key: string): StoredRecord | undefined {
  if (value == null) return undefined;
  const text = String(value);
  const end = text.indexOf('\n');
  const first = text.indexOf(' ');
  const second = text.indexOf(' ', first + 1);
  const version = Number(text.slice(0, first));
  const generation = Number(text.slice(first + 1, second));
  if (
    end < 0 ||
    first < 1 ||
    second < 0 ||
    second > end ||
    !Number.isSafeInteger(version) ||
    !Number.isSafeInteger(generation)
  )
    throw new PalaverError(
      'STORE_UNAVAILABLE',
      `The Redis key of "${key}" holds a value that is not a palaver record (it starts ${JSON.stringify(text.slice(0, 40))}): ` +
        "something else wrote to the store's prefix. Give palaver a prefix of its own.",
    );
  return { data: text.slice(end + 1), version, generation };
}

/** OPEN's reply as records (or the lease's holder when it is busy). */
export function opened(reply: unknown[], keys: readonly string[]): OpenResult {
  if (reply[0] === 'busy') return busy(reply);
  const records: (StoredRecord | undefined)[] = [];
  for (let i = 1; i < reply.length; i++) records.push(toRecord(reply[i], keys[i - 1]!));
  return { records };
}

export function busy(reply: readonly unknown[]): OpenResult {
  return { records: [], busy: { holder: String(reply[1]), ttlMs: Math.max(0, Number(reply[2])) } };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref?.());
}

/** A commit call and what it needs to be sent again. */
interface CommitCall {
  readonly call: (keys: string[], args: string[]) => Promise<unknown>;
  readonly keys: string[];
  readonly args: string[];
  readonly turnId: string;
  readonly doing: string;
  readonly timeout: number;
}

/**
 * Runs a commit script; a call that failed without an answer is sent again (with a turn id, the script recognizes its
 * own earlier write) up to twice within `timeout` ms. A failure that may have been applied is COMMIT_UNKNOWN.
 */
export function commitWithRetries(
  call: (keys: string[], args: string[]) => Promise<unknown>,
  keys: string[],
  args: string[],
  turnId: string,
  doing: string,
  timeout: number,
): Promise<unknown[]> {
  // The first attempt answered is the common case: no async frame is kept for it while the call is in flight.
  const started = Date.now();
  return (call(keys, args) as Promise<unknown[]>).then(undefined, (error: unknown) =>
    retryCommit({ call, keys, args, turnId, doing, timeout }, started, error),
  );
}

async function retryCommit(commit: CommitCall, started: number, first: unknown): Promise<unknown[]> {
  const { call, keys, args, turnId, doing, timeout } = commit;
  let unknown = false;
  let failure = first;
  for (let attempt = 0; ; attempt++) {
    // The commit may have been applied with its reply lost. With a turn id a retry is safe: the script recognizes
    // its own earlier write. Without one, a retry could apply it twice, so the failure goes up.
    unknown ||= mayHaveRun(failure);
    if (turnId === '' || attempt >= 2 || Date.now() - started >= timeout) {
      throw unknown ? outcomeUnknown(failure, doing) : failure;
    }
    await sleep(25 * 4 ** attempt);
    let reply: unknown[];
    try {
      reply = (await call(keys, args)) as unknown[];
    } catch (error) {
      failure = error;
      continue;
    }
    // An earlier attempt may have been applied (and given the lease up), then overwritten by another process before
    // this retry: its conflict says nothing about whether this commit happened.
    if (reply[0] !== 'ok' && unknown) {
      throw outcomeUnknown(new Error(`the retry found the record changed (${String(reply[0])})`), doing);
    }
    return reply;
  }
}
