"""Typed references that travel through Slack and come back: button values, modal metadata.

Slack hands back whatever the bot put into a button's ``value`` or a modal's ``private_metadata``.
Each reference here is one pydantic model with :meth:`Ref.encode` (compact JSON with a kind and a
version, within Slack's size limits) and :meth:`Ref.decode` (validates everything, returns None for
anything that is not exactly one of ours). A decoded reference is only a claim: the engine checks it
against its own state (the stored answer, the live buttons) before acting on it.
"""

from __future__ import annotations

from typing import ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.core.conversation import ThreadAddress, parse_conversation_id

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
