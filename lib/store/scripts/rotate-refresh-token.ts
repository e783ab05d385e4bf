/**
 * Checks a presented refresh token's generation against its session and rotates it, in one
 * atomic step (refresh). The caller has verified the token's MAC, so the generation is one
 * this service issued for this session (lib/tokens/refresh-token.ts).
 *
 * The session keeps `gen` (the generation that rotates now), `rot` (when each of the last
 * generations was rotated, newest first: at most `history` entries, and none older than the
 * grace interval) and `rn` (the
 * nonce of the call that rotated last): constant memory however many rotations.
 *
 * Outcomes (first element of the reply):
 * - `rotated`: the presented generation is current; the session moves to the next one, the
 *   deadline to min(now + refresh TTL, absolute deadline), `used` = now.
 * - `grace`: an earlier generation rotated at most `grace` ms ago: nothing changes and the
 *   reply names the current generation, so concurrent refreshes of one token all get working
 *   tokens of the same session.
 * - A retry of this very call (its reply was lost after Redis ran it: the presented
 *   generation is the one before current and `rn` is this call's nonce) answers `rotated`
 *   again, never `reused`, even with no grace interval.
 * - `reused`: an earlier generation rotated longer ago: the session is deleted with its index
 *   entry. The reply carries the user id (security log) and email (the notice).
 * - `limited`: a current or grace-interval token, but the session has used up its refreshes
 *   for this window (`limit` per `window` ms, 0 = no limit): nothing changes; the reply
 *   carries the ms until the window ends.
 * - `invalid`: unknown or expired session, a generation ahead of the session's, or a deleted
 *   user: nothing changes.
 *
 * Replies {'rotated', email, deadline, generation, aal, amr} | {'grace', email, deadline, generation, aal, amr}
 * | {'limited', ms} | {'reused', userId, email} | {'disabled'} (an administrator disabled the
 * user: nothing rotates, even should a session have outlived the disabling) | {'invalid'}
 */
export const ROTATE_REFRESH_TOKEN = `#!lua flags=allow-key-locking
local sessionKey, indexKey, userKey = KEYS[1], KEYS[2], KEYS[3]
local presented = tonumber(ARGV[1]) -- the presented token's generation
local callerNow = tonumber(ARGV[2]) -- ms; the script uses the later of it and Redis's TIME
local grace = tonumber(ARGV[3]) -- grace interval, ms (0 = none)
local refreshTtl = tonumber(ARGV[4]) -- ms
local sessionId = ARGV[5]
local history = tonumber(ARGV[6]) -- how many rotation times to keep
local limit = tonumber(ARGV[7]) -- refreshes per window (0 = unlimited)
local window = tonumber(ARGV[8]) -- ms
local nonce = ARGV[9] -- this call's nonce

local s = redis.call('HMGET', sessionKey, 'uid', 'abs', 'exp', 'gen', 'rot', 'rn', 'rlw', 'rlc', 'rlp', 'aal', 'amr')
local aal, amr = s[10] or '1', s[11] or 'pwd'
local userId, abs, deadline, current = s[1], tonumber(s[2]), tonumber(s[3]), tonumber(s[4])
-- Redis's own clock, when it is later than the caller's: a request queued behind a stalled
-- Redis runs late, and must record when it really rotated, or its client's retry would fall
-- outside the grace interval and be taken for reuse.
local clock = redis.call('TIME')
local now = math.max(callerNow, tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000))
local nowText = string.format('%d', now)
if not userId or not deadline or not current or deadline <= now or presented > current then return {'invalid'} end
local user = redis.call('HMGET', userKey, 'email', 'dis')
local email = user[1]
if not email then return {'invalid'} end
if user[2] == '1' then return {'disabled'} end

-- Sliding-window refresh limit (the algorithm of @upstash/ratelimit's slidingWindow: the
-- previous window's count weighted by how much of it still overlaps, plus this window's),
-- stored in the session itself: no extra key, and the same atomic step as the rotation.
local function limited()
  if limit == 0 then return nil end
  local thisWindow = math.floor(now / window)
  local start, count, previous = tonumber(s[7]) or thisWindow, tonumber(s[8]) or 0, tonumber(s[9]) or 0
  if start ~= thisWindow then
    if start == thisWindow - 1 then previous = count else previous = 0 end
    count = 0
  end
  local elapsed = now - thisWindow * window
  if previous * (1 - elapsed / window) + count >= limit then
    return {'limited', string.format('%d', window - elapsed)}
  end
  redis.call('HSET', sessionKey, 'rlw', string.format('%d', thisWindow), 'rlc', count + 1, 'rlp', previous)
  return nil
end

local rotatedAt = {}
for at in string.gmatch(s[5] or '', '%S+') do rotatedAt[#rotatedAt + 1] = at end

if presented == current then
  local over = limited()
  if over then return over end
  local newDeadline = string.format('%d', math.min(now + refreshTtl, abs))
  -- Only rotations inside the grace interval can matter again: older times are dropped, so
  -- the field stays a few bytes for a session refreshed now and then (and the hash compact).
  local kept = {nowText}
  for i = 1, math.min(#rotatedAt, history - 1) do
    if now - tonumber(rotatedAt[i]) > grace then break end
    kept[#kept + 1] = rotatedAt[i]
  end
  local next = string.format('%d', current + 1)
  redis.call('HSET', sessionKey, 'gen', next, 'rot', table.concat(kept, ' '), 'rn', nonce,
    'used', nowText, 'exp', newDeadline)
  redis.call('PEXPIREAT', sessionKey, newDeadline)
  redis.call('ZADD', indexKey, newDeadline, sessionId)
  if redis.call('PEXPIRETIME', indexKey) < tonumber(newDeadline) then redis.call('PEXPIREAT', indexKey, newDeadline) end
  return {'rotated', email, newDeadline, next, aal, amr}
end

local currentText, deadlineText = string.format('%d', current), string.format('%d', deadline)
if presented == current - 1 and s[6] == nonce then
  return {'rotated', email, deadlineText, currentText, aal, amr}
end

-- rotatedAt[i] is when generation current - i was rotated.
local at = tonumber(rotatedAt[current - presented])
if at and grace > 0 and now - at <= grace then
  local over = limited()
  if over then return over end
  return {'grace', email, deadlineText, currentText, aal, amr}
end

redis.call('DEL', sessionKey)
redis.call('ZREM', indexKey, sessionId)
return {'reused', userId, email}
`;
