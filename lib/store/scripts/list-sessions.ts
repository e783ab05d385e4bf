/**
 * Lists one user's live sessions, pruning expired entries from the index on the way.
 *
 * Guarantees: only sessions of this user's index, alive at ARGV[1], are returned; entries
 * whose hash is gone or expired are removed from the index (and their hash deleted), in the
 * same atomic step. Secrets (`rt`, `prev`, `next`, `hist`) are never read.
 *
 * KEYS[1] the user's session index. ARGV[1] now (ms), ARGV[2] session key prefix,
 * ARGV[3] used-token set prefix.
 * Returns a flat list: id, created, used, exp, dname, ua, ip, id, ...
 */
export const LIST_SESSIONS = `
local now, prefix = tonumber(ARGV[1]), ARGV[2]
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local s = redis.call('HMGET', prefix .. id, 'created', 'used', 'exp', 'dname', 'ua', 'ip')
  if s[3] and tonumber(s[3]) > now then
    out[#out + 1] = id
    for i = 1, 6 do out[#out + 1] = s[i] or '' end
  else
    redis.call('DEL', prefix .. id, ARGV[3] .. id)
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
`;
