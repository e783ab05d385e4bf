/**
 * Checks a presented refresh token against its session and rotates it, in one atomic step.
 *
 * The session keeps only hashes: `rt` (current token), `prev` (the one rotated last, with
 * `rotated` = when) and `next` (the current token's secret encrypted under a key derived from
 * `prev`'s secret, so only a holder of the previous token can recover it; Redis alone cannot).
 * `hist` holds the older rotated tokens, newest first, capped, each as
 * `hash,rotatedAtMs,sealedSuccessor`: a chain the holder of any of them can walk forward
 * (grace). KEYS[2], a set expiring with the session, holds the hash of every token ever
 * rotated, so reuse is recognized however many rotations later (a thief cannot rotate a
 * stolen token out of memory).
 *
 * Outcomes (first element of the reply):
 * - `rotated`: the presented token was current; it becomes `prev`, the new one current, the
 *   idle deadline moves to min(now + refresh TTL, absolute deadline), `used` = now.
 * - `grace`: the presented token was rotated at most ARGV[5] ms ago (it is `prev`, or in
 *   `hist` when its successor was rotated too): nothing changes, and the reply carries the
 *   sealed successors from it up to the current token, so the caller hands out the current
 *   token (concurrent refreshes of one token all succeed with the same session).
 * - `reused`: the presented token was rotated before (outside the grace interval): the whole
 *   session is deleted with its index entry.
 * - `limited`: a current or grace-interval token, but the session has used up its refreshes
 *   for this window (ARGV[10] per ARGV[11] ms, 0 = no limit): nothing changes, the token stays
 *   usable; the reply carries the ms until the window ends. Only tokens this session issued
 *   count, so a stranger who knows a session id cannot exhaust its limit.
 * - A retry of this very call (its reply was lost after Redis ran it: the presented token is
 *   `prev` and the current one is the successor this call proposed) answers `rotated` again,
 *   never `reused`.
 * - `invalid`: unknown session, expired session, or a token this session never issued
 *   (nothing changes: a guessed token cannot revoke someone's session).
 *
 * KEYS[1] session hash, KEYS[2] its used-token set. The user's index is ARGV[9] .. uid (the caller knows only the session
 * id until the session is read).
 * ARGV[1] presented hash, ARGV[2] new hash, ARGV[3] new secret encrypted for the grace case,
 * ARGV[4] the caller's now (ms; the script uses the later of it and Redis's TIME), ARGV[5] grace interval (ms; 0 = none), ARGV[6] refresh TTL (ms),
 * ARGV[7] session id, ARGV[8] how many older hashes to remember, ARGV[9] user index key prefix,
 * ARGV[10] refreshes allowed per window (0 = unlimited), ARGV[11] window (ms).
 * Replies: {'rotated', uid, email, exp} | {'grace', uid, email, exp, 'sealed sealed ...'} | {'limited', ms}
 * | {'reused'} | {'invalid'}
 */
export const ROTATE_REFRESH_TOKEN = `
local s = redis.call('HMGET', KEYS[1], 'uid', 'email', 'abs', 'exp', 'rt', 'prev', 'next', 'rotated', 'hist', 'rlw', 'rlc', 'rlp')
local uid, email, abs, exp = s[1], s[2], tonumber(s[3]), tonumber(s[4])
local presented, grace = ARGV[1], tonumber(ARGV[5])
-- Redis's own clock, when it is later than the caller's: a request queued behind a stalled
-- Redis runs late, and must record when it really rotated, or its client's retry would fall
-- outside the grace interval and be taken for reuse.
local clock = redis.call('TIME')
local now = math.max(tonumber(ARGV[4]), tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000))
local nowText = string.format('%d', now)
if not uid or not exp or exp <= now then return {'invalid'} end
local index = ARGV[9] .. uid

-- Sliding-window refresh limit (the algorithm of @upstash/ratelimit's slidingWindow: the
-- previous window's count weighted by how much of it still overlaps, plus this window's),
-- stored in the session itself: no extra key, and the same atomic step as the rotation.
local function limited()
  local max, window = tonumber(ARGV[10]), tonumber(ARGV[11])
  if max == 0 then return nil end
  local current = math.floor(now / window)
  local start, count, previous = tonumber(s[10]) or current, tonumber(s[11]) or 0, tonumber(s[12]) or 0
  if start ~= current then
    if start == current - 1 then previous = count else previous = 0 end
    count = 0
  end
  local elapsed = now - current * window
  if previous * (1 - elapsed / window) + count >= max then
    return {'limited', string.format('%d', window - elapsed)}
  end
  redis.call('HSET', KEYS[1], 'rlw', string.format('%d', current), 'rlc', count + 1, 'rlp', previous)
  return nil
end

if presented == s[5] then
  local over = limited()
  if over then return over end
  local newExp = math.min(now + tonumber(ARGV[6]), abs)
  local hist = s[9] or ''
  if s[6] then
    hist = s[6] .. ',' .. s[8] .. ',' .. (s[7] or '') .. ' ' .. hist
    local cap = tonumber(ARGV[8])
    local kept, n = {}, 0
    for h in string.gmatch(hist, '%S+') do
      if n < cap then n = n + 1; kept[n] = h end
    end
    hist = table.concat(kept, ' ')
  end
  redis.call('HSET', KEYS[1], 'rt', ARGV[2], 'prev', presented, 'next', ARGV[3], 'rotated', nowText,
    'used', nowText, 'exp', string.format('%d', newExp), 'hist', hist)
  redis.call('PEXPIREAT', KEYS[1], string.format('%d', newExp))
  redis.call('SADD', KEYS[2], presented)
  redis.call('PEXPIREAT', KEYS[2], string.format('%d', newExp))
  redis.call('ZADD', index, string.format('%d', newExp), ARGV[7])
  if redis.call('PEXPIRETIME', index) < newExp then
    redis.call('PEXPIREAT', index, string.format('%d', newExp))
  end
  return {'rotated', uid, email, string.format('%d', newExp)}
end

-- A rotated token: \`prev\` (chain = its successor) or one in \`hist\` (chain = every
-- successor from it up to the current token).
if presented == s[6] and s[5] == ARGV[2] then
  return {'rotated', uid, email, string.format('%d', exp)}
end

local rotatedAt, chain = nil, {}
if presented == s[6] then
  rotatedAt, chain = tonumber(s[8]), {s[7]}
elseif s[9] then
  local older = {}
  for entry in string.gmatch(s[9], '%S+') do
    local hash, at, sealed = string.match(entry, '^([^,]+),([^,]+),([^,]*)$')
    older[#older + 1] = {hash, tonumber(at), sealed}
  end
  for i, entry in ipairs(older) do
    if entry[1] == presented then
      rotatedAt = entry[2]
      for j = i, 1, -1 do chain[#chain + 1] = older[j][3] end
      chain[#chain + 1] = s[7]
      break
    end
  end
end

local reused = false
if rotatedAt then
  if grace > 0 and now - rotatedAt <= grace then
    local over = limited()
    if over then return over end
    return {'grace', uid, email, string.format('%d', exp), table.concat(chain, ' ')}
  end
  reused = true
else
  reused = redis.call('SISMEMBER', KEYS[2], presented) == 1
end
if reused then
  redis.call('DEL', KEYS[1], KEYS[2])
  redis.call('ZREM', index, ARGV[7])
  return {'reused'}
end
return {'invalid'}
`;
