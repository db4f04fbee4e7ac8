'use strict';
// Counts the calls a storage adapter makes into its Redis client: every method call that returns a promise (one
// command, a script, a MULTI's exec()), by method name. A call that only builds something (multi(), a pipeline)
// is not counted; the exec() that sends it is.

/** Wraps `client` so that its calls are counted in `counts` ({ calls, byName }). Everything else passes through. */
function countCalls(client, counts = { calls: 0, byName: Object.create(null) }) {
  const wrap = (target, prefix) => {
    const proxy = new Proxy(target, {
      get(object, property) {
        const value = Reflect.get(object, property, object);
        if (typeof value !== 'function' || typeof property !== 'string') return value;
        return function counted(...args) {
          const result = value.apply(object, args);
          if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
            counts.calls++;
            const name = prefix + property;
            counts.byName[name] = (counts.byName[name] ?? 0) + 1;
            return result;
          }
          // A builder's chained calls (multi().set().get()) go on through the wrapper...
          if (result === object) return proxy;
          if (result === null || typeof result !== 'object') return result;
          // ...multi() / pipeline() are wrapped, so that the exec() that sends the batch is counted...
          if (typeof result.exec === 'function') return wrap(result, `${property}.`);
          // ...and so is a client the client hands out (duplicate(), withCommandOptions(), ...): its calls count too.
          if (typeof result.sendCommand === 'function') return wrap(result, prefix);
          return result;
        };
      },
    });
    return proxy;
  };
  return { client: wrap(client, ''), counts };
}

module.exports = { countCalls };
