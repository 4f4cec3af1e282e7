"""The tool loop of one answer: run the calls the model asks for, within the rules; pause for approval.

:class:`ToolRun` is driven by :class:`bot.core.engine.Engine` between model rounds. For each call it
decides (in order): the cap on calls, an unknown tool or bad arguments, approval (pause: the answer
stops here and its state goes into a :class:`~bot.core.conversation.PendingApproval`), the time
left for tools; then it runs the call and gives the model the result (cut to the size cap, with a
note), or the error, or a note saying why the call did not run. The answer always goes on.

Events for whoever shows the answer (:mod:`bot.core.engine.outcomes`): ``ToolActivity`` (a call
starting, then finished), ``ToolNotice`` (e.g. an MCP server that is down) and ``ApprovalRequest``
(the answer paused). Tool results are never logged: a call's log line has the tool, outcome, size and time.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.core.conversation import PendingApproval, StoredCall, ToolStep
from bot.core.engine.outcomes import ApprovalDecision, ToolActivity
from bot.core.ports import Clock, TokenCounter
from bot.core.tools import (
    CAP_NOTE,
    DENIED_NOTE,
    TIME_NOTE,
    ApprovalPolicy,
    AssistantToolCalls,
    Toolbox,
    ToolCall,
    ToolError,
    ToolMessage,
    ToolResult,
    ToolRules,
    ToolSpec,
    approval_reason,
    call_line,
    call_title,
    result_detail,
    result_for_error,
    result_for_output,
)
from bot.logging import get_logger

log = get_logger("bot.tools")

ROOM_NOTE = "[Not run: the prompt has no room left for more tool results. Answer now with what you have.]"
ROOM_MARGIN_TOKENS = 500
ARGUMENTS_SHOWN = 1_500


def denied_note(decision: ApprovalDecision) -> str:
    """What the model reads instead of a result when the call did not run."""
    who, why = {
        "denied": ("the person who asked", "they clicked Deny"),
        "expired": ("nobody", "no one approved it in time"),
        "superseded": ("nobody", "the conversation went on before anyone approved it"),
    }.get(decision.why, ("nobody", decision.why))
    return DENIED_NOTE.format(who=who, why=why)


@dataclass
class LoopState:
    """What an answer's tool loop has done so far (carried across a pause)."""

    parts: list[str] = field(default_factory=list)
    transcript: list[AssistantToolCalls | ToolMessage] = field(default_factory=list)
    calls_used: int = 0
    tools_called: list[str] = field(default_factory=list)
    tools_closed: bool = False  # the model is told to answer without tools
    capped: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    latency_ms: int = 0
    first_token_ms: int | None = None
    rounds: int = 0
    model: str | None = None  # the model that answered: a fallback when the requested one is missing

    @classmethod
    def resumed(cls, pending: PendingApproval) -> LoopState:
        """The state an approval stored."""
        transcript: list[AssistantToolCalls | ToolMessage] = []
        for step in pending.steps:
            if step.call_id is not None:
                transcript.append(ToolMessage(call_id=step.call_id, content=step.text))
            else:
                calls = tuple(ToolCall(id=c.id, name=c.name, arguments=c.arguments) for c in step.calls)
                transcript.append(AssistantToolCalls(calls=calls, text=step.text))
        return cls(
            parts=[pending.text] if pending.text else [],
            transcript=transcript,
            calls_used=pending.calls_used,
            tools_called=list(pending.tools_called),
            input_tokens=pending.input_tokens,
            output_tokens=pending.output_tokens,
            latency_ms=pending.latency_ms,
            first_token_ms=pending.first_token_ms,
        )

    def steps(self) -> tuple[ToolStep, ...]:
        """The transcript in its stored form."""
        stored: list[ToolStep] = []
        for message in self.transcript:
            if isinstance(message, ToolMessage):
                stored.append(ToolStep(call_id=message.call_id, text=message.content))
            else:
                calls = tuple(StoredCall(id=c.id, name=c.name, arguments=c.arguments) for c in message.calls)
                stored.append(ToolStep(calls=calls, text=message.text))
        return tuple(stored)


@dataclass(frozen=True, slots=True)
class Pause:
    """Where a loop stopped for approval."""

    waiting: tuple[ToolCall, ...]
    spec: ToolSpec
    arguments: dict[str, Any]
    reason: str


