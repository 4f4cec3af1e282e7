-- Read-only. KEYS: order, entries. ARGV: limit. Returns the entries, newest first (nil for a gap).
local ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(ids))
