"""The limits a tool loop works within (:class:`ToolRules`), the notes the model reads when a call is
not run, and a call's result cut to the size cap."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.tools.calls import ToolCall, ToolOutput, ToolResult


@dataclass(frozen=True, slots=True)
class ToolRules:
    """The limits a tool loop works within (from settings).

    - ``max_calls``: tool calls per answer; past it the model is told to answer and, if it still asks,
      the answer stops and the user is told.
    - ``call_timeout_s``: one call's own limit.
    - ``tools_share``: tools may use this share of the answer's time; the rest is kept for the model
      to write the answer after the last result.
    - ``result_max_chars``: a result longer than this is cut, with a note to the model.
    - ``approval_timeout_s``: a call that waits for a click longer than this is denied.
    """

    max_calls: int = 8
    call_timeout_s: float = 20.0
    tools_share: float = 0.6
    result_max_chars: int = 16_000
    approval_timeout_s: float = 600.0
    min_call_s: float = 1.0  # below this much time left, no call is started

    def tools_end(self, *, started: float, deadline: float) -> float:
        """The monotonic time after which no tool call may run in an answer started at ``started``."""
        return started + max(0.0, deadline - started) * self.tools_share

    def call_deadline(self, *, now: float, started: float, deadline: float) -> float | None:
        """The deadline of a call starting ``now``; None when too little time is left for one."""
        end = min(now + self.call_timeout_s, self.tools_end(started=started, deadline=deadline))
        return end if end - now >= self.min_call_s else None

    def cut(self, text: str) -> tuple[str, bool]:
        """``text`` within the size cap; when cut, a note tells the model how much was left out."""
        if len(text) <= self.result_max_chars:
            return text, False
        note = (
            f"\n\n[Cut by the bot: the tool returned {len(text):,} characters; only the first "
            f"{self.result_max_chars:,} are shown. Ask for a narrower part if you need more.]"
        )
        return text[: self.result_max_chars] + note, True


CAP_NOTE = (
    "[The bot's limit of {cap} tool calls for one answer is reached: this call was not run. "
    "Answer now with what you have.]"
)
TIME_NOTE = "[Not run: the time for tools in this answer is used up. Answer now with what you have.]"
DENIED_NOTE = "[Not run: {who} did not approve this call ({why}). Go on without it.]"


def result_for_error(call: ToolCall, reason: str, *, elapsed_ms: int = 0) -> ToolResult:
    """A failed call: the model reads the reason and goes on."""
    return ToolResult(
        call_id=call.id,
        name=call.name,
        content=f"Tool error: {reason}",
        error=reason,
        elapsed_ms=elapsed_ms,
    )


def result_for_output(call: ToolCall, output: ToolOutput, rules: ToolRules, *, elapsed_ms: int) -> ToolResult:
    """A finished call, cut to the size cap."""
    if output.is_error:
        reason = output.text.strip().splitlines()[0][:200] if output.text.strip() else "the tool failed"
        content, truncated = rules.cut(f"Tool error: {output.text}")
        return ToolResult(
            call_id=call.id,
            name=call.name,
            content=content,
            size=len(output.text),
            truncated=truncated,
            error=reason,
            elapsed_ms=elapsed_ms,
        )
    content, truncated = rules.cut(output.text)
    return ToolResult(
        call_id=call.id,
        name=call.name,
        content=content,
        size=len(output.text),
        truncated=truncated,
        elapsed_ms=elapsed_ms,
    )
