/**
 * Revokes one session of one user: deletes the session hash and its index entry together
 * (logout, revoke one).
 *
 * Guarantees: an unknown id or an expired session changes nothing (reply 0); another user's
 * session cannot be named at all (the key carries the caller's user id), so the caller cannot
 * probe or touch sessions that are not its own.
 *
 * Replies 1 when revoked, 0 otherwise.
 */
export const REVOKE_SESSION = `#!lua flags=allow-key-locking
local sessionKey, indexKey = KEYS[1], KEYS[2]
local sessionId = ARGV[1]
local now = tonumber(ARGV[2])

local deadline = tonumber(redis.call('HGET', sessionKey, 'exp'))
if not deadline or deadline <= now then return 0 end
redis.call('DEL', sessionKey)
redis.call('ZREM', indexKey, sessionId)
return 1
`;
