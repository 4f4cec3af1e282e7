-- KEYS: res used_user used_ws usage_user_day usage_user_month usage_ws_day usage_ws_month
-- ARGV: reserved(1/0) estimate tokens today_ttl_ms res_ttl_ms day_keep_ms month_keep_ms n_mine
--       then n_mine (field, amount) pairs for the person's hashes, then pairs for the workspace's.
-- Returns 1 charged, 0 already charged (nothing changes).
local state = redis.call('GET', KEYS[1])
if state == 'charged' then return 0 end
local tokens = tonumber(ARGV[3])
local delta = tokens
if ARGV[1] == '1' then
  if state then delta = tokens - tonumber(ARGV[2]) else delta = 0 end
end
for i = 2, 3 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    if delta ~= 0 then redis.call('INCRBY', KEYS[i], delta) end
  elseif ARGV[1] == '0' and delta ~= 0 then
    redis.call('SET', KEYS[i], delta, 'PX', ARGV[4])
  end
end
redis.call('SET', KEYS[1], 'charged', 'PX', ARGV[5])
if tokens > 0 then
  local mine = tonumber(ARGV[8])
  local i = 9
  for _ = 1, mine do
    redis.call('HINCRBY', KEYS[4], ARGV[i], ARGV[i + 1])
    redis.call('HINCRBY', KEYS[5], ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  while i < #ARGV do
    redis.call('HINCRBY', KEYS[6], ARGV[i], ARGV[i + 1])
    redis.call('HINCRBY', KEYS[7], ARGV[i], ARGV[i + 1])
    i = i + 2
  end
  redis.call('PEXPIRE', KEYS[4], ARGV[6])
  redis.call('PEXPIRE', KEYS[6], ARGV[6])
  redis.call('PEXPIRE', KEYS[5], ARGV[7])
  redis.call('PEXPIRE', KEYS[7], ARGV[7])
end
return 1
