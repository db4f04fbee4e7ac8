// The recognition of one message turn: what the recognizers that ran before the turn found, completed inside it by
// those that need the session (once per attempt, with the session the message lands in), and recognized afresh when
// `newSession({ message })` hands the turn another message. Built only when a recognizer is registered.
import type { EarlyRecognition, Recognizers } from '../recognizers';
import type { SessionStateRecord } from '../schema';
import { isThenable, type IncomingMessage } from '../types';
import type { Unit } from './turns';

/** A session as recognizers see it, and the state the turn writes the detected language to. */
interface Found {
  readonly session: unknown;
  readonly state: SessionStateRecord;
}

export class TurnRecognition {
  /** The recognizers that need the session have run (or none are left to run). */
  #done: boolean;

  constructor(
    private readonly recognizers: Recognizers,
    private readonly unit: Unit,
    private readonly message: IncomingMessage,
    private readonly early: EarlyRecognition | undefined,
  ) {
    this.#done = !recognizers.needsSession(early);
    if (this.#done) unit.nlp = recognizers.finish(early, message, undefined) as Unit['nlp'];
  }

  /**
   * Completes the recognition with `session` (the recognizers that need it run now, unless they already ran in this
   * attempt); `undefined` when nothing is left to wait for.
   */
  complete(session: unknown): Promise<void> | undefined {
    if (this.#done) return undefined;
    this.#done = true;
    const nlp = this.recognizers.finish(this.early, this.message, session);
    if (!isThenable(nlp)) {
      this.unit.nlp = nlp;
      return undefined;
    }
    return nlp.then((value) => void (this.unit.nlp = value));
  }

  /**
   * Before the dialogs run on `current` in `turn`: the recognition completed with its session (all of it again for a
   * message `newSession` handed over), and the language it detected marked on the session.
   */
  async inTurn(turn: Found, current: IncomingMessage): Promise<void> {
    if (current !== this.message) {
      const early = this.recognizers.begin(current);
      const again = this.recognizers.finish(isThenable(early) ? await early : early, current, turn.session);
      this.unit.nlp = isThenable(again) ? await again : again;
    } else {
      const completing = this.complete(turn.session);
      if (completing !== undefined) await completing;
    }
    const language = this.unit.nlp?.language;
    if (language !== undefined) turn.state.preferredLanguage = language;
  }
}

/** The recognition of a message turn, or `undefined` (no cost) when no recognizer is registered. */
export function recognitionOf(
  recognizers: Recognizers,
  unit: Unit,
  message: IncomingMessage,
  early: EarlyRecognition | undefined,
): TurnRecognition | undefined {
  return recognizers.active ? new TurnRecognition(recognizers, unit, message, early) : undefined;
}
