-- After lib.lua. KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- Store a pending approval and release the lock. ARGV: ttl_ms updated_json pending_json token
-- Returns 1 stored, -1 unknown conversation (the lock is released in both cases).
if redis.call('EXISTS', KEYS[1]) == 0 then
  release(ARGV[4])
  return -1
end
redis.call('HSET', KEYS[1], 'pending_approval', ARGV[3], 'updated_at', ARGV[2])
touch(ARGV[1])
release(ARGV[4])
return 1
