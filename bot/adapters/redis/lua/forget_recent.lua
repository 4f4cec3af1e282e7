-- A person's recent threads, without one conversation (forgotten). KEYS: order, entries.
-- ARGV: conversation_id. Returns 1 if it was there.
redis.call('ZREM', KEYS[1], ARGV[1])
return redis.call('HDEL', KEYS[2], ARGV[1])
