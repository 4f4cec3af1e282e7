"""What Slack shows of a conversation: where handoff buttons are shown, votes, canvases, recent threads."""

from __future__ import annotations

from bot.core.conversation import RecentThread, ShownAnswer, UserMessage, parse_conversation_id
from bot.core.ports import Clock, ThreadRecords, VoteOutcome
from bot.core.refs import FeedbackRef
from bot.errors import BotError
from bot.logging import get_logger

log = get_logger("bot.engine")

RECENT_KEPT = 20  # threads kept per person for App Home
RECENT_SHOWN = 10
TITLE_LIMIT = 120
COMMENT_LIMIT = 3_000


class RecentThreads:
    """The Slack threads a person started or mentioned the bot in lately (App Home lists them)."""

    def __init__(self, *, store: ThreadRecords, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def recent(self, user_id: str, limit: int = RECENT_SHOWN) -> tuple[RecentThread, ...]:
        """The threads newest first."""
        return self.store.recent_threads(user_id, limit)

    def remember(self, conversation_id: str, message: UserMessage, agent: str | None) -> None:
        """Best effort: put the thread first in its author's recent threads (never fails the message).

        Threads a person starts (a command, the picker, a mention, the assistant panel), not every
        reply: a reply's one store operation stays one round trip.
        """
        if not message.user_id or parse_conversation_id(conversation_id) is None:
            return
        title = " ".join(message.text.split())[:TITLE_LIMIT]
        thread = RecentThread(conversation_id=conversation_id, title=title, agent=agent, at=self.clock.now())
        try:
            self.store.remember_thread(message.user_id, thread, keep=RECENT_KEPT)
        except BotError as error:
            log.warning("recent_thread_not_recorded", kind=error.kind)


class Shown:
    """Where an answer's buttons are shown (and which are stale), votes on answers, the thread's canvas."""

    def __init__(self, *, store: ThreadRecords, clock: Clock) -> None:
        self.store = store
        self.clock = clock

    def show_answer(
        self, conversation_id: str, *, answer_id: str, agent: str | None, message_ts: str, restore: str
    ) -> tuple[ShownAnswer, ...]:
        """Record where ``answer_id``'s handoff buttons are shown; returns the shown answers whose
        buttons are stale now (an older answer's, or this one's if a newer answer or a handoff came
        first). Each stale button set is returned to exactly one caller (one atomic store operation)."""
        shown = ShownAnswer(answer_id=answer_id, agent=agent, message_ts=message_ts, restore=restore)
        return self.store.show_answer(conversation_id, shown)

    def vote(
        self, ref: FeedbackRef, *, by_user: str, positive: bool, comment: str | None = None
    ) -> VoteOutcome:
        """A person's thumbs up or down (and comment) on an answer: one vote per person per answer.

        The vote is one atomic store operation; the agent it counts for comes from the stored
        answer, not from the button. The agent's totals then move by the vote's change, counted
        once per change even when this is retried.
        """
        text = comment.strip()[:COMMENT_LIMIT] if comment else None
        outcome = self.store.vote(
            ref.conversation_id,
            answer_id=ref.answer_id,
            user_id=by_user,
            value=1 if positive else -1,
            comment=text or None,
            at=self.clock.now(),
        )
        vote = outcome.vote
        if vote is not None and outcome.agent and (vote.delta_up or vote.delta_down):
            change = f"{ref.conversation_id}|{ref.answer_id}|{by_user}|{vote.revision}"
            self.store.tally_feedback(change, agent=outcome.agent, up=vote.delta_up, down=vote.delta_down)
        log.info(
            "feedback", conversation=ref.conversation_id, agent=outcome.agent, status=outcome.status.value
        )
        return outcome

    def feedback_by_agent(self) -> dict[str, tuple[int, int]]:
        """Thumbs up and down per agent, across all conversations."""
        return self.store.feedback_tallies()

    def save_canvas(self, conversation_id: str, canvas_id: str, *, replacing: str | None) -> str | None:
        """Record the thread's canvas (compare-and-set over ``replacing``); returns the one recorded."""
        return self.store.set_canvas(conversation_id, canvas_id, expected=replacing)
