-- KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- Take the answer lock (SET NX PX, or ours already: a retried call) and read the conversation.
-- ARGV: token lock_ttl_ms. Returns {0} busy, {1} locked but no conversation,
-- {1, meta pairs, turn bodies in order, handoffs}.
local v = redis.call('GET', KEYS[7])
if v and v ~= ARGV[1] then return {0} end
redis.call('SET', KEYS[7], ARGV[1], 'PX', ARGV[2])
local meta = redis.call('HGETALL', KEYS[1])
if #meta == 0 then return {1} end
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
local pairs_ = redis.call('HGETALL', KEYS[3])
local by_id = {}
for i = 1, #pairs_, 2 do by_id[pairs_[i]] = pairs_[i + 1] end
local bodies = {}
for _, id in ipairs(ids) do
  local body = by_id[id]
  if body then bodies[#bodies + 1] = body end
end
return {1, meta, bodies, redis.call('LRANGE', KEYS[5], 0, -1)}
