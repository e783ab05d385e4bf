/**
 * Creates a session and enters it in its user's index, in one atomic step (login).
 *
 * Guarantees:
 * - the user record must exist (a deleted user gets no session);
 * - the session hash and its index entry appear together, so a concurrent logout-all sees
 *   both or neither and no live session is ever missing from the list;
 * - expired entries (score <= now) are pruned from the index (their hashes have expired
 *   with them: a session key's TTL is its deadline);
 * - beyond `max` sessions, the oldest (earliest created) are revoked, never the new one.
 *   Reading their creation times and deleting them takes their keys in KEYS: the caller
 *   passes none the first time; when the cap is reached the script changes nothing and
 *   replies `{'evict', id, ...}` with every id in the index, and the caller retries with
 *   those keys. Sessions that came in between (not passed) are newer than every passed one,
 *   so the victims are always among the passed; if too few of those are left, another round;
 * - the index key expires with the latest session in it;
 * - a retry of this very call (same session id) changes nothing more and succeeds.
 *
 * - a disabled account (admin Lambda) gets no session and no challenge: `{'disabled'}` (the
 *   caller checked the password first, so only a correct password learns it);
 * - with REQUIRE_VERIFIED_EMAIL, an account whose email is not verified gets no session;
 * - a password login of an account with TOTP on gets no session but an MFA challenge
 *   (KEYS[4], 300 s), which POST /auth/mfa/verify completes.
 *
 * - a created session records the user's `ll` (last login) and its security event (ARGV[11],
 *   JSON) at the front of the user's event list (KEYS[5]), capped, its TTL renewed.
 *
 * Replies {'created', email, evicted id, ...} | {'evict', id, ...} | {'mfa', passkey count} | {'no_user'} | {'disabled'} | {'unverified'}.
 */
export const CREATE_SESSION = `#!lua flags=allow-key-locking
local userKey, indexKey, sessionKey, challengeKey, eventsKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5] -- KEYS[6..]: sessions to evict
local now = ARGV[1]
local deadline = ARGV[2]
local max = tonumber(ARGV[3])
local sessionId = ARGV[4]
local candidates = ARGV[5] -- ids of KEYS[6..], in that order, space-separated ('' = none)
local requireVerified = ARGV[6] -- '1': REQUIRE_VERIFIED_EMAIL
local secondFactor = ARGV[7] -- 'ask': a password login (TOTP on: a challenge instead); 'done': given
local challengeLogin = ARGV[8] -- what the challenge keeps of the login (JSON)
local challengeExpiresAt = ARGV[9] -- ms
local loginEmail = ARGV[10] -- the address a password login used ('' = none): must be the record's
local event = ARGV[11] -- the login's security event (JSON)
local maxEvents = tonumber(ARGV[12]) -- how many events the list keeps
local eventsTtl = ARGV[13] -- ms the event list lives after its last write
local firstField = 14 -- ARGV[14..]: session fields, field, value, ...

local user = redis.call('HMGET', userKey, 'email', 'ev', 'totp', 'dis', 'pkn')
local email = user[1]
if not email or (loginEmail ~= '' and loginEmail ~= email) then return {'no_user'} end
if user[4] == '1' then return {'disabled'} end
if requireVerified == '1' and user[2] ~= '1' then return {'unverified'} end
if secondFactor == 'ask' and user[3] then
  redis.call('HSET', challengeKey, 'd', challengeLogin, 'n', 0, 'exp', challengeExpiresAt)
  redis.call('PEXPIREAT', challengeKey, challengeExpiresAt)
  return {'mfa', user[5] or '0'}
end
-- A retry of this very call (its reply was lost): the session is there, nothing more to do.
if redis.call('ZSCORE', indexKey, sessionId) then return {'created', email} end

redis.call('ZREMRANGEBYSCORE', indexKey, '-inf', now)
local victims = {}
local over = redis.call('ZCARD', indexKey) + 1 - max
if over > 0 then
  local known, n = {}, 5
  for id in string.gmatch(candidates, '%S+') do
    n = n + 1
    if redis.call('ZSCORE', indexKey, id) then
      known[#known + 1] = {id = id, key = KEYS[n], created = tonumber(redis.call('HGET', KEYS[n], 'created')) or 0}
    end
  end
  if #known < over then
    local reply = {'evict'}
    for _, id in ipairs(redis.call('ZRANGE', indexKey, 0, -1)) do reply[#reply + 1] = id end
    return reply
  end
  table.sort(known, function(a, b) return a.created < b.created end)
  for i = 1, over do
    redis.call('DEL', known[i].key)
    redis.call('ZREM', indexKey, known[i].id)
    victims[i] = known[i].id
  end
end

redis.call('HSET', sessionKey, unpack(ARGV, firstField))
redis.call('PEXPIREAT', sessionKey, deadline)
redis.call('ZADD', indexKey, deadline, sessionId)
local last = redis.call('ZRANGE', indexKey, -1, -1, 'WITHSCORES')
redis.call('PEXPIREAT', indexKey, last[2])
redis.call('HSET', userKey, 'll', now)
redis.call('LPUSH', eventsKey, event)
redis.call('LTRIM', eventsKey, 0, maxEvents - 1)
redis.call('PEXPIRE', eventsKey, eventsTtl)

local reply = {'created', email}
for _, id in ipairs(victims) do reply[#reply + 1] = id end
return reply
`;
