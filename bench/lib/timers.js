'use strict';
// Counts live timers, unref'ed ones included (process.getActiveResourcesInfo() lists only those that keep the
// process alive, and palaver unrefs its timers). Installed before the library loads; palaver reads
// globalThis.setTimeout when it arms a timer, so every timer it makes is seen here.

function installTimerCounter() {
  const live = new Set();
  const {
    setTimeout: realSetTimeout,
    clearTimeout: realClearTimeout,
    setInterval: realSetInterval,
    clearInterval: realClearInterval,
  } = globalThis;
  globalThis.setTimeout = function setTimeout(callback, ms, ...args) {
    const timer = realSetTimeout(
      (...a) => {
        live.delete(timer);
        return callback(...a);
      },
      ms,
      ...args,
    );
    live.add(timer);
    return timer;
  };
  globalThis.clearTimeout = function clearTimeout(timer) {
    live.delete(timer);
    return realClearTimeout(timer);
  };
  globalThis.setInterval = function setInterval(callback, ms, ...args) {
    const timer = realSetInterval(callback, ms, ...args);
    live.add(timer);
    return timer;
  };
  globalThis.clearInterval = function clearInterval(timer) {
    live.delete(timer);
    return realClearInterval(timer);
  };
  return {
    /** Timers armed and neither fired nor cleared, ref'ed or not. */
    get live() {
      return live.size;
    },
    /** Timers that keep the event loop alive (Node's own count). */
    get refed() {
      return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    },
  };
}

module.exports = { installTimerCounter };
