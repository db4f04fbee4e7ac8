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

/** KEYS: record. */
export const GET = script(`return redis.call('HMGET', KEYS[1], 'd', 'v', 'g')`);

/**
 * KEYS: lease, then the records to read. ARGV: token ('' to read without the lease), ttl.
 * Takes the lease (or extends it when the token holds it already), then reads every record.
 * Reply: {'ok', {d, v, g}...} | {'busy', holder, pttl}.
 */
export const OPEN = script(`
if ARGV[1] ~= '' then
  local holder = redis.call('SET', KEYS[1], ARGV[1], 'NX', 'GET', 'PX', ARGV[2])
  if holder then
    if holder ~= ARGV[1] then return {'busy', holder, redis.call('PTTL', KEYS[1])} end
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
  end
end
local out = {'ok'}
for i = 2, #KEYS do out[i] = redis.call('HMGET', KEYS[i], 'd', 'v', 'g') end
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
 * A session record with a deadline expires `idle + grace` after its write and keeps `x` = `idle:grace:drift` beside its
 * data (one field: each field of a hash costs some 65 bytes), so its deadline is its PTTL minus the grace. The
 * deadlines set holds a bound of each deadline, early or at most 250 ms late (the drift: how late it may be): a write
 * files it again only for a new record, a claimed one, one without a deadline before, or once shorter idle times have
 * added up past that; CLAIM files the members that are not due yet again at their true deadline.
 */
export const COMMIT = script(`${NOW}${JOIN_INDEX}
local turn, tombTtl, token, leaseTtl, grace = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local n = (#ARGV - 5) / 8
local function arg(i, j) return ARGV[5 + (i - 1) * 6 + j] end
local function release()
  if token == '' then return end
  local holder = redis.call('GETDEL', KEYS[3])
  -- Ours lapsed and another turn holds the lease now (rare): it gets it back.
  if holder and holder ~= token then redis.call('SET', KEYS[3], holder, 'PX', leaseTtl) end
end
local function tombVersion(tk)
  local tomb = redis.call('GET', tk)
  if not tomb then return nil, nil end
  local at = string.find(tomb, ':', 1, true)
  return tonumber(string.sub(tomb, 1, at - 1)), string.sub(tomb, at + 1)
end

-- A retry of a commit that was applied (its reply lost) fails the check it passed then: answer as the first time.
local function replayed()
  if turn == '' then return nil end
  local versions = {'ok'}
  for i = 1, n do
    local hk, tk = KEYS[2 + 2 * i], KEYS[3 + 2 * i]
    if arg(i, 2) == 'D' then
      local _, by = tombVersion(tk)
      if by ~= turn or redis.call('EXISTS', hk) == 1 then return nil end
      versions[i + 1] = 0
    else
      local rec = redis.call('HMGET', hk, 'v', 't')
      if rec[2] ~= turn or (arg(i, 3) ~= '' and tonumber(rec[1]) ~= tonumber(arg(i, 3)) + 1) then return nil end
      versions[i + 1] = tonumber(rec[1])
    end
  end
  return versions
end

local recs = {}
for i = 1, n do
  local rec = redis.call('HMGET', KEYS[2 + 2 * i], 'v', 'g', 'cv', 'x')
  recs[i] = rec
  local bad
  if arg(i, 3) == '' then
    if rec[1] then bad = 'conflict' end
  elseif not rec[1] then bad = 'conflict'
  elseif rec[2] ~= arg(i, 4) then bad = 'ended'
  elseif rec[1] ~= arg(i, 3) then bad = 'conflict' end
  if bad then
    local versions = replayed()
    if versions then
      release()
      return versions
    end
    return {bad, i}
  end
end

-- The key's expiry (CommitWrite.ttlMs) and its owner's index (CommitWrite.owner): joined on create, left on delete.
local function expire(i, hk, member, op, created)
  local ttl, at = ARGV[5 + 6 * n + 2 * i - 1], ARGV[5 + 6 * n + 2 * i]
  if op ~= 'D' and ttl ~= '' and (op ~= 'S' or arg(i, 5) == '') then
    if ttl == '-1' then redis.call('PERSIST', hk) else redis.call('PEXPIRE', hk, ttl) end
  end
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
  local hk, tk, member, op, rec = KEYS[2 + 2 * i], KEYS[3 + 2 * i], arg(i, 1), arg(i, 2), recs[i]
  if op == 'D' then
    if rec[1] then
      redis.call('DEL', hk)
      redis.call('SET', tk, rec[1] .. ':' .. turn, 'PX', tombTtl)
    end
    redis.call('ZREM', KEYS[1], member)
    expire(i, hk, member, op, false)
    out[i + 1] = 0
  else
    local idle = op == 'S' and arg(i, 5) or ''
    local before, drifted
    if rec[4] then
      local bi, bd = string.match(rec[4], '^([^:]*):[^:]*:(.*)$')
      before, drifted = tonumber(bi), tonumber(bd)
    end
    local refile, drift = false, 0
    if idle ~= '' then
      refile = not before or rec[3]
      if not refile then
        -- Idle times passed in jitter by the ms a turn takes: each shortening adds to a drift, and the set is filed
        -- again only once the drift (how late the filed bound may be) would pass 250 ms.
        drift = (drifted or 0) + math.max(0, before - tonumber(idle))
        if drift > 250 then refile, drift = true, 0 end
      end
    end
    local x = idle .. ':' .. grace .. ':' .. drift
    local v
    if not rec[1] then
      -- Versions keep growing across a delete, so a turn that read the old record can never match the new one.
      local tomb = tombVersion(tk)
      if tomb then redis.call('DEL', tk) end
      v = (tomb or 0) + 1
      redis.call('HSET', hk, 'v', v, 'g', 0, 'd', arg(i, 6), 't', turn, 'x', x)
    else
      v = tonumber(rec[1]) + 1
      redis.call('HSET', hk, 'v', v, 'd', arg(i, 6), 't', turn, 'x', x)
      if rec[3] then redis.call('HDEL', hk, 'cv', 'cd') end
    end
    if idle ~= '' then
      -- Never shorter than the grace: a deadline already past (a late wake-up) is the sweeper's to end.
      redis.call('PEXPIRE', hk, tonumber(grace) + math.max(0, tonumber(idle)))
      if refile then
        now = now or now_ms()
        redis.call('ZADD', KEYS[1], now + tonumber(idle), member)
      end
    elseif before then
      redis.call('PERSIST', hk)
    end
    expire(i, hk, member, op, not rec[1])
    out[i + 1] = v
  end
  -- Any write ends a pending expiry claim (a claim sets cv): the claimer finds the version moved and leaves it alone.
  if op == 'D' or rec[3] then redis.call('ZREM', KEYS[2], member) end
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
export const CLAIM = script(`${NOW}
local pre, limit, hold, post = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), ARGV[5]
local clock = now_ms()
local now = ARGV[4] ~= '' and tonumber(ARGV[4]) or clock
local claimed = {}
for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, limit)) do
  local rec = redis.call('HMGET', pre .. m .. post, 'g', 'cv', 'cd')
  if rec[1] and rec[2] then
    redis.call('ZADD', KEYS[2], now + hold, m)
    claimed[#claimed + 1] = {m, rec[1], rec[2], rec[3] or '0'}
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
    local rec = redis.call('HMGET', hk, 'v', 'x')
    local deadline = tonumber(due[i + 1])
    local idle, grace = string.match(rec[2] or '', '^([^:]*):([^:]*):')
    if idle == '' then
      deadline = nil
    elseif tonumber(idle) and tonumber(grace) then
      local pttl = redis.call('PTTL', hk)
      if pttl >= 0 then deadline = clock + pttl - tonumber(grace) end
    end
    if not rec[1] or not deadline then
      redis.call('ZREM', KEYS[1], m)
    elseif deadline > now then
      redis.call('ZADD', KEYS[1], deadline, m)
    else
      redis.call('ZREM', KEYS[1], m)
      local g = redis.call('HINCRBY', hk, 'g', 1)
      redis.call('HSET', hk, 'cv', rec[1], 'cd', deadline)
      redis.call('ZADD', KEYS[2], now + hold, m)
      claimed[#claimed + 1] = {m, tostring(g), rec[1], tostring(deadline)}
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
const DROP = `
local function drop()
  local v = redis.call('HGET', KEYS[1], 'v')
  if v then
    redis.call('DEL', KEYS[1])
    redis.call('SET', KEYS[2], v .. ':', 'PX', ARGV[2])
  end
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
export const QUARANTINE = script(`
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[4])
redis.call('SADD', KEYS[4], ARGV[2] .. '.' .. ARGV[3])
redis.call('PEXPIRE', KEYS[4], ARGV[4])
local rec = redis.call('HMGET', KEYS[1], 'v', 'g')
if rec[1] == ARGV[2] and rec[2] == ARGV[3] then redis.call('ZREM', KEYS[3], ARGV[5]) end
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
