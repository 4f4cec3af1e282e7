"""Ports: what the core needs from the outside world, as Protocols.

Adapters in :mod:`bot.adapters` implement them (Redis, in-memory, OpenAI, the clock). The core only
ever sees these types.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal, Protocol

# The clock's types, re-exported from their own light module (their old home is here).
from bot.core.clock import Clock as Clock  # noqa: PLC0414
from bot.core.clock import FixedClock as FixedClock  # noqa: PLC0414
from bot.core.clock import SystemClock as SystemClock  # noqa: PLC0414
from bot.core.conversation import (
    Conversation,
    ConversationMeta,
    HandoffRecord,
    PendingApproval,
    RecentThread,
    ShownAnswer,
    Turn,
    Usage,
    Vote,
)
from bot.core.files import Attachment, ImageInput
from bot.core.tools import AssistantToolCalls, ToolCall, ToolMessage, ToolSpec

# --------------------------------------------------------------------------------------------- store


class AppendOutcome(StrEnum):
    """What :meth:`Conversations.append_turn` did."""

    STORED = "stored"
    DUPLICATE = "duplicate"  # a turn with that id was stored before: nothing changed
    MISSING = "missing"  # no such conversation (or it was forgotten): nothing written
    PARKED = "parked"  # no such conversation yet: kept aside, adopted when it is opened
    REFUSED = "refused"  # the conversation's agent is one the writer may not use: nothing written


class HandoffStatus(StrEnum):
    """What :meth:`Conversations.hand_off` did."""

    DONE = "done"
    STALE = "stale"  # not the live answer (older, or its buttons were used): nothing changed
    WRONG_AGENT = "wrong_agent"  # the stored answer was not written by the claimed agent
    MISSING = "missing"


@dataclass(frozen=True, slots=True)
class HandedOff:
    """What :meth:`Conversations.hand_off` did, and where the clicked answer's buttons are shown."""

    status: HandoffStatus
    retired: ShownAnswer | None = None  # DONE only: no longer recorded as shown; its buttons must go


class VoteStatus(StrEnum):
    """What :meth:`ThreadRecords.vote` did."""

    STORED = "stored"  # a new vote, or a changed one
    UNCHANGED = "unchanged"  # the same vote again (a second click, a re-delivery): nothing changed
    NOT_AN_ANSWER = "not_an_answer"  # no stored answer with that id (forged, or dropped by the cap)
    MISSING = "missing"  # no such conversation


@dataclass(frozen=True, slots=True)
class VoteOutcome:
    """A vote as stored, the answer's agent (from the stored answer, not the button), the vote before."""

    status: VoteStatus
    vote: Vote | None = None
    agent: str | None = None
    previous: int | None = None


@dataclass(frozen=True, slots=True)
class Opened:
    """What :meth:`Conversations.open` found or made."""

    created: bool  # False: the conversation existed and keeps its agent
    agent: str  # the conversation's current agent (or the one it would have had)
    stored: bool  # False: the turn was a duplicate (a re-delivery), refused, or forgotten
    refused: bool = False  # that agent is one the writer may not use: nothing written
    forgotten: bool = False  # the conversation was forgotten on request: nothing written


class LockedConversation(Protocol):
    """A conversation read under its answer lock (:meth:`Conversations.locked`)."""

    conversation: Conversation | None

    def finish(self, answer: Turn) -> bool:
        """Store the answer (an assistant turn) and release the lock, in one operation.

        False if a turn with that id was already stored. Raises ``ConversationNotFoundError`` if the
        conversation expired meanwhile.
        """
        ...

    def pause(self, pending: PendingApproval) -> None:
        """Store ``pending`` (an answer waiting for a click) and release the lock, in one operation.

        Raises ``ConversationNotFoundError`` if the conversation expired meanwhile.
        """
        ...

    def take_approval(self, approval_id: str) -> PendingApproval | None:
        """Remove and return the pending approval if its id is ``approval_id``, in one operation.

        None when there is none or it is another one: it was decided already (a double click, a
        re-delivery), so the caller must not run the call. The lock stays held.
        """
        ...


