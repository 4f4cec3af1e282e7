-- After lib.lua. KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- Stop showing an answer. ARGV: ttl_ms nonce answer_id. Returns its JSON (also when retried), or false.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('HGET', KEYS[1], '_retire') == ARGV[2] then return redis.call('HGET', KEYS[1], '_retired') end
local raw = redis.call('HGET', KEYS[1], 'shown')
if not raw or raw == 'null' then return false end
local map = cjson.decode(raw)
local rec = map[ARGV[3]]
if not rec then return false end
map[ARGV[3]] = nil
local left = '{}'
if next(map) ~= nil then left = cjson.encode(map) end
local encoded = cjson.encode(rec)
redis.call('HSET', KEYS[1], 'shown', left, '_retire', ARGV[2], '_retired', encoded)
touch(ARGV[1])
return encoded
