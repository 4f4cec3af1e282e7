"""What both answer writers share: the interface (:class:`AnswerWriter`), where an answer goes
(:class:`Recipient`), what it cost and where it ended up (:class:`WriterStats`, :class:`Written`)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from slack_sdk.models.messages.chunk import TaskUpdateChunk

if TYPE_CHECKING:
    from bot.slack.blocks import Block


EMPTY_ANSWER = "(empty answer)"
# A task step's fields: neither slack_sdk nor Slack's docs give limits; these keep within the
# strictest published figure (256 for details and output) and what a step's line can show.
TASK_ID_LIMIT, TASK_TITLE_LIMIT, TASK_OUTPUT_LIMIT = 64, 150, 256


@dataclass
class WriterStats:
    """What one answer cost in Slack API calls (per method) and where it was shown."""

    calls: Counter[str] = field(default_factory=Counter)
    failed_calls: int = 0
    message_ts: list[str] = field(default_factory=list)
    fell_back: str | None = None  # why the answer left the streaming API, if it did
    status_refused: str | None = None  # why the loading state was refused, if it was

    @property
    def posts(self) -> int:
        """Messages posted (``chat.postMessage``, ``chat.startStream``)."""
        return self.calls["chat.postMessage"] + self.calls["chat.startStream"]

    @property
    def updates(self) -> int:
        """Edits and appends (``chat.update``, ``chat.appendStream``, ``chat.stopStream``)."""
        return self.calls["chat.update"] + self.calls["chat.appendStream"] + self.calls["chat.stopStream"]

    @property
    def total(self) -> int:
        """All Slack API calls made for the answer."""
        return sum(self.calls.values())


@dataclass(frozen=True, slots=True)
class Written:
    """Where an answer ended up: its messages, and the last one (with the buttons) and its Markdown."""

    message_ts: tuple[str, ...]
    last_ts: str | None
    last_markdown: str  # the last message's text as shown (to show it again without its buttons)


@dataclass(frozen=True, slots=True)
class Recipient:
    """The thread an answer goes to, and the person it answers (a stream in a channel names them)."""

    channel: str
    thread_ts: str
    team_id: str | None
    user_id: str | None


@dataclass(frozen=True, slots=True)
class ToolTask:
    """A tool call as a step of the answer: Slack's streaming ``task_update`` chunk."""

    title: str
    status: Literal["in_progress", "complete", "error"]
    output: str | None = None

    def chunk(self, key: str) -> dict[str, Any]:
        """The chunk for ``chat.startStream`` / ``chat.appendStream`` (the same id updates the step)."""
        output = self.output or None
        if output is not None and len(output) > TASK_OUTPUT_LIMIT:
            output = output[: TASK_OUTPUT_LIMIT - 1] + "…"
        return TaskUpdateChunk(
            id=key[:TASK_ID_LIMIT], title=self.title[:TASK_TITLE_LIMIT], status=self.status, output=output
        ).to_dict()


class AnswerWriter(Protocol):
    """Renders one answer into a thread: start, write deltas, finish with blocks (or fail)."""

    stats: WriterStats

    def start(self) -> None:
        """Show that the answer is coming (a loading state or a placeholder)."""
        ...

    def write(self, delta: str) -> None:
        """Add text as the model writes it."""
        ...

    def tool(self, key: str, line: str, task: ToolTask | None = None) -> None:
        """Show a tool call now: its ``line`` in the text, or, where streaming, ``task`` as a step of
        the answer (the same ``key`` again: the call is done)."""
        ...

    def finish(self, extra_blocks: Sequence[Block] = ()) -> Written:
        """Show the rest of the text and ``extra_blocks`` (footer, feedback, buttons) under it."""
        ...

    def fail(self, message: str, tracking_id: str | None) -> None:
        """Say in the thread that the answer failed, keeping what was written."""
        ...
