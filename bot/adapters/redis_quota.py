"""Redis :class:`~bot.core.quota.QuotaStore`: budgets, rate limits and usage shared by all Lambda instances.

Two Lua scripts, one round trip each: ``reserve`` checks the person's daily tokens, the workspace's
daily tokens and the person's requests this minute and counts the reservation only if all fit (a
script runs alone on the server, so two concurrent requests at the edge of a budget can never both
get through when only one fits); ``charge`` replaces the reservation by the real tokens and adds the
usage to the aggregates. ``usage`` reads the aggregates in one pipelined round trip.

Key schema (``P`` = the configured prefix; every key carries the hash tag ``{quota}`` so the
scripts' keys share one Redis Cluster slot; at tens of requests a minute one slot is no hot spot):

====================================  ======  ==========================================================
``P:{quota}:used:user:U:DAY``         string  tokens reserved/charged by person U on UTC day DAY;
                                              expires at the next UTC midnight
``P:{quota}:used:ws:DAY``             string  the same for the whole workspace
``P:{quota}:rate:U:MINUTE``           string  model requests of U in epoch minute MINUTE; expires
                                              at the end of the minute
``P:{quota}:res:ID``                  string  a reservation's estimate, then ``charged``; 2 days
``P:{quota}:usage:user:U:d:DAY``      hash    per agent: ``a:in:``/``a:out:``/``a:usd:``/``a:n:`` +
``P:{quota}:usage:user:U:m:MONTH``            agent (tokens in, out, micro-dollars, requests);
                                              day hashes 35 days, month hashes 400 days
``P:{quota}:usage:ws:d:DAY``          hash    per person (``u:``), agent (``a:``), channel (``c:``)
``P:{quota}:usage:ws:m:MONTH``                and totals (``t:``); same TTLs
====================================  ======  ==========================================================

Windows (day, minute) come from the caller's clock, and TTLs are sent as durations (``PEXPIRE``),
so an injected clock drives them the same way as the in-memory twin. Every Redis failure is a
:class:`~bot.errors.StoreUnavailableError` whose detail never holds the URL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import redis
from redis.commands.core import Script

from bot.adapters.redis import calls as redis_calls
from bot.core.policy import day_window, month_window
from bot.core.quota import (
    DAY_USAGE_KEEP_S,
    MONTH_USAGE_KEEP_S,
    RESERVATION_KEEP_S,
    Charge,
    LimitName,
    QuotaRequest,
    Rejection,
    Reservation,
    UsageReport,
    aggregate_fields,
    period_usage,
)

T = TypeVar("T")

# KEYS: used_user used_ws rate res
# ARGV: estimate user_limit ws_limit rate_limit (0 = none) enforce day_ttl_ms minute_ttl_ms res_ttl_ms
# Returns {1} reserved (or reserved before: a retried call), {0, limit, used} refused (nothing counted).
_RESERVE = """
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
"""

# KEYS: res used_user used_ws usage_user_day usage_user_month usage_ws_day usage_ws_month
# ARGV: reserved(1/0) estimate tokens today_ttl_ms res_ttl_ms day_keep_ms month_keep_ms n_mine
#       then n_mine (field, amount) pairs for the person's hashes, then pairs for the workspace's.
# Returns 1 charged, 0 already charged (nothing changes).
_CHARGE = """
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
"""


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisQuotaStore:
    """The :class:`~bot.core.quota.QuotaStore` contract on Redis (standalone or cluster).

    ``client`` is the conversation store's client (``decode_responses=False``; same pool, timeouts
    and retries): quotas add no connection.
    """

    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        if not prefix or "{" in prefix or "}" in prefix:
            raise ValueError("prefix must be non-empty and contain no braces (they are the hash tag)")
        self.client = client
        self.prefix = prefix
        self._reserve: Script = client.register_script(_RESERVE)
        self._charge: Script = client.register_script(_CHARGE)

    def key(self, *parts: str) -> str:
        """A quota key: ``P:{quota}:part:part...``."""
        return ":".join((self.prefix, "{quota}", *parts))

    def _call(self, op: str, fn: Callable[[], T]) -> T:
        return redis_calls.call(op, fn)

    def _run(self, op: str, script: Script, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        return redis_calls.run_script(op, script, keys, args)

    def reserve(self, request: QuotaRequest) -> Reservation | Rejection:
        """One script: check the limits, then count the estimate and the request (or nothing)."""
        day, minute, limits, now = request.day, request.minute, request.limits, request.now
        keys = [
            self.key("used", "user", request.user_id, day.key),
            self.key("used", "ws", day.key),
            self.key("rate", request.user_id, minute.key),
            self.key("res", request.id),
        ]
        args: list[str | int] = [
            request.estimate_tokens,
            limits.user_daily_tokens or 0,
            limits.workspace_daily_tokens or 0,
            limits.user_per_minute or 0,
            "1" if request.enforce else "0",
            _ms(day.ttl_s(now)),
            _ms(minute.ttl_s(now)),
            _ms(RESERVATION_KEEP_S),
        ]
        result = self._run("reserve", self._reserve, keys, args)
        if int(result[0]) == 1:
            return Reservation(request.id, request.user_id, day.key, request.estimate_tokens)
        limit = cast(LimitName, result[1].decode())
        used = int(result[2])
        if limit == "user_per_minute":
            return Rejection(limit, limits.user_per_minute or 0, used, 1, minute.reset_at)
        allowed = (
            limits.user_daily_tokens if limit == "user_daily_tokens" else limits.workspace_daily_tokens
        ) or 0
        return Rejection(limit, allowed, used, request.estimate_tokens, day.reset_at)

    def charge(self, charge: Charge) -> bool:
        """One script: adjust the day counters by real - estimate, then add to the aggregates."""
        now = charge.now
        today, month = day_window(now), month_window(now)
        reservation = charge.reservation
        day = reservation.day if reservation is not None else today.key
        user = charge.user_id
        keys = [
            self.key("res", charge.id),
            self.key("used", "user", user, day),
            self.key("used", "ws", day),
            self.key("usage", "user", user, "d", today.key),
            self.key("usage", "user", user, "m", month.key),
            self.key("usage", "ws", "d", today.key),
            self.key("usage", "ws", "m", month.key),
        ]
        mine, workspace = aggregate_fields(charge)
        mine_pairs = [item for name, amount in mine.items() if amount for item in (name, amount)]
        ws_pairs = [item for name, amount in workspace.items() if amount for item in (name, amount)]
        args: list[str | int] = [
            "1" if reservation is not None else "0",
            reservation.tokens if reservation is not None else 0,
            charge.tokens,
            _ms(today.ttl_s(now)),
            _ms(RESERVATION_KEEP_S),
            _ms(DAY_USAGE_KEEP_S),
            _ms(MONTH_USAGE_KEEP_S),
            len(mine_pairs) // 2,
            *mine_pairs,
            *ws_pairs,
        ]
        return bool(self._run("charge", self._charge, keys, args))

    def usage(self, user_id: str, *, now: float, workspace: bool = False, top: int = 5) -> UsageReport:
        """The person's (and the workspace's) aggregates in one pipelined round trip."""
        day, month = day_window(now), month_window(now)
        keys = [
            self.key("usage", "user", user_id, "d", day.key),
            self.key("usage", "user", user_id, "m", month.key),
        ]
        if workspace:
            keys += [self.key("usage", "ws", "d", day.key), self.key("usage", "ws", "m", month.key)]

        def read() -> list[dict[bytes, bytes]]:
            pipe = self.client.pipeline(transaction=False)
            for key in keys:
                pipe.hgetall(key)
            return cast(list[dict[bytes, bytes]], pipe.execute())

        found = [{k.decode(): int(v) for k, v in raw.items()} for raw in self._call("usage", read)]
        report = UsageReport(
            user_id=user_id, day=period_usage(day, found[0]), month=period_usage(month, found[1])
        )
        if not workspace:
            return report
        return UsageReport(
            user_id=user_id,
            day=report.day,
            month=report.month,
            workspace_day=period_usage(day, found[2], top=top),
            workspace_month=period_usage(month, found[3], top=top),
        )
