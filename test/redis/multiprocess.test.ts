// Several real bot processes on one real redis-server: no lost update, no overlapping turns, one end per session,
// crashes, a Redis restart, a paused process, and no leftover keys. Each test prints its figures.
import { createClient } from 'redis';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { RedisStore } from '../../src/redis';
import { Cluster, percentile, sleep, until, Worker, type Done } from './cluster';
import { describeRedis, RedisServer } from './server';
import { decodeState } from '../../src/codec';

let server: RedisServer;
let admin: ReturnType<typeof newClient>;
const running: (Cluster | Worker)[] = [];

function newClient(url: string) {
  return createClient({ url }).on('error', () => undefined);
}

async function start(
  count: number,
  config: Omit<Parameters<typeof Cluster.start>[1], 'url'> & { url?: string },
  names?: string,
): Promise<Cluster> {
  const cluster = await Cluster.start(count, { url: server.url, ...config }, names);
  running.push(cluster);
  return cluster;
}

/** The session record of `user` (the worker's address uses the user id as the conversation id too). */
async function sessionOf(prefix: string, user: string): Promise<{ n?: number; log?: [number, string][] } | undefined> {
  const store = new RedisStore({ url: server.url, prefix });
  const key = `s:t:${user}:${user}`;
  const record = await store.get(key);
  await store.close();
  return record === undefined
    ? undefined
    : (decodeState(record.data, key) as { privateConversationData: { n?: number; log?: [number, string][] } })
        .privateConversationData;
}

