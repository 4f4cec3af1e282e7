"""What a listener needs from a Slack request, read once into typed values.

Bolt already extracts the ids most requests carry into its ``context`` (``team_id``, ``user_id``,
``channel_id``, ``bot_user_id``, ``bot_id``); everything else a listener needs (where a clicked
message sits, the click's delivery id, a message event's own fields, a modal's submitted values) is
read here, so no listener digs into raw payloads. The guard (:mod:`bot.slack.guard`) has already
refused requests without the ids their listener needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.core.thread_address import ThreadAddress


Block = dict[str, Any]
Say = Callable[[str], None]


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


@dataclass(slots=True)
class Where:
    """Where the person is told what happened: the channel, the thread (once known) and the person.

    ``say``: tells the person privately another way than an ephemeral message (a slash command's
    ``respond``, an interaction's ``response_url``); ``thread_ts`` may be set once a flow posted the
    thread's first message, so later errors are told in it.
    """

    channel: str | None
    user: str | None
    thread_ts: str | None = None
    say: Say | None = field(default=None, repr=False)


@dataclass(frozen=True, slots=True)
class Click:
    """A button click (``block_actions``) or a shortcut, with where its message is."""

    team: str | None
    user: str | None
    channel: str | None
    thread_ts: str | None  # the thread of the message the button is on (its container)
    message_ts: str | None  # the message the button is on
    message_thread: str | None  # a shortcut's message: its thread, or itself when it is a root
    message_blocks: list[Block] | None
    trigger_id: str | None
    value: Any
    selected: str  # a select menu's chosen value
    action_ts: str | None

    @classmethod
    def of(
        cls, body: Mapping[str, Any], context: Mapping[str, Any], action: Mapping[str, Any] | None = None
    ) -> Click:
        """Read a click (``action`` given) or a shortcut (none) and Bolt's context."""
        container = _dict(body.get("container"))
        message = _dict(body.get("message"))
        return cls(
            team=_str(context.get("team_id")),
            user=_str(context.get("user_id")),
            channel=_str(context.get("channel_id")) or _str(container.get("channel_id")),
            thread_ts=_str(container.get("thread_ts")),
            message_ts=_str(container.get("message_ts")),
            message_thread=_str(message.get("thread_ts"))
            or _str(message.get("ts"))
            or _str(body.get("message_ts")),
            message_blocks=message.get("blocks") if isinstance(message.get("blocks"), list) else None,
            trigger_id=_str(body.get("trigger_id")),
            value=(action or {}).get("value"),
            selected=str(_dict(_dict(action).get("selected_option")).get("value") or ""),
            action_ts=_str((action or {}).get("action_ts")) or _str(body.get("action_ts")),
        )

    def delivery(self, kind: str) -> str:
        """The click's delivery id (claimed once): its trigger, else its action time."""
        return f"{kind}:{self.trigger_id or self.action_ts}"

    def where(self, thread_ts: str | None = None, say: Say | None = None) -> Where:
        """Where to tell the person what happened."""
        return Where(self.channel, self.user, thread_ts, say)


@dataclass(frozen=True, slots=True)
class Message:
    """A message event (a thread reply, a mention, a side-panel message)."""

    event_id: str | None
    team: str | None
    channel: str
    ts: str
    thread_ts: str | None
    user: str | None
    text: str
    files: list[Mapping[str, Any]]
    parent_user_id: str | None
    bot_user_id: str | None
    bot_id: str | None
    from_bot: bool  # written by a bot (including this one)
    from_app: bool  # written by an app
    subtype: str | None
    edited: bool  # a ``message_changed`` event

    @classmethod
    def of(cls, body: Mapping[str, Any], event: Mapping[str, Any], context: Mapping[str, Any]) -> Message:
        """Read a message event and Bolt's context."""
        files = event.get("files")
        return cls(
            event_id=_str(body.get("event_id")),
            team=_str(context.get("team_id")),
            channel=str(event.get("channel") or ""),
            ts=str(event.get("ts") or ""),
            thread_ts=_str(event.get("thread_ts")),
            user=_str(event.get("user")),
            text=str(event.get("text") or ""),
            files=[f for f in files if isinstance(f, dict)] if isinstance(files, list) else [],
            parent_user_id=_str(event.get("parent_user_id")),
            bot_user_id=_str(context.get("bot_user_id")),
            bot_id=_str(context.get("bot_id")),
            from_bot=bool(event.get("bot_id")),
            from_app=bool(event.get("app_id")),
            subtype=_str(event.get("subtype")),
            edited=event.get("subtype") == "message_changed",
        )

    @classmethod
    def in_body(cls, body: Mapping[str, Any], context: Mapping[str, Any]) -> Message:
        """Read the event of an ``event_callback`` body."""
        return cls.of(body, _dict(body.get("event")), context)

    @property
    def delivery(self) -> str:
        """The event's delivery id (claimed once)."""
        return f"event:{self.event_id or self.ts}"

    def where(self, thread_ts: str | None) -> Where:
        """Where to tell the person what happened."""
        return Where(self.channel, self.user, thread_ts)


@dataclass(frozen=True, slots=True)
class Command:
    """``/architect <text>``."""

    team: str | None
    user: str
    channel: str
    trigger_id: str
    text: str

    @classmethod
    def of(cls, command: Mapping[str, Any], context: Mapping[str, Any]) -> Command:
        """Read a slash command and Bolt's context."""
        return cls(
            team=_str(context.get("team_id")),
            user=str(command.get("user_id") or ""),
            channel=str(command.get("channel_id") or ""),
            trigger_id=str(command.get("trigger_id") or ""),
            text=str(command.get("text") or ""),
        )


@dataclass(frozen=True, slots=True)
class Submission:
    """A submitted modal."""

    user: str | None
    view_id: str | None
    trigger_id: str | None
    private_metadata: Any
    values: Mapping[str, Any]

    @classmethod
    def of(cls, body: Mapping[str, Any], view: Mapping[str, Any], context: Mapping[str, Any]) -> Submission:
        """Read a ``view_submission`` and Bolt's context."""
        return cls(
            user=_str(context.get("user_id")),
            view_id=_str(view.get("id")),
            trigger_id=_str(body.get("trigger_id")),
            private_metadata=view.get("private_metadata"),
            values=_dict(_dict(view.get("state")).get("values")),
        )

    def value(self, block: str, action: str) -> str:
        """A plain text input's value (empty when absent)."""
        return str(_dict(_dict(self.values.get(block)).get(action)).get("value") or "")

    def selected(self, block: str, action: str) -> str:
        """A select menu's chosen value (empty when absent)."""
        return str(
            _dict(_dict(_dict(self.values.get(block)).get(action)).get("selected_option")).get("value") or ""
        )


def thread_in(thread: ThreadAddress | None, channel: str | None) -> str | None:
    """The thread's ts when a button's conversation is in the channel it was clicked in, else None."""
    return thread.thread_ts if thread is not None and thread.channel_id == channel else None


def log_context(body: Mapping[str, Any], context: Mapping[str, Any]) -> dict[str, str | None]:
    """The channel, thread and kind of any request, for its log lines (Bolt's context first)."""
    event, container = _dict(body.get("event")), _dict(body.get("container"))
    channel = (
        _str(context.get("channel_id"))
        or _str(body.get("channel_id"))
        or _str(event.get("channel"))
        or _str(container.get("channel_id"))
    )
    thread_ts = _str(event.get("thread_ts")) or _str(container.get("thread_ts")) or _str(event.get("ts"))
    kind = "command" if body.get("command") else event.get("type") or body.get("type") or "unknown"
    return {"channel": channel, "thread_ts": thread_ts, "event_kind": str(kind)}
