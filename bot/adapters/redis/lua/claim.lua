-- SET NX PX, also true if the key already holds our token (a retried call whose reply was lost).
-- KEYS: key. ARGV: token ttl_ms
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then return 1 end
return 0
