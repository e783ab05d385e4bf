/**
 * Accepts a second factor atomically: a TOTP code's step, or a recovery code's hash, for a
 * login's MFA challenge (`mode` 'challenge': KEYS[2] is the challenge, consumed by a success)
 * or for a signed-in session (`mode` 'session': KEYS[2] is the session, which becomes aal 2).
 *
 * Guarantees: a TOTP step at or before the last accepted one is refused (no replay, even within
 * its 30 s or across concurrent requests: exactly one of two requests with one code succeeds);
 * a recovery code is removed as it is used (single use); a challenge dies after `maxWrong`
 * wrong codes, or when it expires. A wrong code (`kind` 'wrong': the caller found no step it
 * matches) only counts.
 *
 * Replies {'ok', login JSON (challenge mode)} | {'ok', generation, deadline, amr (session mode)}
 * | {'wrong', wrong count} | {'invalid'} (no such challenge or session).
 */
export const SECOND_FACTOR = `#!lua flags=allow-key-locking
local userKey, targetKey = KEYS[1], KEYS[2]
local mode = ARGV[1] -- 'challenge' | 'session'
local kind = ARGV[2] -- 'totp' | 'recovery' | 'wrong'
local value = ARGV[3] -- the TOTP step, or the recovery code's hash
local now = tonumber(ARGV[4])
local maxWrong = tonumber(ARGV[5])

local target
if mode == 'challenge' then
  target = redis.call('HMGET', targetKey, 'd', 'n', 'exp')
  if not target[1] or tonumber(target[3]) <= now then return {'invalid'} end
else
  target = redis.call('HMGET', targetKey, 'exp', 'gen', 'amr')
  if not target[1] or tonumber(target[1]) <= now then return {'invalid'} end
end

local function wrong()
  if mode ~= 'challenge' then return {'wrong', 0} end
  local n = redis.call('HINCRBY', targetKey, 'n', 1)
  if n >= maxWrong then redis.call('DEL', targetKey) end
  return {'wrong', n}
end

local user = redis.call('HMGET', userKey, 'totp', 'totps', 'rc')
if not user[1] then return {'invalid'} end
local accepted = false
if kind == 'totp' then
  if tonumber(value) > (tonumber(user[2]) or -1) then
    redis.call('HSET', userKey, 'totps', value)
    accepted = true
  end
elseif kind == 'recovery' then
  local kept, found = {}, false
  for hash in string.gmatch(user[3] or '', '%S+') do
    if hash == value and not found then found = true else kept[#kept + 1] = hash end
  end
  if found then
    redis.call('HSET', userKey, 'rc', table.concat(kept, ' '))
    accepted = true
  end
end
if not accepted then return wrong() end

local method = kind == 'totp' and 'otp' or 'mfa'
if mode == 'challenge' then
  redis.call('DEL', targetKey)
  return {'ok', target[1], method}
end
local amr = 'pwd ' .. method
redis.call('HSET', targetKey, 'aal', '2', 'amr', amr, 'mfa', string.format('%d', now))
return {'ok', target[2], target[1], amr}
`;