class ToolRun:
    """Runs the calls of one answer's rounds (see the module doc)."""

    def __init__(
        self,
        *,
        toolbox: Toolbox,
        rules: ToolRules,
        policy: ApprovalPolicy,
        people_urls: frozenset[str],
        clock: Clock,
        counter: TokenCounter,
        model: str,
        started: float,
        deadline: float,
        room_tokens: int,
        state: LoopState,
    ) -> None:
        self.toolbox = toolbox
        self.rules = rules
        self.policy = policy
        self.people_urls = people_urls
        self.clock = clock
        self.counter = counter
        self.model = model
        self.started = started
        self.deadline = deadline
        self.room_tokens = room_tokens
        self.state = state
        self.pause: Pause | None = None

    def run(
        self, calls: Sequence[ToolCall], decision: ApprovalDecision | None = None
    ) -> Iterator[ToolActivity]:
        """Handle ``calls`` in order; the first one was decided by ``decision`` when given.

        Stops early with :attr:`pause` set when a call needs approval.
        """
        for index, call in enumerate(calls):
            decided = decision if index == 0 else None
            spec = self.toolbox.spec(call.name)
            result = yield from self._one(call, spec, decided)
            if result is None:  # waits for approval, with the calls after it
                assert self.pause is not None
                self.pause = replace(self.pause, waiting=tuple(calls[index:]))
                return
            label = spec.shown if spec else call.name
            yield ToolActivity(
                call=call,
                tool=label,
                line=self._line(spec, call, result, decided),
                result=result,
                title=call_title(spec, call),
                detail=result_detail(result),
            )
            self._told(call, result)

    def _line(
        self, spec: ToolSpec | None, call: ToolCall, result: ToolResult, decided: ApprovalDecision | None
    ) -> str:
        if decided is not None and not decided.approved:
            return (
                call_line(spec, call, None).replace("🔧", "⛔").removesuffix(" …")
                + f" → not run ({decided.why})"
            )
        return call_line(spec, call, result)

    def _told(self, call: ToolCall, result: ToolResult) -> None:
        self.state.transcript.append(ToolMessage(call_id=call.id, content=result.content))
        self.room_tokens -= self.counter.count(result.content, self.model)

    def _note(self, call: ToolCall, note: str) -> ToolResult:
        return ToolResult(call_id=call.id, name=call.name, content=note, error=note.strip("[]").split(":")[0])

    def _one(  # noqa: PLR0911 - one outcome per rule, in the order the module doc gives
        self, call: ToolCall, spec: ToolSpec | None, decided: ApprovalDecision | None
    ) -> Generator[ToolActivity, None, ToolResult | None]:
        """Decide and run one call; returns its result, or None after setting :attr:`pause`."""
        if decided is not None and not decided.approved:
            self._log(call, spec, "not_approved", why=decided.why)
            return ToolResult(
                call_id=call.id,
                name=call.name,
                content=denied_note(decided),
                error=f"not run ({decided.why})",
            )
        if self.state.calls_used >= self.rules.max_calls:
            self.state.capped = self.state.tools_closed = True
            return self._note(call, CAP_NOTE.format(cap=self.rules.max_calls))
        if spec is None:
            return result_for_error(call, f"there is no tool named {call.name!r}")
        try:
            arguments = call.parsed()
        except ValueError as error:
            return result_for_error(call, str(error))
        if decided is None:
            reason = approval_reason(spec, arguments, policy=self.policy, people_urls=self.people_urls)
            if reason is not None:
                self.pause = Pause(waiting=(call,), spec=spec, arguments=arguments, reason=reason)
                self._log(call, spec, "needs_approval")
                return None
        if self.room_tokens < ROOM_MARGIN_TOKENS * 2:
            self.state.tools_closed = True
            return self._note(call, ROOM_NOTE)
        now = self.clock.monotonic()
        call_deadline = self.rules.call_deadline(now=now, started=self.started, deadline=self.deadline)
        if call_deadline is None:
            self.state.tools_closed = True
            return self._note(call, TIME_NOTE)
        yield ToolActivity(
            call=call, tool=spec.shown, line=call_line(spec, call, None), title=call_title(spec, call)
        )
        return self._execute(call, spec, arguments, call_deadline)

    def _execute(
        self, call: ToolCall, spec: ToolSpec, arguments: dict[str, Any], call_deadline: float
    ) -> ToolResult:
        began = self.clock.monotonic()
        self.state.calls_used += 1
        self.state.tools_called.append(spec.shown)
        try:
            output = self.toolbox.call(call, arguments, deadline=call_deadline)
        except ToolError as error:
            elapsed = int((self.clock.monotonic() - began) * 1000)
            self._log(call, spec, "error", ms=elapsed, error=type(error).__name__)
            return result_for_error(call, str(error) or type(error).__name__, elapsed_ms=elapsed)
        except Exception as error:
            elapsed = int((self.clock.monotonic() - began) * 1000)
            log.exception("tool_crashed", tool=spec.shown, error=type(error).__name__)
            return result_for_error(call, "the tool failed unexpectedly", elapsed_ms=elapsed)
        elapsed = int((self.clock.monotonic() - began) * 1000)
        room_chars = max(1_000, (self.room_tokens - ROOM_MARGIN_TOKENS) * 3)
        rules = self.rules
        if room_chars < rules.result_max_chars:
            rules = ToolRules(result_max_chars=room_chars)
        result = result_for_output(call, output, rules, elapsed_ms=elapsed)
        self._log(
            call, spec, "error" if result.error else "ok", ms=elapsed, size=result.size, cut=result.truncated
        )
        return result

    def _log(self, call: ToolCall, spec: ToolSpec | None, outcome: str, **fields: object) -> None:
        # arguments and results are never logged: they may hold the thread's text or fetched content
        log.info("tool_call", tool=spec.shown if spec else call.name, outcome=outcome, **fields)

    def pending(
        self,
        *,
        agent: str,
        requested_by: str | None,
        answered: tuple[str, ...],
        now: float,
    ) -> PendingApproval:
        """The stored form of :attr:`pause`: everything needed to go on after the click."""
        assert self.pause is not None
        state = self.state
        waiting = self.pause.waiting
        return PendingApproval(
            id=uuid.uuid4().hex[:16],
            agent=agent,
            model=self.model,
            requested_by=requested_by,
            created_at=now,
            expires_at=now + self.rules.approval_timeout_s,
            answered=answered,
            text="".join(state.parts),
            steps=state.steps(),
            waiting=tuple(StoredCall(id=c.id, name=c.name, arguments=c.arguments) for c in waiting),
            tool=self.pause.spec.shown,
            reason=self.pause.reason,
            calls_used=state.calls_used,
            tools_called=tuple(state.tools_called),
            input_tokens=state.input_tokens,
            output_tokens=state.output_tokens,
            latency_ms=state.latency_ms,
            first_token_ms=state.first_token_ms,
        )


def shown_arguments(arguments: dict[str, Any]) -> str:
    """A call's arguments for the person who decides: pretty JSON, cut to a readable size."""
    text = json.dumps(arguments, indent=2, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= ARGUMENTS_SHOWN else text[: ARGUMENTS_SHOWN - 1] + "…"