class Conversations(Protocol):
    """A conversation's turns, agent and handoffs, its answer lock, and forgetting it on request.

    Storing a turn is idempotent by ``turn.id`` and keeps turns ordered by ``turn.ts``; an
    assistant turn is always placed after every turn already stored, and makes itself the
    conversation's ``last_answer_id`` (its buttons are the live ones); at most ``max_turns`` are
    kept: the oldest are dropped, except the first turn, and ``dropped_turns`` counts them.
    """

    def create(self, meta: ConversationMeta) -> bool:
        """Store a new, empty conversation; False (and nothing changes) if the id exists or was forgotten."""
        ...

    def open(
        self, meta: ConversationMeta, turn: Turn, *, refuse_agents: frozenset[str] = frozenset()
    ) -> Opened:
        """Create the conversation if it does not exist (adopting parked turns), then store ``turn``.

        An existing conversation keeps its agent and metadata; only the turn is added. Nothing is
        written when the agent that would own the turn (the existing one, else ``meta.agent``) is in
        ``refuse_agents`` (``refused``), or when the conversation was forgotten (``forgotten``).
        """
        ...

    def adopt(
        self, meta: ConversationMeta, turns: Sequence[Turn], handoffs: Sequence[HandoffRecord]
    ) -> Opened:
        """Create the conversation with its history (a thread read back from Slack), if it does not exist.

        One atomic operation: the conversation, its ``turns`` (in ``ts`` order, capped like any
        append), ``handoffs``, ``meta.last_answer_id``, and any parked turns. An existing
        conversation is left as it is (``created`` False): another process re-created it first.
        A forgotten conversation (:meth:`forget`) is never adopted (``forgotten`` True).
        """
        ...

    def get(self, conversation_id: str) -> Conversation | None:
        """The whole conversation, or None if unknown or expired."""
        ...

    def exists(self, conversation_id: str) -> bool:
        """Whether the conversation exists (reads nothing else)."""
        ...

    def find(self, *, channel_id: str, thread_ts: str) -> list[str]:
        """Ids (sorted) of the live conversations of a Slack thread, in any team.

        Not for the request path (Redis scans the keyspace): for tools that start from a thread
        link, which names the channel and thread but not the team.
        """
        ...

    def append_turn(
        self,
        conversation_id: str,
        turn: Turn,
        *,
        park_if_missing: bool = False,
        refuse_agents: frozenset[str] = frozenset(),
    ) -> AppendOutcome:
        """Store a turn in an existing conversation.

        With ``park_if_missing``, a turn for a conversation that does not exist yet is kept aside
        (for minutes, not the conversation TTL) and adopted by the :meth:`open` that creates it: a
        reply that overtakes the conversation's creation is not lost (a forgotten conversation's
        turns are never parked). REFUSED, with nothing written, when the conversation's current
        agent is in ``refuse_agents`` (the access policy, decided in the same atomic step).
        """
        ...

    def forget(self, conversation_id: str) -> bool:
        """Delete everything stored for the conversation and leave a tombstone for ``ttl_s``.

        While the tombstone lives, :meth:`open` and :meth:`create` refuse the id and turns are
        neither stored nor parked: a forgotten thread is never rebuilt. True if there was state.
        """
        ...

    def is_forgotten(self, conversation_id: str) -> bool:
        """True while the conversation's tombstone lives (see :meth:`forget`)."""
        ...

    def hand_off(
        self,
        conversation_id: str,
        *,
        expected_answer_id: str,
        record: HandoffRecord,
        prompt: Turn,
        model: str | None,
    ) -> HandedOff:
        """In one atomic operation: switch the agent to ``record.to_agent`` (and its model to
        ``model``), append ``record`` and the ``prompt`` turn, clear ``last_answer_id``, and stop
        recording the clicked answer as shown (:meth:`ThreadRecords.show_answer`): it is returned as
        ``retired``, its buttons to take down (None if it was not recorded as shown).

        Only if ``last_answer_id`` equals ``expected_answer_id`` (the button's answer is the latest
        and unused) and that answer was written by ``record.from_agent``; otherwise nothing changes.
        Retrying a done handoff (same prompt turn id) reports DONE again.
        """
        ...

    def locked(
        self, conversation_id: str, *, ttl_s: float, wait_s: float
    ) -> AbstractContextManager[LockedConversation]:
        """Take the conversation's exclusive answer lock and read it, in one operation.

        Waits up to ``wait_s`` then raises ``ConversationBusyError``. The lock expires after
        ``ttl_s`` (a crashed holder cannot block forever) and is released only by its owner: by
        :meth:`LockedConversation.finish`, or on leaving the block.
        """
        ...


class DeliveryClaims(Protocol):
    """Exactly-once deliveries: a Slack event, click or command is handled by one attempt."""

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


