"""Feedback on answers: thumbs up / down, one vote per person per answer, changeable, counted for the
agent that wrote the stored answer; the optional comment after a thumbs down is added to the same
vote. Stored once per click (a re-delivery changes nothing)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.logging import bind_more, get_logger

if TYPE_CHECKING:
    from bot.core.engine import Engine
    from bot.core.refs import FeedbackRef
    from bot.metrics import Metrics
    from bot.slack.payload import Where
    from bot.slack.replies import Replies

log = get_logger("bot.slack.feedback")

FORGOTTEN = (
    "I no longer remember that answer (the thread expired or was forgotten), so the vote was not kept."
)
FAILED = "Your feedback could not be saved right now. Please try again in a minute."


@dataclass(frozen=True, slots=True)
class Vote:
    """One vote (or its comment)."""

    delivery_id: str
    ref: FeedbackRef
    user: str
    comment: str | None = None


class FeedbackFlow:
    """Stores votes for one request."""

    def __init__(self, client: WebClient, *, engine: Engine, metrics: Metrics, replies: Replies) -> None:
        self._client = client
        self._engine = engine
        self._metrics = metrics
        self._replies = replies

    def vote(self, vote: Vote, where: Where) -> None:
        """Store the vote once; a vote on an answer the bot no longer keeps is told to the person."""
        bind_more(channel=where.channel, thread_ts=where.thread_ts)
        with self._engine.once(vote.delivery_id) as first:
            if not first:
                return
            ref = vote.ref
            outcome = self._engine.vote(ref, by_user=vote.user, positive=ref.positive, comment=vote.comment)
        from bot.core.ports import VoteStatus  # the answer path's: imported by the lazy listener

        if outcome.status in (VoteStatus.MISSING, VoteStatus.NOT_AN_ANSWER):
            self._replies.private(self._client, where, FORGOTTEN)
            return
        counted = outcome.vote
        if outcome.status is VoteStatus.STORED and counted is not None and outcome.agent:
            self._metrics.feedback(outcome.agent, up=counted.delta_up, down=counted.delta_down)
