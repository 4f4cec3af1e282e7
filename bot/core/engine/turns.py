"""Building what the use cases store: a person's turn, a new conversation's meta, Slack's ``ts``."""

from __future__ import annotations

from bot.core.conversation import ConversationMeta, Role, Turn, UserMessage
from bot.core.ports import Clock


def slack_ts(seconds: float) -> str:
    """A wall-clock time in Slack's ``ts`` format (microsecond precision)."""
    return f"{seconds:.6f}"


def user_turn(clock: Clock, agent: str | None, message: UserMessage) -> Turn:
    """The turn a person's message makes (its Slack ``ts`` and id, or now when it has none)."""
    now = clock.now()
    turn_ts = message.ts or slack_ts(now)
    return Turn(
        id=message.id or turn_ts,
        role=Role.USER,
        text=message.text,
        ts=turn_ts,
        user_id=message.user_id,
        agent=agent,
        created_at=now,
        attachments=message.attachments,
    )


def new_meta(
    clock: Clock,
    conversation_id: str,
    *,
    agent: str,
    team_id: str | None,
    channel_id: str | None,
    thread_ts: str | None,
) -> ConversationMeta:
    """The meta of a conversation created now, owned by ``agent``."""
    now = clock.now()
    return ConversationMeta(
        id=conversation_id,
        agent=agent,
        created_at=now,
        updated_at=now,
        team_id=team_id,
        channel_id=channel_id,
        thread_ts=thread_ts,
    )
