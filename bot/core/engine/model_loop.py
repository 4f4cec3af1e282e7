"""The model loop of one answer: model rounds, the tool calls between them, the pause, the stored turn.

:meth:`ModelLoop.generate` writes one answer, under the conversation's lock that
:mod:`bot.core.engine.answer` holds: the tool notices first, then (when a paused answer resumes)
the calls that waited, then model rounds until the model answers without asking for tools, the
deadline cuts it, the person stops it (:class:`~bot.core.engine.outcomes.StopAnswer`) or a call
needs approval. A pause stores the loop's state in the conversation (one store operation that also
releases the lock); otherwise the answer is stored as a turn and an
:class:`~bot.core.engine.outcomes.AnswerResult` is the last thing yielded.

Which approval a click or a new message decides (:func:`decided_approval`,
:func:`lapsed_approval`) is decided here too: the answer that goes on is this loop's.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass
from typing import Literal

from bot.core.agents import AgentSpec
from bot.core.conversation import Conversation, PendingApproval, Role, Turn, Usage
from bot.core.engine.images import PromptImages
from bot.core.engine.outcomes import (
    CUT_NOTICE,
    STOP_NOTICE,
    AnswerEvent,
    AnswerResult,
    ApprovalDecision,
    ApprovalRequest,
    EngineConfig,
    StopAnswer,
    ToolNotice,
)
from bot.core.engine.tool_loop import LoopState, Pause, ToolRun, shown_arguments
from bot.core.engine.turns import slack_ts
from bot.core.image_cost import accepts_images
from bot.core.notices import Notice
from bot.core.ports import (
    ChatMessage,
    ChatModel,
    Clock,
    Completion,
    LockedConversation,
    ModelRequest,
    TextDelta,
    TokenCounter,
)
from bot.core.prompt_fit import PromptResult
from bot.core.refs import ApprovalRef
from bot.core.registry import Registry
from bot.core.tools import (
    ApprovalPolicy,
    AssistantToolCalls,
    Toolbox,
    ToolCall,
    ToolMessage,
    ToolRules,
    urls_in,
)
from bot.errors import ApprovalNotAllowedError, StaleApprovalError
from bot.logging import get_logger

log = get_logger("bot.engine")

CAP_NOTICE = "\n\n_(The agent used its {cap} tool calls for this answer; it answered with what it had.)_"
LOOP_NOTICE = (
    "\n\n_(Stopped: the agent kept asking for tools after its {cap} tool calls. "
    "Reply in the thread to continue.)_"
)
MAX_ROUNDS_EXTRA = 2  # model rounds beyond the call cap: the cap round and the answer round

Resume = tuple[PendingApproval, ApprovalDecision]


@dataclass(frozen=True, slots=True)
class AnswerJob:
    """What one answer is written from (prepared by :mod:`bot.core.engine.answer`, under the lock)."""

    locked: LockedConversation
    conversation: Conversation
    spec: AgentSpec
    model: str
    deadline: float
    prompt: PromptResult
    answer_id: str
    toolbox: Toolbox | None
    tool_notices: tuple[ToolNotice, ...]
    tools_tokens: int
    resume: Resume | None = None


@dataclass
class _Writing:
    """An answer being written: what its steps share."""

    job: AnswerJob
    pending: tuple[Turn, ...]
    messages: tuple[ChatMessage, ...]
    notices: tuple[Notice, ...]
    state: LoopState
    run: ToolRun | None
    fallbacks: tuple[str, ...] = ()
    shown: bool = False  # some text was shown (a resumed answer's new message starts without a gap)
    cut: bool = False
    stopped: bool = False  # asked for tools again after being told to answer: a loop
    halted: bool = False  # the person stopped it


def lapsed_approval(
    locked: LockedConversation, conversation: Conversation, *, clock: Clock
) -> tuple[bool, Resume | None]:
    """A waiting approval that a new message or the time limit decides now (as a denial).

    Returns (waits, resume): ``waits`` when a call still waits for its click and nothing new
    came (a re-delivery: nothing to do); ``resume`` the approval, taken, and its denial.
    """
    approval = conversation.meta.pending_approval
    if approval is None:
        return False, None
    newer = [t for t in conversation.pending_user_turns() if t.id not in approval.answered]
    expired = clock.now() >= approval.expires_at
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


def decided_approval(
    locked: LockedConversation,
    conversation: Conversation,
    *,
    ref: ApprovalRef,
    by_user: str | None,
    approve: bool,
    admin: bool,
    clock: Clock,
) -> Resume:
    """Take the pending approval ``ref`` names, decided by a click (a denial after the time limit).

    Only the person who asked, or an admin, decides; only once: a double click, a re-delivery or an
    old button raises :class:`StaleApprovalError`.
    """
    approval = conversation.meta.pending_approval
    if approval is None or approval.id != ref.approval_id:
        raise StaleApprovalError(f"approval {ref.approval_id!r} is not the pending one")
    if not admin and approval.requested_by is not None and by_user != approval.requested_by:
        raise ApprovalNotAllowedError(f"{by_user} is not {approval.requested_by}")
    taken = locked.take_approval(approval.id)
    if taken is None:
        raise StaleApprovalError(f"approval {ref.approval_id!r} was taken meanwhile")
    expired = clock.now() >= taken.expires_at
    why: Literal["approved", "denied", "expired"] = (
        "expired" if expired else "approved" if approve else "denied"
    )
    decision = ApprovalDecision(approval_id=taken.id, tool=taken.tool, why=why, by_user=by_user)
    log.info("approval_decided", conversation=ref.conversation_id, tool=taken.tool, why=why)
    return taken, decision


def _untold(call: ToolCall, why: str) -> ToolMessage:
    return ToolMessage(call_id=call.id, content=f"[Not run: {why}.]")


class ModelLoop:
    """Writes answers with a chat model (and tools), storing each as it ends."""

    def __init__(
        self,
        *,
        registry: Registry,
        model: ChatModel,
        counter: TokenCounter,
        clock: Clock,
        config: EngineConfig,
        images: PromptImages,
        tool_rules: ToolRules,
        approvals: ApprovalPolicy,
    ) -> None:
        self.registry = registry
        self.model = model
        self.counter = counter
        self.clock = clock
        self.config = config
        self.images = images
        self.tool_rules = tool_rules
        self.approvals = approvals

    def generate(self, job: AnswerJob) -> Generator[AnswerResult | AnswerEvent, None, Usage | None]:
        """Write the answer: events as they happen, then its result; returns its usage (None: paused)."""
        started = self.clock.monotonic()
        pending = job.conversation.pending_user_turns()
        yield from job.tool_notices
        messages, notices = self.images.with_images(
            job.prompt,
            agent=job.spec.name,
            vision=accepts_images(job.model),
            pending=pending,
            deadline=job.deadline,
        )
        meta = job.conversation.meta
        state = LoopState.resumed(job.resume[0]) if job.resume else LoopState()
        writing = _Writing(
            job=job,
            pending=pending,
            messages=messages,
            notices=notices,
            state=state,
            run=self._tool_run(job, state, started),
            fallbacks=self.registry.model_for(job.spec.name).fallbacks if meta.model is None else (),
        )
        if job.resume is not None:
            yield from self._resume(writing, job.resume)
        yield from self._rounds(writing)
        run = writing.run
        if run is not None and run.pause is not None and not writing.halted:
            yield self._pause(writing, run, run.pause)
            return None
        return (yield from self._store(writing))

    def _tool_run(self, job: AnswerJob, state: LoopState, started: float) -> ToolRun | None:
        """What runs the model's tool calls (None: an answer without tools)."""
        if job.toolbox is None:
            return None
        return ToolRun(
            toolbox=job.toolbox,
            rules=self.tool_rules,
            policy=self.approvals,
            people_urls=urls_in(t.text for t in job.conversation.turns if t.role is Role.USER),
            clock=self.clock,
            counter=self.counter,
            model=job.model,
            started=started,
            deadline=job.deadline,
            room_tokens=self.config.max_prompt_tokens - job.prompt.prompt_tokens - job.tools_tokens,
            state=state,
        )

    def _resume(self, writing: _Writing, resume: Resume) -> Generator[AnswerEvent, None, None]:
        """The calls a paused answer waited on: the decided one first (or told they cannot run)."""
        pending, decision = resume
        waiting = tuple(ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in pending.waiting)
        if writing.run is not None:
            yield from writing.run.run(waiting, decision)
        else:  # the agent has no tools any more: the model is told, the answer goes on
            writing.state.transcript.extend(
                _untold(call, "the tool is no longer available") for call in waiting
            )

    def _rounds(self, writing: _Writing) -> Generator[AnswerEvent, None, None]:
        """Model rounds, with the tool calls between them, until the answer ends, is cut or pauses."""
        state, run = writing.state, writing.run
        max_rounds = self.tool_rules.max_calls + MAX_ROUNDS_EXTRA
        try:
            while run is None or run.pause is None:
                completion, calls, round_text = yield from self._round(writing)
                state.rounds += 1
                if completion is not None:
                    _count(state, completion.usage)
                writing.cut = completion is None or completion.cut
                if writing.cut or not calls:
                    break
                if run is None or state.tools_closed or state.rounds >= max_rounds:
                    writing.stopped = run is not None  # asked again after being told to answer: a loop
                    break
                state.transcript.append(AssistantToolCalls(calls=tuple(calls), text=round_text))
                yield from run.run(calls)
        except StopAnswer:  # the person stopped it (Ctrl-C): keep what was written, as cut
            writing.cut = writing.halted = True

    def _round(
        self, writing: _Writing
    ) -> Generator[str, None, tuple[Completion | None, list[ToolCall], str]]:
        """One model round: its text as it comes; returns how it ended, the calls it asked for, its text."""
        state, job = writing.state, writing.job
        request = ModelRequest(
            model=job.model,
            messages=(*writing.messages, *state.transcript),
            max_output_tokens=self.config.reserve_tokens,
            fallback_models=writing.fallbacks,
            tools=job.toolbox.specs if job.toolbox is not None else (),
            tool_choice="none" if state.tools_closed else "auto",
        )
        calls: list[ToolCall] = []
        round_text: list[str] = []
        completion: Completion | None = None
        events = self.model.stream(request, deadline=job.deadline)
        try:
            for event in events:
                if isinstance(event, TextDelta):
                    if event.text:
                        yield from _text(writing, event.text, round_text)
                elif isinstance(event, ToolCall):
                    calls.append(event)
                else:
                    completion = event
        finally:
            close = getattr(events, "close", None)
            if close is not None:
                close()  # a stopped model stream lets go of its connection now
        return completion, calls, "".join(round_text)

    def _pause(self, writing: _Writing, run: ToolRun, pause: Pause) -> ApprovalRequest:
        """Store the loop's state in the conversation (releasing the lock); what waits for a click."""
        job, pending = writing.job, writing.pending
        conversation_id, agent = job.conversation.meta.id, job.spec.name
        record = run.pending(
            agent=agent,
            requested_by=pending[-1].user_id if pending else None,
            answered=tuple(t.id for t in pending),
            now=self.clock.now(),
        )
        job.locked.pause(record)
        log.info("answer_paused", conversation=conversation_id, agent=agent, tool=record.tool)
        return ApprovalRequest(
            conversation_id=conversation_id,
            approval_id=record.id,
            agent=agent,
            tool=record.tool,
            arguments=shown_arguments(pause.arguments),
            reason=record.reason,
            requested_by=record.requested_by,
            expires_at=record.expires_at,
            timeout_s=self.tool_rules.approval_timeout_s,
        )

    def _notice(self, writing: _Writing) -> str:
        """What the stored answer ends with when it did not end by itself."""
        if writing.halted:
            return STOP_NOTICE
        if writing.cut:
            return CUT_NOTICE
        if writing.stopped:
            return LOOP_NOTICE.format(cap=self.tool_rules.max_calls)
        if writing.state.capped:
            return CAP_NOTICE.format(cap=self.tool_rules.max_calls)
        return ""

    def _store(self, writing: _Writing) -> Generator[AnswerResult | str, None, Usage]:
        """Store the answer as a turn (releasing the lock); yields its notice, then its result."""
        job, state, pending = writing.job, writing.state, writing.pending
        text = "".join(state.parts)
        notice = self._notice(writing)
        if notice:
            yield notice
            text += notice
        usage = Usage(
            model=state.model or job.model,  # the footer and the price name the model that answered
            input_tokens=state.input_tokens,
            output_tokens=state.output_tokens,
            latency_ms=state.latency_ms,
            first_token_ms=state.first_token_ms,
        )
        now = self.clock.now()
        turn = Turn(
            id=job.answer_id,
            role=Role.ASSISTANT,
            text=text,
            ts=slack_ts(now),
            agent=job.spec.name,
            status="cut" if writing.cut else "complete",
            usage=usage,
            created_at=now,
            answered=tuple(t.id for t in pending),
            tools=tuple(state.tools_called),
        )
        job.locked.finish(turn)
        _log_stored(writing, usage, text)
        yield AnswerResult(
            conversation_id=job.conversation.meta.id,
            turn=turn,
            agent=job.spec.name,
            handoffs=self.registry.handoffs(job.spec.name),
            answered_turn_ids=tuple(t.id for t in pending),
            prompt_tokens=job.prompt.prompt_tokens,
            dropped_turns=job.prompt.dropped_turns,
            cut=writing.cut,
            notices=writing.notices,
            tool_calls=state.calls_used,
            stopped=writing.halted,
        )
        return usage


