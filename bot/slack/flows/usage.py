"""``/architect usage``: the person's tokens and cost today and this month per agent (admins: the
workspace's top people, agents and channels too), told only to them."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.core.policy import format_reset, format_tokens, format_usd
from bot.core.quota import describe_line
from bot.slack.blocks import SECTION_TEXT_LIMIT, escape_mrkdwn, truncate

if TYPE_CHECKING:
    from bot.core.governance import Quota
    from bot.core.policy import Policy
    from bot.core.ports import Clock
    from bot.core.quota import PeriodUsage, UsageLine, UsageReport
    from bot.slack.blocks import Block


class UsageFlow:
    """Usage reports for one request."""

    def __init__(self, *, quota: Quota, policy: Policy, clock: Clock) -> None:
        self._quota = quota
        self._policy = policy
        self._clock = clock

    def report(self, user: str) -> tuple[str, list[Block]]:
        """The person's usage report, rendered."""
        return usage_message(self._quota.usage(user), self._policy, self._clock.now())


def _lines(title: str, lines: tuple[UsageLine, ...], shown: str) -> str:
    if not lines:
        return ""
    rows = "\n".join(f"• {shown.format(escape_mrkdwn(line.name))}: {describe_line(line)}" for line in lines)
    return f"*{title}*\n{rows}"


def _period(title: str, period: PeriodUsage) -> str:
    if not period.total.requests and not period.total.tokens:
        return f"*{title}*: nothing yet."
    body = _lines(title, period.agents, "{}")
    return truncate(f"{body}\n_Total_: {describe_line(period.total)}", SECTION_TEXT_LIMIT)


def _workspace(title: str, period: PeriodUsage) -> str:
    parts = [
        f"*{title}*: {describe_line(period.total)}",
        _lines("Top people", period.users, "<@{}>"),
        _lines("Top agents", period.agents, "{}"),
        _lines("Top channels", period.channels, "<#{}>"),
    ]
    return truncate("\n".join(p for p in parts if p), SECTION_TEXT_LIMIT)


def _limits(policy: Policy, now: float, reset_at: float) -> str:
    budgets, rate = policy.budgets, policy.rate_limits
    parts = []
    if budgets.user_daily_tokens:
        parts.append(f"{format_tokens(budgets.user_daily_tokens)} tokens per person per UTC day")
    if budgets.workspace_daily_tokens:
        parts.append(f"{format_tokens(budgets.workspace_daily_tokens)} tokens for everyone per UTC day")
    if rate.user_per_minute:
        parts.append(f"{rate.user_per_minute} requests per person per minute")
    if not parts:
        return "_No budgets or rate limits are set._"
    return f"_Limits_: {'; '.join(parts)}. Daily budgets reset at {format_reset(reset_at, now)}."


def usage_message(report: UsageReport, policy: Policy, now: float) -> tuple[str, list[Block]]:
    """``/architect usage``: the person's day and month per agent; the workspace's top lines for admins."""
    day, month = report.day, report.month
    sections = [
        _period(f"Your usage today ({day.window.key}, UTC)", day),
        _period(f"This month ({month.window.key})", month),
    ]
    if report.workspace_day is not None and report.workspace_month is not None:
        sections.append(_workspace(f"Everyone today ({day.window.key})", report.workspace_day))
        sections.append(_workspace(f"Everyone this month ({month.window.key})", report.workspace_month))
    sections.append(_limits(policy, now, day.window.reset_at))
    if not policy.budgets.prices:
        sections.append("_Costs show once the policy lists model prices (`budgets.prices`)._")
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}} for text in sections]
    cost = f", {format_usd(day.total.cost_micro_usd)}" if day.total.cost_micro_usd else ""
    return f"Your usage today: {format_tokens(day.total.tokens)} tokens{cost}", blocks
