-- After lib.lua. KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- Make an answer the shown one if it is live. ARGV: ttl_ms nonce answer_id shown_json
-- Returns the JSON list of shown answers whose buttons must go (also for a retried call).
if redis.call('EXISTS', KEYS[1]) == 0 then return '[]' end
if redis.call('HGET', KEYS[1], '_show') == ARGV[2] then return redis.call('HGET', KEYS[1], '_show_out') end
local live = redis.call('HGET', KEYS[1], 'last_answer_id')
local out = {}
if live and live ~= 'null' and cjson.decode(live) == ARGV[3] then
  local raw = redis.call('HGET', KEYS[1], 'shown')
  if raw and raw ~= 'null' then
    for id, rec in pairs(cjson.decode(raw)) do
      if id ~= ARGV[3] then out[#out + 1] = rec end
    end
  end
  local map = {}
  map[ARGV[3]] = cjson.decode(ARGV[4])
  redis.call('HSET', KEYS[1], 'shown', cjson.encode(map))
else
  out[1] = cjson.decode(ARGV[4])
end
local encoded = '[]'
if #out > 0 then encoded = cjson.encode(out) end
redis.call('HSET', KEYS[1], '_show', ARGV[2], '_show_out', encoded)
touch(ARGV[1])
return encoded
