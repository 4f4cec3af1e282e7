-- A person's recent threads. KEYS: order (zset), entries (hash), in the person's slot.
-- ARGV: ttl_ms score conversation_id entry_json keep
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
local first = redis.call('HGET', KEYS[2], ARGV[3])
if first then
  local entry = cjson.decode(first)
  local now = cjson.decode(ARGV[4])
  entry['at'] = now['at']
  if now['agent'] ~= cjson.null then entry['agent'] = now['agent'] end
  redis.call('HSET', KEYS[2], ARGV[3], cjson.encode(entry))
else
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
end
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[5])
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[1], 0, extra - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1)
  for _, id in ipairs(old) do redis.call('HDEL', KEYS[2], id) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
