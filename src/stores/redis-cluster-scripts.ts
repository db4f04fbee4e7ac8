// The scripts only a Redis Cluster needs: a commit whose writes span two shards (a conversationData record, or the
// userData of a session whose key a custom `sessionKey` made) writes the other shards first with STAGE, which keeps the
// value it replaced, then the session's shard with COMMIT; if that fails, ROLLBACK puts the staged values back.
import { RECORD, script } from './redis-scripts';

/**
 * KEYS: per write its record, its tombstone and its undo key. ARGV: turn id ('' for none), the undo key's ttl, then per
 * write: expected version ('' when absent), expected generation, data. Data records only (no deadline, no claim, no
 * delete). A compare-and-set like COMMIT's that keeps the replaced record under the undo key (empty for a record it
 * created) for ROLLBACK, and answers a retry of a staged write with the same turn id as the first time.
 * Reply: {'ok', version...} | {'conflict' | 'ended', write index}.
 */
export const STAGE = script(`${RECORD}
local turn, undoTtl = ARGV[1], ARGV[2]
local n = #KEYS / 3
local function arg(i, j) return ARGV[2 + (i - 1) * 3 + j] end
local names = {}
for i = 1, n do
  names[i] = KEYS[3 * i - 2]
  names[n + i] = KEYS[3 * i - 1]
end
local raw = redis.call('MGET', unpack(names))
local recs = heads(raw, names, n)
local function replayed()
  if turn == '' then return nil end
  local out = {'ok'}
  for i = 1, n do
    if not applied(recs[i], turn, arg(i, 1)) then return nil end
    out[i + 1] = tonumber(recs[i].v)
  end
  return out
end
local creating = {}
for i = 1, n do
  local bad = mismatch(recs[i], arg(i, 1), arg(i, 2))
  if not bad and arg(i, 1) == '' then creating[#creating + 1] = names[i] end
  if bad then
    local versions = replayed()
    if versions then return versions end
    return {bad, i}
  end
end
if legacy(creating) then
  for i = 1, n do
    if arg(i, 1) == '' then return {'conflict', i} end
  end
end
local out = {'ok'}
for i = 1, n do
  local hk, tk, uk, rec = KEYS[3 * i - 2], KEYS[3 * i - 1], KEYS[3 * i], recs[i]
  local v
  if not rec.v then
    local tomb = raw[n + i]
    v = 1
    if tomb then
      v = tonumber(string.sub(tomb, 1, string.find(tomb, ':', 1, true) - 1)) + 1
      redis.call('DEL', tk)
    end
    redis.call('SET', hk, pack(v, 0, turn, '', '', '', arg(i, 3)))
    -- An empty undo value: the record was created here, so undoing it deletes it.
    redis.call('SET', uk, '', 'PX', undoTtl)
  else
    v = tonumber(rec.v) + 1
    redis.call('SET', uk, raw[i], 'PX', undoTtl)
    redis.call('SET', hk, pack(v, rec.g, turn, '', '', '', arg(i, 3)), 'KEEPTTL')
  end
  out[i + 1] = v
end
return out
`);

/**
 * KEYS: record, tombstone, undo key. ARGV: turn id, the version STAGE wrote, tombstone ttl.
 * Undoes a staged write if it is still the last write of the record (same turn, same version) and its undo key is
 * still there: the replaced value comes back under a new version (a record STAGE created is deleted, leaving a
 * tombstone). Reply: 1 when undone, else 0 (an undo key that expired leaves the write, as a crash would).
 */
export const ROLLBACK = script(`${RECORD}
local rec = head(redis.call('GET', KEYS[1]))
if not rec or rec.t ~= ARGV[1] or rec.v ~= ARGV[2] then return 0 end
local prev = redis.call('GET', KEYS[3])
if not prev then return 0 end
redis.call('DEL', KEYS[3])
if prev == '' then
  redis.call('DEL', KEYS[1])
  redis.call('SET', KEYS[2], rec.v .. ':', 'PX', ARGV[3])
else
  local before = head(prev)
  redis.call('SET', KEYS[1], pack(tonumber(rec.v) + 1, rec.g, '', '', '', '', string.sub(prev, before.at)), 'KEEPTTL')
end
return 1
`);
