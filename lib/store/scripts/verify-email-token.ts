/**
 * Consumes a verification token and marks the user's email verified, in one atomic step: of
 * two concurrent uses of one token exactly one succeeds. The token must be the pending one,
 * unexpired, and mailed to the user's current address (a link to an address the account has
 * since left verifies nothing).
 *
 * Replies {'verified', email, created, totp on ('1' | '0'), passkey count} | {'invalid'}.
 */
export const VERIFY_EMAIL_TOKEN = `#!lua flags=allow-key-locking
local tokenKey, userKey = KEYS[1], KEYS[2]
local hash = ARGV[1]
local now = tonumber(ARGV[2])

local t = redis.call('HMGET', tokenKey, 'h', 'exp', 'email')
local u = redis.call('HMGET', userKey, 'email', 'created', 'totp', 'pkn')
if not t[1] or t[1] ~= hash or tonumber(t[2]) <= now or t[3] ~= u[1] then return {'invalid'} end
redis.call('DEL', tokenKey)
redis.call('HSET', userKey, 'ev', '1')
return {'verified', u[1], u[2], u[3] and '1' or '0', u[4] or '0'}
`;
