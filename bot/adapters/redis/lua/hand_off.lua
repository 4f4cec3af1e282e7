-- After lib.lua. KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- ARGV: ttl_ms max_turns updated nonce  prompt turn(5)  expected_id expected_json from_agent
--       to_agent_json model_json record_json
-- Returns {status, retired}: status 1 done, 0 stale, -1 unknown conversation, -2 the answer is not
-- from_agent's; retired: the clicked answer's shown record (JSON) that this handoff took off the
-- shown answers (its buttons must go), or '' (not shown, or not done). A retried call (same nonce)
-- returns what the first one did.
if redis.call('EXISTS', KEYS[1]) == 0 then return {-1, ''} end
if redis.call('HGET', KEYS[1], 'last_answer_id') ~= ARGV[11] then
  if redis.call('HGET', KEYS[1], '_handoff') == ARGV[4] then
    return {1, redis.call('HGET', KEYS[1], '_handoff_retired') or ''}
  end
  return {0, ''}
end
local answer = redis.call('HGET', KEYS[3], ARGV[10])
if not answer or cjson.decode(answer)['agent'] ~= ARGV[12] then return {-2, ''} end
local retired = ''
local raw = redis.call('HGET', KEYS[1], 'shown')
if raw and raw ~= 'null' then
  local map = cjson.decode(raw)
  local rec = map[ARGV[10]]
  if rec then
    map[ARGV[10]] = nil
    local left = '{}'
    if next(map) ~= nil then left = cjson.encode(map) end
    retired = cjson.encode(rec)
    redis.call('HSET', KEYS[1], 'shown', left)
  end
end
redis.call('HSET', KEYS[1], 'agent', ARGV[13], 'model', ARGV[14], 'last_answer_id', 'null',
  '_handoff', ARGV[4], '_handoff_retired', retired)
redis.call('RPUSH', KEYS[5], ARGV[15])
append(ARGV[4], ARGV[3], ARGV[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
touch(ARGV[1])
return {1, retired}
