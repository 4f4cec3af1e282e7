"""The access and cost policy (``agents/policy.yaml``): who may use which agent, and what it may cost. Pure.

The file, all keys optional (an absent file or key restricts nothing: the bot behaves as without it)::

    admins: [U0ADMIN1]                 # Slack user ids; they see everyone's usage
    limit_admins: false                # true: budgets and rate limits also block admins
    agents:
      backend-builder:
        channels: [C0DESIGN]           # channel ids; absent = every channel
        users: [U0ALICE]               # absent (and no usergroups) = everyone
        usergroups: [S0ARCHITECTS]     # Slack user groups (usergroups.users.list, cached)
    budgets:
      user_daily_tokens: 200000        # input + output tokens per person per UTC day, all agents
      workspace_daily_tokens: 5000000
      prices: {gpt-4.1: {input_per_mtok: 2.0, output_per_mtok: 8.0}}   # dollars in reports
    rate_limits:
      user_per_minute: 6               # requests that call the model

This module turns the file's text into a :class:`Policy` (:func:`parse_policy`, never raises: every
defect is a :class:`~bot.core.agents.Problem` with its line), decides access
(:func:`check_access`), and does the budget arithmetic: UTC day / month / minute windows and their
reset times from a given ``now`` (:func:`day_window`, :func:`month_window`, :func:`minute_window`),
dollars from prices (:func:`cost_usd`) and the words a person reads when a limit stops them.
Counting against the limits is the quota (:mod:`bot.core.governance`) in the ledger (:mod:`bot.core.quota`'s
``UsageLedger`` port and its adapters).

The policy is plain frozen dataclasses, and the file's content is checked in plain Python
(:mod:`bot.core.policy_check`, imported only when a file has content to check), not by pydantic: a
Lambda cold start reads the policy before its first answer, and importing pydantic and building its
models would cost that answer about 80 ms of CPU. The mistakes are worded as pydantic worded them.
"""

from __future__ import annotations

import calendar
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, Protocol

import yaml

