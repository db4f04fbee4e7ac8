'use strict';
// The one conversation every driver implements, and the checks every run passes before it reports a figure.
//
//   user: hi           bot: What's your name?      (a dialog begins; a text prompt asks)
//   user: Name<i>      bot: Hello Name<i>!         (the dialog ends; the name goes into per-user data)
//   ...and again.

const QUESTION = "What's your name?";

/** The user at index `i`: its name and what it says on turn `t` (0-based). */
function nameOf(i) {
  return `Name${i}`;
}
function textOf(i, t) {
  return t % 2 === 0 ? 'hi' : nameOf(i);
}
/** The reply the bot owes user `i` for turn `t`. */
function expectedReply(i, t) {
  return t % 2 === 0 ? QUESTION : `Hello ${nameOf(i)}!`;
}

/**
 * Replies as they reach each user. `last[i]` is the latest reply text of user `i`, `count` every reply seen.
 * Drivers call `record(i, text)` from their delivery hook (a connector, an adapter, an API transformer, `deliver`).
 */
class Replies {
  constructor(users) {
    this.last = new Array(users).fill(undefined);
    this.count = 0;
    this.unknown = 0;
  }
  record(i, text) {
    if (!(i >= 0 && i < this.last.length)) {
      this.unknown++;
      return;
    }
    this.last[i] = text;
    this.count++;
  }
}

module.exports = { QUESTION, nameOf, textOf, expectedReply, Replies };
