/**
 * Claims an email for a user whose record was just written (registration, second step).
 *
 * Guarantees: of any number of concurrent registrations of one email, exactly one claims it
 * (check and write are one atomic step on the index key). Idempotent: the same call repeated
 * (a retry after a lost reply) finds its own user id and succeeds again.
 *
 * Replies 1 when claimed, 0 when the email belongs to another user.
 */
export const CLAIM_EMAIL = `#!lua flags=allow-key-locking
local emailKey = KEYS[1]
local userId = ARGV[1]
local passwordHash = ARGV[2]

local owner = redis.call('HGET', emailKey, 'id')
if owner then
  if owner == userId then return 1 end
  return 0
end
redis.call('HSET', emailKey, 'id', userId, 'pw', passwordHash)
return 1
`;
