/**
 * Revokes every session of one user (logout-all), or every one but the caller's (password change).
 *
 * The caller read the index first and passes the session keys in KEYS. Every passed session
 * still in the index is deleted with its entry. If the index then still holds ids the caller
 * did not know of (logins that came in between), the reply is `{'changed', count}` and the
 * caller may read the index again for the rest; otherwise the index is deleted too. Either
 * way a session is never left alive and unlisted: an index that holds any is never dropped.
 *
 * With an event (ARGV[3], JSON: logout-all's `sessions_revoked`), it is pushed to the front of
 * the user's security event list (KEYS[2]), capped, its TTL renewed, in the same step, while
 * the user record (KEYS[3]) exists: an account deleted meanwhile gets no event list back.
 *
 * Replies {'revoked', count} | {'changed', count}.
 */
export const REVOKE_SESSIONS = `#!lua flags=allow-key-locking
local indexKey, eventsKey, userKey = KEYS[1], KEYS[2], KEYS[3] -- KEYS[4..]: the session keys of the ids in ARGV[1], in that order
local ids = ARGV[1] -- space-separated
local keep = ARGV[2] -- a session id to leave alone ('' = none): the caller's, on a password change
local event = ARGV[3] -- a security event to record, JSON ('' = none)
local maxEvents = tonumber(ARGV[4]) -- how many events the list keeps
local eventsTtl = ARGV[5] -- ms the event list lives after its last write

if event ~= '' and redis.call('EXISTS', userKey) == 1 then
  redis.call('LPUSH', eventsKey, event)
  redis.call('LTRIM', eventsKey, 0, maxEvents - 1)
  redis.call('PEXPIRE', eventsKey, eventsTtl)
end
local count, n = 0, 3
for id in string.gmatch(ids, '%S+') do
  n = n + 1
  if redis.call('ZREM', indexKey, id) == 1 then count = count + 1 end
  redis.call('DEL', KEYS[n])
end
for _, id in ipairs(redis.call('ZRANGE', indexKey, 0, -1)) do
  if id ~= keep then return {'changed', count} end
end
if redis.call('ZCARD', indexKey) == 0 then redis.call('DEL', indexKey) end
return {'revoked', count}
`;
