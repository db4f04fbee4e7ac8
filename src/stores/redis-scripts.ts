// The Lua scripts of RedisStore, one per store operation. Each runs atomically on one node; the store's clock is Redis's.
import { createHash } from 'node:crypto';
import type { RedisScript } from './redis';

export function script(source: string): RedisScript {
  return { source, sha1: createHash('sha1').update(source).digest('hex') };
}

// The store's clock is Redis's: the bot machines' clocks never decide when a session is due.
const NOW = `
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

// COMMIT and INDEX: a key joins its owner's index when it is created, and the index's expiry is raised to `ttl`
// when shorter ('' leaves it, -1 removes it), so the index never expires before a key it lists.
const JOIN_INDEX = `
local function join_index(ik, member, created, ttl)
  local fresh = created and redis.call('SADD', ik, member) == 1 and redis.call('SCARD', ik) == 1
  if ttl == '-1' then
    redis.call('PERSIST', ik)
  elseif ttl ~= '' then
    local left = redis.call('PTTL', ik)
    if fresh or (left >= 0 and left < tonumber(ttl)) then redis.call('PEXPIRE', ik, ttl) end
  end
end
`;

// A record is one string: a header `<version> <generation> <turn> <x> <claim version> <claim deadline>` (fields empty
// when unset), a newline, then the data, so that one MGET reads a turn's records and one SET writes a record with its
// expiry. Earlier releases kept a record as a hash (fields v, g, t, x, cv, cd, d): upgrade() rewrites one as a string in
// place, keeping its expiry, when a script meets it. An upgraded record's turn is UPGRADED (no turn id is: turnIdOf
// escapes every % as %XXXX), which tells OPEN that the records beside it may still be hashes.
export const RECORD = `
local HEAD = '^(%d+) (%d+) (%S*) (%S*) (%S*) (%S*)\\n()'
local UPGRADED = '%~'
local function foreign(k)
  error({err = 'ERR palaver: ' .. k .. ' holds something else than a palaver record; give palaver a prefix of its own'})
end
local function head(s)
  if not s then return nil end
  local v, g, t, x, cv, cd, at = string.match(s, HEAD)
  if not v then return nil end
  return {v = v, g = g, t = t, x = x, cv = cv, cd = cd, at = at}
end
-- Every record of a commit read as a header (a value it cannot read fails the call, rather than being overwritten).
local function heads(raw, names, n)
  local recs = {}
  for i = 1, n do
    recs[i] = head(raw[i])
    if raw[i] and not recs[i] then foreign(names[i]) end
    recs[i] = recs[i] or {}
  end
  return recs
end
-- Why a record read as rec fails a write expecting version v ('' for absent) and generation g: 'conflict', 'ended', nil.
local function mismatch(rec, v, g)
  if v == '' then return rec.v and 'conflict' or nil end
  if not rec.v then return 'conflict' end
  if rec.g ~= g then return 'ended' end
  if rec.v ~= v then return 'conflict' end
  return nil
end
-- Whether a retried write was applied already: the record carries its turn id and the version after the expected one.
local function applied(rec, turn, v)
  return rec.t == turn and (v == '' or tonumber(rec.v) == tonumber(v) + 1)
end
local function pack(v, g, t, x, cv, cd, data)
  return v .. ' ' .. g .. ' ' .. t .. ' ' .. x .. ' ' .. cv .. ' ' .. cd .. '\\n' .. data
end
-- The string of a key that MGET or GET could not read as one: nil when absent; an earlier release's hash upgraded.
local function upgrade(k)
  local kind = redis.call('TYPE', k).ok
  if kind == 'none' then return nil end
  if kind == 'string' then return redis.call('GET', k) end
  if kind ~= 'hash' then foreign(k) end
  local h = redis.call('HMGET', k, 'v', 'g', 'x', 'cv', 'cd', 'd')
  if not tonumber(h[1]) then foreign(k) end
  local s = pack(h[1], h[2] or '0', UPGRADED, h[3] or '', h[4] or '', h[5] or '', h[6] or '')
  redis.call('SET', k, s, 'KEEPTTL')
  return s
end
-- A record by its key, upgraded first if an earlier release stored it as a hash.
local function load(k)
  local s = redis.pcall('GET', k)
  if type(s) == 'table' then return upgrade(k) end
  return s
