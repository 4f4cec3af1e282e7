"""Handing a conversation to another agent after a button click: one atomic store operation, which
also retires the clicked answer's buttons (the outcome says where they are shown)."""

from __future__ import annotations

from bot.core.conversation import HandoffRecord, Role, Turn
from bot.core.engine.outcomes import HandoffOutcome
from bot.core.engine.turns import slack_ts
from bot.core.model_names import resolve_model
from bot.core.ports import Clock, Conversations, HandoffStatus
from bot.core.refs import HandoffRef
from bot.core.registry import Registry, ResolvedHandoff
from bot.errors import ConversationNotFoundError, HandoffNotAllowedError, StaleHandoffError
from bot.logging import get_logger

log = get_logger("bot.engine")


class Handoffs:
    """The handoffs agents offer (registry) and handing off (store)."""

    def __init__(self, *, registry: Registry, store: Conversations, clock: Clock) -> None:
        self.registry = registry
        self.store = store
        self.clock = clock

    def allowed(self, agent: str, target: str) -> ResolvedHandoff:
        """The handoff ``agent`` offers to ``target``; raises if it offers none."""
        handoff = self.registry.handoff_to(agent, target)
        if handoff is None:
            raise HandoffNotAllowedError(f"{agent!r} offers no handoff to {target!r}")
        return handoff

    def model(self, handoff: ResolvedHandoff) -> str | None:
        """The OpenAI model a handoff's ``model`` names (mapped like an agent's), or None."""
        if not handoff.handoff.model:
            return None
        return resolve_model(
            [handoff.handoff.model], self.registry.default_model, self.registry.routes.routed
        ).model

    def hand_off(self, *, ref: HandoffRef, by_user: str | None, prompt: str | None = None) -> HandoffOutcome:
        """Hand the conversation to ``ref.target`` from the buttons of answer ``ref.answer_id``.

        One atomic store operation, no read. The button's claims are checked against state: the
        handoff must be one ``ref.from_agent`` offers (registry), and the store verifies that the
        answer is the live one and was written by ``ref.from_agent``, so a forged value cannot
        reach an agent the answering agent does not list. Only the latest answer's buttons work,
        once: a second click or an old button raises :class:`StaleHandoffError`. ``prompt`` is the
        (possibly edited) text; None means the handoff's own prompt. The handoff's ``model`` (if
        any) answers from now on, wherever the conversation runs.
        """
        handoff = self.allowed(ref.from_agent, ref.target)
        text = (prompt if prompt is not None else handoff.handoff.prompt).strip() or handoff.handoff.prompt
        model = self.model(handoff)
        now = self.clock.now()
        record = HandoffRecord(
            from_agent=ref.from_agent,
            to_agent=handoff.target,
            label=handoff.handoff.label,
            by_user=by_user,
            at=now,
        )
        turn = Turn(
            id=f"handoff-{ref.answer_id}",
            role=Role.USER,
            text=text,
            ts=slack_ts(now),
            user_id=by_user,
            agent=handoff.target,
            created_at=now,
        )
        handed = self.store.hand_off(
            ref.conversation_id, expected_answer_id=ref.answer_id, record=record, prompt=turn, model=model
        )
        status = handed.status
        if status is HandoffStatus.MISSING:
            raise ConversationNotFoundError(ref.conversation_id)
        if status is HandoffStatus.WRONG_AGENT:
            raise HandoffNotAllowedError(f"answer {ref.answer_id!r} was not written by {ref.from_agent!r}")
        if status is HandoffStatus.STALE:
            raise StaleHandoffError(f"answer {ref.answer_id!r} is not the latest or was used")
        log.info(
            "handed_off", conversation=ref.conversation_id, from_agent=ref.from_agent, to_agent=handoff.target
        )
        return HandoffOutcome(
            conversation_id=ref.conversation_id,
            from_agent=ref.from_agent,
            to_agent=handoff.target,
            label=handoff.handoff.label,
            model=model,
            retired=handed.retired,
        )
