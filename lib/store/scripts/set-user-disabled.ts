/**
 * Disables or enables an existing user (admin Lambda): sets or clears the `dis` flag (and
 * its reason) of the user record, and records the security event (the caller's JSON) in the
 * user's event list, capped, with its TTL renewed. The sessions are revoked by the caller
 * afterwards (lib/sessions/sessions.ts revokeAllSessions): once the flag is set, no new
 * session can be created (create-session refuses a disabled user), so revoking after it
 * leaves no live session behind.
 *
 * Replies 1 when the user exists (changed or already so), 0 for an unknown user (nothing written).
 */
export const SET_USER_DISABLED = `#!lua flags=allow-key-locking
local userKey, eventsKey = KEYS[1], KEYS[2]
local disabled = ARGV[1] -- '1': disable; '0': enable
local reason = ARGV[2] -- why (disable only; '' = none)
local event = ARGV[3] -- the security event, JSON ('' = none)
local max = tonumber(ARGV[4]) -- how many events the list keeps
local ttl = ARGV[5] -- ms the event list lives after its last write

if redis.call('EXISTS', userKey) == 0 then return 0 end
if disabled == '1' then
  redis.call('HSET', userKey, 'dis', '1', 'disr', reason)
else
  redis.call('HDEL', userKey, 'dis', 'disr')
end
if event ~= '' then
  redis.call('LPUSH', eventsKey, event)
  redis.call('LTRIM', eventsKey, 0, max - 1)
  redis.call('PEXPIRE', eventsKey, ttl)
end
return 1
`;
