// The shared data scopes (userData, conversationData) of a unit of work, decoded when a session first uses them.
import type { StoredRecord } from '../stores/store';
import type { DataScopes } from '../turn-context';
import type { JsonObject } from '../types';

/** What decodes a data record the unit of work read (`Records`): `key` names the session in a report. */
export interface BagReader {
  decodeBag(record: StoredRecord | undefined, key: string): JsonObject;
}

/**
 * `userData` and `conversationData` of the sessions of one unit of work. Each is parsed from the record the unit of work
 * read the first time a session reads or sets it, so a turn that never touches one neither parses nor writes it. That
 * is safe because a scope no session handed out cannot have changed: no object of it exists to mutate, now or later
 * (a later read after the turn decodes a copy of its own), so its record is left exactly as it was read.
 */
export class Bags implements DataScopes {
  #user: JsonObject | undefined;
  #userUsed = false;
  #conversation: JsonObject | undefined;
  #conversationUsed = false;

  constructor(
    private readonly reader: BagReader | undefined,
    private readonly key: string,
    private readonly userRecord: StoredRecord | undefined,
    private readonly conversationRecord: StoredRecord | undefined,
  ) {}

  /** Scopes that start as `userData` and `conversationData` (already used: the commit writes them if they differ). */
  static of(userData: JsonObject, conversationData: JsonObject): Bags {
    const bags = new Bags(undefined, '', undefined, undefined);
    bags.userData = userData;
    bags.conversationData = conversationData;
    return bags;
  }

  get userData(): JsonObject {
    if (!this.#userUsed) this.userData = this.#read(this.userRecord);
    return this.#user!;
  }
  set userData(value: JsonObject) {
    this.#user = value;
    this.#userUsed = true;
  }

  get conversationData(): JsonObject {
    if (!this.#conversationUsed) this.conversationData = this.#read(this.conversationRecord);
    return this.#conversation!;
  }
  set conversationData(value: JsonObject) {
    this.#conversation = value;
    this.#conversationUsed = true;
  }

  /**
   * Decodes both scopes and marks them used, so that the commit writes them back as read: for a rollback, where a
   * checkpoint of the unit of work may have stored other values since.
   */
  restored(): this {
    if (!this.#userUsed) this.userData = this.#read(this.userRecord);
    if (!this.#conversationUsed) this.conversationData = this.#read(this.conversationRecord);
    return this;
  }

  /** `userData` as a session left it, or `undefined` when no session used it (then it is the record as read). */
  get changedUserData(): JsonObject | undefined {
    return this.#userUsed ? (this.#user ?? {}) : undefined;
  }

  /** `conversationData` as a session left it, or `undefined` when no session used it. */
  get changedConversationData(): JsonObject | undefined {
    return this.#conversationUsed ? (this.#conversation ?? {}) : undefined;
  }

  /**
   * The scopes for the next session of the unit of work, as this one left them (replaced objects included), without
   * decoding what no session used; a later assignment through the ended session does not reach them.
   */
  carry(): Bags {
    const next = new Bags(this.reader, this.key, this.userRecord, this.conversationRecord);
    if (this.#userUsed) next.userData = this.#user!;
    if (this.#conversationUsed) next.conversationData = this.#conversation!;
    return next;
  }

  #read(record: StoredRecord | undefined): JsonObject {
    return this.reader === undefined || record === undefined ? {} : this.reader.decodeBag(record, this.key);
  }
}
