"""Redis :class:`~bot.core.ports.ThreadRecords`: shown buttons, votes, canvas, feedback, recent threads.

Shown buttons, votes and the canvas are fields of the conversation's meta hash (one script over the
conversation's keys, expiring with it); the agents' feedback totals live under ``{tally}`` and a
person's recent threads under ``{U}`` (:mod:`bot.adapters.redis.keys`).
"""

from __future__ import annotations

import json

from bot.adapters.redis import keys
from bot.adapters.redis.base import RedisBase, ms, text
from bot.adapters.store_common import FEEDBACK_TTL_S, new_token
from bot.core.conversation import RecentThread, ShownAnswer, Vote
from bot.core.ports import VoteOutcome, VoteStatus


class RedisThreadRecords(RedisBase):
    """The :class:`~bot.core.ports.ThreadRecords` part of the Redis store."""

    def show_answer(self, conversation_id: str, shown: ShownAnswer) -> tuple[ShownAnswer, ...]:
        """Make ``shown`` the shown answer if it is live (one script, safe to retry); the stale ones."""
        args: list[str | int] = [ms(self.ttl_s), new_token(), shown.answer_id, shown.model_dump_json()]
        raw = self.run_script("show_answer", "show_answer", self.conversation_keys(conversation_id), args)
        return tuple(ShownAnswer.model_validate(item) for item in json.loads(raw))

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
        """Set one person's vote on one answer (one script)."""
        args: list[str | int] = [
            ms(self.ttl_s),
            answer_id,
            user_id,
            1 if value > 0 else -1,
            json.dumps(comment),
            json.dumps(at),
        ]
        found = self.run_script("vote", "vote", self.conversation_keys(conversation_id), args)
        status = VoteStatus(text(found[0]))
        if len(found) == 1:
            return VoteOutcome(status)
        previous = text(found[3])
        return VoteOutcome(
            status,
            Vote.model_validate_json(found[1]),
            json.loads(found[2]),
            int(previous) if previous else None,
        )

    def set_canvas(self, conversation_id: str, canvas_id: str, *, expected: str | None) -> str | None:
        """Compare-and-set the conversation's canvas id (one script); the id recorded afterwards."""
        args: list[str | int] = [ms(self.ttl_s), json.dumps(canvas_id), json.dumps(expected)]
        raw = self.run_script("set_canvas", "set_canvas", self.conversation_keys(conversation_id), args)
        recorded = json.loads(raw) if raw else None
        return str(recorded) if recorded is not None else None

    def tally_feedback(self, change_id: str, *, agent: str, up: int, down: int) -> None:
        """Count a vote's change once per ``change_id`` (one script)."""
        args: list[str | int] = [
            ms(FEEDBACK_TTL_S),
            ms(self.ttl_s),
            f"{agent}\n+",
            f"{agent}\n-",
            up,
            down,
        ]
        self.run_script("tally_feedback", "tally_feedback", keys.feedback_keys(self.prefix, change_id), args)

    def feedback_tallies(self) -> dict[str, tuple[int, int]]:
        """Thumbs up and down per agent."""
        key = keys.feedback_keys(self.prefix, "").totals
        raw = self.call("feedback_tallies", lambda: self.client.hgetall(key))
        counts: dict[str, list[int]] = {}
        for field_name, value in raw.items():
            agent, _, side = text(field_name).rpartition("\n")
            counts.setdefault(agent, [0, 0])[0 if side == "+" else 1] = int(value)
        return {agent: (up, down) for agent, (up, down) in counts.items()}

    def remember_thread(self, user_id: str, thread: RecentThread, *, keep: int) -> None:
        """Move ``thread`` to the front of the person's recent threads (one script)."""
        args: list[str | int] = [
            ms(self.ttl_s),
            repr(float(thread.at)),
            thread.conversation_id,
            thread.model_dump_json(),
            keep,
        ]
        self.run_script("remember_thread", "remember_thread", keys.recent_keys(self.prefix, user_id), args)

    def recent_threads(self, user_id: str, limit: int) -> tuple[RecentThread, ...]:
        """The person's recent threads, newest first (one script)."""
        recent = keys.recent_keys(self.prefix, user_id)
        found = self.run_script("recent_threads", "recent_threads", recent, [max(1, limit)])
        return tuple(RecentThread.model_validate_json(item) for item in found if item)

    def forget_recent(self, user_id: str, conversation_id: str) -> None:
        """Take a forgotten conversation out of the person's recent threads (one script)."""
        recent = keys.recent_keys(self.prefix, user_id)
        self.run_script("forget_recent", "forget_recent", recent, [conversation_id])