from bot.core.agents import Problem, Severity

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_DATED_MODEL = re.compile(r"^(?P<base>.+)-\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentRule:
    """Who may use one agent, and where. ``None`` = no restriction on that axis; ``()`` = nobody.

    Ids are checked when the file is read (:mod:`bot.core.policy_check`): ``channels`` are Slack
    channel ids, ``users`` user ids, ``usergroups`` user-group ids.
    """

    channels: tuple[str, ...] | None = None
    users: tuple[str, ...] | None = None
    usergroups: tuple[str, ...] | None = None

    @property
    def restricts_people(self) -> bool:
        """True when only listed users or user-group members may use the agent."""
        return self.users is not None or self.usergroups is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Price:
    """A model's list price in dollars per million tokens (finite, at least 0)."""

    input_per_mtok: float
    output_per_mtok: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Budgets:
    """Token budgets per UTC day (``None`` = unlimited; else above 0) and the prices used in usage reports."""

    user_daily_tokens: int | None = None
    workspace_daily_tokens: int | None = None
    prices: dict[str, Price] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RateLimits:
    """Requests that call the model, per person per minute (``None`` = unlimited; else above 0)."""

    user_per_minute: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """The whole policy. ``Policy()`` restricts nothing (no file, or an empty one).

    ``admins`` are Slack user ids; ``file`` is where it was read from (messages, logs).
    """

    admins: tuple[str, ...] = ()
    limit_admins: bool = False
    agents: dict[str, AgentRule] = field(default_factory=dict)
    budgets: Budgets = field(default_factory=Budgets)
    rate_limits: RateLimits = field(default_factory=RateLimits)
    file: str | None = None
    _agent_lines: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def agent_lines(self) -> dict[str, int]:
        """Line of each agent's entry in the file (for problems found later, e.g. unknown agents)."""
        return self._agent_lines

    def rule_for(self, agent: str) -> AgentRule | None:
        """The access rule of ``agent`` (matched case-insensitively), or None (everyone, everywhere)."""
        rule = self.agents.get(agent)
        if rule is not None:
            return rule
        folded = agent.casefold()
        return next((r for name, r in self.agents.items() if name.casefold() == folded), None)

    def is_admin(self, user_id: str | None) -> bool:
        """True for the policy's admins."""
        return user_id is not None and user_id in self.admins

    def limits_apply_to(self, user_id: str | None) -> bool:
        """Whether budgets and rate limits may block this person (admins: only with ``limit_admins``)."""
        return self.limit_admins or not self.is_admin(user_id)

    @property
    def has_limits(self) -> bool:
        """True when any budget or rate limit is set (else nothing needs reserving before a call)."""
        budgets = self.budgets
        return (
            budgets.user_daily_tokens is not None
            or budgets.workspace_daily_tokens is not None
            or self.rate_limits.user_per_minute is not None
        )

    def price_for(self, model: str) -> Price | None:
        """The price of ``model``: exact name, case-insensitive, then without a date suffix."""
        prices = self.budgets.prices
        candidates = [model]
        dated = _DATED_MODEL.match(model)
        if dated:
            candidates.append(dated.group("base"))
        for name in candidates:
            if name in prices:
                return prices[name]
            folded = name.casefold()
            for key, price in prices.items():
                if key.casefold() == folded:
                    return price
        return None

    def with_agent_names(self, canonical: Callable[[str], str | None]) -> tuple[Policy, list[Problem]]:
        """The policy with agent keys replaced by the loaded agents' names; unknown ones reported.

        ``canonical`` maps a name as written to the loaded agent's name (the registry's lookup), or
        None. An unknown agent's rule is kept under its own name (it restricts nothing today, but it
        would apply if an agent of that name came back) and reported as an error.
        """
        problems: list[Problem] = []
        agents: dict[str, AgentRule] = {}
        for name, rule in self.agents.items():
            found = canonical(name)
            if found is None:
                problems.append(
                    Problem(
                        file=self.file or "policy.yaml",
                        line=self.agent_lines.get(name),
                        message=f"policy names agent {name!r}, which is not loaded: its rule guards nothing",
                    )
                )
                agents[name] = rule
            else:
                agents[found] = rule
        return replace(self, agents=agents), problems


# ------------------------------------------------------------------------------------------- parsing


def parse_policy(text: str | bytes, path: str) -> tuple[Policy, list[Problem]]:
    """Read a policy file's content. Never raises.

    Returns the policy and its problems. When any problem is an ``error`` the returned policy is
    ``Policy()`` and must not be served (the bot refuses to start rather than open up agents
    that the file meant to restrict); warnings leave a usable policy.
    """
    problems: list[Problem] = []

    def problem(message: str, line: int | None = None, severity: Severity = "error") -> None:
        problems.append(Problem(file=path, line=line, message=message, severity=severity))

    lines: dict[tuple[Any, ...], int] = {}
    data = _read_yaml(text, problem, lines)
    policy = _validate(data, path, lines, problem) if data is not None and not problems else None
    if policy is None or any(p.severity == "error" for p in problems):
        return Policy(file=path), problems
    return policy, problems


def _read_yaml(
    text: str | bytes, problem: Callable[..., None], lines: dict[tuple[Any, ...], int]
) -> dict[str, Any] | None:
    """The file as a mapping (None when empty, all comments, or after reporting why it is unusable)."""
    try:
        decoded = text.decode("utf-8-sig") if isinstance(text, bytes) else text
        loader = _Loader(decoded)
        try:
            node = loader.get_single_node()
            data = loader.construct_document(node) if node is not None else None
        finally:
            loader.dispose()
    except UnicodeDecodeError:
        problem("policy file is not UTF-8 text")
        return None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem(f"policy file is not valid YAML ({exc.problem})", mark.line + 1 if mark else None)
        return None
    except Exception as exc:  # noqa: BLE001 - "never raise": any other YAML failure is a report
        problem(f"policy file could not be read ({type(exc).__name__})")
        return None
    if node is not None:
        try:
            _node_lines(node, (), lines, problem)
        except RecursionError:  # `a: &x [*x]`: an alias inside itself; nothing a policy can mean
            problem("policy file is not valid YAML (an anchor is used inside itself)")
            return None
    if data is None or isinstance(data, dict):
        return data
    problem("policy file must be a mapping (admins, agents, budgets, rate_limits)", 1)
    return None


def _validate(
    data: dict[str, Any], path: str, lines: dict[tuple[Any, ...], int], problem: Callable[..., None]
) -> Policy | None:
    if "file" in data:
        problem("unknown key 'file' (a typo would silently lift a restriction)", lines.get(("file",)))
        return None
    if isinstance(data.get("agents"), dict):  # `name:` with nothing under it restricts nothing
        data["agents"] = {str(k): ({} if v is None else v) for k, v in data["agents"].items()}
    from bot.core.policy_check import check  # only here: for a file with content

    content, errors = check(data)
    for error in errors:
        loc = tuple(error["loc"])
        problem(_describe(loc, error), _line_of(loc, lines))
    if content is None:
        return None
    lines_of = {name: lines[("agents", name)] for name in content["agents"] if ("agents", name) in lines}
    policy = _from_content(content, path, lines_of)
    for name, rule in policy.agents.items():
        for axis in ("channels", "users", "usergroups"):
            if getattr(rule, axis) == ():
                problem(
                    f"agents.{name}.{axis} is an empty list: nobody can use {name!r}",
                    lines.get(("agents", name, axis)),
                    "warning",
                )
    return policy


def _from_content(content: Mapping[str, Any], path: str, agent_lines: dict[str, int]) -> Policy:
    """The policy of a checked file's content (:func:`bot.core.policy_check.check`)."""
    budgets = content["budgets"]
    return Policy(
        admins=content["admins"],
        limit_admins=content["limit_admins"],
        agents={name: AgentRule(**rule) for name, rule in content["agents"].items()},
        budgets=Budgets(
            user_daily_tokens=budgets["user_daily_tokens"],
            workspace_daily_tokens=budgets["workspace_daily_tokens"],
            prices={name: Price(**price) for name, price in budgets["prices"].items()},
        ),
        rate_limits=RateLimits(**content["rate_limits"]),
        file=path,
        _agent_lines=agent_lines,
    )


def _node_lines(
    node: yaml.Node, path: tuple[Any, ...], lines: dict[tuple[Any, ...], int], problem: Callable[..., None]
) -> None:
    """Record the line of every mapping key and sequence item; report duplicate keys."""
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = key_node.value if isinstance(key_node, yaml.ScalarNode) else None
            line = key_node.start_mark.line + 1
            if key is not None:
                if key in seen:
                    where = ".".join(str(p) for p in (*path, key))
                    problem(f"{where} is written twice (lines {seen[key]} and {line})", line)
                seen[key] = line
                lines.setdefault((*path, key), line)
                _node_lines(value_node, (*path, key), lines, problem)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.setdefault((*path, index), item.start_mark.line + 1)
            _node_lines(item, (*path, index), lines, problem)


def _line_of(loc: tuple[Any, ...], lines: Mapping[tuple[Any, ...], int]) -> int | None:
    for end in range(len(loc), 0, -1):
        line = lines.get(tuple(str(p) if not isinstance(p, int) else p for p in loc[:end]))
        if line is not None:
            return line
    return None


def _describe(loc: tuple[Any, ...], error: Any) -> str:
    where = ".".join(str(p) for p in loc) or "policy"
    kind = error.get("type")
    if kind == "extra_forbidden":
        return f"unknown key {where!r} (a typo would silently lift a restriction)"
    message = str(error.get("msg", "invalid value"))
    message = message.removeprefix("Value error, ")
    value = error.get("input")
    shown = (
        f" (got {value!r})" if isinstance(value, str | int | float | bool) and kind != "value_error" else ""
    )
    return f"{where}: {message}{shown}"


# -------------------------------------------------------------------------------------------- access


class GroupDirectory(Protocol):
    """Who belongs to a Slack user group (an adapter over ``usergroups.users.list``, cached)."""

    def members(self, group_id: str) -> frozenset[str]:
        """The user ids in ``group_id``; empty when it is unknown or cannot be read."""
        ...


AccessReason = Literal["allowed", "channel", "person"]


@dataclass(frozen=True, slots=True)
class AccessDecision:
    """Whether a person may use an agent here; ``message`` says why not and whom to ask."""

    allowed: bool
    reason: AccessReason
    agent: str
    message: str = ""


def check_access(
    policy: Policy,
    *,
    agent: str,
    user_id: str | None,
    channel_id: str | None,
    groups: GroupDirectory | None,
    doing: str = "use",
) -> AccessDecision:
    """May ``user_id`` use ``agent`` in ``channel_id``? Asks ``groups`` only when it must.

    ``doing`` words the refusal: "use" (``You can't use *x* in this channel``) or "hand this
    thread to". The same rules apply to admins: they manage the policy, not bypass it.
    """
    rule = policy.rule_for(agent)
    if rule is None:
        return AccessDecision(True, "allowed", agent)
    ask = _whom_to_ask(policy.admins)
    if rule.channels is not None and channel_id not in rule.channels:
        where = ", ".join(f"<#{c}>" for c in rule.channels)
        text = f"You can't {doing} *{agent}* in this channel."
        text += f" It is available in {where}." if where else " It is not available in any channel."
        return AccessDecision(False, "channel", agent, f"{text} {ask}")
    if rule.restricts_people and not _is_member(rule, user_id, groups):
        text = f"You can't {doing} *{agent}*: it is available only to selected people and user groups."
        return AccessDecision(False, "person", agent, f"{text} {ask}")
    return AccessDecision(True, "allowed", agent)


def _is_member(rule: AgentRule, user_id: str | None, groups: GroupDirectory | None) -> bool:
    if user_id is None:
        return False
    if rule.users is not None and user_id in rule.users:
        return True
    if rule.usergroups and groups is not None:
        return any(user_id in groups.members(group) for group in rule.usergroups)
    return False


def _whom_to_ask(admins: Iterable[str]) -> str:
    people = [f"<@{a}>" for a in admins]
    if not people:
        return "To get access, ask the team that runs the bot."
    return f"To get access, ask an admin of the bot: {', '.join(people)}."


# --------------------------------------------------------------------------------- budget arithmetic


@dataclass(frozen=True, slots=True)
class Window:
    """A UTC period: ``key`` names it in counters, ``reset_at`` (epoch seconds) is when the next starts."""

    key: str
    start: float
    reset_at: float

    def ttl_s(self, now: float) -> float:
        """Seconds from ``now`` until the window ends (at least a millisecond)."""
        return max(self.reset_at - now, 0.001)


def _utc(now: float) -> datetime:
    return datetime.fromtimestamp(now, tz=UTC)


def day_window(now: float) -> Window:
    """The UTC day containing ``now`` (``2024-05-01``); resets at the next UTC midnight."""
    start = _utc(now).replace(hour=0, minute=0, second=0, microsecond=0)
    end = start + timedelta(days=1)
    return Window(start.strftime("%Y-%m-%d"), start.timestamp(), end.timestamp())


def month_window(now: float) -> Window:
    """The UTC calendar month containing ``now`` (``2024-05``); resets on the 1st at 00:00 UTC."""
    start = _utc(now).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    days = calendar.monthrange(start.year, start.month)[1]
    end = start + timedelta(days=days)
    return Window(start.strftime("%Y-%m"), start.timestamp(), end.timestamp())


def minute_window(now: float) -> Window:
    """The clock minute containing ``now`` (rate limits are counted per fixed minute)."""
    minute = math.floor(now / 60)
    return Window(str(minute), minute * 60.0, (minute + 1) * 60.0)


def cost_usd(price: Price | None, input_tokens: int, output_tokens: int) -> float | None:
    """Dollars for the tokens at ``price``; None when the model has no price in the policy."""
    if price is None:
        return None
    return (input_tokens * price.input_per_mtok + output_tokens * price.output_per_mtok) / 1_000_000


def micro_usd(dollars: float | None) -> int:
    """Dollars as whole micro-dollars (what counters store: integers add exactly)."""
    return 0 if dollars is None else round(dollars * 1_000_000)


def format_tokens(tokens: int) -> str:
    """``1234567`` -> ``1,234,567``."""
    return f"{tokens:,}"


def format_usd(micro: int) -> str:
    """Micro-dollars as dollars: ``$0.0123`` below a dollar, ``$12.35`` above."""
    dollars = micro / 1_000_000
    return f"${dollars:,.4f}" if dollars < 1 else f"${dollars:,.2f}"


def format_reset(reset_at: float, now: float) -> str:
    """When a limit resets, in UTC and from now: ``00:00 UTC (in 3 h 12 min)``."""
    at = _utc(reset_at)
    left = max(0, math.ceil(reset_at - now))
    if left < 60:
        span = f"{left} s"
    elif left < 3600:
        span = f"{math.ceil(left / 60)} min"
    else:
        hours, rest = divmod(left, 3600)
        span = f"{hours} h {math.ceil(rest / 60)} min" if rest >= 60 else f"{hours} h"
    return f"{at:%H:%M} UTC (in {span})"
