/**
 * Claims an account token for a change that spans other slots (a reset sets the password in
 * the email index; an email change moves the email index): the token must be the pending one,
 * unexpired and unclaimed (or its claim lapsed). The claim, not the deletion, is what makes
 * one of two concurrent uses win; the caller then finishes (deletes the token) or, on a
 * fault, releases it, and a claim left by a crashed request lapses after `claimMs`, so no
 * token is left consumed by a request that failed.
 *
 * Replies {'claimed', email, previous email ('' unless an email change)} | {'invalid'}.
 */
export const CLAIM_ACCOUNT_TOKEN = `#!lua flags=allow-key-locking
local tokenKey = KEYS[1]
local hash = ARGV[1]
local now = tonumber(ARGV[2])
local nonce = ARGV[3]
local claimMs = tonumber(ARGV[4])

local t = redis.call('HMGET', tokenKey, 'h', 'exp', 'email', 'cl', 'clx', 'prev')
if not t[1] or t[1] ~= hash or tonumber(t[2]) <= now then return {'invalid'} end
if t[4] and tonumber(t[5]) > now then return {'invalid'} end
redis.call('HSET', tokenKey, 'cl', nonce, 'clx', string.format('%d', now + claimMs))
return {'claimed', t[3], t[6] or ''}
`;
