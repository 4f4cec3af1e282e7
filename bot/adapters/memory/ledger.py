"""In-process :class:`~bot.core.quota.UsageLedger`: budgets and usage for local runs (no Redis).

Same contract as :mod:`bot.adapters.redis.ledger` (``tests/test_ledger_contract.py`` runs both): one
lock makes each reserve and charge atomic among the threads of this process, and every counter
expires by the injected clock. Counters live as long as the process: like the in-memory
conversation store, it is refused on Lambda.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from bot.core.policy import day_window, month_window
from bot.core.ports import Clock
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

CHARGED = -1


@dataclass
class _Entry:
    value: int = 0
    fields: dict[str, int] = field(default_factory=dict)
    expires_at: float = 0.0


class MemoryLedger:
    """Counters in a dict, expiring by ``clock.now()``."""

    def __init__(self, *, clock: Clock) -> None:
        self.clock = clock
        self._data: dict[str, _Entry] = {}
        self._lock = threading.Lock()

    def _get(self, key: str) -> _Entry | None:
        entry = self._data.get(key)
        if entry is not None and entry.expires_at <= self.clock.now():
            del self._data[key]
            return None
        return entry

    def _counter(self, key: str) -> int:
        entry = self._get(key)
        return entry.value if entry else 0

    def _add(self, key: str, amount: int, ttl_s: float) -> None:
        entry = self._get(key) or self._data.setdefault(key, _Entry())
        entry.value += amount
        entry.expires_at = self.clock.now() + ttl_s

    def _add_fields(self, key: str, amounts: dict[str, int], ttl_s: float) -> None:
        entry = self._get(key) or self._data.setdefault(key, _Entry())
        for name, amount in amounts.items():
            entry.fields[name] = entry.fields.get(name, 0) + amount
        entry.expires_at = self.clock.now() + ttl_s

    def reserve(self, request: QuotaRequest) -> Reservation | Rejection:
        """Check the three limits and count the reservation, under one lock."""
        day, minute = request.day, request.minute
        reservation = Reservation(request.id, request.user_id, day.key, request.estimate_tokens)
        user_key, ws_key = f"used:user:{request.user_id}:{day.key}", f"used:ws:{day.key}"
        rate_key = f"rate:{request.user_id}:{minute.key}"
        with self._lock:
            if self._get(f"res:{request.id}") is not None:
                return reservation
            if request.enforce:
                limits = request.limits
                checks: tuple[tuple[LimitName, int | None, int, int, float], ...] = (
                    ("user_daily_tokens", limits.user_daily_tokens, self._counter(user_key),
                     request.estimate_tokens, day.reset_at),
                    ("workspace_daily_tokens", limits.workspace_daily_tokens, self._counter(ws_key),
                     request.estimate_tokens, day.reset_at),
                    ("user_per_minute", limits.user_per_minute, self._counter(rate_key), 1, minute.reset_at),
                )  # fmt: skip
                for name, allowed, used, needed, reset_at in checks:
                    if allowed is not None and used + needed > allowed:
                        return Rejection(name, allowed, used, needed, reset_at)
            now = request.now
            self._add(user_key, request.estimate_tokens, day.ttl_s(now))
            self._add(ws_key, request.estimate_tokens, day.ttl_s(now))
            self._add(rate_key, 1, minute.ttl_s(now))
            self._add(f"res:{request.id}", request.estimate_tokens, RESERVATION_KEEP_S)
            return reservation

    def charge(self, charge: Charge) -> bool:
        """Replace the reservation by the real tokens; add the usage to the aggregates."""
        now = charge.now
        reservation = charge.reservation
        day = reservation.day if reservation else day_window(now).key
        with self._lock:
            state = self._get(f"res:{charge.id}")
            if state is not None and state.value == CHARGED:
                return False
            if reservation is None:
                delta = charge.tokens
            elif state is None:  # reserved so long ago that it expired with its day: nothing to adjust
                delta = 0
            else:
                delta = charge.tokens - reservation.tokens
            for key in (f"used:user:{charge.user_id}:{day}", f"used:ws:{day}"):
                entry = self._get(key)
                if entry is not None:  # the day's counter: keeps its expiry (midnight)
                    entry.value += delta
                elif reservation is None and delta:  # nothing reserved: today's counter starts here
                    self._add(key, delta, day_window(now).ttl_s(now))
            marker = self._get(f"res:{charge.id}") or self._data.setdefault(f"res:{charge.id}", _Entry())
            marker.value = CHARGED
            marker.expires_at = now + RESERVATION_KEEP_S
            if charge.tokens > 0:
                mine, workspace = aggregate_fields(charge)
                d, m = day_window(now).key, month_window(now).key
                self._add_fields(f"usage:user:{charge.user_id}:d:{d}", mine, DAY_USAGE_KEEP_S)
                self._add_fields(f"usage:user:{charge.user_id}:m:{m}", mine, MONTH_USAGE_KEEP_S)
                self._add_fields(f"usage:ws:d:{d}", workspace, DAY_USAGE_KEEP_S)
                self._add_fields(f"usage:ws:m:{m}", workspace, MONTH_USAGE_KEEP_S)
            return True

    def usage(self, user_id: str, *, now: float, workspace: bool = False, top: int = 5) -> UsageReport:
        """The person's day and month, and the workspace's top lines when asked."""
        day, month = day_window(now), month_window(now)

        def fields(key: str) -> dict[str, int]:
            entry = self._get(key)
            return dict(entry.fields) if entry else {}

        with self._lock:
            report = UsageReport(
                user_id=user_id,
                day=period_usage(day, fields(f"usage:user:{user_id}:d:{day.key}")),
                month=period_usage(month, fields(f"usage:user:{user_id}:m:{month.key}")),
            )
            if not workspace:
                return report
            return UsageReport(
                user_id=user_id,
                day=report.day,
                month=report.month,
                workspace_day=period_usage(day, fields(f"usage:ws:d:{day.key}"), top=top),
                workspace_month=period_usage(month, fields(f"usage:ws:m:{month.key}"), top=top),
            )
