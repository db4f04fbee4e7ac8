import type { SessionStateRecord } from './schema';
import type { DialogState, EndReason, SessionInfo } from './types';

/** What a session amounted to, carried by every `sessionEnd` event (for analytics). */
export interface SessionSummary {
  /** The session's id. */
  readonly id: string;
  /** The channel of the session's address. */
  readonly channel: string;
  /** When it started (ms since the epoch). */
  readonly startedAt: number;
  /** When it ended: for `timeout`, the moment its idle time ran out (also when a lazy close noticed it later). */
  readonly endedAt: number;
  /** `endedAt - startedAt`. */
  readonly durationMs: number;
  /** Turns handled (messages and events). */
  readonly turns: number;
  /** Messages from the user (`type: 'message'`). */
  readonly userMessages: number;
  /** Messages the bot sent in the session (typing indicators not counted). */
  readonly botMessages: number;
  /** Why it ended. */
  readonly reason: EndReason;
  /** False for a bot-initiated session the user never answered. */
  readonly interactive: boolean;
  /** True when a message was flagged as the bot developer's own. */
  readonly developer: boolean;
  /** The dialog the user was in last: the one on top of the stack, else the one before it. */
  readonly lastDialog: DialogState | undefined;
}

/** What `manager.stats()` returns: counters this process keeps as it goes (no store scan). */
export interface ManagerStats {
  /**
   * Sessions started minus sessions ended, as this process saw them: exact with an in-process store, per process on a
   * shared one; with the lazy policy a session counts as live until its end is noticed.
   */
  readonly liveSessions: number;
  /** Turns per second over the last 10 seconds (or since the manager was created, if that is shorter). */
  readonly turnsPerSecond: number;
  /** Sessions ended by this process, by reason. */
  readonly endsByReason: Record<EndReason, number>;
  /** Turns this process has saved. */
  readonly turns: number;
}

/** The summary of a session that ends for `reason` at `now`. */
export function summarize(
  info: SessionInfo,
  state: SessionStateRecord,
  reason: EndReason,
  now: number,
): SessionSummary {
  const endedAt = reason === 'timeout' ? Math.min(now, info.lastActiveAt + info.timeout) : now;
  return {
    id: info.id,
    channel: info.channel,
    startedAt: info.startedAt,
    endedAt,
    durationMs: Math.max(0, endedAt - info.startedAt),
    turns: info.turnCount,
    userMessages: state.msgs?.[0] ?? 0,
    botMessages: state.msgs?.[1] ?? 0,
    reason,
    interactive: info.interactive,
    developer: info.developer,
    lastDialog: info.currentDialogState ?? info.previousDialogState,
  };
}

const WINDOW = 10;

/** The counters behind `manager.stats()`: a few integers and a ring of one-second buckets; O(1) per turn. */
export class StatsCounter {
  private turns = 0;
  private started = 0;
  private ended = 0;
  private readonly ends: Record<EndReason, number> = {
    timeout: 0,
    endSession: 0,
    newSession: 0,
    refresh: 0,
    evicted: 0,
    shutdown: 0,
  };
  private readonly seconds = new Array<number>(WINDOW).fill(-1);
  private readonly counts = new Array<number>(WINDOW).fill(0);
  private readonly createdAt = Date.now();

  /** A turn was saved at `now`. */
  turn(now: number): void {
    this.turns++;
    const second = Math.floor(now / 1000);
    const slot = second % WINDOW;
    if (this.seconds[slot] !== second) {
      this.seconds[slot] = second;
      this.counts[slot] = 0;
    }
    this.counts[slot]!++;
  }

  /** A session start was saved. */
  readonly start = (): void => {
    this.started++;
  };

  /** A session end was saved. */
  end(reason: EndReason): void {
    this.ended++;
    this.ends[reason]++;
  }

  snapshot(now: number): ManagerStats {
    const second = Math.floor(now / 1000);
    let recent = 0;
    for (let i = 0; i < WINDOW; i++) if (this.seconds[i]! > second - WINDOW) recent += this.counts[i]!;
    const span = Math.min(WINDOW, Math.max(1, (now - this.createdAt) / 1000));
    return {
      liveSessions: Math.max(0, this.started - this.ended),
      turnsPerSecond: recent / span,
      endsByReason: { ...this.ends },
      turns: this.turns,
    };
  }
}
