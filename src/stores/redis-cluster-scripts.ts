// The scripts only a Redis Cluster needs: a commit whose writes span two shards (a conversationData record, or the
// userData of a session whose key a custom `sessionKey` made) writes the other shards first with STAGE, which keeps the
// value it replaced, then the session's shard with COMMIT; if that fails, ROLLBACK puts the staged values back.
import { script } from './redis-scripts';

/**
 * KEYS: per write its record and its tombstone. ARGV: turn id ('' for none), then per write: expected version ('' when
 * absent), expected generation, data. Data records only (no deadline, no claim, no delete).
 * A compare-and-set like COMMIT's that keeps the replaced value in `pd` for ROLLBACK, and answers a retry of a staged
 * write with the same turn id as the first time. Reply: {'ok', version...} | {'conflict' | 'ended', write index}.
 */
export const STAGE = script(`
local turn = ARGV[1]
local n = #KEYS / 2
local function arg(i, j) return ARGV[1 + (i - 1) * 3 + j] end
local function replayed()
  if turn == '' then return nil end
  local out = {'ok'}
  for i = 1, n do
    local rec = redis.call('HMGET', KEYS[2 * i - 1], 'v', 't')
    if rec[2] ~= turn or (arg(i, 1) ~= '' and tonumber(rec[1]) ~= tonumber(arg(i, 1)) + 1) then return nil end
    out[i + 1] = tonumber(rec[1])
  end
  return out
end
local recs = {}
for i = 1, n do
  local rec = redis.call('HMGET', KEYS[2 * i - 1], 'v', 'g', 'd')
  recs[i] = rec
  local bad
  if arg(i, 1) == '' then
    if rec[1] then bad = 'conflict' end
  elseif not rec[1] then bad = 'conflict'
  elseif rec[2] ~= arg(i, 2) then bad = 'ended'
  elseif rec[1] ~= arg(i, 1) then bad = 'conflict' end
  if bad then
    local versions = replayed()
    if versions then return versions end
    return {bad, i}
  end
end
local out = {'ok'}
for i = 1, n do
  local hk, tk, rec = KEYS[2 * i - 1], KEYS[2 * i], recs[i]
  local v
  if not rec[1] then
    local tomb = redis.call('GET', tk)
    v = 1
    if tomb then
      v = tonumber(string.sub(tomb, 1, string.find(tomb, ':', 1, true) - 1)) + 1
      redis.call('DEL', tk)
    end
    redis.call('HSET', hk, 'v', v, 'g', 0, 'd', arg(i, 3), 't', turn)
    redis.call('HDEL', hk, 'pd')
  else
    v = tonumber(rec[1]) + 1
    redis.call('HSET', hk, 'v', v, 'd', arg(i, 3), 't', turn, 'pd', rec[3])
  end
  out[i + 1] = v
end
return out
`);

/**
 * KEYS: record, tombstone. ARGV: turn id, the version STAGE wrote, tombstone ttl.
 * Undoes a staged write if it is still the last write of the record (same turn, same version): the replaced value comes
 * back under a new version (a record STAGE created is deleted, leaving a tombstone). Reply: 1 when undone, else 0.
 */
export const ROLLBACK = script(`
local rec = redis.call('HMGET', KEYS[1], 'v', 't', 'pd')
if rec[2] ~= ARGV[1] or rec[1] ~= ARGV[2] then return 0 end
if rec[3] then
  redis.call('HSET', KEYS[1], 'v', tonumber(rec[1]) + 1, 'd', rec[3], 't', '')
  redis.call('HDEL', KEYS[1], 'pd')
else
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], rec[1] .. ':', 'PX', ARGV[3])
end
return 1
`);
