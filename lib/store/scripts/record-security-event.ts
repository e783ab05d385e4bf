/**
 * Appends one security event (JSON, made by lib/security/events.ts) to the front of a user's
 * event list, caps the list and renews its TTL, in one step; only while the user record exists,
 * so an event that lands after an account deletion never brings a key of the user back.
 *
 * Replies 1 when recorded, 0 (nothing written) when the user is gone.
 */
export const RECORD_SECURITY_EVENT = `#!lua flags=allow-key-locking
local eventsKey, userKey = KEYS[1], KEYS[2]
local event = ARGV[1] -- the event, JSON
local max = tonumber(ARGV[2]) -- how many events the list keeps
local ttl = ARGV[3] -- ms the list lives after its last write

if redis.call('EXISTS', userKey) == 0 then return 0 end
redis.call('LPUSH', eventsKey, event)
redis.call('LTRIM', eventsKey, 0, max - 1)
redis.call('PEXPIRE', eventsKey, ttl)
return 1
`;
