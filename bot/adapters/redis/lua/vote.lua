-- After lib.lua. KEYS: one conversation's keys (keys.ConversationKeys, in order).
-- One person's vote on one answer (the same rules as store_common.vote_change).
-- ARGV: ttl_ms answer_id user_id value comment_json at_json
-- Returns {status, vote_json, agent_json, previous value or ''}.
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local body = redis.call('HGET', KEYS[3], ARGV[2])
if not body then return {'not_an_answer'} end
local turn = cjson.decode(body)
if turn['role'] ~= 'assistant' then return {'not_an_answer'} end
local agent = cjson.encode(turn['agent'])
local raw = redis.call('HGET', KEYS[1], 'votes')
local votes = {}
if raw and raw ~= 'null' then votes = cjson.decode(raw) end
local per = votes[ARGV[2]] or {}
local old = per[ARGV[3]]
local value = tonumber(ARGV[4])
local comment = cjson.decode(ARGV[5])
local has_comment = comment ~= cjson.null
local previous = ''
if old then previous = tostring(old['value']) end
if old and old['value'] == value and ((not has_comment) or old['comment'] == comment) then
  return {'unchanged', cjson.encode(old), agent, previous}
end
local vote = {}
vote['value'] = value
vote['comment'] = cjson.null
if value < 0 then
  if has_comment then
    vote['comment'] = comment
  elseif old and old['value'] == value and old['comment'] then
    vote['comment'] = old['comment']
  end
end
vote['at'] = cjson.decode(ARGV[6])
vote['revision'] = 1
if old then vote['revision'] = old['revision'] + 1 end
local up, down = 0, 0
if value > 0 then up = 1 else down = 1 end
if old and old['value'] == 1 then up = up - 1 end
if old and old['value'] == -1 then down = down - 1 end
vote['delta_up'] = up
vote['delta_down'] = down
per[ARGV[3]] = vote
votes[ARGV[2]] = per
redis.call('HSET', KEYS[1], 'votes', cjson.encode(votes))
touch(ARGV[1])
return {'stored', cjson.encode(vote), agent, previous}
