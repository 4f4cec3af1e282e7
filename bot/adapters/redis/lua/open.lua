-- After lib.lua. KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- ARGV: ttl_ms max_turns updated nonce  turn(5)  n_meta_fields field1 json1 ...  refused agent
-- (refused: a JSON object whose keys are the agents the writer may not use; agent: meta's agent).
-- Returns {created (1/0), agent_json, stored (1/0), 0} or {0, agent_json, 0, 1 refused | 2 forgotten}.
local n = tonumber(ARGV[10])
local refused = cjson.decode(ARGV[11 + 2 * n])
local owner = ARGV[12 + 2 * n]
if redis.call('EXISTS', KEYS[1]) == 1 then
  owner = cjson.decode(redis.call('HGET', KEYS[1], 'agent'))
elseif redis.call('EXISTS', KEYS[8]) == 1 then
  return {0, cjson.encode(owner), 0, 2}
end
if refused[owner] then return {0, cjson.encode(owner), 0, 1} end
local created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
  redis.call('HSET', KEYS[1], '_open', ARGV[4], unpack(ARGV, 11, 10 + 2 * tonumber(ARGV[10])))
  local parked = redis.call('HGETALL', KEYS[6])
  for i = 1, #parked, 2 do
    local p = cjson.decode(parked[i + 1])
    append(ARGV[4], ARGV[3], ARGV[2], parked[i], p[1], p[2], '0', '')
  end
  redis.call('DEL', KEYS[6])
  created = 1
elseif redis.call('HGET', KEYS[1], '_open') == ARGV[4] then
  created = 1
end
local stored = append(ARGV[4], ARGV[3], ARGV[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
touch(ARGV[1])
return {created, redis.call('HGET', KEYS[1], 'agent'), stored, 0}
