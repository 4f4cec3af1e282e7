-- After lib.lua. KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- ARGV: ttl_ms max_turns updated nonce n_meta_fields n_turns n_handoffs last_answer_json
--       field1 json1 ...  turn(5) ...  handoff_json ...
-- Returns {created (1/0), agent_json}, or {0, false, 2} for a forgotten conversation (never rebuilt).
-- Turns come in ts order; parked turns are adopted after them.
if redis.call('EXISTS', KEYS[1]) == 1 then
  local mine = redis.call('HGET', KEYS[1], '_adopt') == ARGV[4]
  return {mine and 1 or 0, redis.call('HGET', KEYS[1], 'agent')}
end
if redis.call('EXISTS', KEYS[8]) == 1 then return {0, false, 2} end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local n_meta, n_turns, n_handoffs = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local at = 9
redis.call('HSET', KEYS[1], '_adopt', ARGV[4], unpack(ARGV, at, at + 2 * n_meta - 1))
at = at + 2 * n_meta
for i = 1, n_turns do
  append(ARGV[4], ARGV[3], ARGV[2], ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4])
  at = at + 5
end
local parked = redis.call('HGETALL', KEYS[6])
for i = 1, #parked, 2 do
  local p = cjson.decode(parked[i + 1])
  append(ARGV[4], ARGV[3], ARGV[2], parked[i], p[1], p[2], '0', '')
end
redis.call('DEL', KEYS[6])
redis.call('HSET', KEYS[1], 'last_answer_id', ARGV[8])
for i = 1, n_handoffs do
  redis.call('RPUSH', KEYS[5], ARGV[at])
  at = at + 1
end
touch(ARGV[1])
return {1, redis.call('HGET', KEYS[1], 'agent')}
