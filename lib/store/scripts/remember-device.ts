/**
 * Records a device (a keyed tag of a client IP) as known to an account after a successful
 * login, if the email still belongs to that user: moved to the front of the list, the list
 * capped.
 *
 * Replies 1 when recorded, 0 otherwise.
 */
export const REMEMBER_DEVICE = `#!lua flags=allow-key-locking
local emailKey = KEYS[1]
local userId = ARGV[1]
local tag = ARGV[2]
local max = tonumber(ARGV[3])

local s = redis.call('HMGET', emailKey, 'id', 'kd')
if s[1] ~= userId then return 0 end
local kept = {tag}
for known in string.gmatch(s[2] or '', '%S+') do
  if known ~= tag and #kept < max then kept[#kept + 1] = known end
end
redis.call('HSET', emailKey, 'kd', table.concat(kept, ' '))
return 1
`;
