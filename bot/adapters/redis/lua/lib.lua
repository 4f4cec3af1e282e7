-- Shared Lua: KEYS are always meta turns bodies ids handoffs parked lock forgotten (one slot: the
-- hash tag).
-- A turn travels as 5 arguments: id json score is_assistant last_answer_json.
-- append() returns 1 stored (also when this call's nonce stored it: a retried call), 0 duplicate id.
local function append(nonce, updated, max_turns, id, body, score, is_answer, last_json)
  local prev = redis.call('HGET', KEYS[4], id)
  if prev then
    if prev == nonce then return 1 end
    return 0
  end
  score = tonumber(score)
  if is_answer == '1' then
    local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
    if last[2] then
      local top = tonumber(last[2])
      if top >= score then score = top + 1 end
    end
    redis.call('HSET', KEYS[1], 'last_answer_id', last_json)
  end
  redis.call('HSET', KEYS[1], 'updated_at', updated)
  redis.call('ZADD', KEYS[2], string.format('%d', score), id)
  redis.call('HSET', KEYS[3], id, body)
  redis.call('HSET', KEYS[4], id, nonce)
  local excess = redis.call('ZCARD', KEYS[2]) - tonumber(max_turns)
  if excess > 0 then
    local dropped = redis.call('ZRANGE', KEYS[2], 1, excess)
    redis.call('ZREMRANGEBYRANK', KEYS[2], 1, excess)
    for _, d in ipairs(dropped) do redis.call('HDEL', KEYS[3], d) end
    redis.call('HINCRBY', KEYS[1], 'dropped_turns', excess)
  end
  return 1
end
local function touch(ttl)
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
local function release(token)
  if redis.call('GET', KEYS[7]) == token then redis.call('DEL', KEYS[7]) end
end
