"""Every Redis key the bot writes, built here and nowhere else.

``P`` is the configured prefix (``REDIS_KEY_PREFIX``; it may not contain braces). Braces mark the
Redis Cluster hash tag: every key a script touches shares one tag, so one script's keys hash to one
slot (scripts and MULTI need that on a cluster / ElastiCache Serverless). ``ID`` is the conversation
id (``team:channel:thread_ts``) and ``U`` a Slack user id, both with ``%``, ``{`` and ``}``
percent-encoded (:func:`hash_tag`), so the braces around them are always *the* hash tag.

:data:`SCHEMA` lists every key pattern with its Redis type; ``docs/storage.md`` has one table row
per pattern, in this order, with what it holds, its TTL and its writers (a test compares the two).
"""

from __future__ import annotations

from typing import NamedTuple

SCHEMA: tuple[tuple[str, str], ...] = (
    # one conversation (one slot: the hash tag {ID})
    ("P:conv:{ID}:meta", "hash"),
    ("P:conv:{ID}:turns", "sorted set"),
    ("P:conv:{ID}:bodies", "hash"),
    ("P:conv:{ID}:ids", "hash"),
    ("P:conv:{ID}:handoffs", "list"),
    ("P:conv:{ID}:parked", "hash"),
    ("P:conv:{ID}:lock", "string"),
    ("P:conv:{ID}:forgotten", "string"),
    # one delivery (a Slack event, click or command)
    ("P:delivery:DID", "string"),
    # agents' feedback totals (one slot: {tally})
    ("P:feedback:{tally}", "hash"),
    ("P:feedback:{tally}:change:CHANGE", "string"),
    # one person's recent threads (one slot: {U})
    ("P:user:{U}:recent", "sorted set"),
    ("P:user:{U}:threads", "hash"),
    # budgets, rate limits and usage (one slot: {quota})
    ("P:{quota}:used:user:U:DAY", "string"),
    ("P:{quota}:used:ws:DAY", "string"),
    ("P:{quota}:rate:U:MINUTE", "string"),
    ("P:{quota}:res:RID", "string"),
    ("P:{quota}:usage:user:U:d:DAY", "hash"),
    ("P:{quota}:usage:user:U:m:MONTH", "hash"),
    ("P:{quota}:usage:ws:d:DAY", "hash"),
    ("P:{quota}:usage:ws:m:MONTH", "hash"),
)


def check_prefix(prefix: str) -> str:
    """``prefix``, refused when empty or holding a brace (it would break the hash tags)."""
    if not prefix or "{" in prefix or "}" in prefix:
        raise ValueError("prefix must be non-empty and contain no braces (they are the hash tag)")
    return prefix


def hash_tag(text: str) -> str:
    """``text`` as a hash tag body: injective, never containing ``{`` or ``}``."""
    return text.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def _untag(body: str) -> str:
    return body.replace("%7D", "}").replace("%7B", "{").replace("%25", "%")


# ------------------------------------------------------------------------------------ conversations


class ConversationKeys(NamedTuple):
    """One conversation's keys, in the order every conversation script takes them as ``KEYS``.

    The first five live and expire together (each write refreshes all five); ``parked`` holds
    replies that overtook the conversation's creation (minutes); ``lock`` is the answer lock;
    ``forgotten`` the tombstone of a conversation deleted on request.
    """

    meta: str  # P:conv:{ID}:meta
    turns: str  # P:conv:{ID}:turns
    bodies: str  # P:conv:{ID}:bodies
    ids: str  # P:conv:{ID}:ids
    handoffs: str  # P:conv:{ID}:handoffs
    parked: str  # P:conv:{ID}:parked
    lock: str  # P:conv:{ID}:lock
    forgotten: str  # P:conv:{ID}:forgotten


def conversation_keys(prefix: str, conversation_id: str) -> ConversationKeys:
    """``P:conv:{ID}:meta`` ... ``P:conv:{ID}:forgotten``: one conversation's keys (one slot)."""
    base = f"{prefix}:conv:{{{hash_tag(conversation_id)}}}"
    return ConversationKeys(*(f"{base}:{name}" for name in ConversationKeys._fields))


