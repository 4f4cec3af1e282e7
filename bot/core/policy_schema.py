"""The policy file's validation schema: pydantic models of ``agents/policy.yaml``'s content. Pure.

Only :func:`bot.core.policy.parse_policy` imports this module, and only when a policy file has content
to validate. The policy itself (:class:`bot.core.policy.Policy` and its parts) is plain dataclasses,
so that a Lambda cold start, which reads the policy before its first answer, does not import pydantic
(about a tenth of a second) for an absent, empty or all-comments file: the shipped one is all comments.

The models keep the names of the dataclasses they become (``AgentRule``, ``Price``, ``Budgets``,
``RateLimits``, ``Policy``): pydantic's messages name them ("Input should be a valid dictionary or
instance of AgentRule"), and people read those messages as problems of their file.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{2,}$")


def _checker(pattern: re.Pattern[str], what: str, example: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.match(value):
            raise ValueError(f"{value!r} is not a Slack {what} id (like {example})")
        return value

    return check


UserId = Annotated[str, AfterValidator(_checker(_USER_ID, "user", "U0123ABCD"))]
ChannelId = Annotated[str, AfterValidator(_checker(_CHANNEL_ID, "channel", "C0123ABCD"))]
UserGroupId = Annotated[str, AfterValidator(_checker(_GROUP_ID, "user group", "S0123ABCD"))]
TokenLimit = Annotated[int, Field(strict=True, gt=0)]
Dollars = Annotated[float, Field(ge=0, allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AgentRule(_Strict):
    """Who may use one agent, and where (:class:`bot.core.policy.AgentRule`)."""

    channels: tuple[ChannelId, ...] | None = None
    users: tuple[UserId, ...] | None = None
    usergroups: tuple[UserGroupId, ...] | None = None


class Price(_Strict):
    """A model's list price in dollars per million tokens."""

    input_per_mtok: Dollars
    output_per_mtok: Dollars


class Budgets(_Strict):
    """Token budgets per UTC day (``None`` = unlimited) and the prices used in usage reports."""

    user_daily_tokens: TokenLimit | None = None
    workspace_daily_tokens: TokenLimit | None = None
    prices: dict[str, Price] = Field(default_factory=dict)


class RateLimits(_Strict):
    """Requests that call the model, per person per minute (``None`` = unlimited)."""

    user_per_minute: TokenLimit | None = None


class Policy(_Strict):
    """The whole file; every key optional. ``file`` is not a key of the file (the caller rejects it)."""

    admins: tuple[UserId, ...] = ()
    limit_admins: bool = Field(default=False, strict=True)
    agents: dict[str, AgentRule] = Field(default_factory=dict)
    budgets: Budgets = Field(default_factory=Budgets)
    rate_limits: RateLimits = Field(default_factory=RateLimits)


def validate(data: Mapping[str, Any]) -> tuple[dict[str, Any] | None, list[Mapping[str, Any]]]:
    """The file's mapping, validated, as plain values (tuples, dicts, ints, floats), or pydantic's errors.

    Each error is pydantic's own (``loc``, ``type``, ``msg``, ``input``); the caller words them and
    builds the :class:`bot.core.policy.Policy` (this module imports nothing of ours: no import circle).
    """
    try:
        schema = Policy.model_validate(data)
    except ValidationError as exc:
        return None, list(exc.errors())
    return schema.model_dump(), []