class ThreadRecords(Protocol):
    """What is kept beside the conversations about what Slack shows and what people did there.

    Which answer's handoff buttons are on screen, votes on answers, the thread's canvas (in the
    conversation, expiring with it), agents' feedback totals, and each person's recent threads.
    """

    def show_answer(self, conversation_id: str, shown: ShownAnswer) -> tuple[ShownAnswer, ...]:
        """Record that ``shown.answer_id``'s handoff buttons are on screen; return the ones to take down.

        One atomic operation. If the answer is still the live one (``last_answer_id``), it becomes
        the only shown answer and the others shown before are returned (their buttons are stale).
        If it is not live any more (a newer answer or a handoff came first), nothing is recorded and
        ``shown`` itself is returned: its own buttons must go. So each stale button set is returned
        to exactly one caller, however the answers race.
        """
        ...

    def vote(
        self,
        conversation_id: str,
        *,
        answer_id: str,
        user_id: str,
        value: int,
        comment: str | None,
        at: float,
    ) -> VoteOutcome:
        """Set ``user_id``'s vote (+1 or -1, with an optional comment) on an answer, in one operation.

        One vote per person per answer: a new value replaces the old one (``delta_up``/``delta_down``
        say how the answer's counts moved, ``revision`` counts the changes); the same value again is
        UNCHANGED (a comment given with it is added). A thumbs up drops an earlier comment.
        """
        ...

    def set_canvas(self, conversation_id: str, canvas_id: str, *, expected: str | None) -> str | None:
        """Record the conversation's canvas if the recorded one is ``expected``; returns the one recorded.

        Compare-and-set: when two people save the thread at once, one canvas wins and the other
        caller learns which. None when the conversation does not exist.
        """
        ...

    def tally_feedback(self, change_id: str, *, agent: str, up: int, down: int) -> None:
        """Add a vote's change to the agent's totals, once per ``change_id`` (retries count once)."""
        ...

    def feedback_tallies(self) -> dict[str, tuple[int, int]]:
        """Thumbs up and down per agent, over every conversation (kept a year after the last vote)."""
        ...

    def remember_thread(self, user_id: str, thread: RecentThread, *, keep: int) -> None:
        """Put ``thread`` first in the person's recent threads (its first title stays), keep ``keep``."""
        ...

    def recent_threads(self, user_id: str, limit: int) -> tuple[RecentThread, ...]:
        """The person's recent threads, newest first."""
        ...

    def forget_recent(self, user_id: str, conversation_id: str) -> None:
        """Take the conversation (its title: the request's first words) out of the person's recent
        threads; nothing when it is not there."""
        ...


class ConversationStore(Conversations, DeliveryClaims, ThreadRecords, Protocol):
    """Durable conversation state: every part in one object (what both adapters implement).

    Callers take the narrow part they use (:class:`Conversations`, :class:`DeliveryClaims`,
    :class:`ThreadRecords`); the container builds one store and hands it to each. Contract of
    every part:
    - every method may raise ``StoreUnavailableError``;
    - every key/record written expires ``ttl_s`` after the last activity (each write refreshes it);
    - every method is one atomic operation (one round trip for Redis): a crash between two calls
      never leaves a half-done use case;
    - all of this holds across processes (Lambda instances), not only threads.
    """


# --------------------------------------------------------------------------------------------- model


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One message of a prompt; a user message may carry images (sent as image inputs after the text)."""

    role: Literal["system", "user", "assistant"]
    content: str
    images: tuple[ImageInput, ...] = ()


PromptMessage = ChatMessage | AssistantToolCalls | ToolMessage
"""A prompt's message: text, or (in a tool loop) the model's tool calls and the tools' results."""


@dataclass(frozen=True, slots=True)
class ModelRequest:
    """A prompt for one answer.

    ``tools``: the tools the model may call (none: a plain answer). ``tool_choice`` ``"none"`` tells
    the model to answer without calling any (the loop's cap or time is reached).
    """

    model: str
    messages: tuple[PromptMessage, ...]
    max_output_tokens: int | None = None
    fallback_models: tuple[str, ...] = ()
    tools: tuple[ToolSpec, ...] = ()
    tool_choice: Literal["auto", "none"] = "auto"


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


ModelEvent = TextDelta | ToolCall | Completion


class ChatModel(Protocol):
    """A streaming chat model."""

    def stream(self, request: ModelRequest, *, deadline: float) -> Iterator[ModelEvent]:
        """Yield text deltas, then the tool calls the model asked for (whole), then one :class:`Completion`.

        ``deadline`` is a ``time.monotonic()`` value. If it passes before the first token, raise
        ``ModelTimeoutError``; if it passes mid-answer, stop and yield ``Completion(cut=True)``.
        Failures after retries raise a ``ModelError`` subclass.
        """
        ...


class FileSource(Protocol):
    """Where the images of a conversation are fetched again for a prompt (Slack is the record)."""

    def image(self, attachment: Attachment, *, deadline: float) -> ImageInput:
        """The image's bytes; raises ``LookupError`` (a :class:`~bot.core.notices.Notice` as its
        argument) when it can no longer be read. Counts against ``deadline`` (monotonic)."""
        ...


class TokenCounter(Protocol):
    """Counts tokens of text for a model (exactly, or a conservative over-estimate)."""

    exact: bool

    def count(self, text: str, model: str) -> int:
        """Tokens in ``text``."""
        ...