def glob_escape(text: str) -> str:
    """``text`` as a literal inside a Redis glob pattern (SCAN MATCH)."""
    return "".join(f"\\{ch}" if ch in "*?[]\\" else ch for ch in text)


def thread_meta_pattern(prefix: str, *, channel_id: str, thread_ts: str) -> str:
    """A SCAN MATCH pattern for the meta keys of one Slack thread's conversations, in any team.

    It may match more than that thread (a channel id inside another id): check each key's
    :func:`conversation_id_of_meta`.
    """
    base = glob_escape(f"{prefix}:conv:{{")
    return f"{base}*:{glob_escape(channel_id)}:{glob_escape(thread_ts)}}}:meta"


def conversation_id_of_meta(prefix: str, meta_key: str) -> str:
    """The conversation id in a ``P:conv:{ID}:meta`` key (the inverse of :func:`conversation_keys`)."""
    return _untag(meta_key[len(prefix) + len(":conv:{") : -len("}:meta")])


# ---------------------------------------------------------------------------------------- deliveries


def delivery_key(prefix: str, delivery_id: str) -> str:
    """``P:delivery:DID``: the claim of one delivery (its owner's token, or ``done``)."""
    return f"{prefix}:delivery:{delivery_id}"


# ------------------------------------------------------------------------- feedback and recent threads


class FeedbackKeys(NamedTuple):
    """The agents' feedback totals and one change's counted-once marker (one slot: ``{tally}``)."""

    totals: str  # P:feedback:{tally}
    change: str  # P:feedback:{tally}:change:CHANGE


def feedback_keys(prefix: str, change_id: str) -> FeedbackKeys:
    """``P:feedback:{tally}`` and ``P:feedback:{tally}:change:CHANGE`` (``CHANGE`` = ``change_id``)."""
    totals = f"{prefix}:feedback:{{tally}}"
    return FeedbackKeys(totals, f"{totals}:change:{change_id}")


class RecentKeys(NamedTuple):
    """One person's recent threads: their order and their entries (one slot: ``{U}``)."""

    recent: str  # P:user:{U}:recent
    threads: str  # P:user:{U}:threads


def recent_keys(prefix: str, user_id: str) -> RecentKeys:
    """``P:user:{U}:recent`` and ``P:user:{U}:threads``."""
    base = f"{prefix}:user:{{{hash_tag(user_id)}}}"
    return RecentKeys(f"{base}:recent", f"{base}:threads")


# --------------------------------------------------------------------------------------------- quota


def _quota(prefix: str, *parts: str) -> str:
    return ":".join((prefix, "{quota}", *parts))


def quota_used_by_user(prefix: str, user_id: str, day: str) -> str:
    """``P:{quota}:used:user:U:DAY``: tokens reserved, then charged, by one person on one UTC day."""
    return _quota(prefix, "used", "user", user_id, day)


def quota_used_by_workspace(prefix: str, day: str) -> str:
    """``P:{quota}:used:ws:DAY``: tokens reserved, then charged, by the workspace on one UTC day."""
    return _quota(prefix, "used", "ws", day)


def quota_rate(prefix: str, user_id: str, minute: str) -> str:
    """``P:{quota}:rate:U:MINUTE``: one person's model requests in one epoch minute."""
    return _quota(prefix, "rate", user_id, minute)


def quota_reservation(prefix: str, reservation_id: str) -> str:
    """``P:{quota}:res:RID``: a reservation's estimate, then ``charged``."""
    return _quota(prefix, "res", reservation_id)


def quota_user_usage(prefix: str, user_id: str, *, day: str | None = None, month: str | None = None) -> str:
    """``P:{quota}:usage:user:U:d:DAY`` or ``P:{quota}:usage:user:U:m:MONTH``: a person's usage."""
    return _quota(prefix, "usage", "user", user_id, *_period(day, month))


def quota_workspace_usage(prefix: str, *, day: str | None = None, month: str | None = None) -> str:
    """``P:{quota}:usage:ws:d:DAY`` or ``P:{quota}:usage:ws:m:MONTH``: the workspace's usage."""
    return _quota(prefix, "usage", "ws", *_period(day, month))


def _period(day: str | None, month: str | None) -> tuple[str, str]:
    if (day is None) == (month is None):
        raise ValueError("give a day or a month")
    return ("d", day) if day is not None else ("m", month or "")
