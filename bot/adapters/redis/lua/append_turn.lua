-- After lib.lua. KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- ARGV: ttl_ms max_turns updated nonce  turn(5)  park park_ttl_ms refused (JSON object: agent -> true)
-- Returns 1 stored, 0 duplicate id, -1 unknown (or forgotten) conversation, 2 parked, 3 refused.
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[10] ~= '1' or redis.call('EXISTS', KEYS[8]) == 1 then return -1 end
  redis.call('HSETNX', KEYS[6], ARGV[5], cjson.encode({ARGV[6], ARGV[7]}))
  redis.call('PEXPIRE', KEYS[6], ARGV[11])
  return 2
end
if cjson.decode(ARGV[12])[cjson.decode(redis.call('HGET', KEYS[1], 'agent'))] then return 3 end
local stored = append(ARGV[4], ARGV[3], ARGV[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
touch(ARGV[1])
return stored
