"""In-memory :class:`~bot.core.ports.ThreadRecords`: shown buttons, votes, canvas, feedback, recents."""

from __future__ import annotations

from bot.adapters.memory.base import MemoryBase
from bot.adapters.store_common import FEEDBACK_TTL_S, vote_change
from bot.core.conversation import RecentThread, Role, ShownAnswer
from bot.core.ports import VoteOutcome, VoteStatus


class MemoryThreadRecords(MemoryBase):
    """The :class:`~bot.core.ports.ThreadRecords` part of the in-memory store."""

    def show_answer(self, conversation_id: str, shown: ShownAnswer) -> tuple[ShownAnswer, ...]:
        """Make ``shown`` the shown answer if it is live; return the buttons to take down."""
        with self._cond:
            conv = self._live(conversation_id)
            if conv is None:
                return ()
            if conv.meta.last_answer_id != shown.answer_id:
                return (shown,)  # superseded before it was shown: its own buttons go
            stale = tuple(s for s in conv.meta.shown.values() if s.answer_id != shown.answer_id)
            conv.meta = conv.meta.model_copy(update={"shown": {shown.answer_id: shown}})
            self._touch(conv)
            return stale

    def vote(
        self,
        conversation_id: str,
        *,
        answer_id: str,
        user_id: str,
        value: int,
        comment: str | None,
        at: float,
    ) -> VoteOutcome:
        """Set one person's vote on one answer (atomic)."""
        with self._cond:
            conv = self._live(conversation_id)
            if conv is None:
                return VoteOutcome(VoteStatus.MISSING)
            answer = conv.turns.get(answer_id)
            if answer is None or answer.role is not Role.ASSISTANT:
                return VoteOutcome(VoteStatus.NOT_AN_ANSWER)
            per_answer = conv.meta.votes.get(answer_id, {})
            old = per_answer.get(user_id)
            new = vote_change(old, value, comment, at)
            if new is None:
                return VoteOutcome(VoteStatus.UNCHANGED, old, answer.agent, old.value if old else None)
            votes = {**conv.meta.votes, answer_id: {**per_answer, user_id: new}}
            conv.meta = conv.meta.model_copy(update={"votes": votes})
            self._touch(conv)
            return VoteOutcome(VoteStatus.STORED, new, answer.agent, old.value if old else None)

    def set_canvas(self, conversation_id: str, canvas_id: str, *, expected: str | None) -> str | None:
        """Compare-and-set the conversation's canvas id; the id recorded afterwards."""
        with self._cond:
            conv = self._live(conversation_id)
            if conv is None:
                return None
            if conv.meta.canvas_id == expected:
                conv.meta = conv.meta.model_copy(update={"canvas_id": canvas_id})
                self._touch(conv)
            return conv.meta.canvas_id

    def tally_feedback(self, change_id: str, *, agent: str, up: int, down: int) -> None:
        """Count a vote's change once per ``change_id``."""
        with self._cond:
            now = self.clock.monotonic()
            expires = self._tallied.get(change_id)
            if expires is not None and expires > now:
                return
            self._tallied[change_id] = now + FEEDBACK_TTL_S
            counts = self._tallies.setdefault(agent, [0, 0])
            counts[0] += up
            counts[1] += down

    def feedback_tallies(self) -> dict[str, tuple[int, int]]:
        """Thumbs up and down per agent."""
        with self._cond:
            return {agent: (up, down) for agent, (up, down) in self._tallies.items()}

    def remember_thread(self, user_id: str, thread: RecentThread, *, keep: int) -> None:
        """Move ``thread`` to the front of the person's recent threads (keeping its first title)."""
        with self._cond:
            threads = self._recent.setdefault(user_id, {})
            first = threads.get(thread.conversation_id)
            if first is not None:
                thread = first.model_copy(update={"at": thread.at, "agent": thread.agent or first.agent})
            threads[thread.conversation_id] = thread
            for stale in sorted(threads.values(), key=lambda t: t.at, reverse=True)[keep:]:
                del threads[stale.conversation_id]

    def recent_threads(self, user_id: str, limit: int) -> tuple[RecentThread, ...]:
        """The person's recent threads, newest first."""
        with self._cond:
            threads = self._recent.get(user_id, {}).values()
            return tuple(sorted(threads, key=lambda t: t.at, reverse=True)[:limit])

    def forget_recent(self, user_id: str, conversation_id: str) -> None:
        """Take a forgotten conversation out of the person's recent threads."""
        with self._cond:
            self._recent.get(user_id, {}).pop(conversation_id, None)
