/**
 * Stores a new account token of one purpose (the hash of its secret), replacing any earlier
 * one of that purpose: a newer link supersedes older ones. Only for a user whose record exists.
 *
 * Replies 1 when stored, 0 when the user is gone.
 */
export const ISSUE_ACCOUNT_TOKEN = `#!lua flags=allow-key-locking
local tokenKey, userKey = KEYS[1], KEYS[2]
local hash = ARGV[1]
local expiresAt = ARGV[2] -- ms
local email = ARGV[3]
local previous = ARGV[4] -- an email change's current address ('' otherwise)

if redis.call('EXISTS', userKey) == 0 then return 0 end
redis.call('DEL', tokenKey)
redis.call('HSET', tokenKey, 'h', hash, 'exp', expiresAt, 'email', email, 'prev', previous)
redis.call('PEXPIREAT', tokenKey, expiresAt)
return 1
`;