def _text(writing: _Writing, text: str, round_text: list[str]) -> Generator[str, None, None]:
    """A text delta: shown and kept (text after tool calls starts a paragraph of its own)."""
    state = writing.state
    if not round_text and state.transcript and state.parts:
        gap = "" if state.parts[-1].endswith("\n\n") else "\n\n"
        if gap:
            state.parts.append(gap)
            if writing.shown:  # a resumed answer's new message starts without it
                yield gap
    round_text.append(text)
    state.parts.append(text)
    writing.shown = True
    yield text


def _count(state: LoopState, usage: Usage) -> None:
    """Add a round's usage to the answer's."""
    state.input_tokens += usage.input_tokens
    state.output_tokens += usage.output_tokens
    state.latency_ms += usage.latency_ms
    if state.first_token_ms is None:
        state.first_token_ms = usage.first_token_ms
    state.model = usage.model or state.model


def _log_stored(writing: _Writing, usage: Usage, text: str) -> None:
    state = writing.state
    log.info(
        "answer_stored",
        conversation=writing.job.conversation.meta.id,
        agent=writing.job.spec.name,
        model=usage.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        latency_ms=usage.latency_ms,
        first_token_ms=usage.first_token_ms,
        cut=writing.cut,
        stopped=writing.halted,
        answer_chars=len(text),
        tool_calls=state.calls_used,
        model_rounds=state.rounds,
    )
