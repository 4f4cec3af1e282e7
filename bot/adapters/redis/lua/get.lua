-- KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- Read-only: {meta pairs, turn bodies in order, handoffs} or nil.
local meta = redis.call('HGETALL', KEYS[1])
if #meta == 0 then return false end
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
local pairs_ = redis.call('HGETALL', KEYS[3])
local by_id = {}
for i = 1, #pairs_, 2 do by_id[pairs_[i]] = pairs_[i + 1] end
local bodies = {}
for _, id in ipairs(ids) do
  local body = by_id[id]
  if body then bodies[#bodies + 1] = body end
end
return {meta, bodies, redis.call('LRANGE', KEYS[5], 0, -1)}
