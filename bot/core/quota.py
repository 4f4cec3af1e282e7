"""The quota's values and the ledger it counts in (the :class:`UsageLedger` port). Pure.

Before a model call the caller *reserves* an estimate of the tokens (prompt + room for the answer)
and one request; the ledger checks, atomically and across all Lambda instances, the person's daily
tokens, the workspace's daily tokens and the person's requests this minute, and either counts the
reservation or says which limit stops it (:class:`Rejection`). After the answer the caller
*charges* the real input + output tokens: the ledger replaces the reservation by them and adds them
to the usage aggregates (per person, agent and channel, per UTC day and month) that
``/architect usage`` shows. Two round trips per answered turn at most: one reserve, one charge.

Counters of a day expire at the next UTC midnight, a minute's at the end of that minute; windows
come from the caller's clock (:mod:`bot.core.policy`), so tests move time with a ``FixedClock``.
Implementations: :mod:`bot.adapters.redis.ledger` (Lua scripts) and
:mod:`bot.adapters.memory.ledger` (one process), held to one contract (``tests/test_ledger_contract.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from bot.core.policy import (
    Policy,
    Window,
    day_window,
    format_reset,
    format_tokens,
    format_usd,
    minute_window,
)

LimitName = Literal["user_daily_tokens", "workspace_daily_tokens", "user_per_minute"]

DAY_USAGE_KEEP_S = 35 * 86_400
"""Daily usage aggregates live this long after their last charge (reports look back a month)."""
MONTH_USAGE_KEEP_S = 400 * 86_400
"""Monthly usage aggregates live this long after their last charge (a year of months, and some)."""
RESERVATION_KEEP_S = 2 * 86_400
"""A reservation (and the mark that it was charged) outlives any answer: retries stay idempotent."""


@dataclass(frozen=True, slots=True)
class Limits:
    """The limits a reservation is checked against (``None`` = unlimited)."""

    user_daily_tokens: int | None = None
    workspace_daily_tokens: int | None = None
    user_per_minute: int | None = None

    @classmethod
    def from_policy(cls, policy: Policy) -> Limits:
        """The policy's budgets and rate limits."""
        return cls(
            user_daily_tokens=policy.budgets.user_daily_tokens,
            workspace_daily_tokens=policy.budgets.workspace_daily_tokens,
            user_per_minute=policy.rate_limits.user_per_minute,
        )


@dataclass(frozen=True, slots=True)
class QuotaRequest:
    """Reserve ``estimate_tokens`` and one request for ``user_id`` at ``now``.

    ``id`` makes a retried call idempotent (a reply lost on the wire does not reserve twice).
    ``enforce=False`` counts without ever refusing (admins, unless the policy limits them).
    """

    id: str
    user_id: str
    estimate_tokens: int
    limits: Limits
    now: float
    enforce: bool = True

    @property
    def day(self) -> Window:
        """The UTC day the reservation counts in."""
        return day_window(self.now)

    @property
    def minute(self) -> Window:
        """The minute the request counts in."""
        return minute_window(self.now)


@dataclass(frozen=True, slots=True)
class Reservation:
    """An accepted reservation: charge it with the real usage after the answer."""

    id: str
    user_id: str
    day: str
    tokens: int


@dataclass(frozen=True, slots=True)
class Rejection:
    """A limit stops the request: which, its value, what is used, and when it resets."""

    limit: LimitName
    allowed: int
    used: int
    needed: int
    reset_at: float

    def message(self, now: float, *, admins: tuple[str, ...] = ()) -> str:
        """What the person reads: the limit, where they stand, and when it resets."""
        reset = format_reset(self.reset_at, now)
        if self.limit == "user_per_minute":
            return (
                f"You have reached the limit of {self.allowed} requests per minute to the agents. "
                f"Your message is saved; reply again after {reset} and I'll answer it."
            )
        who = "Your" if self.limit == "user_daily_tokens" else "The workspace's"
        budget = f"{who} daily budget is {format_tokens(self.allowed)} tokens"
        if self.needed > self.allowed:
            text = (
                f"{budget}, and this thread alone needs about {format_tokens(self.needed)} tokens. "
                "Start a new thread with a short summary instead."
            )
        else:
            left = max(self.allowed - self.used, 0)
            text = (
                f"{budget}; {format_tokens(self.used)} are used today and this answer needs about "
                f"{format_tokens(self.needed)} ({format_tokens(left)} left). It resets at {reset}; "
                "your message is saved, reply then and I'll answer it."
            )
        if admins:
            text += f" To raise the budget, ask an admin of the bot: {', '.join(f'<@{a}>' for a in admins)}."
        return text


