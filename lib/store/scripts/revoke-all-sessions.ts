/**
 * Revokes every session of one user (logout-all) in one atomic step.
 *
 * Guarantees: every session in the index is deleted with the index itself. Logins add a
 * session and its index entry in one script too, so a logout-all racing with logins leaves
 * each new session either revoked or listed, never alive and unlisted.
 *
 * KEYS[1] the user's session index. ARGV[1] session key prefix, ARGV[2] used-token set prefix.
 * Returns the number of sessions revoked.
 */
export const REVOKE_ALL_SESSIONS = `
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do redis.call('DEL', ARGV[1] .. id, ARGV[2] .. id) end
redis.call('DEL', KEYS[1])
return #ids
`;
