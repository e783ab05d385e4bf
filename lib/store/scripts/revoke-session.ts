/**
 * Revokes one session of one user: deletes the session hash and its index entry together
 * (logout, revoke one).
 *
 * Guarantees: an unknown id or an expired session changes nothing (reply 0); another user's
 * session cannot be named at all (the key carries the caller's user id), so the caller cannot
 * probe or touch sessions that are not its own.
 *
 * With an event (ARGV[3], JSON: revoke one's `session_revoked`), a revocation pushes it to the
 * front of the user's security event list (KEYS[3]), capped, its TTL renewed.
 *
 * Replies 1 when revoked, 0 otherwise.
 */
export const REVOKE_SESSION = `#!lua flags=allow-key-locking
local sessionKey, indexKey, eventsKey = KEYS[1], KEYS[2], KEYS[3]
local sessionId = ARGV[1]
local now = tonumber(ARGV[2])
local event = ARGV[3] -- a security event to record, JSON ('' = none)
local maxEvents = tonumber(ARGV[4]) -- how many events the list keeps
local eventsTtl = ARGV[5] -- ms the event list lives after its last write

local deadline = tonumber(redis.call('HGET', sessionKey, 'exp'))
if not deadline or deadline <= now then return 0 end
redis.call('DEL', sessionKey)
redis.call('ZREM', indexKey, sessionId)
if event ~= '' then
  redis.call('LPUSH', eventsKey, event)
  redis.call('LTRIM', eventsKey, 0, maxEvents - 1)
  redis.call('PEXPIRE', eventsKey, eventsTtl)
end
return 1
`;
