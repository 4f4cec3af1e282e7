-- KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- ARGV: ttl_ms nonce field1 json1 field2 json2 ...
-- A leftover of an expired conversation (keys expire one by one) is wiped before creating.
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[8]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], '_create') == ARGV[2] then return 1 end
  return 0
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('HSET', KEYS[1], '_create', ARGV[2], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