@dataclass(frozen=True, slots=True)
class Charge:
    """The real usage of one answer (``reservation`` None when nothing was reserved).

    ``id`` is the reservation's id when there was one: charging twice with it changes nothing.
    """

    id: str
    user_id: str
    agent: str
    channel_id: str
    input_tokens: int
    output_tokens: int
    cost_micro_usd: int
    now: float
    reservation: Reservation | None = None

    @property
    def tokens(self) -> int:
        """Input + output tokens: what budgets count."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class UsageLine:
    """Tokens, cost and requests of one person, agent or channel in a period."""

    name: str
    input_tokens: int = 0
    output_tokens: int = 0
    cost_micro_usd: int = 0
    requests: int = 0

    @property
    def tokens(self) -> int:
        """Input + output tokens."""
        return self.input_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class PeriodUsage:
    """One period's aggregates: per agent for one person, or (workspace) per person, agent and channel.

    Lines are sorted by tokens, most first.
    """

    window: Window
    total: UsageLine
    agents: tuple[UsageLine, ...] = ()
    users: tuple[UsageLine, ...] = ()
    channels: tuple[UsageLine, ...] = ()


@dataclass(frozen=True, slots=True)
class UsageReport:
    """What ``/architect usage`` shows: the person's day and month, and the workspace's for admins."""

    user_id: str
    day: PeriodUsage
    month: PeriodUsage
    workspace_day: PeriodUsage | None = None
    workspace_month: PeriodUsage | None = None


class UsageLedger(Protocol):
    """The ledger: counters for budgets, rate limits and usage reports. Every method may raise
    ``StoreUnavailableError``.

    Contract:
    - ``reserve`` is atomic across processes: of concurrent requests that do not all fit, only
      those that fit are accepted; a refused request changes no counter; with ``enforce=False`` it
      is counted and never refused; a repeated ``request.id`` returns the first outcome's
      reservation without counting again;
    - day counters expire at the next UTC midnight of the request's ``now``, minute counters at
      the end of the minute;
    - ``charge`` replaces the reservation's estimate by the real tokens in the day counters (of
      the reservation's day) and adds the usage to the person's and the workspace's day and month
      aggregates (at ``charge.now``); it returns False, changing nothing, for an id already charged.
      Zero tokens release the reservation and record no request.
    """

    def reserve(self, request: QuotaRequest) -> Reservation | Rejection:
        """Check the limits and count the reservation, or say which limit stops it."""
        ...

    def charge(self, charge: Charge) -> bool:
        """Replace a reservation by the real usage and record it; False if already charged."""
        ...

    def usage(self, user_id: str, *, now: float, workspace: bool = False, top: int = 5) -> UsageReport:
        """The person's usage today and this month; with ``workspace`` also the top ``top`` lines."""
        ...


# ------------------------------------------------------------------------------- shared by adapters


def aggregate_fields(charge: Charge) -> tuple[dict[str, int], dict[str, int]]:
    """The hash increments of one charge: (the person's, the workspace's), same for day and month.

    Field names put the free-form name last (``a:in:<agent>``), so any agent name is safe.
    """
    n = 1 if charge.tokens > 0 else 0
    mine = {
        f"a:in:{charge.agent}": charge.input_tokens,
        f"a:out:{charge.agent}": charge.output_tokens,
        f"a:usd:{charge.agent}": charge.cost_micro_usd,
        f"a:n:{charge.agent}": n,
    }
    workspace: dict[str, int] = {"t:in:": charge.input_tokens, "t:out:": charge.output_tokens}
    workspace |= {"t:usd:": charge.cost_micro_usd, "t:n:": n}
    for kind, name in (("u", charge.user_id), ("a", charge.agent), ("c", charge.channel_id)):
        workspace |= {
            f"{kind}:in:{name}": charge.input_tokens,
            f"{kind}:out:{name}": charge.output_tokens,
            f"{kind}:usd:{name}": charge.cost_micro_usd,
            f"{kind}:n:{name}": n,
        }
    return mine, workspace


def period_usage(window: Window, fields: dict[str, int], *, top: int | None = None) -> PeriodUsage:
    """Aggregates read back from a hash (person or workspace) as lines sorted by tokens, most first."""
    measures: dict[tuple[str, str], dict[str, int]] = {}
    for name, value in fields.items():
        kind, measure, who = name.split(":", 2)
        measures.setdefault((kind, who), {})[measure] = value

    def line(who: str, found: dict[str, int]) -> UsageLine:
        return UsageLine(who, found.get("in", 0), found.get("out", 0), found.get("usd", 0), found.get("n", 0))

    def group(kind: str) -> list[UsageLine]:
        lines = [line(who, m) for (k, who), m in measures.items() if k == kind]
        lines = [x for x in lines if x.tokens or x.requests]
        lines.sort(key=lambda x: (-x.tokens, x.name))
        return lines

    agents = group("a")
    if ("t", "") in measures:
        total = line("total", measures[("t", "")])
    else:
        total = UsageLine(
            "total",
            sum(x.input_tokens for x in agents),
            sum(x.output_tokens for x in agents),
            sum(x.cost_micro_usd for x in agents),
            sum(x.requests for x in agents),
        )
    cut = slice(None) if top is None else slice(top)
    return PeriodUsage(
        window=window,
        total=total,
        agents=tuple(agents[cut]),
        users=tuple(group("u")[cut]),
        channels=tuple(group("c")[cut]),
    )


def describe_line(line: UsageLine) -> str:
    """``12,345 tokens (10,000 in / 2,345 out), $0.0388, 3 requests``."""
    cost = f", {format_usd(line.cost_micro_usd)}" if line.cost_micro_usd else ""
    plural = "s" if line.requests != 1 else ""
    return (
        f"{format_tokens(line.tokens)} tokens ({format_tokens(line.input_tokens)} in / "
        f"{format_tokens(line.output_tokens)} out){cost}, {line.requests} request{plural}"
    )
