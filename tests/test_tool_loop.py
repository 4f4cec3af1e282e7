"""One answer's tool loop, driven directly: the rules in the order a person would notice them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bot.core.engine.outcomes import ApprovalDecision, ToolActivity
from bot.core.engine.tool_loop import LoopState, ToolRun
from bot.core.ports import FixedClock
from bot.core.tools import ApprovalPolicy, Toolbox, ToolCall, ToolError, ToolOutput, ToolRules, ToolSpec

READ = ToolSpec(
    name="docs__search", description="", parameters={}, read_only=True, label="docs/search", source="mcp:docs"
)
WRITE = ToolSpec(
    name="docs__edit", description="", parameters={}, read_only=False, label="docs/edit", source="mcp:docs"
)


class Counter:
    exact = False

    def count(self, text: str, model: str) -> int:
        return len(text) // 4 + 1


class Docs:
    """A provider whose calls take ``cost_s`` of the injected clock, or fail."""

    def __init__(self, clock: FixedClock, *, cost_s: float = 0.0, fail: bool = False) -> None:
        self.clock = clock
        self.cost_s = cost_s
        self.fail = fail
        self.ran: list[str] = []

    def specs(self, *, deadline: float) -> Sequence[ToolSpec]:
        return (READ, WRITE)

    def call(self, spec: ToolSpec, arguments: Mapping[str, Any], *, deadline: float) -> ToolOutput:
        self.ran.append(spec.name)
        self.clock.advance(self.cost_s)
        if self.fail:
            raise ToolError("the docs server answered HTTP 503")
        return ToolOutput(f"found {arguments.get('q')}")


def loop(
    clock: FixedClock, provider: Docs, *, rules: ToolRules | None = None, room: int = 100_000
) -> ToolRun:
    return ToolRun(
        toolbox=Toolbox([provider], deadline=clock.monotonic() + 60),
        rules=rules or ToolRules(),
        policy=ApprovalPolicy(),
        people_urls=frozenset(),
        clock=clock,
        counter=Counter(),
        model="gpt-4.1",
        started=clock.monotonic(),
        deadline=clock.monotonic() + 100,
        room_tokens=room,
        state=LoopState(),
    )


def finished(events: list[ToolActivity]) -> list[ToolActivity]:
    return [e for e in events if e.result is not None]


def test_each_call_shows_started_then_finished_and_reaches_the_model() -> None:
    """The thread sees a line when a call starts and when it ends; the model gets the result."""
    clock = FixedClock()
    run = loop(clock, Docs(clock))
    events = list(run.run([ToolCall("c1", "docs__search", '{"q": "ledger"}')]))
    assert [e.result is None for e in events] == [True, False]
    assert events[1].line == "🔧 `docs/search` ledger → 12 chars"
    assert run.state.transcript[-1].content == "found ledger"  # type: ignore[union-attr]
    assert run.state.tools_called == ["docs/search"]


def test_bad_calls_are_told_to_the_model_without_running() -> None:
    """An unknown tool or broken JSON arguments: the model reads why, nothing runs."""
    clock = FixedClock()
    docs = Docs(clock)
    run = loop(clock, docs)
    events = finished(list(run.run([ToolCall("c1", "nope", "{}"), ToolCall("c2", "docs__search", '{"q":')])))
    assert [e.result.error for e in events if e.result] == [
        "there is no tool named 'nope'",
        "the arguments are not valid JSON (Expecting value at 5)",
    ]
    assert docs.ran == []


def test_a_failing_tool_is_an_error_line_and_the_loop_goes_on() -> None:
    """A tool error becomes a warning line and a result the model reads."""
    clock = FixedClock()
    run = loop(clock, Docs(clock, fail=True))
    [event] = finished(list(run.run([ToolCall("c1", "docs__search", '{"q": "x"}')])))
    assert event.line == "⚠️ `docs/search` x → the docs server answered HTTP 503"
    assert "Tool error: the docs server answered HTTP 503" in run.state.transcript[-1].content  # type: ignore[union-attr]


def test_tools_stop_when_their_share_of_the_time_is_used() -> None:
    """Slow tools use up their share of the answer's time; later calls are not started, the model answers."""
    clock = FixedClock()
    docs = Docs(clock, cost_s=35)
    run = loop(clock, docs, rules=ToolRules(tools_share=0.6, call_timeout_s=40))
    calls = [ToolCall(f"c{i}", "docs__search", '{"q": "x"}') for i in range(3)]
    events = finished(list(run.run(calls)))
    assert docs.ran == ["docs__search", "docs__search"]  # 0 s and 35 s start; at 70 s only 60 s were theirs
    assert "the time for tools in this answer is used up" in str(events[-1].result)
    assert run.state.tools_closed


def test_a_write_pauses_with_the_calls_after_it() -> None:
    """A call that can change something stops the loop; it and the calls after it wait for the click."""
    clock = FixedClock()
    docs = Docs(clock)
    run = loop(clock, docs)
    calls = [
        ToolCall("c1", "docs__search", '{"q": "a"}'),
        ToolCall("c2", "docs__edit", '{"q": "b"}'),
        ToolCall("c3", "docs__search", '{"q": "c"}'),
    ]
    list(run.run(calls))
    assert docs.ran == ["docs__search"]
    assert run.pause is not None
    assert [c.id for c in run.pause.waiting] == ["c2", "c3"]
    record = run.pending(agent="a", requested_by="U1", answered=("t1",), now=clock.now())
    assert record.tool == "docs/edit"
    assert record.reason == "it can change something"
    assert record.expires_at == clock.now() + ToolRules().approval_timeout_s
    assert [c.id for c in record.waiting] == ["c2", "c3"]
    resumed = LoopState.resumed(record)
    assert resumed.calls_used == 1
    assert len(resumed.transcript) == 1  # the result of c1 (the model's message is added by the engine)


def test_a_denied_call_is_not_run_and_the_rest_go_on() -> None:
    """Deny: the waiting call does not run, the model reads why, the next call runs."""
    clock = FixedClock()
    docs = Docs(clock)
    run = loop(clock, docs)
    decision = ApprovalDecision(approval_id="ap", tool="docs/edit", why="denied", by_user="U1")
    events = finished(
        list(
            run.run(
                [ToolCall("c2", "docs__edit", '{"q": "b"}'), ToolCall("c3", "docs__search", '{"q": "c"}')],
                decision,
            )
        )
    )
    assert docs.ran == ["docs__search"]
    assert events[0].line == "⛔ `docs/edit` b → not run (denied)"
    assert "they clicked Deny" in run.state.transcript[0].content  # type: ignore[union-attr]
