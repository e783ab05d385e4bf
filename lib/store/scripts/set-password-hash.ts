/**
 * Replaces the password hash of an email's account, if the email still belongs to that user
 * (an email change in between leaves the other account alone) and, when `expected` is given,
 * if the hash is still that one (a login's re-hash at a new cost never undoes a concurrent
 * password change or reset).
 *
 * Replies 1 when replaced, 0 otherwise.
 */
export const SET_PASSWORD_HASH = `#!lua flags=allow-key-locking
local emailKey = KEYS[1]
local userId = ARGV[1]
local passwordHash = ARGV[2]
local expected = ARGV[3] -- the hash this replaces ('' = any): a re-hash never undoes a reset

local current = redis.call('HMGET', emailKey, 'id', 'pw')
if current[1] ~= userId then return 0 end
if expected ~= '' and current[2] ~= expected then return 0 end
redis.call('HSET', emailKey, 'pw', passwordHash)
return 1
`;
