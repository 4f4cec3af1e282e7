"""What the engine's use cases return and take: plain data, no logic (every module here imports it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from bot.core.conversation import Conversation, ShownAnswer, Turn
from bot.core.image_cost import ImageDetail
from bot.core.notices import Notice
from bot.core.registry import ResolvedHandoff
from bot.core.tools import ToolCall, ToolResult

CUT_NOTICE = "\n\n_(Answer cut short: it ran out of time. Send another message to continue.)_"
STOP_NOTICE = "\n\n_(Answer stopped before it was finished.)_"


class StopAnswer(BaseException):
    """Raised into a running answer to stop it (the terminal's Ctrl-C): the text so far is stored
    with ``status="cut"`` and :data:`STOP_NOTICE`. A BaseException so that no ``except Exception``
    on the way swallows it. See :meth:`bot.core.engine.answer.AnswerStream.stop`.
    """


@dataclass(frozen=True, slots=True)
class ToolActivity:
    """A tool call as it happens: ``result`` None when it starts, set when it is done.

    ``line`` is the compact line for a text rendering; ``title`` (tool and argument) and ``detail``
    (size, error, or why it did not run) are the same facts for a step-by-step rendering.
    """

    call: ToolCall
    tool: str
    line: str
    result: ToolResult | None = None
    title: str = ""
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ToolNotice:
    """Something about the tools a person should know (a server that could not be reached)."""

    line: str


@dataclass(frozen=True, slots=True)
class ApprovalRequest:
    """The answer paused: a call waits for Approve / Deny by ``requested_by`` (or an admin)."""

    conversation_id: str
    approval_id: str
    agent: str
    tool: str
    arguments: str
    reason: str
    requested_by: str | None
    expires_at: float
    timeout_s: float


Why = Literal["approved", "denied", "expired", "superseded"]


@dataclass(frozen=True, slots=True)
class ApprovalDecision:
    """How a waiting call was decided (a click, the time limit, or a new message in the thread)."""

    approval_id: str
    tool: str
    why: Why
    by_user: str | None = None

    @property
    def approved(self) -> bool:
        """True when the call may run."""
        return self.why == "approved"


AnswerEvent = str | ToolActivity | ToolNotice | ApprovalRequest


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Limits the engine works within."""

    max_prompt_tokens: int
    reserve_tokens: int
    lock_ttl_s: float
    lock_wait_s: float
    image_detail: ImageDetail = "high"


@dataclass(frozen=True, slots=True)
class AnswerResult:
    """A finished (or cut) answer, as stored."""

    conversation_id: str
    turn: Turn
    agent: str
    handoffs: tuple[ResolvedHandoff, ...]
    answered_turn_ids: tuple[str, ...]
    prompt_tokens: int
    dropped_turns: int
    cut: bool
    notices: tuple[Notice, ...] = ()  # what the person should know (an image that could not be fetched)
    tool_calls: int = 0
    stopped: bool = False  # cut because the person stopped it (StopAnswer), not by the deadline

    @property
    def text(self) -> str:
        """The answer's text as stored (with the cut notice if it was cut)."""
        return self.turn.text


@dataclass(frozen=True, slots=True)
class HandoffOutcome:
    """What a handoff did."""

    conversation_id: str
    from_agent: str
    to_agent: str
    label: str
    model: str | None
    retired: ShownAnswer | None = None  # where the clicked answer's buttons are shown: they go now


@dataclass(frozen=True, slots=True)
class AnswerPlan:
    """What an answer is about to do: who answers, with which model, covering which turns.

    ``answer_id`` is the id the answer will be stored with (known before the first word, so every
    Slack message of the answer can carry it); ``notices`` what the person should know first (their
    images go to a model that cannot see them).
    """

    conversation: Conversation
    agent: str
    model: str
    pending: tuple[Turn, ...]
    answer_id: str = ""
    notices: tuple[Notice, ...] = ()
    decision: ApprovalDecision | None = field(default=None)


class ReplyOutcome(StrEnum):
    """What :meth:`Engine.reply` did with a reply."""

    STORED = "stored"
    DUPLICATE = "duplicate"  # a re-delivery: stored before
    NOT_FOUND = "not_found"  # no conversation in that thread: not ours, or forgotten by the store
    PARKED = "parked"  # the conversation is being created: the reply is adopted by it
    REFUSED = "refused"  # its author may not use the thread's agent: nothing stored


class ForgetCheck(StrEnum):
    """May a person have a conversation forgotten (after :meth:`Engine.forget`: was it forgotten)."""

    ALLOWED = "allowed"  # the starter or an admin: forgotten (or may be)
    NOT_ALLOWED = "not_allowed"  # someone else
    NOT_FOUND = "not_found"  # no conversation (never the bot's, or expired)
    ALREADY = "already"  # forgotten before


@dataclass(frozen=True, slots=True)
class Forgotten:
    """What :meth:`Engine.forget` did: ``check`` (ALLOWED: forgotten now), and the canvas the bot had
    made for the thread (read before the conversation went), which Slack still shows."""

    check: ForgetCheck
    canvas_id: str | None = None


@dataclass(frozen=True, slots=True)
class Adopted:
    """What :meth:`Engine.adopt` did."""

    created: bool  # False: the conversation existed (another process re-created it first)
    agent: str
    turns: int  # turns taken over from the thread
    forgotten: bool = False  # the thread was forgotten on request: nothing was stored


@dataclass(frozen=True, slots=True)
class Continued:
    """What :meth:`Engine.continue_or_start` did."""

    started: bool
    agent: str
    stored: bool
    refused: bool = False  # its author may not use ``agent``: nothing stored
    forgotten: bool = False  # the thread was forgotten on request: nothing stored
