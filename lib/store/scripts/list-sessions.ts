/**
 * Lists one user's live sessions, pruning expired entries from the index on the way.
 *
 * The caller read the index first and passes every session key in KEYS; if the index now
 * holds an id the caller did not pass (a login came in between), the reply is `{'changed'}`
 * and the caller retries. Only sessions
 * alive at `now` are returned. Nothing secret is stored in a session, and only the fields
 * below are read.
 *
 * Replies {'listed', id, created, used, exp, dname, ua, ip, id, ...} | {'changed'}.
 */
export const LIST_SESSIONS = `#!lua flags=allow-key-locking
local indexKey = KEYS[1] -- KEYS[2..]: the session keys of the ids in ARGV[2], in that order
local now = tonumber(ARGV[1])
local ids = ARGV[2] -- space-separated

local keyOf, n = {}, 1
for id in string.gmatch(ids, '%S+') do n = n + 1; keyOf[id] = KEYS[n] end
redis.call('ZREMRANGEBYSCORE', indexKey, '-inf', now)
local live = redis.call('ZRANGE', indexKey, 0, -1)
for _, id in ipairs(live) do
  if not keyOf[id] then return {'changed'} end
end
local out = {'listed'}
for _, id in ipairs(live) do
  local s = redis.call('HMGET', keyOf[id], 'created', 'used', 'exp', 'dname', 'ua', 'ip')
  if s[3] and tonumber(s[3]) > now then
    out[#out + 1] = id
    for j = 1, 6 do out[#out + 1] = s[j] or '' end
  end
end
return out
`;
