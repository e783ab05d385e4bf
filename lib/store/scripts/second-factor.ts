/**
 * Accepts a second factor atomically: a TOTP code's step, or a recovery code's hash, for a
 * login's MFA challenge (`mode` 'challenge': KEYS[2] is the challenge, consumed by a success)
 * or for a signed-in session (`mode` 'session': KEYS[2] is the session, which becomes aal 2).
 *
 * Guarantees: a TOTP step at or before the last accepted one is refused (no replay, even within
 * its 30 s or across concurrent requests: exactly one of two requests with one code succeeds);
 * a recovery code is removed as it is used (single use); a challenge dies after `maxWrong`
 * wrong codes, or when it expires. A wrong code (`kind` 'wrong': the caller found no step it
 * matches, or a passkey that did not verify) only counts. A passkey the caller verified
 * (`kind` 'passkey') answers a challenge like a code.
 *
 * Wrong codes also count per user (`limit` per `window` ms, a fixed window) in the same step;
 * beyond them every code, right or wrong, answers `limited` until the window ends.
 *
 * Replies {'ok', login JSON (challenge mode)} | {'ok', generation, deadline, amr, transport (session mode)}
 * | {'wrong', wrong count} | {'limited', ms} | {'disabled'} (an administrator disabled the user)
 * | {'invalid'} (no such challenge or session).
 */
export const SECOND_FACTOR = `#!lua flags=allow-key-locking
local userKey, targetKey = KEYS[1], KEYS[2]
local mode = ARGV[1] -- 'challenge' | 'session'
local kind = ARGV[2] -- 'totp' | 'recovery' | 'passkey' (verified by the caller; challenge mode) | 'wrong'
local value = ARGV[3] -- the TOTP step, or the recovery code's hash
local now = tonumber(ARGV[4])
local maxWrong = tonumber(ARGV[5])
local limit = tonumber(ARGV[6]) -- wrong codes per user per window (0 = no limit)
local window = tonumber(ARGV[7]) -- ms

local target
if mode == 'challenge' then
  target = redis.call('HMGET', targetKey, 'd', 'n', 'exp')
  if not target[1] or tonumber(target[3]) <= now then return {'invalid'} end
else
  target = redis.call('HMGET', targetKey, 'exp', 'gen', 'amr', 'tr')
  if not target[1] or tonumber(target[1]) <= now then return {'invalid'} end
end

local user = redis.call('HMGET', userKey, 'totp', 'totps', 'rc', 'mfw', 'mfc', 'dis')
if not user[1] then return {'invalid'} end
if user[6] == '1' then return {'disabled'} end

-- The per-user limit on wrong codes, counted in this same atomic step: concurrent guesses
-- cannot all pass a check that runs before any of them is counted.
local thisWindow = limit > 0 and math.floor(now / window) or 0
local wrongSoFar = (limit > 0 and tonumber(user[4]) == thisWindow) and (tonumber(user[5]) or 0) or 0
if limit > 0 and wrongSoFar >= limit then
  return {'limited', string.format('%d', (thisWindow + 1) * window - now)}
end

local function wrong()
  if limit > 0 then redis.call('HSET', userKey, 'mfw', thisWindow, 'mfc', wrongSoFar + 1) end
  if mode ~= 'challenge' then return {'wrong', 0} end
  local n = redis.call('HINCRBY', targetKey, 'n', 1)
  if n >= maxWrong then redis.call('DEL', targetKey) end
  return {'wrong', n}
end
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
elseif kind == 'passkey' and mode == 'challenge' then
  accepted = true
end
if not accepted then return wrong() end

local method = (kind == 'totp' and 'otp') or (kind == 'passkey' and 'hwk') or 'mfa'
if mode == 'challenge' then
  redis.call('DEL', targetKey)
  return {'ok', target[1], method}
end
local amr = 'pwd ' .. method
redis.call('HSET', targetKey, 'aal', '2', 'amr', amr, 'mfa', string.format('%d', now))
return {'ok', target[2], target[1], amr, target[4] or 'body'}
`;
