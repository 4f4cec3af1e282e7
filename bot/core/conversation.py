"""Conversation state: one conversation = one Slack thread (or one terminal session).

A conversation is owned by one *current agent* at a time. Turns are kept in order (Slack order:
by ``ts``); handoffs are recorded as a chain. These are plain validated values; the use cases that
change them live in :mod:`bot.core.engine`, storage behind :class:`bot.core.ports.ConversationStore`.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.files import Attachment
from bot.core.thread_address import ThreadAddress as ThreadAddress  # noqa: PLC0414 - re-exported
from bot.core.thread_address import conversation_id as conversation_id  # noqa: PLC0414
from bot.core.thread_address import parse_conversation_id as parse_conversation_id  # noqa: PLC0414

TurnStatus = Literal["complete", "cut", "failed"]


class Role(StrEnum):
    """Who produced a turn."""

    USER = "user"
    ASSISTANT = "assistant"


class Usage(BaseModel):
    """What one model call cost and how long it took."""

    model_config = ConfigDict(frozen=True)

    model: str
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: int = 0
    first_token_ms: int | None = None


class Turn(BaseModel):
    """One message in a conversation.

    ``id`` is unique within the conversation and stable across re-deliveries (a Slack message ts,
    an event id, or a generated id for answers), so appending the same turn twice is a no-op.
    ``ts`` orders turns: a Slack ts (``"1700000000.000100"``) or the clock in the same format.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=200)
    role: Role
    text: str
    ts: str
    user_id: str | None = None
    agent: str | None = Field(default=None, description="Answering agent, or the agent a user turn addressed")
    status: TurnStatus = "complete"
    usage: Usage | None = None
    created_at: float = 0.0
    answered: tuple[str, ...] = Field(
        default=(), description="For answers: ids of the user turns this answer covered"
    )
    attachments: tuple[Attachment, ...] = Field(
        default=(), description="Files shared with the message: text kept, images by reference"
    )
    tools: tuple[str, ...] = Field(default=(), description="For answers: the tools it called, in order")


class StoredCall(BaseModel):
    """A tool call the model asked for, as stored while an answer waits for approval."""

    model_config = ConfigDict(frozen=True)

    id: str
    name: str
    arguments: str


class ToolStep(BaseModel):
    """One message of a tool round: the model's calls (``calls``, ``text``) or a result (``call_id``)."""

    model_config = ConfigDict(frozen=True)

    calls: tuple[StoredCall, ...] = ()
    text: str = ""
    call_id: str | None = None


class PendingApproval(BaseModel):
    """An answer paused on a tool call that waits for a person's click (see ``docs/agents.md``).

    Holds everything the answer needs to go on in another invocation: the text written so far, the
    tool round so far (the model's calls and the results), the calls not run yet (the first one is
    the one waiting), and who may decide. It lives in the conversation's metadata until a click, a
    new message or the time limit decides it; taking it is one atomic store operation, so a call
    is never decided (or run) twice.
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=64)
    agent: str
    model: str
    requested_by: str | None = None
    created_at: float
    expires_at: float
    answered: tuple[str, ...] = ()
    text: str = ""
    steps: tuple[ToolStep, ...] = ()
    waiting: tuple[StoredCall, ...] = Field(min_length=1)
    tool: str = Field(description="The waiting tool as people read it (fetch, docs/search)")
    reason: str = ""
    calls_used: int = 0
    tools_called: tuple[str, ...] = ()
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: int = 0
    first_token_ms: int | None = None


class HandoffRecord(BaseModel):
    """One step in the chain of handoffs."""

    model_config = ConfigDict(frozen=True)

    from_agent: str
    to_agent: str
    label: str
    by_user: str | None = None
    at: float = 0.0


class ShownAnswer(BaseModel):
    """An answer whose handoff buttons a person can see now, and where.

    ``restore`` is what that message shows once the buttons go (written by the chat layer, opaque
    here): a newer answer or a handoff makes the buttons stale, and they are removed.
    """

    model_config = ConfigDict(frozen=True)

    answer_id: str = Field(min_length=1, max_length=200)
    agent: str | None = Field(default=None, description="The agent that wrote the answer")
    message_ts: str = Field(min_length=1, max_length=40, description="The message that carries the buttons")
    restore: str = Field(default="", max_length=60_000)


class Vote(BaseModel):
    """One person's feedback on one answer (changeable; the latest change is kept)."""

    model_config = ConfigDict(frozen=True)

    value: Literal[1, -1]
    comment: str | None = Field(default=None, max_length=3_000)
    at: float = 0.0
    revision: int = Field(default=1, ge=1, description="How many times this vote was set or changed")
    delta_up: int = Field(default=0, description="The latest change's effect on the answer's thumbs up")
    delta_down: int = Field(default=0, description="... and on its thumbs down")


