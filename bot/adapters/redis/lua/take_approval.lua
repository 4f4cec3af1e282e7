-- After lib.lua. KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- Compare-and-clear the pending approval. ARGV: approval_id nonce ttl_ms updated_json
-- Returns the approval's JSON when this call took it (also on a retried call), else false.
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local raw = redis.call('HGET', KEYS[1], 'pending_approval')
if raw and raw ~= 'null' and cjson.decode(raw)['id'] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'pending_approval', 'null', '_take', ARGV[2], '_taken', raw,
    'updated_at', ARGV[4])
  touch(ARGV[3])
  return raw
end
if redis.call('HGET', KEYS[1], '_take') == ARGV[2] then return redis.call('HGET', KEYS[1], '_taken') end
return false
