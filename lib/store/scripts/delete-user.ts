/**
 * Deletes a user's record and every other key of the user's slot that the caller passes
 * (account tokens, security events, and the sessions the index listed: the caller revoked them first), with
 * the session index, once the index holds no session the caller did not pass.
 *
 * Replies {'deleted'} | {'changed'} (a session came in between: read the index again).
 */
export const DELETE_USER = `#!lua flags=allow-key-locking
local userKey, indexKey = KEYS[1], KEYS[2] -- KEYS[3..]: account tokens, security events and session keys
local sessionIds = ARGV[1] -- the ids of the sessions among KEYS[3..], space-separated

local passed = {}
for id in string.gmatch(sessionIds, '%S+') do passed[id] = true end
for _, id in ipairs(redis.call('ZRANGE', indexKey, 0, -1)) do
  if not passed[id] then return {'changed'} end
end
for i = 3, #KEYS do redis.call('DEL', KEYS[i]) end
redis.call('DEL', indexKey, userKey)
return {'deleted'}
`;
