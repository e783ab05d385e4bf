/**
 * Changes a user's passkeys (KEYS[2], credential id → JSON) in one atomic step with the user's
 * record (KEYS[1]), which keeps their number (`pkn`), and the user's security events (KEYS[3]),
 * where `add` and `remove` record theirs (ARGV[7..9], as lib/security/events.ts makes them):
 * - `add`: stores a new credential, unless the user is gone, already has it, or has `max`;
 * - `remove`: deletes one;
 * - `use`: a verified sign-in with it: the signature counter must move forward (or be 0 on
 *   both sides, for authenticators that keep none): a counter at or below the stored one is
 *   refused and reported, since only a copy of the key can produce it; else the counter and
 *   the time of use are stored. Compare-and-set: of two sign-ins that carried one counter
 *   value, only the first is accepted.
 *
 * Replies {'ok', the user's email} (`use`: {'ok', the credential JSON as it was}) | {'no_user'} |
 * {'exists'} | {'full'} | {'not_found'} | {'counter', stored counter}.
 */
export const PASSKEY_SETTINGS = `#!lua flags=allow-key-locking
local userKey, passkeysKey, eventsKey = KEYS[1], KEYS[2], KEYS[3]
local action = ARGV[1] -- 'add' | 'remove' | 'use'
local credentialId = ARGV[2]
local credential = ARGV[3] -- add: the credential as JSON
local max = tonumber(ARGV[4]) -- add: passkeys per user
local counter = tonumber(ARGV[5]) -- use: the signature counter the authenticator sent
local now = tonumber(ARGV[6]) -- use: ms
local event = ARGV[7] -- add, remove: the security event (JSON)
local maxEvents = tonumber(ARGV[8]) -- how many events the list keeps
local eventsTtl = ARGV[9] -- ms the event list lives after its last write

local email = redis.call('HGET', userKey, 'email')
if not email then return {'no_user'} end
if action == 'add' then
  if redis.call('HEXISTS', passkeysKey, credentialId) == 1 then return {'exists'} end
  if redis.call('HLEN', passkeysKey) >= max then return {'full'} end
  redis.call('HSET', passkeysKey, credentialId, credential)
elseif action == 'remove' then
  if redis.call('HDEL', passkeysKey, credentialId) == 0 then return {'not_found'} end
else
  local stored = redis.call('HGET', passkeysKey, credentialId)
  if not stored then return {'not_found'} end
  local entry = cjson.decode(stored)
  local previous = tonumber(entry.counter) or 0
  if (counter > 0 or previous > 0) and counter <= previous then
    return {'counter', string.format('%d', previous)}
  end
  entry.counter = counter
  entry.lastUsedAt = now
  redis.call('HSET', passkeysKey, credentialId, cjson.encode(entry))
  return {'ok', stored}
end
redis.call('HSET', userKey, 'pkn', redis.call('HLEN', passkeysKey))
redis.call('LPUSH', eventsKey, event)
redis.call('LTRIM', eventsKey, 0, maxEvents - 1)
redis.call('PEXPIRE', eventsKey, eventsTtl)
return {'ok', email}
`;
