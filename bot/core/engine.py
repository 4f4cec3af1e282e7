"""The conversation engine: the only door to conversations, for Slack, the terminal and tests.

Use cases (each one store operation where it can be):

- :meth:`Engine.start` opens a conversation with an agent and stores the first user turn;
- :meth:`Engine.reply` stores a reply in an existing conversation (or parks it until the
  conversation it overtook exists);
- :meth:`Engine.continue_or_start` does either, atomically: a mention in a thread;
- :meth:`Engine.answer` lets the current agent answer everything not answered yet, streaming;
- :meth:`Engine.hand_off` moves the conversation to another agent after a button click;
- :meth:`Engine.adopt` re-creates a conversation from its thread as Slack gives it back (the store
  lost it), or starts one in a thread that already has a discussion, with its history;
- :meth:`Engine.forget` deletes a conversation on request and keeps it from ever being reopened or
  adopted again (:meth:`Engine.is_forgotten`: check it before reading a thread back from Slack).

Governance (optional, :mod:`bot.core.governance`): replies and mentions carry the agents their
author may not use, and the store refuses them in the same atomic write; with a
:class:`~bot.core.governance.Budget`, :meth:`AnswerStream.open` reserves the estimated tokens
before any model call (raising :class:`~bot.errors.BudgetExceededError` when a limit stops it)
and the real usage is charged once the answer is stored.

Tools (optional, :mod:`bot.core.tool_loop`): agents with tools answer in a loop: the model asks
for tool calls, they run within the rules, the results go back to the model, until it answers.
:meth:`Engine.decide` resumes an answer paused on a call that needs approval: its state is stored
in the conversation (one store operation that also releases the lock) and
:meth:`AnswerStream.paused` says what waits; a click, a new message or the time limit decides it,
exactly once (the pending state is taken atomically).

The engine knows nothing about how an answer is shown. :meth:`Engine.answer` returns an
:class:`AnswerStream`: :meth:`AnswerStream.open` says whether there is anything to answer (and who
answers), iterating yields text deltas, then :attr:`AnswerStream.result` holds the stored answer.

Guarantees (with a store that keeps the :class:`~bot.core.ports.ConversationStore` contract):
- a user's turn is stored *before* the model is called, so an outage loses nothing: the next
  answer in that thread picks it up;
- answers in one conversation never interleave: answering holds the conversation's lock, and a
  second answerer that finds nothing pending does nothing;
- a handoff is one atomic store operation (new agent and model, the handoff record, the prompt
  turn): a crash leaves either the old state or the new one, and the next answer picks it up;
- an answer cut by the deadline is stored with ``status="cut"`` and said to be cut, not lost.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Generator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from bot.core.agents import AgentSpec
from bot.core.budget import PromptResult, build_prompt
from bot.core.context import Attachment, ImageDetail, ImageInput, Notice, accepts_images
from bot.core.conversation import (
    Conversation,
    ConversationMeta,
    HandoffRecord,
    PendingApproval,
    RecentThread,
    Role,
    ShownAnswer,
    Turn,
    Usage,
    UserMessage,
    parse_conversation_id,
)
from bot.core.governance import Budget
from bot.core.model_names import resolve_model
from bot.core.ports import (
    AppendOutcome,
    ChatMessage,
    ChatModel,
    Clock,
    Completion,
    ConversationStore,
    FileSource,
    HandoffStatus,
    LockedConversation,
    ModelRequest,
    Opened,
    TextDelta,
    TokenCounter,
    VoteOutcome,
)
from bot.core.prompts import turn_message
from bot.core.quota import Reservation
from bot.core.record import Rebuilt
from bot.core.refs import ApprovalRef, FeedbackRef, HandoffRef
from bot.core.registry import Registry, ResolvedHandoff
from bot.core.tool_loop import (
    ApprovalDecision,
    ApprovalRequest,
    LoopState,
    ToolActivity,
    ToolNotice,
    ToolRun,
    shown_arguments,
)
from bot.core.tools import (
    ApprovalPolicy,
    AssistantToolCalls,
    Toolbox,
    ToolboxFactory,
    ToolCall,
    ToolConfig,
    ToolMessage,
    ToolRules,
    plan_tools,
    urls_in,
)
from bot.errors import (
    AgentNotFoundError,
    ApprovalNotAllowedError,
    BotError,
    ConversationNotFoundError,
    HandoffNotAllowedError,
    StaleApprovalError,
    StaleHandoffError,
    ThreadForgottenError,
)
from bot.logging import get_logger

log = get_logger("bot.engine")

RECENT_KEPT = 20  # threads kept per person for App Home
RECENT_SHOWN = 10
TITLE_LIMIT = 120
COMMENT_LIMIT = 3_000
CUT_NOTICE = "\n\n_(Answer cut short: it ran out of time. Send another message to continue.)_"
STOP_NOTICE = "\n\n_(Answer stopped before it was finished.)_"
MAX_PROMPT_IMAGE_BYTES = 40_000_000  # OpenAI takes 50 MB per request; the newest images go first
CAP_NOTICE = "\n\n_(The agent used its {cap} tool calls for this answer; it answered with what it had.)_"
LOOP_NOTICE = (
    "\n\n_(Stopped: the agent kept asking for tools after its {cap} tool calls. "
    "Reply in the thread to continue.)_"
)
MAX_ROUNDS_EXTRA = 2  # model rounds beyond the call cap: the cap round and the answer round

AnswerEvent = str | ToolActivity | ToolNotice | ApprovalRequest


class StopAnswer(BaseException):
    """Raised into a running answer to stop it (the terminal's Ctrl-C): the text so far is stored
    with ``status="cut"`` and :data:`STOP_NOTICE`. A BaseException so that no ``except Exception``
    on the way swallows it. See :meth:`AnswerStream.stop`.
    """


def _untold(call: ToolCall, why: str) -> ToolMessage:
    return ToolMessage(call_id=call.id, content=f"[Not run: {why}.]")


def slack_ts(seconds: float) -> str:
    """A wall-clock time in Slack's ``ts`` format (microsecond precision)."""
    return f"{seconds:.6f}"


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
    prompt_turn: Turn
    model: str | None


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


class AnswerStream:
    """One answer: :meth:`open` (lock + one read), then text deltas, then :attr:`result`.

    Iterating yields the text deltas only; :meth:`events` also yields the tool calls as they happen
    (:class:`~bot.core.tool_loop.ToolActivity`, :class:`~bot.core.tool_loop.ToolNotice`) and, when
    the answer pauses for approval, one :class:`~bot.core.tool_loop.ApprovalRequest` (then
    :attr:`paused` is set and :attr:`result` stays None). Iterating without calling :meth:`open`
    opens implicitly. Closing early (:meth:`close`) releases the lock and stores nothing. Errors
    are the typed errors of :mod:`bot.errors`.
    """

    def __init__(self, generator: Generator[AnswerPlan | AnswerResult | AnswerEvent, None, None]) -> None:
        self._generator = generator
        self._opened = False
        self._plan: AnswerPlan | None = None
        self._result: AnswerResult | None = None
        self._paused: ApprovalRequest | None = None

    def open(self) -> AnswerPlan | None:
        """Take the lock and read the conversation; None (and the lock released) if nothing is pending."""
        if not self._opened:
            self._opened = True
            first = next(self._generator, None)
            self._plan = first if isinstance(first, AnswerPlan) else None
        return self._plan

    @property
    def plan(self) -> AnswerPlan | None:
        """What :meth:`open` found."""
        return self._plan

    def events(self) -> Iterator[AnswerEvent]:
        """Text deltas, tool activity and (at most one, last) approval request, in order."""
        if self.open() is None:
            return
        for item in self._generator:
            if isinstance(item, AnswerResult):
                self._result = item
            elif isinstance(item, AnswerPlan):
                continue
            else:
                if isinstance(item, ApprovalRequest):
                    self._paused = item
                yield item

    def __iter__(self) -> Iterator[str]:
        for item in self.events():
            if isinstance(item, str):
                yield item

    @property
    def paused(self) -> ApprovalRequest | None:
        """The call this answer waits on (set once the stream ended paused)."""
        return self._paused

    def stop(self) -> list[str]:
        """Stop the answer now: the text so far is stored as cut, with :data:`STOP_NOTICE`.

        For a :class:`StopAnswer` that arrived while the caller was handling a delta (one that
        arrives while the model or a tool is running stops the answer by itself). Returns the text
        still to show (the notice); :attr:`result` then holds the stored answer. Does nothing
        before the answer started or after it finished.
        """
        if self._plan is None or self._result is not None:
            return []
        rest: list[str] = []
        try:
            item = self._generator.throw(StopAnswer())
            while True:
                if isinstance(item, str):
                    rest.append(item)
                elif isinstance(item, AnswerResult):
                    self._result = item
                item = next(self._generator)
        except (StopIteration, StopAnswer):  # finished; or stopped before the model was called
            pass
        return rest

    def close(self) -> None:
        """Stop early (releases the lock)."""
        close = getattr(self._generator, "close", None)
        if close is not None:
            close()

    @property
    def result(self) -> AnswerResult | None:
        """The stored answer; None until the stream is exhausted, or if nothing was pending."""
        return self._result

    def drain(self) -> AnswerResult | None:
        """Consume the whole stream (for callers that don't render progressively)."""
        for _ in self:
            pass
        return self.result


class Engine:
    """Use cases over a registry, a store, a model, a token counter and a clock."""

    def __init__(
        self,
        *,
        registry: Registry,
        store: ConversationStore,
        model: ChatModel,
        counter: TokenCounter,
        clock: Clock,
        config: EngineConfig,
        files: FileSource | None = None,
        budget: Budget | None = None,
        tools: ToolboxFactory | None = None,
        tool_config: ToolConfig | None = None,
        tool_rules: ToolRules | None = None,
        approvals: ApprovalPolicy | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        self.model = model
        self.counter = counter
        self.clock = clock
        self.config = config
        self.files = files
        self.budget = budget
        self.tools = tools
        self.tool_config = tool_config or ToolConfig()
        self.tool_rules = tool_rules or ToolRules()
        self.approvals = approvals or ApprovalPolicy()

    # ------------------------------------------------------------------------------- deliveries

    @contextmanager
    def once(self, delivery_id: str) -> Iterator[bool]:
        """Run a delivery (a Slack event, click, command) at most once across retries and re-deliveries.

        Yields False when another attempt already claimed ``delivery_id`` (do nothing). A typed
        :class:`~bot.errors.BotError` completes the claim (it was told; a retry would fail the
        same way); any other exception releases it so a retry may do the work.
        """
        # In progress for as long as one attempt can run: a concurrent duplicate is skipped, while
        # Lambda's retry of an attempt that timed out (a minute or more later) finds it expired.
        claim_ttl = max(60.0, self.config.lock_ttl_s)
        if not self.store.claim(delivery_id, ttl_s=claim_ttl):
            log.info("duplicate_delivery_skipped", delivery=delivery_id)
            yield False
            return
        try:
            yield True
        except BotError:
            self.store.complete(delivery_id)
            raise
        except Exception:
            self.store.release(delivery_id)
            raise
        else:
            self.store.complete(delivery_id)

    # ------------------------------------------------------------------------------------- read

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The stored conversation (e.g. to continue a Slack thread in the terminal), or None."""
        return self.store.get(conversation_id)

    def find_thread(self, *, channel_id: str, thread_ts: str) -> list[str]:
        """Ids of the stored conversations of a Slack thread, whatever the team (a thread link
        names no team). For tools, not the request path: the Redis store scans for them."""
        return self.store.find(channel_id=channel_id, thread_ts=thread_ts)

    def copy_in(self, conversation: Conversation, *, conversation_id: str) -> Conversation:
        """Store a copy of ``conversation`` (agent, handoff model, kept turns) as ``conversation_id``.

        The terminal reproduces a Slack thread this way: read from the bot's store, copied into a
        local one, so nothing is written to the thread's own state. Turns not answered there are
        still pending here; a tool call waiting for approval there is not copied. One store
        operation per turn (a new, private conversation).
        """
        now = self.clock.now()
        meta = conversation.meta.model_copy(
            update={
                "id": conversation_id,
                "created_at": now,
                "updated_at": now,
                "last_answer_id": None,
                "pending_approval": None,
            }
        )
        if not self.store.create(meta):
            raise ValueError(f"conversation {conversation_id!r} exists already")
        for turn in conversation.turns:
            self.store.append_turn(conversation_id, turn)
        copied = self.store.get(conversation_id)
        if copied is None:
            raise ConversationNotFoundError(conversation_id)
        log.info("conversation_copied", conversation=conversation_id, turns=len(copied.turns))
        return copied

    # ------------------------------------------------------------------------------------ start

    def start(
        self,
        *,
        conversation_id: str,
        agent: str,
        message: UserMessage,
        team_id: str | None = None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
    ) -> Turn:
        """Open a conversation owned by ``agent`` with the user's first turn; returns that turn.

        One store operation. Idempotent: starting the same conversation id again keeps the first
        one's agent and stores the turn only once (same message id).
        """
        spec = self.registry.get(agent)
        if spec is None:
            raise AgentNotFoundError(f"unknown agent {agent!r}")
        turn = self._user_turn(spec.name, message)
        opened = self.store.open(self._meta(conversation_id, spec.name, team_id, channel_id, thread_ts), turn)
        if opened.forgotten:
            raise ThreadForgottenError(conversation_id)
        log.info(
            "conversation_started", conversation=conversation_id, agent=opened.agent, created=opened.created
        )
        if opened.stored:
            self._remember(conversation_id, message, opened.agent)
        return turn

    def reply(
        self,
        *,
        conversation_id: str,
        message: UserMessage,
        park_if_missing: bool = False,
        refuse_agents: frozenset[str] = frozenset(),
    ) -> ReplyOutcome:
        """Store a reply in an existing conversation: one store operation, no read.

        ``park_if_missing``: the thread is known to be the bot's (e.g. under its own message) but
        has no conversation yet; the reply is kept aside and adopted when the conversation is
        created, so a reply that overtakes :meth:`start` is answered, not dropped.
        ``refuse_agents``: agents the author may not use; if the thread's agent is one, nothing is
        stored (REFUSED; :meth:`current_agent` names it).
        """
        turn = self._user_turn(None, message)
        outcome = self.store.append_turn(
            conversation_id, turn, park_if_missing=park_if_missing, refuse_agents=refuse_agents
        )
        return {
            AppendOutcome.STORED: ReplyOutcome.STORED,
            AppendOutcome.DUPLICATE: ReplyOutcome.DUPLICATE,
            AppendOutcome.PARKED: ReplyOutcome.PARKED,
            AppendOutcome.MISSING: ReplyOutcome.NOT_FOUND,
            AppendOutcome.REFUSED: ReplyOutcome.REFUSED,
        }[outcome]

    def current_agent(self, conversation_id: str) -> str | None:
        """The conversation's current agent (one read), or None when there is no conversation."""
        conversation = self.store.get(conversation_id)
        return conversation.agent if conversation is not None else None

    def knows(self, conversation_id: str) -> bool:
        """Whether the conversation exists (before doing costly work for a message, e.g. its files)."""
        return self.store.exists(conversation_id)

    def continue_or_start(
        self,
        *,
        conversation_id: str,
        default_agent: str,
        message: UserMessage,
        team_id: str | None = None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
        refuse_agents: frozenset[str] = frozenset(),
    ) -> Continued:
        """Add the message to the thread's conversation, or start one with ``default_agent``.

        One atomic store operation, so two mentions at the same moment make one conversation.
        Nothing is stored when the agent that would answer is in ``refuse_agents`` (``refused``) or
        the thread was forgotten (``forgotten``).
        """
        spec = self.registry.get(default_agent)
        if spec is None:
            raise AgentNotFoundError(f"unknown agent {default_agent!r}")
        turn = self._user_turn(None, message)
        meta = self._meta(conversation_id, spec.name, team_id, channel_id, thread_ts)
        opened = self.store.open(meta, turn, refuse_agents=refuse_agents)
        if opened.created:
            log.info("conversation_started", conversation=conversation_id, agent=opened.agent)
        if opened.stored:
            self._remember(conversation_id, message, opened.agent)
        return Continued(
            started=opened.created,
            agent=opened.agent,
            stored=opened.stored,
            refused=opened.refused,
            forgotten=opened.forgotten,
        )

    def _meta(
        self,
        conversation_id: str,
        agent: str,
        team_id: str | None,
        channel_id: str | None,
        thread_ts: str | None,
    ) -> ConversationMeta:
        now = self.clock.now()
        return ConversationMeta(
            id=conversation_id,
            agent=agent,
            created_at=now,
            updated_at=now,
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
        )

    def _user_turn(self, agent: str | None, message: UserMessage) -> Turn:
        now = self.clock.now()
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

    # ------------------------------------------------------------------------------------ adopt

    def adopt(
        self,
        *,
        conversation_id: str,
        rebuilt: Rebuilt,
        default_agent: str | None,
        team_id: str | None = None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
    ) -> Adopted:
        """Create the conversation from its thread as read back (:func:`bot.core.record.rebuild`).

        One atomic store operation. The thread's current agent (after handoffs too) answers from
        now on; when the thread names none (a discussion the bot joins) or names an agent no longer
        loaded, ``default_agent`` does. Handoff prompt turns get the handoff's prompt from the agent
        files. An existing conversation is left alone (``created`` False).
        """
        spec = self.registry.get(rebuilt.agent) if rebuilt.agent else None
        model = rebuilt.model if spec is not None else None
        if spec is None and default_agent is not None:
            spec = self.registry.get(default_agent)
        if spec is None:
            raise AgentNotFoundError(f"no agent for the thread (thread: {rebuilt.agent!r})")
        turns = [
            turn.model_copy(update={"text": self._handoff_prompt(rebuilt, turn)})
            if turn.role is Role.USER and turn.id.startswith("handoff-") and not turn.text
            else turn
            for turn in rebuilt.turns
        ]
        meta = self._meta(conversation_id, spec.name, team_id, channel_id, thread_ts).model_copy(
            update={"last_answer_id": rebuilt.last_answer_id, "model": model}
        )
        opened: Opened = self.store.adopt(meta, turns, rebuilt.handoffs)
        if opened.forgotten:  # forgotten on request: never rebuilt
            log.info("conversation_not_rebuilt_forgotten", conversation=conversation_id)
            return Adopted(created=False, agent=opened.agent, turns=0, forgotten=True)
        log.info(
            "conversation_rebuilt" if rebuilt.answers else "conversation_joined",
            conversation=conversation_id,
            agent=opened.agent,
            created=opened.created,
            messages=rebuilt.messages,
            turns=len(turns),
        )
        return Adopted(created=opened.created, agent=opened.agent, turns=len(turns))

    def _handoff_prompt(self, rebuilt: Rebuilt, turn: Turn) -> str:
        """The prompt of the handoff a rebuilt handoff turn stands for (the agent files say it)."""
        handoff = next(
            (h for h in rebuilt.handoffs if h.to_agent == turn.agent and h.at == turn.created_at), None
        )
        found = self.registry.handoff_to(handoff.from_agent, handoff.to_agent) if handoff else None
        if found is not None:
            return found.handoff.prompt
        return f"(The thread was handed over to {turn.agent}.)"

    # ----------------------------------------------------------------------------------- answer

    def answer(self, conversation_id: str, *, deadline: float) -> AnswerStream:
        """Let the current agent answer the turns it has not answered yet.

        ``deadline`` is a ``clock.monotonic()`` value (on Lambda: now + remaining time - margin).
        :meth:`AnswerStream.open` returns None when another answer already covered every pending
        turn; raises :class:`ConversationNotFoundError` when the conversation does not exist.
        """
        return AnswerStream(self._answer(conversation_id, deadline))

    def _answer(
        self, conversation_id: str, deadline: float
    ) -> Generator[AnswerPlan | AnswerResult | AnswerEvent, None, None]:
        with self._locked(conversation_id, deadline) as locked:
            conversation = locked.conversation
            if conversation is None:
                raise ConversationNotFoundError(conversation_id)
            pending = conversation.pending_user_turns()
            waits, resume = self._lapsed_approval(locked, conversation)
            if waits:
                return
            if not pending:
                log.info("nothing_pending", conversation=conversation_id)
                return
            spec = self.registry.get(conversation.agent)
            if spec is None:
                raise AgentNotFoundError(f"agent {conversation.agent!r} is no longer loaded")
            model = conversation.meta.model or self.registry.model_for(spec.name).model
            yield from self._run(
                locked=locked,
                conversation=conversation,
                spec=spec,
                model=model,
                deadline=deadline,
                resume=resume,
            )

    @contextmanager
    def _locked(self, conversation_id: str, deadline: float) -> Iterator[LockedConversation]:
        left = deadline - self.clock.monotonic()
        wait_s = max(0.0, min(self.config.lock_wait_s, left - 1.0))
        # the lock must outlive this answer, or a second answer could start in the middle of it
        ttl_s = max(self.config.lock_ttl_s, left + 15.0)
        with self.store.locked(conversation_id, ttl_s=ttl_s, wait_s=wait_s) as locked:
            yield locked

    def _lapsed_approval(
        self, locked: LockedConversation, conversation: Conversation
    ) -> tuple[bool, tuple[PendingApproval, ApprovalDecision] | None]:
        """A waiting approval that a new message or the time limit decides now (as a denial).

        Returns (waits, resume): ``waits`` when a call still waits for its click and nothing new
        came (a re-delivery: nothing to do); ``resume`` the approval, taken, and its denial.
        """
        approval = conversation.meta.pending_approval
        if approval is None:
            return False, None
        newer = [t for t in conversation.pending_user_turns() if t.id not in approval.answered]
        expired = self.clock.now() >= approval.expires_at
        if not newer and not expired:
            log.info("approval_waiting", conversation=conversation.meta.id, tool=approval.tool)
            return True, None
        taken = locked.take_approval(approval.id)
        if taken is None:
            return True, None
        why: Literal["expired", "superseded"] = "expired" if expired else "superseded"
        log.info("approval_lapsed", conversation=conversation.meta.id, tool=taken.tool, why=why)
        if taken.agent != conversation.agent:
            return False, None  # handed to another agent meanwhile: a fresh answer, the pause dropped
        return False, (taken, ApprovalDecision(approval_id=taken.id, tool=taken.tool, why=why))

    # ---------------------------------------------------------------------------------- approval

    def decide(
        self, *, ref: ApprovalRef, by_user: str | None, approve: bool, admin: bool = False, deadline: float
    ) -> AnswerStream:
        """Approve or deny the tool call an answer waits on, then let the answer go on (streaming).

        Only the person who asked, or an admin, decides; only the conversation's pending approval
        with ``ref.approval_id`` is decided, once (taken atomically): a double click, a re-delivery
        or an old button raises :class:`StaleApprovalError` and runs nothing. A click after the
        time limit is a denial. :meth:`AnswerStream.open` raises those errors.
        """
        return AnswerStream(self._decide(ref, by_user, approve, admin, deadline))

    def _decide(
        self, ref: ApprovalRef, by_user: str | None, approve: bool, admin: bool, deadline: float
    ) -> Generator[AnswerPlan | AnswerResult | AnswerEvent, None, None]:
        with self._locked(ref.conversation_id, deadline) as locked:
            conversation = locked.conversation
            if conversation is None:
                raise ConversationNotFoundError(ref.conversation_id)
            approval = conversation.meta.pending_approval
            if approval is None or approval.id != ref.approval_id:
                raise StaleApprovalError(f"approval {ref.approval_id!r} is not the pending one")
            if not admin and approval.requested_by is not None and by_user != approval.requested_by:
                raise ApprovalNotAllowedError(f"{by_user} is not {approval.requested_by}")
            taken = locked.take_approval(approval.id)
            if taken is None:
                raise StaleApprovalError(f"approval {ref.approval_id!r} was taken meanwhile")
            expired = self.clock.now() >= taken.expires_at
            why: Literal["approved", "denied", "expired"] = (
                "expired" if expired else "approved" if approve else "denied"
            )
            decision = ApprovalDecision(approval_id=taken.id, tool=taken.tool, why=why, by_user=by_user)
            log.info("approval_decided", conversation=ref.conversation_id, tool=taken.tool, why=why)
            spec = self.registry.get(taken.agent)
            if spec is None:
                raise AgentNotFoundError(f"agent {taken.agent!r} is no longer loaded")
            yield from self._run(
                locked=locked,
                conversation=conversation,
                spec=spec,
                model=taken.model,
                deadline=deadline,
                resume=(taken, decision),
            )

    def _run(
        self,
        *,
        locked: LockedConversation,
        conversation: Conversation,
        spec: AgentSpec,
        model: str,
        deadline: float,
        resume: tuple[PendingApproval, ApprovalDecision] | None,
    ) -> Generator[AnswerPlan | AnswerResult | AnswerEvent, None, None]:
        """Tools and prompt, the budget's reservation, the plan, the answer, then the charge."""
        pending = conversation.pending_user_turns()
        answer_id = f"a-{uuid.uuid4().hex}"
        toolbox, tool_notices, tools_tokens = self._toolbox(spec, model, deadline)
        prompt = self._prompt(
            conversation,
            agent=spec.name,
            instructions=spec.instructions,
            model=model,
            tools_tokens=tools_tokens,
        )
        payer = pending[-1].user_id if pending else None
        channel_id = conversation.meta.channel_id
        budget = self.budget if payer and channel_id else None
        # before anything is shown: a refusal here reaches the person without a placeholder
        reservation = (
            budget.reserve(
                user_id=payer,
                estimate_tokens=prompt.prompt_tokens + tools_tokens + self.config.reserve_tokens,
            )
            if budget is not None and payer
            else None
        )
        unseen = [
            a.name for t in pending for a in t.attachments if a.kind == "image" and not accepts_images(model)
        ]
        notices = (Notice.images_not_seen(spec.name, model, unseen),) if unseen else ()
        yield AnswerPlan(
            conversation=conversation,
            agent=spec.name,
            model=model,
            pending=pending,
            answer_id=answer_id,
            notices=notices,
            decision=resume[1] if resume is not None else None,
        )
        usage: Usage | None = None
        try:
            # `yield from`: a StopAnswer thrown in by AnswerStream.stop() reaches the model loop
            usage = yield from self._generate(
                locked=locked,
                conversation=conversation,
                spec=spec,
                model=model,
                prompt=prompt,
                deadline=deadline,
                answer_id=answer_id,
                toolbox=toolbox,
                tool_notices=tool_notices,
                tools_tokens=tools_tokens,
                resume=resume,
            )
        finally:
            if budget is not None and payer and channel_id:
                self._charge(
                    budget, reservation, payer=payer, agent=spec.name, channel_id=channel_id, usage=usage
                )

    def _toolbox(
        self, spec: AgentSpec, model: str, deadline: float
    ) -> tuple[Toolbox | None, list[ToolNotice], int]:
        """The tools this agent may use in this answer (None: a plain answer), and their tokens."""
        if self.tools is None:
            return None, [], 0
        plan = plan_tools(spec, self.tool_config)
        if plan.empty:
            return None, [], 0
        listing_deadline = min(deadline, self.clock.monotonic() + self.tool_rules.call_timeout_s)
        toolbox = Toolbox(self.tools.providers(plan), deadline=listing_deadline)
        notices = []
        for failure in toolbox.failures:
            log.warning("tool_server_unavailable", agent=spec.name)
            notices.append(ToolNotice(line=f"⚠️ {failure}: its tools are not available for this answer"))
        if not toolbox:
            return None, notices, 0
        definitions = [
            {"name": t.name, "description": t.description, "parameters": t.parameters} for t in toolbox.specs
        ]
        return toolbox, notices, self.counter.count(json.dumps(definitions, default=str), model)

    def _charge(
        self,
        budget: Budget,
        reservation: Reservation | None,
        *,
        payer: str,
        agent: str,
        channel_id: str,
        usage: Usage | None,
    ) -> None:
        """Charge the real usage (None: the answer failed, the reservation is given back)."""
        try:
            budget.charge(reservation, user_id=payer, agent=agent, channel_id=channel_id, usage=usage)
        except BotError as error:  # the answer is out already; the estimate stays counted until midnight
            log.warning("usage_not_charged", kind=error.kind, detail=error.detail)

    def _prompt(
        self, conversation: Conversation, *, agent: str, instructions: str, model: str, tools_tokens: int = 0
    ) -> PromptResult:
        """The prompt within the token budget, less what the tool definitions take (its size is the
        estimate a budget reserves)."""
        prompt = build_prompt(
            instructions=instructions,
            turns=conversation.turns,
            agent=agent,
            model=model,
            counter=self.counter,
            max_prompt_tokens=max(1, self.config.max_prompt_tokens - tools_tokens),
            reserve_tokens=self.config.reserve_tokens,
            vision=accepts_images(model),
            image_detail=self.config.image_detail,
        )
        if prompt.dropped_turns:
            log.info(
                "prompt_trimmed",
                conversation=conversation.meta.id,
                dropped_turns=prompt.dropped_turns,
                prompt_tokens=prompt.prompt_tokens,
                limit=prompt.limit,
            )
        return prompt

    def _generate(  # noqa: PLR0912, PLR0915 - the loop reads best in one piece
        self,
        *,
        locked: LockedConversation,
        conversation: Conversation,
        spec: AgentSpec,
        model: str,
        deadline: float,
        prompt: PromptResult,
        answer_id: str,
        toolbox: Toolbox | None,
        tool_notices: list[ToolNotice],
        tools_tokens: int,
        resume: tuple[PendingApproval, ApprovalDecision] | None = None,
    ) -> Generator[AnswerResult | AnswerEvent, None, Usage | None]:
        conversation_id = conversation.meta.id
        agent = spec.name
        started = self.clock.monotonic()
        pending = conversation.pending_user_turns()
        yield from tool_notices
        tool_specs = toolbox.specs if toolbox is not None else ()
        messages, notices = self._with_images(
            prompt, agent=agent, vision=accepts_images(model), pending=pending, deadline=deadline
        )
        fallbacks = self.registry.model_for(agent).fallbacks if conversation.meta.model is None else ()
        state = LoopState.resumed(resume[0]) if resume else LoopState()
        run = (
            ToolRun(
                toolbox=toolbox,
                rules=self.tool_rules,
                policy=self.approvals,
                people_urls=urls_in(t.text for t in conversation.turns if t.role is Role.USER),
                clock=self.clock,
                counter=self.counter,
                model=model,
                started=started,
                deadline=deadline,
                room_tokens=self.config.max_prompt_tokens - prompt.prompt_tokens - tools_tokens,
                state=state,
            )
            if toolbox is not None
            else None
        )
        if resume is not None:
            waiting = tuple(ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in resume[0].waiting)
            if run is not None:
                yield from run.run(waiting, resume[1])
            else:  # the agent has no tools any more: the model is told, the answer goes on
                state.transcript.extend(_untold(call, "the tool is no longer available") for call in waiting)
        cut = stopped = shown = halted = False
        max_rounds = self.tool_rules.max_calls + MAX_ROUNDS_EXTRA
        try:
            while run is None or run.pause is None:
                request = ModelRequest(
                    model=model,
                    messages=(*messages, *state.transcript),
                    max_output_tokens=self.config.reserve_tokens,
                    fallback_models=fallbacks,
                    tools=tool_specs,
                    tool_choice="none" if state.tools_closed else "auto",
                )
                calls: list[ToolCall] = []
                round_text: list[str] = []
                completion: Completion | None = None
                events = self.model.stream(request, deadline=deadline)
                try:
                    for event in events:
                        if isinstance(event, TextDelta):
                            if event.text:
                                if not round_text and state.transcript and state.parts:
                                    # text after tool calls starts a paragraph of its own
                                    gap = "" if state.parts[-1].endswith("\n\n") else "\n\n"
                                    if gap:
                                        state.parts.append(gap)
                                        if shown:  # a resumed answer's new message starts without it
                                            yield gap
                                round_text.append(event.text)
                                state.parts.append(event.text)
                                shown = True
                                yield event.text
                        elif isinstance(event, ToolCall):
                            calls.append(event)
                        else:
                            completion = event
                finally:
                    close = getattr(events, "close", None)
                    if close is not None:
                        close()  # a stopped model stream lets go of its connection now
                state.rounds += 1
                if completion is not None:
                    usage = completion.usage
                    state.input_tokens += usage.input_tokens
                    state.output_tokens += usage.output_tokens
                    state.latency_ms += usage.latency_ms
                    if state.first_token_ms is None:
                        state.first_token_ms = usage.first_token_ms
                cut = completion is None or completion.cut
                if cut or not calls:
                    break
                if run is None or state.tools_closed or state.rounds >= max_rounds:
                    stopped = run is not None  # asked again after being told to answer: a loop
                    break
                state.transcript.append(AssistantToolCalls(calls=tuple(calls), text="".join(round_text)))
                yield from run.run(calls)
        except StopAnswer:  # the person stopped it (Ctrl-C): keep what was written, as cut
            cut = halted = True
        if run is not None and run.pause is not None and not halted:
            now = self.clock.now()
            record = run.pending(
                agent=agent,
                requested_by=pending[-1].user_id if pending else None,
                answered=tuple(t.id for t in pending),
                now=now,
            )
            locked.pause(record)
            log.info("answer_paused", conversation=conversation_id, agent=agent, tool=record.tool)
            yield ApprovalRequest(
                conversation_id=conversation_id,
                approval_id=record.id,
                agent=agent,
                tool=record.tool,
                arguments=shown_arguments(run.pause.arguments),
                reason=record.reason,
                requested_by=record.requested_by,
                expires_at=record.expires_at,
                timeout_s=self.tool_rules.approval_timeout_s,
            )
            return None
        text = "".join(state.parts)
        notice = ""
        if halted:
            notice = STOP_NOTICE
        elif cut:
            notice = CUT_NOTICE
        elif stopped:
            notice = LOOP_NOTICE.format(cap=self.tool_rules.max_calls)
        elif state.capped:
            notice = CAP_NOTICE.format(cap=self.tool_rules.max_calls)
        if notice:
            yield notice
            text += notice
        usage = Usage(
            model=model,
            input_tokens=state.input_tokens,
            output_tokens=state.output_tokens,
            latency_ms=state.latency_ms,
            first_token_ms=state.first_token_ms,
        )
        now = self.clock.now()
        turn = Turn(
            id=answer_id,
            role=Role.ASSISTANT,
            text=text,
            ts=slack_ts(now),
            agent=agent,
            status="cut" if cut else "complete",
            usage=usage,
            created_at=now,
            answered=tuple(t.id for t in pending),
            tools=tuple(state.tools_called),
        )
        locked.finish(turn)
        log.info(
            "answer_stored",
            conversation=conversation_id,
            agent=agent,
            model=usage.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            latency_ms=usage.latency_ms,
            first_token_ms=usage.first_token_ms,
            cut=cut,
            stopped=halted,
            answer_chars=len(text),
            tool_calls=state.calls_used,
            model_rounds=state.rounds,
        )
        yield AnswerResult(
            conversation_id=conversation_id,
            turn=turn,
            agent=agent,
            handoffs=self.registry.handoffs(agent),
            answered_turn_ids=tuple(t.id for t in pending),
            prompt_tokens=prompt.prompt_tokens,
            dropped_turns=prompt.dropped_turns,
            cut=cut,
            notices=notices,
            tool_calls=state.calls_used,
            stopped=halted,
        )
        return usage

    def _with_images(
        self, prompt: PromptResult, *, agent: str, vision: bool, pending: tuple[Turn, ...], deadline: float
    ) -> tuple[tuple[ChatMessage, ...], tuple[Notice, ...]]:
        """The prompt's messages with their images fetched (newest first, within the byte cap).

        An image that cannot be fetched (or no longer fits) is left out and said not to be shown to
        the model; the person is told why when it belongs to a message this answer covers.
        """
        messages = list(prompt.messages)
        if not vision:
            return tuple(messages), ()
        notices: list[Notice] = []
        budget = MAX_PROMPT_IMAGE_BYTES
        for index in range(len(messages) - 1, -1, -1):
            turn = prompt.sources[index] if index < len(prompt.sources) else None
            wanted = [a for a in turn.attachments if a.kind == "image"] if turn is not None else []
            if turn is None or not wanted:
                continue
            fetched: list[tuple[str, ImageInput]] = []
            for attachment in wanted:
                image, notice = self._fetch_image(attachment, deadline)
                if image is None or len(image.data) > budget:
                    if notice is not None and turn in pending:
                        notices.append(notice)
                    log.info("image_left_out", file_id=attachment.id, fetched=image is not None)
                    continue
                budget -= len(image.data)
                fetched.append((attachment.id, image))
            message = turn_message(turn, agent, shown_images=frozenset(i for i, _ in fetched))
            messages[index] = ChatMessage(
                role=message.role, content=message.content, images=tuple(i for _, i in fetched)
            )
        return tuple(messages), tuple(notices)

    def _fetch_image(
        self, attachment: Attachment, deadline: float
    ) -> tuple[ImageInput | None, Notice | None]:
        if self.files is None:
            return None, None
        try:
            return self.files.image(attachment, deadline=deadline), None
        except LookupError as error:
            notice = error.args[0] if error.args else None
            return None, notice if isinstance(notice, Notice) else None

    # --------------------------------------------------------------------------------- handoff

    def allowed_handoff(self, agent: str, target: str) -> ResolvedHandoff:
        """The handoff ``agent`` offers to ``target``; raises if it offers none."""
        handoff = self.registry.handoff_to(agent, target)
        if handoff is None:
            raise HandoffNotAllowedError(f"{agent!r} offers no handoff to {target!r}")
        return handoff

    def handoff_model(self, handoff: ResolvedHandoff) -> str | None:
        """The OpenAI model a handoff's ``model`` names (mapped like an agent's), or None."""
        if not handoff.handoff.model:
            return None
        return resolve_model([handoff.handoff.model], self.registry.default_model).model

    def hand_off(self, *, ref: HandoffRef, by_user: str | None, prompt: str | None = None) -> HandoffOutcome:
        """Hand the conversation to ``ref.target`` from the buttons of answer ``ref.answer_id``.

        One atomic store operation, no read. The button's claims are checked against state: the
        handoff must be one ``ref.from_agent`` offers (registry), and the store verifies that the
        answer is the live one and was written by ``ref.from_agent``, so a forged value cannot
        reach an agent the answering agent does not list. Only the latest answer's buttons work,
        once: a second click or an old button raises :class:`StaleHandoffError`. ``prompt`` is the
        (possibly edited) text; None means the handoff's own prompt. The handoff's ``model`` (if
        any) answers from now on, wherever the conversation runs.
        """
        handoff = self.allowed_handoff(ref.from_agent, ref.target)
        text = (prompt if prompt is not None else handoff.handoff.prompt).strip() or handoff.handoff.prompt
        model = self.handoff_model(handoff)
        now = self.clock.now()
        record = HandoffRecord(
            from_agent=ref.from_agent,
            to_agent=handoff.target,
            label=handoff.handoff.label,
            by_user=by_user,
            at=now,
        )
        turn = Turn(
            id=f"handoff-{ref.answer_id}",
            role=Role.USER,
            text=text,
            ts=slack_ts(now),
            user_id=by_user,
            agent=handoff.target,
            created_at=now,
        )
        status = self.store.hand_off(
            ref.conversation_id, expected_answer_id=ref.answer_id, record=record, prompt=turn, model=model
        )
        if status is HandoffStatus.MISSING:
            raise ConversationNotFoundError(ref.conversation_id)
        if status is HandoffStatus.WRONG_AGENT:
            raise HandoffNotAllowedError(f"answer {ref.answer_id!r} was not written by {ref.from_agent!r}")
        if status is HandoffStatus.STALE:
            raise StaleHandoffError(f"answer {ref.answer_id!r} is not the latest or was used")
        log.info(
            "handed_off", conversation=ref.conversation_id, from_agent=ref.from_agent, to_agent=handoff.target
        )
        return HandoffOutcome(
            conversation_id=ref.conversation_id,
            from_agent=ref.from_agent,
            to_agent=handoff.target,
            label=handoff.handoff.label,
            prompt_turn=turn,
            model=model,
        )

    # ---------------------------------------------------------------------------------- forget

    def forget_permission(self, conversation_id: str, *, by_user: str | None, admin: bool) -> ForgetCheck:
        """May ``by_user`` have this conversation forgotten? Its starter (first turn's author) or an admin."""
        if self.store.is_forgotten(conversation_id):
            return ForgetCheck.ALREADY
        conversation = self.store.get(conversation_id)
        if conversation is None:
            return ForgetCheck.NOT_FOUND
        starter = conversation.turns[0].user_id if conversation.turns else None
        if admin or (by_user is not None and by_user == starter):
            return ForgetCheck.ALLOWED
        return ForgetCheck.NOT_ALLOWED

    def forget(self, conversation_id: str, *, by_user: str | None, admin: bool) -> ForgetCheck:
        """Delete the conversation (starter or admin only) and keep it from ever being reopened.

        Returns what happened: ALLOWED means it is forgotten now. Checks the permission again (the
        confirmation button may be clicked long after it was shown).
        """
        check = self.forget_permission(conversation_id, by_user=by_user, admin=admin)
        if check is ForgetCheck.ALLOWED:
            self.store.forget(conversation_id)
            log.info("conversation_forgotten", conversation=conversation_id, by_admin=admin)
        return check

    def is_forgotten(self, conversation_id: str) -> bool:
        """True when the conversation was forgotten on request (nothing may rebuild it)."""
        return self.store.is_forgotten(conversation_id)

    # ------------------------------------------------- what Slack shows: buttons, votes, canvas

    def show_answer(
        self, conversation_id: str, *, answer_id: str, agent: str | None, message_ts: str, restore: str
    ) -> tuple[ShownAnswer, ...]:
        """Record where ``answer_id``'s handoff buttons are shown; returns the shown answers whose
        buttons are stale now (an older answer's, or this one's if a newer answer or a handoff came
        first). Each stale button set is returned to exactly one caller (one atomic store operation)."""
        shown = ShownAnswer(answer_id=answer_id, agent=agent, message_ts=message_ts, restore=restore)
        return self.store.show_answer(conversation_id, shown)

    def retire_answer(self, conversation_id: str, answer_id: str) -> ShownAnswer | None:
        """After a handoff from ``answer_id``: its buttons are stale; returns where they are shown."""
        return self.store.retire_answer(conversation_id, answer_id)

    def vote(
        self, ref: FeedbackRef, *, by_user: str, positive: bool, comment: str | None = None
    ) -> VoteOutcome:
        """A person's thumbs up or down (and comment) on an answer: one vote per person per answer.

        The vote is one atomic store operation; the agent it counts for comes from the stored
        answer, not from the button. The agent's totals then move by the vote's change, counted
        once per change even when this is retried.
        """
        text = comment.strip()[:COMMENT_LIMIT] if comment else None
        outcome = self.store.vote(
            ref.conversation_id,
            answer_id=ref.answer_id,
            user_id=by_user,
            value=1 if positive else -1,
            comment=text or None,
            at=self.clock.now(),
        )
        vote = outcome.vote
        if vote is not None and outcome.agent and (vote.delta_up or vote.delta_down):
            change = f"{ref.conversation_id}|{ref.answer_id}|{by_user}|{vote.revision}"
            self.store.tally_feedback(change, agent=outcome.agent, up=vote.delta_up, down=vote.delta_down)
        log.info(
            "feedback", conversation=ref.conversation_id, agent=outcome.agent, status=outcome.status.value
        )
        return outcome

    def feedback_by_agent(self) -> dict[str, tuple[int, int]]:
        """Thumbs up and down per agent, across all conversations."""
        return self.store.feedback_tallies()

    def save_canvas(self, conversation_id: str, canvas_id: str, *, replacing: str | None) -> str | None:
        """Record the thread's canvas (compare-and-set over ``replacing``); returns the one recorded."""
        return self.store.set_canvas(conversation_id, canvas_id, expected=replacing)

    def recent_threads(self, user_id: str, limit: int = RECENT_SHOWN) -> tuple[RecentThread, ...]:
        """The Slack threads a person started or mentioned the bot in lately, newest first."""
        return self.store.recent_threads(user_id, limit)

    def _remember(self, conversation_id: str, message: UserMessage, agent: str | None) -> None:
        """Best effort: put the thread first in its author's recent threads (never fails the message).

        Threads a person starts (a command, the picker, a mention, the assistant panel), not every
        reply: a reply's one store operation stays one round trip.
        """
        if not message.user_id or parse_conversation_id(conversation_id) is None:
            return
        title = " ".join(message.text.split())[:TITLE_LIMIT]
        thread = RecentThread(conversation_id=conversation_id, title=title, agent=agent, at=self.clock.now())
        try:
            self.store.remember_thread(message.user_id, thread, keep=RECENT_KEPT)
        except BotError as error:
            log.warning("recent_thread_not_recorded", kind=error.kind)
