"""Replies held through a storage outage: what is kept while the store is away, and the port that keeps it.

A reply that arrives while the conversation store cannot be reached is first retried in the same
invocation for ``STORE_OUTAGE_RETRY_S``. When the outage lasts longer, the reply is *held*: a
:class:`HeldReply` (Slack ids only, never the message's text: the thread is the record) goes to a
:class:`HeldReplies` queue that outlives the invocation. When the store answers again, the thread is
caught up from Slack (every person's message the store never saw, in order, once) and answered once.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, replace
from typing import Protocol

_FIELDS = ("team_id", "channel_id", "thread_ts", "message_ts")


@dataclass(frozen=True, slots=True)
class HeldReply:
    """A thread with a reply the store has not seen yet; ids only.

    ``notice_ts`` is the bot's notice in the thread ("I'll answer when my storage is back"), updated
    when the reply is answered or given up; ``attempts`` counts the catch-ups tried so far.
    """

    team_id: str
    channel_id: str
    thread_ts: str
    message_ts: str
    user_id: str | None = None
    notice_ts: str | None = None
    attempts: int = 0

    def again(self) -> HeldReply:
        """The same reply, one attempt later."""
        return replace(self, attempts=self.attempts + 1)

    def to_json(self) -> str:
        """The queue message body (ids and a counter only)."""
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, body: str) -> HeldReply:
        """Parse a queue message body; :class:`ValueError` for anything that is not one."""
        try:
            data = json.loads(body)
        except json.JSONDecodeError as error:
            raise ValueError("a held reply is JSON") from error
        if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data[k] for k in _FIELDS):
            raise ValueError("a held reply names its team, channel, thread and message")
        attempts = data.get("attempts", 0)
        if not isinstance(attempts, int) or attempts < 0:
            raise ValueError("a held reply's attempts is a count")
        optional = {k: data.get(k) for k in ("user_id", "notice_ts")}
        if not all(v is None or isinstance(v, str) for v in optional.values()):
            raise ValueError("a held reply's user and notice are Slack ids")
        return cls(
            **{k: data[k] for k in _FIELDS},
            user_id=optional["user_id"],
            notice_ts=optional["notice_ts"],
            attempts=attempts,
        )


class HeldReplies(Protocol):
    """Where held replies wait for the store to come back (SQS on Lambda, a timer thread locally)."""

    def hold(self, reply: HeldReply, *, delay_s: float) -> None:
        """Keep ``reply`` and hand it back for a catch-up after ``delay_s`` seconds.

        Raises :class:`~bot.errors.HoldUnavailableError` when it cannot be kept (then nothing is).
        """
        ...
