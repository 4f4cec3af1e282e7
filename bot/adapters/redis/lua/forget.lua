-- KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- Delete the conversation (not its lock: an answer in flight finds it gone) and leave a tombstone.
-- ARGV: ttl_ms. Returns 1 if there was a conversation.
local existed = redis.call('EXISTS', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('SET', KEYS[8], '1', 'PX', ARGV[1])
return existed
