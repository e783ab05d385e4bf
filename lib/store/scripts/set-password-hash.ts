/**
 * Replaces the password hash of an email's account, if the email still belongs to that user
 * (an email change in between leaves the other account alone).
 *
 * Replies 1 when replaced, 0 otherwise.
 */
export const SET_PASSWORD_HASH = `#!lua flags=allow-key-locking
local emailKey = KEYS[1]
local userId = ARGV[1]
local passwordHash = ARGV[2]

if redis.call('HGET', emailKey, 'id') ~= userId then return 0 end
redis.call('HSET', emailKey, 'pw', passwordHash)
return 1
`;
