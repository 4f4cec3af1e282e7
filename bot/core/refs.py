"""Typed references that travel through Slack and come back: button values, modal metadata.

Slack hands back whatever the bot put into a button's ``value`` or a modal's ``private_metadata``.
Each reference here is one pydantic model with :meth:`Ref.encode` (compact JSON with a kind and a
version, within Slack's size limits) and :meth:`Ref.decode` (validates everything, returns None for
anything that is not exactly one of ours). A decoded reference is only a claim: the engine checks it
against its own state (the stored answer, the live buttons) before acting on it.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal, Self
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.core.thread_address import ThreadAddress, parse_conversation_id

BUTTON_VALUE_LIMIT = 2_000  # Slack: a button's value
PRIVATE_METADATA_LIMIT = 3_000  # Slack: a view's private_metadata


class Ref(BaseModel):
    """Base of every reference: frozen, no unknown keys, a ``kind`` tag (a Literal per subclass)
    and a version, so a value of one kind never decodes as another."""

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    LIMIT: ClassVar[int] = BUTTON_VALUE_LIMIT

    version: Literal[1] = Field(default=1, alias="v")

    def encode(self) -> str:
        """The compact JSON form; raises ValueError if it would pass Slack's limit (ids are short)."""
        value = self.model_dump_json(by_alias=True)
        if len(value) > self.LIMIT:
            raise ValueError(f"{type(self).__name__} is is {len(value)} characters, over {self.LIMIT}")
        return value

    @classmethod
    def decode(cls, value: object) -> Self | None:
        """The reference in ``value``, or None if it is not a valid one of this kind."""
        if not isinstance(value, str) or not value or len(value) > cls.LIMIT:
            return None
        try:
            ref = cls.model_validate_json(value)
        except (ValidationError, ValueError):
            return None
        return ref


class HandoffRef(Ref):
    """A handoff button: which answer's buttons, from which agent, to which target."""

    kind: Literal["handoff"] = Field(default="handoff", alias="k")
    conversation_id: str = Field(alias="c", min_length=1, max_length=300)
    answer_id: str = Field(alias="a", min_length=1, max_length=200)
    from_agent: str = Field(alias="f", min_length=1, max_length=200)
    target: str = Field(alias="t", min_length=1, max_length=200)

    @field_validator("conversation_id")
    @classmethod
    def _slack_thread(cls, value: str) -> str:
        if ":" not in value:
            raise ValueError("not a conversation id")
        return value

    @property
    def thread(self) -> ThreadAddress | None:
        """The Slack thread the conversation id names (None for a terminal conversation)."""
        return parse_conversation_id(self.conversation_id)


class HandoffModalRef(Ref):
    """A ``send: false`` handoff's modal: the button it came from, where it was clicked."""

    LIMIT: ClassVar[int] = PRIVATE_METADATA_LIMIT

    kind: Literal["handoff_modal"] = Field(default="handoff_modal", alias="k")

    button: HandoffRef = Field(alias="b")
    channel_id: str = Field(alias="ch", min_length=1, max_length=40)
    message_ts: str | None = Field(default=None, alias="m", max_length=40)


class ForgetRef(Ref):
    """The "Forget this thread" confirmation button: which conversation, in which thread."""

    kind: Literal["forget"] = Field(default="forget", alias="k")
    conversation_id: str = Field(alias="c", min_length=1, max_length=300)

    @field_validator("conversation_id")
    @classmethod
    def _slack_thread(cls, value: str) -> str:
        if parse_conversation_id(value) is None:
            raise ValueError("not a Slack thread's conversation id")
        return value

    @property
    def thread(self) -> ThreadAddress:
        """The Slack thread to forget."""
        address = parse_conversation_id(self.conversation_id)
        if address is None:  # pragma: no cover - refused by the validator
            raise ValueError(self.conversation_id)
        return address


_PERMALINK = re.compile(
    r"https?://[^/\s]+/archives/(?P<channel>[A-Z0-9]{2,40})/p(?P<seconds>\d{10})(?P<micros>\d{6})"
    r"(?:\?(?P<query>[^\s|>]*))?"
)


def thread_from_link(text: str, team_id: str | None) -> ThreadAddress | None:
    """The thread a Slack message link points at (``Copy link`` on any message of the thread).

    ``https://x.slack.com/archives/C0123/p1700000000000100`` is a top-level message, itself the
    thread's root; a reply's link carries ``?thread_ts=1700000000.000100&cid=C0123``. Angle
    brackets Slack may add around a link are accepted. None when ``text`` holds no such link.
    """
    match = _PERMALINK.search(text or "")
    if match is None:
        return None
    thread_ts = f"{match['seconds']}.{match['micros']}"
    for name, value in parse_qsl(match["query"] or ""):
        if name == "thread_ts" and re.fullmatch(r"\d{10}\.\d{6}", value):
            thread_ts = value
    return parse_conversation_id(f"{team_id or '-'}:{match['channel']}:{thread_ts}")


class ApprovalRef(Ref):
    """An Approve / Deny button under a tool call that waits: which conversation, which approval.

    The engine decides only if the approval is still the conversation's pending one, and only for
    the person who asked (or an admin); a forged or old value changes nothing.
    """

    kind: Literal["approval"] = Field(default="approval", alias="k")
    conversation_id: str = Field(alias="c", min_length=1, max_length=300)
    approval_id: str = Field(alias="a", min_length=1, max_length=64)
    approve: bool = Field(alias="y")

    @property
    def thread(self) -> ThreadAddress | None:
        """The Slack thread the conversation id names (None for a terminal conversation)."""
        return parse_conversation_id(self.conversation_id)


class AskModalRef(Ref):
    """The agent picker's modal (``/architect`` with no text): the channel the request goes to."""

    LIMIT: ClassVar[int] = PRIVATE_METADATA_LIMIT

    kind: Literal["ask_modal"] = Field(default="ask_modal", alias="k")
    channel_id: str = Field(alias="ch", min_length=1, max_length=40, pattern=r"^[A-Z0-9][A-Z0-9_-]*$")


class FeedbackRef(Ref):
    """A feedback (thumbs) button under an answer: which answer, up or down.

    The vote counts for the agent that wrote the stored answer, whatever the button claims.
    """

    kind: Literal["feedback"] = Field(default="feedback", alias="k")
    conversation_id: str = Field(alias="c", min_length=1, max_length=300)
    answer_id: str = Field(alias="a", min_length=1, max_length=200)
    positive: bool = Field(alias="p")

    @property
    def thread(self) -> ThreadAddress | None:
        """The Slack thread the conversation id names."""
        return parse_conversation_id(self.conversation_id)


class FeedbackModalRef(Ref):
    """The optional comment after a thumbs down: the answer, and where the button was."""

    LIMIT: ClassVar[int] = PRIVATE_METADATA_LIMIT

    kind: Literal["feedback_modal"] = Field(default="feedback_modal", alias="k")
    button: FeedbackRef = Field(alias="b")
    channel_id: str = Field(alias="ch", min_length=1, max_length=40)


class CanvasRef(Ref):
    """The "Save as canvas" button under an answer: which conversation to save."""

    kind: Literal["canvas"] = Field(default="canvas", alias="k")
    conversation_id: str = Field(alias="c", min_length=1, max_length=300)

    @property
    def thread(self) -> ThreadAddress | None:
        """The Slack thread the conversation id names."""
        return parse_conversation_id(self.conversation_id)
