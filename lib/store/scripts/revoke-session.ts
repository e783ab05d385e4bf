/**
 * Revokes one session of one user: deletes the session hash and its index entry together.
 *
 * Guarantees: a session of another user, an unknown id or an expired session changes
 * nothing (reply 0), so the caller cannot probe or touch sessions that are not its own.
 *
 * KEYS[1] session hash, KEYS[2] that user's session index, KEYS[3] its used-token set.
 * ARGV[1] session id, ARGV[2] the user id that must own it, ARGV[3] now (ms).
 * Returns 1 when revoked, 0 otherwise.
 */
export const REVOKE_SESSION = `
local s = redis.call('HMGET', KEYS[1], 'uid', 'exp')
if s[1] ~= ARGV[2] or not s[2] or tonumber(s[2]) <= tonumber(ARGV[3]) then return 0 end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`;
