/**
 * Changes a user's TOTP settings, each in one atomic step on the user's record (and, when
 * confirming, the caller's session):
 * - `enroll`: stores a pending (sealed) secret, unless TOTP is already on;
 * - `confirm`: if the pending secret is still the one the code was checked against, makes it
 *   the user's secret with its first accepted step and the recovery codes' hashes, and makes
 *   the caller's session aal 2 (KEYS[2]);
 * - `disable`: removes the secret, its last step and the recovery codes;
 * - `codes`: replaces the recovery codes' hashes (the old ones die), if TOTP is on.
 *
 * Replies 1 when done, 0 when the user's state did not allow it.
 */
export const TOTP_SETTINGS = `#!lua flags=allow-key-locking
local userKey, sessionKey = KEYS[1], KEYS[2]
local action = ARGV[1] -- 'enroll' | 'confirm' | 'disable' | 'codes'
local sealed = ARGV[2] -- enroll: the new pending secret; confirm: the pending one checked
local step = ARGV[3] -- confirm: the accepted step
local codes = ARGV[4] -- confirm, codes: recovery code hashes, space-separated
local now = ARGV[5] -- ms

local user = redis.call('HMGET', userKey, 'email', 'totp', 'totpp')
if not user[1] then return 0 end
if action == 'enroll' then
  if user[2] then return 0 end
  redis.call('HSET', userKey, 'totpp', sealed)
  return 1
elseif action == 'confirm' then
  if user[2] or user[3] ~= sealed then return 0 end
  redis.call('HSET', userKey, 'totp', sealed, 'totps', step, 'rc', codes)
  redis.call('HDEL', userKey, 'totpp')
  if redis.call('EXISTS', sessionKey) == 1 then
    redis.call('HSET', sessionKey, 'aal', '2', 'amr', 'pwd otp', 'mfa', now)
  end
  return 1
elseif action == 'disable' then
  if not user[2] then return 0 end
  redis.call('HDEL', userKey, 'totp', 'totps', 'rc', 'totpp')
  return 1
elseif action == 'codes' then
  if not user[2] then return 0 end
  redis.call('HSET', userKey, 'rc', codes)
  return 1
end
return 0
`;