class RecentThread(BaseModel):
    """A thread a person wrote in, for their App Home (newest first)."""

    model_config = ConfigDict(frozen=True)

    conversation_id: str = Field(min_length=1, max_length=300)
    title: str = Field(default="", max_length=200, description="The person's first words in the thread")
    agent: str | None = None
    at: float = 0.0


class ConversationMeta(BaseModel):
    """The small, frequently updated part of a conversation."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=300)
    agent: str
    created_at: float
    updated_at: float
    team_id: str | None = None
    channel_id: str | None = None
    thread_ts: str | None = None
    last_answer_id: str | None = Field(
        default=None, description="Id of the latest answer whose handoff buttons are still live"
    )
    dropped_turns: int = Field(default=0, description="Turns removed by the storage cap (oldest first)")
    model: str | None = Field(
        default=None, description="Model chosen by the latest handoff (its `model`), for the current agent"
    )
    pending_approval: PendingApproval | None = Field(
        default=None, description="An answer paused on a tool call waiting for approval"
    )
    shown: dict[str, ShownAnswer] = Field(
        default_factory=dict, description="Answers whose handoff buttons show in Slack, by answer id"
    )
    votes: dict[str, dict[str, Vote]] = Field(
        default_factory=dict, description="Feedback: answer id -> person -> vote"
    )
    canvas_id: str | None = Field(default=None, description="The canvas the thread was saved to, if any")


class Conversation(BaseModel):
    """A whole conversation as loaded from the store."""

    model_config = ConfigDict(frozen=True)

    meta: ConversationMeta
    turns: tuple[Turn, ...] = ()
    handoffs: tuple[HandoffRecord, ...] = ()

    @property
    def agent(self) -> str:
        """The current agent."""
        return self.meta.agent

    def pending_user_turns(self) -> tuple[Turn, ...]:
        """User turns no answer has covered yet, in order.

        Tracked by id, not by position: a reply written while an answer was streaming has an
        earlier ``ts`` than the stored answer, yet that answer did not see it.
        """
        answered = {
            turn_id for turn in self.turns if turn.role is Role.ASSISTANT for turn_id in turn.answered
        }
        if self.meta.dropped_turns and self.turns:
            # The cap keeps the first turn but may have dropped the answer that covered it; a thread
            # long enough to be capped has answered its first message (every answer covers all pending).
            answered.add(self.turns[0].id)
        return tuple(t for t in self.turns if t.role is Role.USER and t.id not in answered)

    def turn(self, turn_id: str) -> Turn | None:
        """The turn with ``turn_id``, if kept."""
        return next((t for t in self.turns if t.id == turn_id), None)


@dataclass(frozen=True, slots=True)
class UserMessage:
    """What a person wrote, as the engine's use cases take it.

    ``id`` makes storing idempotent (a Slack message ts or event id); ``ts`` orders it (a Slack ts;
    None = now); ``attachments`` are the files shared with it, already read.
    """

    text: str
    user_id: str | None = None
    ts: str | None = None
    id: str | None = None
    attachments: tuple[Attachment, ...] = ()
