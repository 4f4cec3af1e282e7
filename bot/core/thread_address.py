"""Where a conversation lives in Slack: its id (``team:channel:thread_ts``) and the address in it.

A module of its own (re-exported by :mod:`bot.core.conversation`) so that what only names a thread,
like the Slack ack path's button values, does not import the conversation models.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ThreadAddress:
    """Where a conversation lives in Slack, as encoded in its id."""

    team_id: str | None
    channel_id: str
    thread_ts: str


_SLACK_ID = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,40}$")
_SLACK_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")


def conversation_id(team_id: str | None, channel_id: str, thread_ts: str) -> str:
    """The id of the conversation that lives in a Slack thread: ``team:channel:thread_ts``."""
    return f"{team_id or '-'}:{channel_id}:{thread_ts}"


def parse_conversation_id(value: str) -> ThreadAddress | None:
    """The Slack thread of a :func:`conversation_id`, or None for anything else (e.g. ``cli:...``)."""
    parts = value.split(":")
    if len(parts) != 3:
        return None
    team, channel, thread_ts = parts
    if team != "-" and not _SLACK_ID.match(team):
        return None
    if not _SLACK_ID.match(channel) or not _SLACK_TS.match(thread_ts):
        return None
    return ThreadAddress(None if team == "-" else team, channel, thread_ts)
