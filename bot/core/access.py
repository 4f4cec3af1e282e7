"""Access to agents: "may this person use this agent here?" Pure, and light: the ack path checks it.

Re-exported by :mod:`bot.core.governance`; kept apart so that a cold start's first ack imports
neither the quota, the ledger's records nor the conversation models.
"""

from __future__ import annotations

from bot.core.policy import AccessDecision, GroupDirectory, Policy, check_access


class Access:
    """Access decisions for one policy; user groups are asked of ``groups`` only when needed."""

    def __init__(self, policy: Policy, groups: GroupDirectory | None) -> None:
        self.policy = policy
        self.groups = groups

    def check(
        self, *, agent: str, user_id: str | None, channel_id: str | None, doing: str = "use"
    ) -> AccessDecision:
        """May ``user_id`` use ``agent`` in ``channel_id``? (See :func:`bot.core.policy.check_access`.)"""
        return check_access(
            self.policy, agent=agent, user_id=user_id, channel_id=channel_id, groups=self.groups, doing=doing
        )

    def refused_agents(self, *, user_id: str | None, channel_id: str | None) -> frozenset[str]:
        """The agents this person may not use in this channel (empty without agent rules)."""
        return frozenset(
            name
            for name in self.policy.agents
            if not self.check(agent=name, user_id=user_id, channel_id=channel_id).allowed
        )
