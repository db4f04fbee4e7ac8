'use strict';
// A counting TCP proxy in front of Redis. It forwards bytes unchanged both ways and reads the RESP protocol on the
// way through: the commands every client sends (by name) and the replies Redis sends back, so that it can count
// round trips whatever the client library: a round trip starts when a command leaves while no command of any
// connection is waiting for its reply, and lasts until every reply is in. Commands written together (a pipeline,
// a MULTI block, several calls in one tick) or in flight at once on several connections share one round trip;
// a command sent after the previous reply came back starts a new one.
const net = require('node:net');

const CR = 13;

/**
 * Parses one RESP value (RESP2 or RESP3) of `buf` at `pos`. Returns `{ end, kind, name }` or `undefined` when the
 * value is not complete yet. `kind`: 'push' and 'attribute' are not replies to a command; `name` is the first
 * element of an array (a command's name), upper-cased.
 */
function parseValue(buf, pos, wantName) {
  if (pos >= buf.length) return undefined;
  const type = buf[pos];
  const eol = buf.indexOf(CR, pos + 1);
  if (eol === -1 || eol + 1 >= buf.length) return undefined;
  const line = buf.toString('latin1', pos + 1, eol);
  const after = eol + 2;
  switch (String.fromCharCode(type)) {
    case '+':
    case '-':
    case ':':
    case '_':
    case ',':
    case '#':
    case '(':
      return { end: after, kind: 'simple' };
    case '$':
    case '!':
    case '=': {
      const len = Number(line);
      if (len < 0) return { end: after, kind: 'bulk' };
      if (after + len + 2 > buf.length) return undefined;
      return {
        end: after + len + 2,
        kind: 'bulk',
        text: wantName ? buf.toString('latin1', after, after + len) : undefined,
      };
    }
    case '*':
    case '~':
    case '>':
    case '%':
    case '|': {
      const count = Number(line);
      const elements = count < 0 ? 0 : type === 0x25 /* % */ || type === 0x7c /* | */ ? 2 * count : count;
      let at = after;
      let name;
      for (let k = 0; k < elements; k++) {
        const element = parseValue(buf, at, wantName && k === 0);
        if (element === undefined) return undefined;
        if (k === 0 && element.text !== undefined) name = element.text.toUpperCase();
        at = element.end;
      }
      return { end: at, kind: type === 0x3e /* > */ ? 'push' : type === 0x7c ? 'attribute' : 'aggregate', name };
    }
    default: {
      // An inline command (`PING\r\n`), as redis-cli or a hand-written probe sends it.
      return {
        end: after,
        kind: 'inline',
        name: buf.toString('latin1', pos, eol).trim().split(/\s+/)[0].toUpperCase(),
      };
    }
  }
}

/** Reads complete values out of a byte stream that arrives in chunks. */
class RespReader {
  constructor(onValue, wantName) {
    this.onValue = onValue;
    this.wantName = wantName;
    this.pending = Buffer.alloc(0);
  }
  push(chunk) {
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let pos = 0;
    for (;;) {
      const value = parseValue(buf, pos, this.wantName);
      if (value === undefined) break;
      this.onValue(value);
      pos = value.end;
    }
    this.pending = pos === buf.length ? Buffer.alloc(0) : buf.subarray(pos);
  }
}

/**
 * Starts a proxy on a free loopback port in front of `target` ({ host, port }). Resolves to
 * `{ url, port, snapshot(), close() }`; `snapshot()` returns the counters so far (take two and subtract).
 */
function startCountingProxy(target) {
  const counts = { commands: 0, replies: 0, roundTrips: 0, byName: Object.create(null) };
  let waiting = 0; // commands sent, all connections, whose replies have not come back
  const sockets = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    const requests = new RespReader((value) => {
      if (value.kind === 'attribute') return;
      if (waiting === 0) counts.roundTrips++;
      waiting++;
      counts.commands++;
      const name = value.name ?? '?';
      counts.byName[name] = (counts.byName[name] ?? 0) + 1;
    }, true);
    const replies = new RespReader((value) => {
      if (value.kind === 'push' || value.kind === 'attribute') return;
      counts.replies++;
      if (waiting > 0) waiting--;
    }, false);
    client.on('data', (chunk) => {
      requests.push(chunk);
      upstream.write(chunk);
    });
    upstream.on('data', (chunk) => {
      replies.push(chunk);
      client.write(chunk);
    });
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('close', end).on('error', end);
    upstream.on('close', end).on('error', end);
  });
  return new Promise((resolve, reject) => {
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      resolve({
        url: `redis://127.0.0.1:${port}`,
        port,
        snapshot: () => ({
          commands: counts.commands,
          replies: counts.replies,
          roundTrips: counts.roundTrips,
          byName: { ...counts.byName },
        }),
        close: () =>
          new Promise((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}

module.exports = { startCountingProxy, parseValue };
