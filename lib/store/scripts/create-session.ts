/**
 * Creates a session and enters it in its user's index, in one atomic step.
 *
 * Guarantees:
 * - the session hash and its index entry appear together (a concurrent logout-all sees both
 *   or neither, so no live session is ever missing from the list);
 * - expired entries (score <= now) are pruned from the index and their hashes deleted, so
 *   the index holds only live sessions after every login;
 * - beyond ARGV[3] live sessions, the oldest (earliest created) are revoked, never the new
 *   one (the index is bounded by the cap, so reading each one's creation time is cheap);
 * - the index key expires with the latest session in it.
 *
 * KEYS[1] session hash, KEYS[2] user's session index (zset, score = session exp in ms).
 * ARGV[1] now (ms), ARGV[2] session exp (ms), ARGV[3] max sessions per user,
 * ARGV[4] session key prefix, ARGV[5] session id, ARGV[6] used-token set key prefix,
 * ARGV[7..] session fields: field, value, ...
 * Returns the list of evicted session ids.
 */
export const CREATE_SESSION = `
local index, now, exp, max, prefix, sid, used = KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6]

local expired = redis.call('ZRANGEBYSCORE', index, '-inf', now)
for _, old in ipairs(expired) do redis.call('DEL', prefix .. old, used .. old) end
if #expired > 0 then redis.call('ZREMRANGEBYSCORE', index, '-inf', now) end

redis.call('HSET', KEYS[1], unpack(ARGV, 7))
redis.call('PEXPIREAT', KEYS[1], exp)
redis.call('ZADD', index, exp, sid)

local evicted = {}
local over = redis.call('ZCARD', index) - max
if over > 0 then
  local others = {}
  for _, id in ipairs(redis.call('ZRANGE', index, 0, -1)) do
    if id ~= sid then
      others[#others + 1] = {id, tonumber(redis.call('HGET', prefix .. id, 'created')) or 0}
    end
  end
  table.sort(others, function(a, b) return a[2] < b[2] end)
  for i = 1, math.min(over, #others) do
    local old = others[i][1]
    redis.call('DEL', prefix .. old, used .. old)
    redis.call('ZREM', index, old)
    evicted[#evicted + 1] = old
  end
end

local last = redis.call('ZRANGE', index, -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', index, last[2])
return evicted
`;
