"""The access policy at the Slack door: may this person use this agent here, and telling them why not.

Used on the ack path too (a refused slash command is told in its ack): it needs no store and no model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.logging import get_logger

if TYPE_CHECKING:
    from bot.core.governance import Access
    from bot.core.policy import AccessDecision
    from bot.metrics import Metrics
    from bot.slack.payload import Where
    from bot.slack.replies import Replies

log = get_logger("bot.slack.access")


def access_kind(decision: AccessDecision) -> str:
    """The rejection metric's kind for an access refusal."""
    return f"access_{decision.reason}"


class Gate:
    """Access checks for one request, and the refusals people see."""

    def __init__(self, access: Access, *, has_rules: bool, metrics: Metrics, replies: Replies) -> None:
        self._access = access
        self._has_rules = has_rules
        self._metrics = metrics
        self._replies = replies

    def check(self, agent: str, user: str | None, channel: str | None, doing: str = "use") -> AccessDecision:
        """The policy's decision (``doing``: the words for what was refused, e.g. "hand this thread to")."""
        return self._access.check(agent=agent, user_id=user, channel_id=channel, doing=doing)

    def admit(self, agent: str, user: str | None, channel: str | None) -> AccessDecision:
        """Check a request on the ack path; a refusal is counted and logged (the caller shows it)."""
        decision = self.check(agent, user, channel)
        if not decision.allowed:
            self._metrics.rejection(access_kind(decision))
            log.info("request_refused_by_policy", kind=access_kind(decision), agent=agent)
        return decision

    def refused_agents(self, user: str | None, channel: str) -> frozenset[str]:
        """The agents the person may not use here: the store refuses their message for those atomically."""
        if not self._has_rules:
            return frozenset()
        return self._access.refused_agents(user_id=user, channel_id=channel)

    def tell(self, client: WebClient, where: Where, agent: str) -> None:
        """Tell the person (only them) why ``agent`` is refused here."""
        self._refuse(client, where, self.check(agent, where.user, where.channel), "")

    def allowed_or_told(
        self, client: WebClient, where: Where, agent: str, *, doing: str = "use", suffix: str = ""
    ) -> bool:
        """True when the person may use ``agent`` here; else they are told why (``suffix`` after it)."""
        decision = self.check(agent, where.user, where.channel, doing)
        if decision.allowed:
            return True
        if where.channel:
            self._refuse(client, where, decision, suffix)
        return False

    def _refuse(self, client: WebClient, where: Where, decision: AccessDecision, suffix: str) -> None:
        text = f"{decision.message} {suffix}" if suffix else decision.message
        self._replies.refuse(client, where, text, kind=access_kind(decision))
