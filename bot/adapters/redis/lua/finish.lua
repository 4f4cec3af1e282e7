-- After lib.lua. KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- Store the answer and release the lock. ARGV: ttl_ms max_turns updated nonce turn(5) token
-- Returns 1 stored, 0 duplicate id, -1 unknown conversation (the lock is released in every case).
if redis.call('EXISTS', KEYS[1]) == 0 then
  release(ARGV[10])
  return -1
end
local stored = append(ARGV[4], ARGV[3], ARGV[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
touch(ARGV[1])
release(ARGV[10])
return stored