end
-- Before creating records that MGET found absent: a key that exists anyway holds an earlier release's hash. It is
-- upgraded, and the caller answers a conflict so that the turn runs again on what is stored.
local function legacy(ks)
  if #ks == 0 or redis.call('EXISTS', unpack(ks)) == 0 then return false end
  for _, k in ipairs(ks) do upgrade(k) end
  return true
end
`;

/** KEYS: record. Reply: the record's string, or nil. */
export const GET = script(`${RECORD}
return load(KEYS[1])
`);

/**
 * KEYS: lease, then the records to read. ARGV: token ('' to read without the lease), ttl, '1' to look for records of an
 * earlier release among all absent ones ('': only when the first record, the session, is absent).
 * Takes the lease (or extends it when the token holds it already), then reads every record.
 * Reply: {'ok', record or nil...} | {'busy', holder, pttl}.
 */
export const OPEN = script(`${RECORD}
if ARGV[1] ~= '' then
  local holder = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'GET', 'PX', ARGV[2])
  if holder then
    if holder ~= ARGV[1] then return {'busy', holder, redis.call('PTTL', KEYS[1])} end
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
end
local n = #KEYS - 1
if n == 0 then return {'ok'} end
local out = redis.call('MGET', unpack(KEYS, 2))
-- A session written by this release was opened with its data records, which were upgraded then; so only a turn that
-- finds no session, or one upgraded on its own (by a claim, say), looks for hashes among the absent records (one
-- EXISTS).
if ARGV[3] == '1' or not out[1] or string.match(out[1], '^%d+ %d+ (%S*)') == UPGRADED then
  local absent = {}
  for i = 1, n do if not out[i] then absent[#absent + 1] = KEYS[i + 1] end end
  if #absent > 0 and redis.call('EXISTS', unpack(absent)) > 0 then
    for i = 1, n do if not out[i] then out[i] = upgrade(KEYS[i + 1]) or false end end
  end
end
table.insert(out, 1, 'ok')
return out
`);

/**
 * KEYS: deadlines, claims, lease, then per write its record and its tombstone, then the user indexes the writes name.
 * ARGV: turn id ('' for none), tombstone ttl, lease token ('' to keep the lease), lease ttl, session grace, then per
 * write: member, op (S set a session record, W set a data record, which never has a deadline or a claim, D delete),
 * expected version ('' when absent), expected generation, idle ms ('' for no deadline), data; then per write: ttl ms
 * ('' to leave the expiry as it is, -1 for none; a record with a deadline keeps idle + grace, and the ttl then only
 * keeps its owner's index), the position in KEYS of its owner's index ('' for none).
 * Reply: {'ok', version...} | {'conflict' | 'ended', write index}. The lease is given up only when the writes apply.
 *
 * One MGET reads every record and tombstone; one SET writes each record with its expiry. A session record with a
 * deadline expires `idle + grace` after its write and keeps `x` = `idle:grace:drift` in its header, so its deadline is
 * its PTTL minus the grace. The deadlines set holds a bound of each deadline, early or at most 250 ms late (the drift:
 * how late it may be): a write files it again only for a new record, a claimed one, one without a deadline before, or
 * once shorter idle times have added up past that; CLAIM files the members that are not due yet again at their true
 * deadline.
 */
export const COMMIT = script(`${NOW}${JOIN_INDEX}${RECORD}
local turn, tombTtl, token, leaseTtl, grace = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local n = (#ARGV - 5) / 8
local function arg(i, j) return ARGV[5 + (i - 1) * 6 + j] end
local function release()
  if token == '' then return end
  local holder = redis.call('GETDEL', KEYS[3])
  -- Ours lapsed and another turn holds the lease now (rare): it gets it back.
  if holder and holder ~= token then redis.call('SET', KEYS[3], holder, 'PX', leaseTtl) end
end
local names = {}
for i = 1, n do
  names[i] = KEYS[2 + 2 * i]
  names[n + i] = KEYS[3 + 2 * i]
end
local raw = n > 0 and redis.call('MGET', unpack(names)) or {}
local recs = heads(raw, names, n)
local tombs = {}
for i = 1, n do
  local tomb = raw[n + i]
  if tomb then
    local at = string.find(tomb, ':', 1, true)
    tombs[i] = {tonumber(string.sub(tomb, 1, at - 1)), string.sub(tomb, at + 1)}
  end
end

-- A retry of a commit that was applied (its reply lost) fails the check it passed then: answer as the first time.
local function replayed()
  if turn == '' then return nil end
  local versions = {'ok'}
  for i = 1, n do
    local rec = recs[i]
    if arg(i, 2) == 'D' then
      if not tombs[i] or tombs[i][2] ~= turn or rec.v then return nil end
      versions[i + 1] = 0
    else
      if not applied(rec, turn, arg(i, 3)) then return nil end
      versions[i + 1] = tonumber(rec.v)
    end
  end
  return versions
end

local creating = {}
for i = 1, n do
  local bad = mismatch(recs[i], arg(i, 3), arg(i, 4))
  if not bad and arg(i, 3) == '' and arg(i, 2) ~= 'D' then creating[#creating + 1] = names[i] end
  if bad then
    local versions = replayed()
    if versions then
      release()
      return versions
    end
    return {bad, i}
  end
end
if legacy(creating) then
  for i = 1, n do
    if arg(i, 3) == '' and arg(i, 2) ~= 'D' then return {'conflict', i} end
  end
end

-- The owner's index (CommitWrite.owner): joined on create, left on delete, its expiry never before the record's.
local function index(i, member, op, created)
  local ttl, at = ARGV[5 + 6 * n + 2 * i - 1], ARGV[5 + 6 * n + 2 * i]
  if at == '' then return end
  local ik = KEYS[tonumber(at)]
  if op == 'D' then
    redis.call('SREM', ik, member)
    return
  end
  -- The index outlives what it lists: a live session lives idle + grace, a key created without a ttl for ever.
  if op == 'S' and arg(i, 5) ~= '' then
    local life = tonumber(grace) + math.max(0, tonumber(arg(i, 5)))
    if ttl == '' or (ttl ~= '-1' and tonumber(ttl) < life) then ttl = tostring(life) end
  elseif created and ttl == '' then
    ttl = '-1'
  end
  join_index(ik, member, created, ttl)
end

local now
local out = {'ok'}
for i = 1, n do
  local hk, tk, member, op, rec = names[i], names[n + i], arg(i, 1), arg(i, 2), recs[i]
  if op == 'D' then
    if rec.v then
      redis.call('DEL', hk)
      redis.call('SET', tk, rec.v .. ':' .. turn, 'PX', tombTtl)
    end
    redis.call('ZREM', KEYS[1], member)
    index(i, member, op, false)
    out[i + 1] = 0
  else
    local idle = op == 'S' and arg(i, 5) or ''
    local before, drifted
    if rec.x and rec.x ~= '' then
      local bi, bd = string.match(rec.x, '^([^:]*):[^:]*:(.*)$')
      before, drifted = tonumber(bi), tonumber(bd)
    end
    local refile, drift = false, 0
    if idle ~= '' then
      refile = not before or rec.cv ~= ''
      if not refile then
        -- Idle times passed in jitter by the ms a turn takes: each shortening adds to a drift, and the set is filed
        -- again only once the drift (how late the filed bound may be) would pass 250 ms.
        drift = (drifted or 0) + math.max(0, before - tonumber(idle))
        if drift > 250 then refile, drift = true, 0 end
      end
    end
    local v, g
    if not rec.v then
      -- Versions keep growing across a delete, so a turn that read the old record can never match the new one.
      if tombs[i] then redis.call('DEL', tk) end
      v, g = (tombs[i] and tombs[i][1] or 0) + 1, 0
    else
      v, g = tonumber(rec.v) + 1, rec.g
    end
    local x = op == 'S' and (idle .. ':' .. grace .. ':' .. drift) or ''
    local value = pack(v, g, turn, x, '', '', arg(i, 6))
    local ttl = ARGV[5 + 6 * n + 2 * i - 1]
    if idle ~= '' then
      -- Never shorter than the grace: a deadline already past (a late wake-up) is the sweeper's to end.
      redis.call('SET', hk, value, 'PX', tonumber(grace) + math.max(0, tonumber(idle)))
      if refile then
        now = now or now_ms()
        redis.call('ZADD', KEYS[1], now + tonumber(idle), member)
      end
    elseif ttl ~= '' and ttl ~= '-1' then
      redis.call('SET', hk, value, 'PX', ttl)
    elseif ttl == '-1' or before or not rec.v then
      redis.call('SET', hk, value)
    else
      redis.call('SET', hk, value, 'KEEPTTL')
    end
    index(i, member, op, not rec.v)
    out[i + 1] = v
  end
  -- Any write ends a pending expiry claim (a claim sets cv): the claimer finds the version moved and leaves it alone.
  if op == 'D' or (rec.cv and rec.cv ~= '') then redis.call('ZREM', KEYS[2], member) end
end
release()
return out
`);

/**
 * KEYS: deadlines, claims. ARGV: what comes before a member in its record key, limit, claim timeout, now ('' for
 * Redis's clock), what comes after a member in its record key.
 * Reply: {member, generation, version, deadline}... Claims whose holder did not finish in time come first, with the
 * generation they had; then due deadlines, each bumping its record's generation. A member of the deadlines set is a
 * lower bound: its record's true deadline is its PTTL minus the grace in its `x` (records of earlier releases, without
 * `x`, have their exact deadline in the set). One not due yet is filed again at its true deadline; one whose record is gone
 * or has no deadline any more leaves the set.
 */
export const CLAIM = script(`${NOW}${RECORD}
local pre, limit, hold, post = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[5]
local clock = now_ms()
local now = ARGV[4] ~= '' and tonumber(ARGV[4]) or clock
local claimed = {}
-- A member whose key holds something else than a record leaves the sets, instead of failing every sweep.
local function read(k)
  local ok, s = pcall(load, k)
  return ok and s or nil
end
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)) do
  local rec = head(read(pre .. m .. post))
  if rec and rec.cv ~= '' then
    redis.call('ZADD', KEYS[2], now + hold, m)
    claimed[#claimed + 1] = {m, rec.g, rec.cv, rec.cd ~= '' and rec.cd or '0'}
  else
    redis.call('ZREM', KEYS[2], m)
  end
end
-- Members filed again move past now, so each pass meets new ones; the budget bounds the script's run.
local budget = 4 * limit
while #claimed < limit and budget > 0 do
  local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit - #claimed)
  if #due == 0 then break end
  for i = 1, #due, 2 do
    budget = budget - 1
    local m = due[i]
    local hk = pre .. m .. post
    local s = read(hk)
    local rec = head(s)
    local deadline = tonumber(due[i + 1])
    local idle, grace = string.match(rec and rec.x or '', '^([^:]*):([^:]*):')
    if idle == '' then
      deadline = nil
    elseif tonumber(idle) and tonumber(grace) then
      local pttl = redis.call('PTTL', hk)
      if pttl >= 0 then deadline = clock + pttl - tonumber(grace) end
    end
    if not rec or not deadline then
      redis.call('ZREM', KEYS[1], m)
    elseif deadline > now then
      redis.call('ZADD', KEYS[1], deadline, m)
    else
      redis.call('ZREM', KEYS[1], m)
      local g = tonumber(rec.g) + 1
      redis.call('SET', hk, pack(rec.v, g, rec.t, rec.x, rec.v, deadline, string.sub(s, rec.at)), 'KEEPTTL')
      redis.call('ZADD', KEYS[2], now + hold, m)
      claimed[#claimed + 1] = {m, tostring(g), rec.v, tostring(deadline)}
    end
  end
end
return claimed
`);

/** KEYS: claims. ARGV: hold ms, then members. Extends the claims still pending (a claim a write ended stays ended). */
export const HOLD = script(`${NOW}
local deadline = now_ms() + tonumber(ARGV[1])
local held = 0
for i = 2, #ARGV do
  if redis.call('ZSCORE', KEYS[1], ARGV[i]) then
    redis.call('ZADD', KEYS[1], 'XX', deadline, ARGV[i])
    held = held + 1
  end
end
return held
`);

// DELETE and FORGET: the record goes (its version stays in a tombstone, so a turn that read it cannot write it back),
// and so do its deadline and claim. KEYS: record, tombstone, deadlines, claims. ARGV: member, tombstone ttl.
const DROP = `${RECORD}
local function drop()
  local s = load(KEYS[1])
  local rec = head(s)
  if s and not rec then foreign(KEYS[1]) end
  local v = rec and rec.v
  if v then
    redis.call('DEL', KEYS[1])
    redis.call('SET', KEYS[2], v .. ':', 'PX', ARGV[2])
  end
  -- The value a cluster commit replaced, kept for its undo (see STAGE).
  redis.call('DEL', KEYS[1] .. ':undo')
  redis.call('ZREM', KEYS[3], ARGV[1])
  redis.call('ZREM', KEYS[4], ARGV[1])
  return v
end
`;

/** KEYS: record, tombstone, deadlines, claims. ARGV: member, tombstone ttl. */
export const DELETE = script(`${DROP}
drop()
return 1
`);

/** KEYS: lease. ARGV: token, ttl. Compare-and-pexpire. */
export const RENEW = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`);
/** KEYS: lease. ARGV: token. Compare-and-delete. */
export const RELEASE = script(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * KEYS: record, quarantine, claims, the list of the record's quarantined copies. ARGV: raw data, version, generation,
 * ttl, member.
 * Keeps the raw value aside, and its name in the record's list (for `forget` and `quarantinedOf`). If the record is
 * still the one that failed and a claim on it is pending, the claim is dropped: the sweeper could not end it anyway
 * and would claim it again forever (the next turn overwrites the record).
 */
export const QUARANTINE = script(`${RECORD}
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
redis.call('SADD', KEYS[4], ARGV[2] .. '.' .. ARGV[3])
redis.call('PEXPIRE', KEYS[4], ARGV[4])
local rec = head(load(KEYS[1]))
if rec and rec.v == ARGV[2] and rec.g == ARGV[3] then redis.call('ZREM', KEYS[3], ARGV[5]) end
return 1
`);

/**
 * KEYS: record, tombstone, deadlines, claims, the list of its quarantined copies, then its owner's index if any.
 * ARGV: member, tombstone ttl, '1' to drop the whole index (the owner's own record).
 * Deletes the record (leaving a tombstone, as DELETE), its deadline and claim, its quarantined copies, and its place in
 * the index. Reply: {1 if the record existed else 0, copies deleted}.
 */
export const FORGET = script(`${DROP}
local v = drop()
local copies = 0
for _, name in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  copies = copies + redis.call('DEL', KEYS[1] .. ':corrupt:' .. name)
end
redis.call('DEL', KEYS[5])
if KEYS[6] then
  if ARGV[3] == '1' then redis.call('DEL', KEYS[6]) else redis.call('SREM', KEYS[6], ARGV[1]) end
end
return {v and 1 or 0, copies}
`);

/** KEYS: a user index. Reply: its members. */
export const USER_KEYS = script(`return redis.call('SMEMBERS', KEYS[1])`);

/** KEYS: record, the list of its quarantined copies. Reply: {name, data}... of the copies still kept. */
export const QUARANTINED = script(`
local out = {}
for _, name in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  local data = redis.call('GET', KEYS[1] .. ':corrupt:' .. name)
  if data then out[#out + 1] = {name, data} end
end
return out
`);

/** Session keys may hold anything; inside a hash tag `{` and `}` would cut the tag short, so they are escaped. */
export function encode(key: string): string {
  return key.replace(/[%{}]/g, (c) => (c === '%' ? '%25' : c === '{' ? '%7B' : '%7D'));
}

export function decode(member: string): string {
  return member.replace(/%(25|7B|7D)/g, (_, hex: string) => (hex === '25' ? '%' : hex === '7B' ? '{' : '}'));
}

/**
 * Redis Cluster, after a commit: a user index in another hash slot than the record it lists. KEYS: the index.
 * ARGV: member, op (C the record was created, D deleted, '' neither), ttl ('' to leave the expiry, -1 for none).
 * The same rules as COMMIT's for an index in its own slot.
 */
export const INDEX = script(`${JOIN_INDEX}
if ARGV[2] == 'D' then return redis.call('SREM', KEYS[1], ARGV[1]) end
join_index(KEYS[1], ARGV[1], ARGV[2] == 'C', ARGV[3])
return 1
`);

/** Redis Cluster, after a commit: the expiry of a record staged in another shard. KEYS: record. ARGV: ttl (-1: none). */
export const RECORD_TTL = script(`
if ARGV[1] == '-1' then return redis.call('PERSIST', KEYS[1]) end
return redis.call('PEXPIRE', KEYS[1], ARGV[1])
`);
