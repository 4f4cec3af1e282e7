"""Redis :class:`~bot.core.quota.UsageLedger`: budgets, rate limits and usage shared by all Lambda instances.

Two Lua scripts, one round trip each: ``reserve`` checks the person's daily tokens, the workspace's
daily tokens and the person's requests this minute and counts the reservation only if all fit (a
script runs alone on the server, so two concurrent requests at the edge of a budget can never both
get through when only one fits); ``charge`` replaces the reservation by the real tokens and adds the
usage to the aggregates. ``usage`` reads the aggregates in one pipelined round trip.

Keys: the ``P:{quota}:...`` builders of :mod:`bot.adapters.redis.keys` (the table, with what each
holds and its TTL, in ``docs/storage.md``); every one carries the hash tag ``{quota}`` so the
scripts' keys share one Redis Cluster slot (at tens of requests a minute one slot is no hot spot).
Scripts: ``lua/reserve.lua`` and ``lua/charge.lua``.

Windows (day, minute) come from the caller's clock, and TTLs are sent as durations (``PEXPIRE``),
so an injected clock drives them the same way as the in-memory twin. Every Redis failure is a
:class:`~bot.errors.StoreUnavailableError` whose detail never holds the URL.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import redis

from bot.adapters.redis import calls as redis_calls
from bot.adapters.redis import keys
from bot.adapters.redis.base import ms
from bot.adapters.redis.scripts import Scripts
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


class RedisLedger:
    """The :class:`~bot.core.quota.UsageLedger` contract on Redis (standalone or cluster).

    ``client`` is the conversation store's client (``decode_responses=False``; same pool, timeouts
    and retries): quotas add no connection.
    """

    def __init__(self, client: redis.Redis, *, prefix: str) -> None:
        self.client = client
        self.prefix = keys.check_prefix(prefix)
        self.scripts = Scripts(client)

    def _call(self, op: str, fn: Callable[[], T]) -> T:
        return redis_calls.call(op, fn)

    def _run(self, op: str, script_keys: Sequence[str], args: Sequence[str | int]) -> Any:
        return redis_calls.run_script(op, self.scripts[op], script_keys, args)

    def reserve(self, request: QuotaRequest) -> Reservation | Rejection:
        """One script: check the limits, then count the estimate and the request (or nothing)."""
        day, minute, limits, now = request.day, request.minute, request.limits, request.now
        p = self.prefix
        script_keys = [
            keys.quota_used_by_user(p, request.user_id, day.key),
            keys.quota_used_by_workspace(p, day.key),
            keys.quota_rate(p, request.user_id, minute.key),
            keys.quota_reservation(p, request.id),
        ]
        args: list[str | int] = [
            request.estimate_tokens,
            limits.user_daily_tokens or 0,
            limits.workspace_daily_tokens or 0,
            limits.user_per_minute or 0,
            "1" if request.enforce else "0",
            ms(day.ttl_s(now)),
            ms(minute.ttl_s(now)),
            ms(RESERVATION_KEEP_S),
        ]
        result = self._run("reserve", script_keys, args)
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
        p = self.prefix
        script_keys = [
            keys.quota_reservation(p, charge.id),
            keys.quota_used_by_user(p, user, day),
            keys.quota_used_by_workspace(p, day),
            keys.quota_user_usage(p, user, day=today.key),
            keys.quota_user_usage(p, user, month=month.key),
            keys.quota_workspace_usage(p, day=today.key),
            keys.quota_workspace_usage(p, month=month.key),
        ]
        mine, workspace = aggregate_fields(charge)
        mine_pairs = [item for name, amount in mine.items() if amount for item in (name, amount)]
        ws_pairs = [item for name, amount in workspace.items() if amount for item in (name, amount)]
        args: list[str | int] = [
            "1" if reservation is not None else "0",
            reservation.tokens if reservation is not None else 0,
            charge.tokens,
            ms(today.ttl_s(now)),
            ms(RESERVATION_KEEP_S),
            ms(DAY_USAGE_KEEP_S),
            ms(MONTH_USAGE_KEEP_S),
            len(mine_pairs) // 2,
            *mine_pairs,
            *ws_pairs,
        ]
        return bool(self._run("charge", script_keys, args))

    def usage(self, user_id: str, *, now: float, workspace: bool = False, top: int = 5) -> UsageReport:
        """The person's (and the workspace's) aggregates in one pipelined round trip."""
        day, month = day_window(now), month_window(now)
        p = self.prefix
        read_keys = [
            keys.quota_user_usage(p, user_id, day=day.key),
            keys.quota_user_usage(p, user_id, month=month.key),
        ]
        if workspace:
            read_keys += [
                keys.quota_workspace_usage(p, day=day.key),
                keys.quota_workspace_usage(p, month=month.key),
            ]

        def read() -> list[dict[bytes, bytes]]:
            pipe = self.client.pipeline(transaction=False)
            for key in read_keys:
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
