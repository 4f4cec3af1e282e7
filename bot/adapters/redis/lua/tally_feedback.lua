-- Count a vote's change once. KEYS: totals, change marker (both in the {tally} slot).
-- ARGV: ttl_ms marker_ttl_ms up_field down_field up down
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then
  if tonumber(ARGV[5]) ~= 0 then redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[5]) end
  if tonumber(ARGV[6]) ~= 0 then redis.call('HINCRBY', KEYS[1], ARGV[4], ARGV[6]) end
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
