"""Ports: what the core needs from the outside world, as Protocols.

Adapters in :mod:`bot.adapters` implement them (Redis, in-memory, OpenAI, the clock). The core only
ever sees these types.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.core.conversation import Conversation, ConversationMeta, HandoffRecord, Turn, Usage

# --------------------------------------------------------------------------------------------- store


class ConversationStore(Protocol):
    """Durable conversation state. Every method may raise ``StoreUnavailableError``.

    Contract:
    - every key/record written expires ``ttl_s`` after the last activity (each write refreshes it);
    - ``append_turn`` is idempotent by ``turn.id`` and keeps turns ordered by ``turn.ts``; an
      assistant turn is always placed after every turn already stored, and makes itself the
      conversation's ``last_answer_id`` (its buttons are the live ones); at most ``max_turns`` are
      kept: the oldest are dropped, except the first turn, and ``dropped_turns`` counts them;
    - all of this holds across processes (Lambda instances), not only threads.
    """

    def create(self, meta: ConversationMeta) -> bool:
        """Store a new conversation; False (and nothing changes) if the id exists."""
        ...

    def get(self, conversation_id: str) -> Conversation | None:
        """The whole conversation, or None if unknown or expired."""
        ...

    def append_turn(self, conversation_id: str, turn: Turn) -> bool:
        """Append a turn; False if a turn with that id was already stored (nothing changes)."""
        ...

    def hand_off(self, conversation_id: str, *, expected_answer_id: str, record: HandoffRecord) -> bool:
        """Atomically switch the current agent to ``record.to_agent`` and append ``record``.

        Only if ``last_answer_id`` equals ``expected_answer_id`` (the button's answer is the latest
        and unused); it then clears ``last_answer_id`` so a second click finds it gone. False
        otherwise, with nothing changed.
        """
        ...

    def lock(self, conversation_id: str, *, ttl_s: float, wait_s: float) -> AbstractContextManager[None]:
        """Exclusive answer lock for one conversation, across processes.

        Waits up to ``wait_s`` then raises ``ConversationBusyError``. The lock expires after
        ``ttl_s`` (a crashed holder cannot block forever) and is released only by its owner.
        """
        ...

    def claim(self, delivery_id: str, *, ttl_s: float) -> bool:
        """Claim a delivery (Slack event_id, action id, Lambda request id). True exactly once.

        A claim lives ``ttl_s`` seconds; :meth:`complete` extends it to the conversation TTL.
        A claim that is neither completed nor released expires, so a crashed attempt can be retried.
        """
        ...

    def complete(self, delivery_id: str) -> None:
        """Mark a claimed delivery as done for good."""
        ...

    def release(self, delivery_id: str) -> None:
        """Give a claim up (the work failed in a way a retry may fix)."""
        ...


# --------------------------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a prompt."""

    role: Literal["system", "user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """A prompt for one answer."""

    model: str
    messages: tuple[ChatMessage, ...]
    max_output_tokens: int | None = None
    fallback_models: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TextDelta:
    """A piece of the answer, in order."""

    text: str


@dataclass(frozen=True, slots=True)
class Completion:
    """The end of a stream. ``cut`` is True when the deadline stopped it early."""

    usage: Usage
    finish_reason: str | None = None
    cut: bool = False


ModelEvent = TextDelta | Completion


class ChatModel(Protocol):
    """A streaming chat model."""

    def stream(self, request: ModelRequest, *, deadline: float) -> Iterator[ModelEvent]:
        """Yield text deltas then exactly one :class:`Completion`.

        ``deadline`` is a ``time.monotonic()`` value. If it passes before the first token, raise
        ``ModelTimeoutError``; if it passes mid-answer, stop and yield ``Completion(cut=True)``.
        Failures after retries raise a ``ModelError`` subclass.
        """
        ...


class TokenCounter(Protocol):
    """Counts tokens of text for a model (exactly, or a conservative over-estimate)."""

    exact: bool

    def count(self, text: str, model: str) -> int:
        """Tokens in ``text``."""
        ...


# --------------------------------------------------------------------------------------------- clock


class Clock(Protocol):
    """Time, injectable for tests."""

    def now(self) -> float:
        """Wall clock, seconds since the epoch."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds, for deadlines and durations."""
        ...


@dataclass
class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """Wall clock."""
        return time.time()

    def monotonic(self) -> float:
        """Monotonic clock."""
        return time.monotonic()


@dataclass
class FixedClock:
    """A clock that moves only when told (tests and benchmarks)."""

    wall: float = 1_700_000_000.0
    mono: float = 1_000.0

    def now(self) -> float:
        """Current fake wall time."""
        return self.wall

    def monotonic(self) -> float:
        """Current fake monotonic time."""
        return self.mono

    def advance(self, seconds: float) -> None:
        """Move both clocks forward."""
        self.wall += seconds
        self.mono += seconds
