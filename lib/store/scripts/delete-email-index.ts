/**
 * Deletes an email's index entry if it still belongs to the user (account deletion, the old
 * address of an email change): another account's address is never touched.
 *
 * Replies 1 when deleted, 0 otherwise.
 */
export const DELETE_EMAIL_INDEX = `#!lua flags=allow-key-locking
local emailKey = KEYS[1]
local userId = ARGV[1]

if redis.call('HGET', emailKey, 'id') ~= userId then return 0 end
redis.call('DEL', emailKey)
return 1
`;
