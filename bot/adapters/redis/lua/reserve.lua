-- KEYS: used_user used_ws rate res
-- ARGV: estimate user_limit ws_limit rate_limit (0 = none) enforce day_ttl_ms minute_ttl_ms res_ttl_ms
-- Returns {1} reserved (or reserved before: a retried call), {0, limit, used} refused (nothing counted).
if redis.call('EXISTS', KEYS[4]) == 1 then return {1} end
local est = tonumber(ARGV[1])
if ARGV[5] == '1' then
  local used = tonumber(redis.call('GET', KEYS[1]) or '0')
  local limit = tonumber(ARGV[2])
  if limit > 0 and used + est > limit then return {0, 'user_daily_tokens', used} end
  used = tonumber(redis.call('GET', KEYS[2]) or '0')
  limit = tonumber(ARGV[3])
  if limit > 0 and used + est > limit then return {0, 'workspace_daily_tokens', used} end
  used = tonumber(redis.call('GET', KEYS[3]) or '0')
  limit = tonumber(ARGV[4])
  if limit > 0 and used + 1 > limit then return {0, 'user_per_minute', used} end
end
redis.call('INCRBY', KEYS[1], est)
redis.call('PEXPIRE', KEYS[1], ARGV[6])
redis.call('INCRBY', KEYS[2], est)
redis.call('PEXPIRE', KEYS[2], ARGV[6])
redis.call('INCR', KEYS[3])
redis.call('PEXPIRE', KEYS[3], ARGV[7])
redis.call('SET', KEYS[4], est, 'PX', ARGV[8])
return {1}
