"""Governance use cases: access to agents and the quota, the gate around model calls. Pure.

:class:`Access` (in :mod:`bot.core.access`, light enough for the ack path) answers "may this person
use this agent here?" from the policy and a user-group directory; :meth:`Access.refused_agents` gives
the set the store checks atomically when a reply or a mention is written (so a refused message is
never stored and never reaches a model).

:class:`Quota` is what the engine calls around a model call: :meth:`Quota.reserve` before it
(raises :class:`~bot.errors.BudgetExceededError` with the words the person reads) and
:meth:`Quota.charge` after it with the real usage, against the policy's budgets and rate limits as
counted in the :class:`~bot.core.quota.UsageLedger`; and what ``/architect usage`` reads.
"""

from __future__ import annotations

import uuid

from bot.core.access import Access
from bot.core.conversation import Usage
from bot.core.policy import Policy, cost_usd, micro_usd
from bot.core.ports import Clock
from bot.core.quota import Charge, Limits, QuotaRequest, Rejection, Reservation, UsageLedger, UsageReport
from bot.errors import BudgetExceededError
from bot.logging import get_logger

log = get_logger("bot.governance")

__all__ = ["Access", "Quota"]


class Quota:
    """The gate around model calls: reserve before one, charge after it, report usage."""

    def __init__(self, policy: Policy, ledger: UsageLedger, clock: Clock) -> None:
        self.policy = policy
        self.ledger = ledger
        self.clock = clock
        self.limits = Limits.from_policy(policy)

    def reserve(self, *, user_id: str, estimate_tokens: int) -> Reservation | None:
        """Reserve the estimate, or raise :class:`BudgetExceededError`; None when nothing is limited."""
        if not self.policy.has_limits:
            return None
        now = self.clock.now()
        request = QuotaRequest(
            id=uuid.uuid4().hex,
            user_id=user_id,
            estimate_tokens=max(estimate_tokens, 0),
            limits=self.limits,
            now=now,
            enforce=self.policy.limits_apply_to(user_id),
        )
        outcome = self.ledger.reserve(request)
        if isinstance(outcome, Rejection):
            log.info(
                "budget_refused",
                limit=outcome.limit,
                used=outcome.used,
                needed=outcome.needed,
                allowed=outcome.allowed,
            )
            raise BudgetExceededError(outcome, outcome.message(now, admins=self.policy.admins))
        return outcome

    def charge(
        self,
        reservation: Reservation | None,
        *,
        user_id: str,
        agent: str,
        channel_id: str,
        usage: Usage | None,
    ) -> None:
        """Replace the reservation by the real usage (None or zero: release it) and record it."""
        input_tokens = usage.input_tokens if usage is not None else 0
        output_tokens = usage.output_tokens if usage is not None else 0
        price = self.policy.price_for(usage.model) if usage is not None else None
        self.ledger.charge(
            Charge(
                id=reservation.id if reservation is not None else uuid.uuid4().hex,
                user_id=user_id,
                agent=agent,
                channel_id=channel_id,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost_micro_usd=micro_usd(cost_usd(price, input_tokens, output_tokens)),
                now=self.clock.now(),
                reservation=reservation,
            )
        )

    def usage(self, user_id: str) -> UsageReport:
        """The person's usage today and this month; admins also get the workspace's top lines."""
        return self.ledger.usage(user_id, now=self.clock.now(), workspace=self.policy.is_admin(user_id))
