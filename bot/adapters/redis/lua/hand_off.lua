-- After lib.lua. KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- ARGV: ttl_ms max_turns updated nonce  prompt turn(5)  expected_id expected_json from_agent
--       to_agent_json model_json record_json
-- Returns 1 done, 0 stale, -1 unknown conversation, -2 the answer is not from_agent's.
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[1], 'last_answer_id') ~= ARGV[11] then
  if redis.call('HGET', KEYS[1], '_handoff') == ARGV[4] then return 1 end
  return 0
end
local answer = redis.call('HGET', KEYS[3], ARGV[10])
if not answer or cjson.decode(answer)['agent'] ~= ARGV[12] then return -2 end
redis.call('HSET', KEYS[1], 'agent', ARGV[13], 'model', ARGV[14], 'last_answer_id', 'null',
  '_handoff', ARGV[4])
redis.call('RPUSH', KEYS[5], ARGV[15])
append(ARGV[4], ARGV[3], ARGV[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
touch(ARGV[1])
return 1
