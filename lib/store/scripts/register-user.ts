/**
 * Creates a user record unless one exists for the email.
 *
 * Guarantees: of any number of concurrent registrations of one email, exactly one creates the
 * record (the check and the write are one atomic script).
 *
 * KEYS[1] user-by-email hash. ARGV: field, value, field, value, ...
 * Returns 1 when created, 0 when the email is taken.
 */
export const REGISTER_USER = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
`;