async function countKeys(prefix: string): Promise<number> {
  let count = 0;
  for await (const keys of admin.scanIterator({ MATCH: `${prefix}:*`, COUNT: 1000 })) count += keys.length;
  return count;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

describeRedis('several processes on one Redis', () => {
  beforeAll(async () => {
    server = await RedisServer.start();
    admin = newClient(server.url);
    await admin.connect();
  });

  afterEach(async () => {
    await Promise.all(running.splice(0).map((r) => (r instanceof Worker ? r.kill() : r.close())));
  });

  afterAll(async () => {
    admin?.destroy();
    await server?.dispose();
  });

  it('loses no update: 4 processes × 200 users × 25 counter turns, each message to a random process', async () => {
    const cluster = await start(4, { prefix: 'lost' });
    const started = Date.now();
    const dones = (
      await Promise.all(range(200).map((u) => Promise.all(range(25).map(() => cluster.random().receive(`u${u}`)))))
    ).flat();
    const took = Date.now() - started;
    const committed = dones.filter((d) => d.ok).length;
    await until(() => cluster.of('deliver').flatMap((d) => d.texts).length >= committed, 5_000);
    const replies = cluster.of('deliver').flatMap((d) => d.texts.map((text) => text.slice(text.indexOf(':') + 1)));
    const counters = await Promise.all(range(200).map(async (u) => (await sessionOf('lost', `u${u}`))?.n));
    const rejected = cluster.of('rejected').length;
    console.log(
      `[lost updates] ${dones.length} turns in ${took} ms (${Math.round((dones.length / took) * 1000)} turns/s), ${committed} committed, ` +
        `${replies.length} replies (${new Set(replies).size} distinct), ${rejected} commits refused and re-run, ` +
        `p50 ${percentile(
          dones.map((d) => d.ms),
          50,
        )} ms, p99 ${percentile(
          dones.map((d) => d.ms),
          99,
        )} ms; counters at 25: ${counters.filter((n) => n === 25).length}/200`,
    );
    expect(dones.filter((d) => !d.ok)).toEqual([]);
    expect(counters.every((n) => n === 25)).toBe(true);
    expect(replies).toHaveLength(committed);
    expect(new Set(replies).size).toBe(replies.length);
  }, 90_000);

  it('runs 10 messages for one user, sent within 50 ms across 4 processes, one at a time and in arrival order per process', async () => {
    const cluster = await start(4, { prefix: 'order' });
    const targets = [0, 1, 2, 3, 0, 1, 2, 3, 0, 1].sort(() => Math.random() - 0.5);
    const sent: Promise<Done>[] = [];
    const first = Date.now();
    for (const [seq, target] of targets.entries()) {
      sent.push(cluster.workers[target]!.receive('solo', { seq, work: 15 }));
      await sleep(2);
    }
    const window = Date.now() - first;
    const dones = await Promise.all(sent);
    const spans = cluster.of('span').sort((a, b) => a.start - b.start);
    const overlaps = spans.filter((span, i) => i > 0 && span.start < spans[i - 1]!.end).length;
    const log = (await sessionOf('order', 'solo'))?.log ?? [];
    const perProcess = new Map<string, number[]>();
    for (const [seq, name] of log) perProcess.set(name, [...(perProcess.get(name) ?? []), seq]);
    console.log(
      `[ordering] sent within ${window} ms; applied ${log.map(([seq, name]) => `${seq}${name}`).join(' ')}; ` +
        `${spans.length} turn runs, ${overlaps} overlapping; per process ${[...perProcess].map(([name, seqs]) => `${name}:${seqs.join(',')}`).join(' ')}`,
    );
    expect(dones.every((d) => d.ok)).toBe(true);
    expect(overlaps).toBe(0);
    expect(log.map(([seq]) => seq).sort((a, b) => a - b)).toEqual(range(10));
    expect([...perProcess.values()].every((seqs) => seqs.every((seq, i) => i === 0 || seq > seqs[i - 1]!))).toBe(true);
  }, 30_000);

  it('ends each of 1,000 sessions exactly once across 5 processes (2 s timeout)', async () => {
    const cluster = await start(5, { prefix: 'expiry', timeout: 2_000, sweepInterval: 200 });
    const dones = await Promise.all(range(1000).map((i) => cluster.random().receive(`e${i}`)));
    const created = Date.now();
    await until(() => cluster.of('ended').length >= 1000, 15_000);
    const allEnded = Date.now();
    await sleep(1_000); // more sweeps in every process: a second end would show up now
    const hooks = cluster.of('hook');
    const ended = cluster.of('ended');
    const lags = hooks.map((h) => h.lag);
    console.log(
      `[expiry] ${dones.filter((d) => d.ok).length} sessions started; ${hooks.length} onSessionEnd calls (${new Set(hooks.map((h) => h.sid)).size} distinct sessions), ` +
        `${ended.length} sessionEnd events, all ended ${allEnded - created} ms after the last start; lag after the deadline ` +
        `p50 ${percentile(lags, 50)} ms, p99 ${percentile(lags, 99)} ms, max ${Math.max(...lags)} ms; ends per process ` +
        cluster.workers.map((w) => `${w.name}:${w.of('hook').length}`).join(' '),
    );
    expect(dones.every((d) => d.ok)).toBe(true);
    expect(hooks).toHaveLength(1000);
    expect(new Set(hooks.map((h) => h.sid)).size).toBe(1000);
    expect(hooks.every((h) => h.reason === 'timeout')).toBe(true);
  }, 40_000);

  it('lets a message that races the expiry either continue the session or end it once and start anew, never both', async () => {
    const cluster = await start(4, { prefix: 'race', timeout: 1_000, sweepInterval: 100 });
    // Each user writes once, then again when the session is due (±50 ms, counted from when the first message was sent).
    const raced = await Promise.all(
      range(100).map(async (i) => {
        const sentAt = Date.now();
        await cluster.random().receive(`r${i}`);
        await sleep(sentAt + 1_000 + ((i % 11) - 5) * 10 - Date.now());
        return cluster.random().receive(`r${i}`);
      }),
    );
    const firstSids = new Map<string, string>();
    for (const started of cluster.of('started').sort((a, b) => a.at - b.at))
      if (!firstSids.has(started.key)) firstSids.set(started.key, started.sid);
    await sleep(2_000); // the sessions that continued time out as well (their end comes after 2 turns)
    const replies = new Map<string, string>();
    for (const [, user, n] of cluster
      .of('deliver')
      .flatMap((d) => d.texts)
      .map((t) => t.split(':')))
      if (n! > (replies.get(user!) ?? '')) replies.set(user!, n!);
    const hooks = cluster.of('hook');
    let continued = 0;
    let restarted = 0;
    const broken: string[] = [];
    for (const i of range(100)) {
      const key = `s:t:r${i}:r${i}`;
      const sid = firstSids.get(key);
      const endsOfFirst = hooks.filter((h) => h.sid === sid);
      const endedBeforeTheMessage = endsOfFirst.filter((h) => h.turns === 1).length;
      const n = replies.get(`r${i}`);
      if (n === '2' && endedBeforeTheMessage === 0 && endsOfFirst.length === 1) continued++;
      else if (n === '1' && endsOfFirst.length === 1 && endedBeforeTheMessage === 1) restarted++;
      else broken.push(`${key}: reply n=${n}, ends of the first session ${endsOfFirst.map((h) => h.turns).join(',')}`);
    }
    console.log(
      `[expiry race] 100 messages at the deadline ±50 ms: ${continued} continued the session, ${restarted} ended it once and started anew, ${broken.length} broken ${broken.slice(0, 3).join('; ')}`,
    );
    expect(raced.every((d) => d.ok)).toBe(true);
    expect(broken).toEqual([]);
    expect(continued + restarted).toBe(100);
  }, 30_000);

  it('still ends every session when the process running onSessionEnd is killed with SIGKILL', async () => {
    const config = {
      url: server.url,
      prefix: 'crash',
      timeout: 1_000,
      sweepInterval: 100,
      claimTimeout: 1_500,
      leaseTtl: 1_000,
    };
    const victim = await Worker.start({ ...config, name: 'V', hangInEndHook: true });
    running.push(victim);
    await Promise.all(range(100).map((i) => victim.receive(`k${i}`)));
    // Its first sweep claims what is due then and hangs in those hooks (which also holds up its later sweeps).
    const hanging = await until(() => victim.of('hook').length > 0, 10_000);
    await sleep(300);
    const victimClaims = new Map(victim.of('claim').map((c) => [c.key, c.generation]));
    await victim.kill();
    const killedAt = Date.now();
    const healthy = await start(3, { ...config }, 'XYZ');
    await until(() => healthy.of('ended').length >= 100, 10_000);
    const recoveredIn = Date.now() - killedAt;
    await sleep(500);
    const ended = healthy.of('ended');
    const again = healthy.of('claim').filter((c) => victimClaims.has(c.key));
    const sameGeneration = again.filter((c) => victimClaims.get(c.key) === c.generation).length;
    const stuck = (await Promise.all(range(100).map((i) => sessionOf('crash', `k${i}`)))).filter(
      (s) => s !== undefined,
    ).length;
    const [claims, deadlines] = await Promise.all([admin.zCard('crash:claims'), admin.zCard('crash:deadlines')]);
    const victimSids = new Set(victim.of('hook').map((h) => h.sid));
    console.log(
      `[crash in onSessionEnd] ${victim.of('hook').length} hooks hung in the killed process; the others ended ${ended.length} sessions ` +
        `(${new Set(ended.map((e) => e.sid)).size} distinct, ${ended.filter((e) => victimSids.has(e.sid)).length} of the killed process's) within ${recoveredIn} ms; ` +
        `${again.length} re-claims, ${sameGeneration} with the same generation; left stuck: ${stuck} sessions, ${claims} claims, ${deadlines} deadlines`,
    );
    expect(hanging).toBe(true);
    expect(ended).toHaveLength(100);
    expect(new Set(ended.map((e) => e.sid)).size).toBe(100);
    expect([...victimSids].every((sid) => ended.some((e) => e.sid === sid))).toBe(true);
    expect(again.length).toBe(victimClaims.size);
    expect(sameGeneration).toBe(again.length);
    expect([stuck, claims, deadlines]).toEqual([0, 0, 0]);
  }, 40_000);

  it('survives a Redis restart mid-load: turns fail fast, service resumes, ends due meanwhile fire once after', async () => {
    const aof = await RedisServer.start({ appendonly: true });
    try {
      const cluster = await start(3, {
        url: aof.url,
        prefix: 'outage',
        timeout: 1_500,
        sweepInterval: 200,
        commandTimeout: 300,
        leaseTtl: 2_000,
      });
      await Promise.all(range(50).map((i) => cluster.random().receive(`due${i}`)));
      const results: (Done & { at: number; worker: string })[] = [];
      let stop = false;
      const load = (async () => {
        for (let i = 0; !stop; i++) {
          const at = Date.now();
          const worker = cluster.random();
          void worker.receive(`load${i % 20}`).then((done) => results.push({ ...done, at, worker: worker.name }));
          await sleep(20);
        }
      })();
      await sleep(300);
      const downAt = Date.now();
      await aof.kill();
      await sleep(2_000);
      await aof.restart();
      const upAt = Date.now();
      // Recovered: every process has saved a turn again.
      const recoveredBy = (name: string) => results.find((r) => r.worker === name && r.at > upAt && r.ok);
      await until(() => cluster.workers.every((w) => recoveredBy(w.name) !== undefined), 10_000);
      const recovered = Math.max(...cluster.workers.map((w) => recoveredBy(w.name)!).map((r) => r.at + r.ms));
      await sleep(1_000);
      stop = true;
      await load;
      await sleep(200);
      const isDue = (key: string) => key.startsWith('s:t:due');
      await until(() => cluster.of('ended').filter((e) => isDue(e.key)).length >= 50, 10_000);
      await sleep(600);
      const during = results.filter((r) => r.at > downAt + 50 && r.at + r.ms < upAt);
      const firstOk = Math.min(...results.filter((r) => r.at > upAt && r.ok).map((r) => r.at + r.ms));
      const after = results.filter((r) => r.at > recovered);
      const dueHooks = cluster.of('hook').filter((h) => isDue(h.key));
      const sweepReports = cluster.workers.map(
        (w) => w.of('error').filter((e) => e.message.includes('claiming due sessions')).length,
      );
      console.log(
        `[redis restart] outage ${upAt - downAt} ms; ${during.length} turns during it: ${during.filter((r) => !r.ok).length} failed ` +
          `(${[...new Set(during.map((r) => r.code))].join(', ')}), slowest failure ${Math.max(...during.map((r) => r.ms))} ms; ` +
          `first turn saved ${firstOk - upAt} ms after the restart, every process saving again after ${recovered - upAt} ms; ` +
          `${after.filter((r) => r.ok).length}/${after.length} turns saved after that; ` +
          `${dueHooks.length} ends of the 50 sessions that came due during the outage (${new Set(dueHooks.map((h) => h.sid)).size} distinct), ` +
          `fired ${Math.min(...dueHooks.map((h) => h.at)) - upAt}..${Math.max(...dueHooks.map((h) => h.at)) - upAt} ms after the restart; ` +
          `sweep outage reports per process: ${sweepReports.join(', ')}; processes alive: ${cluster.workers.filter((w) => w.alive).length}/3`,
      );
      expect(cluster.workers.every((w) => w.alive)).toBe(true);
      expect(during.length).toBeGreaterThan(0);
      // Not saved, or (a commit in flight at the kill) not known to be saved: never a silent success.
      expect(during.every((r) => !r.ok && (r.code === 'STORE_UNAVAILABLE' || r.code === 'COMMIT_UNKNOWN'))).toBe(true);
      expect(Math.max(...during.map((r) => r.ms))).toBeLessThan(1_500);
      expect(recovered - upAt).toBeLessThan(5_000);
      expect(after.length).toBeGreaterThan(0);
      expect(after.every((r) => r.ok)).toBe(true);
      expect(dueHooks).toHaveLength(50);
      expect(new Set(dueHooks.map((h) => h.sid)).size).toBe(50);
      expect(dueHooks.every((h) => h.at > upAt)).toBe(true);
      expect(sweepReports).toEqual([1, 1, 1]);
    } finally {
      await Promise.all(running.splice(0).map((r) => (r instanceof Worker ? r.kill() : r.close())));
      await aof.dispose();
    }
  }, 60_000);

  // The library's defaults: a 5 s lease renewed while a turn runs, 10 s claims held while end hooks run.
  const defaults = { sweepInterval: 1_000, leaseTtl: 5_000, leaseWait: 10_000, maxCommitRetries: 3 };

  it('serves every user whose turn was in flight when Redis died within 2 s of its restart, with the default settings', async () => {
    const aof = await RedisServer.start({ appendonly: true });
    try {
      const cluster = await start(3, { url: aof.url, prefix: 'inflight', ...defaults });
      const users = range(30).map((i) => `u${i}`);
      await Promise.all(users.map((user) => cluster.random().receive(user)));
      // Slow turns: every user's lease is held (and some commits are in flight) when Redis dies.
      const inflight = users.map((user) => cluster.random().receive(user, { work: 400 }));
      await sleep(200);
      await aof.kill();
      const outcomes = await Promise.all(inflight);
      await sleep(1_000);
      await aof.restart();
      const upAt = Date.now();
      const savedAfter = await Promise.all(
        users.map(async (user) => {
          while (Date.now() - upAt < 15_000) {
            const done = await cluster.random().receive(user);
            if (done.ok) return Date.now() - upAt;
            await sleep(25);
          }
          return Infinity;
        }),
      );
      const codes = [...new Set(outcomes.filter((o) => !o.ok).map((o) => o.code))];
      console.log(
        `[restart with turns in flight] ${outcomes.filter((o) => !o.ok).length}/30 in-flight turns failed (${codes.join(', ')}); ` +
          `every user saving again within ${Math.max(...savedAfter)} ms of the restart (median ${percentile(savedAfter, 50)} ms)`,
      );
      expect(codes.every((code) => code === 'STORE_UNAVAILABLE' || code === 'COMMIT_UNKNOWN')).toBe(true);
      expect(Math.max(...savedAfter)).toBeLessThan(2_000);
    } finally {
      await Promise.all(running.splice(0).map((r) => (r instanceof Worker ? r.kill() : r.close())));
      await aof.dispose();
    }
  }, 60_000);

  it('serves the users of a SIGKILLed worker from another process within the lease time, with the default settings', async () => {
    const cluster = await start(2, { prefix: 'killed', ...defaults }, 'AB');
    const [victim, other] = cluster.workers as [Worker, Worker];
    const users = range(20).map((i) => `v${i}`);
    await Promise.all(users.map((user) => other.receive(user)));
    // The victim takes every user's lease with a long turn, then dies holding them.
    for (const user of users) void victim.receive(user, { work: 30_000 });
    await sleep(500);
    await victim.kill();
    const killedAt = Date.now();
    const servedIn = await Promise.all(
      users.map(async (user) => {
        const done = await other.receive(user);
        return done.ok ? Date.now() - killedAt : Infinity;
      }),
    );
    console.log(
      `[worker killed] its 20 users served by the other process within ${Math.max(...servedIn)} ms (leaseTtl 5000)`,
    );
    expect(Math.max(...servedIn)).toBeLessThan(5_000 + 1_000);
  }, 40_000);

  it('repeats at most sweepConcurrency end hooks when a process dies in a sweep, with the default settings', async () => {
    const config = { prefix: 'sweepkill', timeout: 1_000, ...defaults };
    const victim = await Worker.start({ ...config, url: server.url, name: 'V', hangInEndHook: true });
    running.push(victim);
    await Promise.all(range(200).map((i) => victim.receive(`s${i}`)));
    await until(() => victim.of('hook').length > 0, 10_000);
    await sleep(500);
    const interrupted = victim.of('hook').length;
    await victim.kill();
    const killedAt = Date.now();
    const healthy = await start(2, config, 'XY');
    await until(() => healthy.of('ended').length >= 200, 30_000);
    const ended = healthy.of('ended');
    console.log(
      `[killed in a sweep] ${interrupted} end hooks were running in the killed process (sweepConcurrency 16); ` +
        `all 200 sessions ended ${Date.now() - killedAt} ms after the kill, ${new Set(ended.map((e) => e.sid)).size} distinct`,
    );
    expect(interrupted).toBeLessThanOrEqual(16);
    expect(new Set(ended.map((e) => e.sid)).size).toBe(200);
  }, 60_000);

  it('refuses the commit of a process paused past its lease, and never sends that attempt’s replies', async () => {
    const cluster = await start(2, { prefix: 'stop', leaseTtl: 600 }, 'AB');
    const [a, b] = cluster.workers as [Worker, Worker];
    expect((await a.receive('p')).ok).toBe(true);
    const paused = a.receive('p', { pause: 1_500 });
    await a.next('inside');
    a.signal('SIGSTOP');
    const stoppedAt = Date.now();
    const fresh = await b.receive('p');
    const bWaited = Date.now() - stoppedAt;
    a.signal('SIGCONT');
    const stale = await paused;
    await until(() => cluster.of('deliver').length >= 3, 5_000);
    const replies = cluster.of('deliver').flatMap((d) => d.texts);
    const refused = a.of('rejected');
    const attempts = a.of('span').map((s) => s.attempt);
    const counter = (await sessionOf('stop', 'p'))?.n;
    console.log(
      `[paused process] B took the lease after ${bWaited} ms; A's stale commit was refused (${refused.map((r) => r.reason).join(', ')}) and its turn re-ran ` +
        `(attempts ${attempts.join(',')}); replies sent: ${replies.join(' ')}; counter ${counter}`,
    );
    expect([fresh.ok, stale.ok]).toEqual([true, true]);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(replies).not.toContain('A:p:2');
    expect(replies.sort()).toEqual(['A:p:1', 'A:p:3', 'B:p:2']);
    expect(counter).toBe(3);
  }, 30_000);

  it('returns to the baseline key count once load stops and every session has expired', async () => {
    const baseline = await countKeys('soak');
    const cluster = await start(3, { prefix: 'soak', timeout: 800, sweepInterval: 150, tombstoneTtl: 400 });
    let peak = 0;
    let turns = 0;
    const loadStarted = Date.now();
    for (let wave = 0; wave < 10; wave++) {
      const dones = await Promise.all(range(100).map((u) => cluster.random().receive(`soak${u}`)));
      turns += dones.filter((d) => d.ok).length;
      peak = Math.max(peak, await countKeys('soak'));
    }
    const loadStopped = Date.now();
    await until(() => cluster.of('started').length === cluster.of('ended').length, 10_000);
    let now = await countKeys('soak');
    const deadline = Date.now() + 10_000;
    while (now !== baseline && Date.now() < deadline) {
      await sleep(100);
      now = await countKeys('soak');
    }
    console.log(
      `[soak] ${turns} turns in ${loadStopped - loadStarted} ms; keys: baseline ${baseline}, peak ${peak}, ${now} at the end ` +
        `(${Date.now() - loadStopped} ms after load stopped); sessions started ${cluster.of('started').length}, ended ${cluster.of('ended').length}`,
    );
    expect(turns).toBe(1000);
    expect(cluster.of('started').length).toBe(cluster.of('ended').length);
    expect(now).toBe(baseline);
  }, 40_000);
});
