/**
 * Creates a user record unless one exists for the email.
 *
 * Guarantees: of any number of concurrent registrations of one email, exactly one creates the
 * record (the check and the write are one atomic script). Idempotent: the same call repeated
 * (a retry after a lost reply) finds its own record, by its server-made id, and succeeds again.
 *
 * KEYS[1] user-by-email hash. ARGV: 'id', <new user id>, field, value, ...
 * Returns 1 when created, 0 when the email is taken.
 */
export const REGISTER_USER = `
local existing = redis.call('HGET', KEYS[1], 'id')
if existing then
  if existing == ARGV[2] then return 1 end
  return 0
end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;
