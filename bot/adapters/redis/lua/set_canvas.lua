-- After lib.lua. KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- Compare-and-set the canvas id. ARGV: ttl_ms canvas_json expected_json. Returns the recorded JSON.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local current = redis.call('HGET', KEYS[1], 'canvas_id') or 'null'
if current == ARGV[3] then
  redis.call('HSET', KEYS[1], 'canvas_id', ARGV[2])
  touch(ARGV[1])
  return ARGV[2]
end
return current
