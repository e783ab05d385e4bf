/**
 * Settles a claimed account token: `finish` deletes it (the change it was for is done),
 * `release` lifts the claim (the change failed; the token works again). Only the request that
 * holds the claim can settle it.
 *
 * Replies 1 when settled, 0 when the claim is not this request's.
 */
export const SETTLE_ACCOUNT_TOKEN = `#!lua flags=allow-key-locking
local tokenKey = KEYS[1]
local nonce = ARGV[1]
local action = ARGV[2] -- 'finish' or 'release'

if redis.call('HGET', tokenKey, 'cl') ~= nonce then return 0 end
if action == 'finish' then
  redis.call('DEL', tokenKey)
else
  redis.call('HDEL', tokenKey, 'cl', 'clx')
end
return 1
`;
