"""The writer for where Slack refuses streaming: post a message and edit it with ``chat.update``
at most once per ``interval_s`` (Slack advises about one update per second per message), sealing a
full message and going on in a new one."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.logging import get_logger
from bot.slack.blocks import (
    CURSOR,
    FALLBACK_TEXT_LIMIT,
    MESSAGE_MARKDOWN_BUDGET,
    MESSAGE_TEXT_BUDGET,
    block_text_length,
    error_blocks,
    markdown_blocks,
    tool_line_markdown,
    truncate,
)
from bot.slack.writers.base import EMPTY_ANSWER, Recipient, WriterStats, Written
from bot.slack.writers.messages import post, replace
from bot.slack.writers.splitting import cut_markdown, last_part

if TYPE_CHECKING:
    from bot.core.ports import Clock
    from bot.slack.blocks import Block
    from bot.slack.writers.base import ToolTask
    from bot.slack.writers.loading import LoadingStatus

log = get_logger("bot.slack.writers.edits")


class EditWriter:
    """Renders one answer by posting messages and editing them with ``chat.update``."""

    def __init__(
        self,
        client: WebClient,
        *,
        channel: str,
        thread_ts: str,
        clock: Clock,
        interval_s: float = 1.0,
        limit: int = MESSAGE_MARKDOWN_BUDGET,
        placeholder: str = "_Thinking…_",
        status: LoadingStatus | None = None,
        stats: WriterStats | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._where = Recipient(channel, thread_ts, None, None)
        self._metadata = metadata  # Slack message metadata of each message once its text is final
        self._clock = clock
        self._interval_s = interval_s
        self._limit = limit
        self._placeholder = placeholder
        self._status = status
        self._open = ""
        self._current_ts: str | None = None
        self._last_push = float("-inf")
        self._shown_text = False
        self._tool_lines: dict[str, str] = {}
        self.stats = stats or WriterStats()

    # ------------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Show the loading state, or post the placeholder message that the answer will replace."""
        if self._status is not None and self._status.show():
            return  # the first words are posted as a new message (which also clears the status)
        self._current_ts = post(
            self._client,
            self.stats,
            self._where,
            self._placeholder,
            [{"type": "markdown", "text": self._placeholder}],
        )
        self._last_push = self._clock.monotonic()

    def adopt(self, ts: str | None, shown: str) -> None:
        """Carry on an answer another writer began: message ``ts`` shows ``shown`` (its text so far)."""
        self._current_ts = ts
        self._open = shown
        self._shown_text = bool(shown)
        self._last_push = float("-inf")

    def write(self, delta: str) -> None:
        """Add text; seals full messages at once, edits the open one at most once per interval."""
        if not delta:
            return
        self._open += delta
        while len(self._open) > self._limit:
            head, rest = cut_markdown(self._open, self._limit)
            self._edit(head, markdown_blocks(head), final=True, record=True)
            self._open = rest
            self._current_ts = post(
                self._client,
                self.stats,
                self._where,
                truncate(rest, FALLBACK_TEXT_LIMIT),
                markdown_blocks(rest + CURSOR),
            )
            self._last_push = self._clock.monotonic()
        first_text = not self._shown_text
        if first_text or self._clock.monotonic() - self._last_push >= self._interval_s:
            # the first words replace the placeholder at once; then at most one edit per interval
            self._shown_text = True
            self._edit(self._open, markdown_blocks(self._open + CURSOR), final=False)

    def tool(self, key: str, line: str, task: ToolTask | None = None) -> None:
        """Show a tool call's line now, in the text; the same ``key`` again replaces it (start -> done).

        ``task`` is for streams; edits show the line."""
        shown = tool_line_markdown(line)
        if not self._open:
            shown = shown.lstrip("\n")
        previous = self._tool_lines.get(key)
        self._tool_lines[key] = shown
        at = self._open.rfind(previous) if previous else -1
        calls = self.stats.total
        if previous is not None and at >= 0:
            self._open = self._open[:at] + shown + self._open[at + len(previous) :]
        else:
            self.write(shown)
        if self.stats.total == calls:  # not shown by write(): show it now, tool lines are not throttled
            self._shown_text = True
            self._edit(self._open, markdown_blocks(self._open + CURSOR), final=False)

    def finish(self, extra_blocks: Sequence[Block] = ()) -> Written:
        """Write the final text of the open message with ``extra_blocks`` (footer, buttons); when both
        do not fit in one message's budget, the end of the text goes with the blocks in a new one."""
        extra = list(extra_blocks)
        head, tail = last_part(self._open, MESSAGE_TEXT_BUDGET - block_text_length(extra))
        if head:
            self._edit(head, markdown_blocks(head), final=True, record=True)
            self._open, self._current_ts = tail, None
        blocks = (markdown_blocks(self._open) if self._open or not head else []) + extra
        shown = self._open or EMPTY_ANSWER
        self._edit(shown, blocks, final=True, record=True)
        return Written(tuple(self.stats.message_ts), self._current_ts, self._open or shown)

    def fail(self, message: str, tracking_id: str | None) -> None:
        """Say in the thread that the answer failed: in place of the placeholder if nothing was written."""
        text, blocks = error_blocks(message, tracking_id)
        if self._open:
            # keep what was written, then say what happened in a message of its own
            self._edit(self._open, markdown_blocks(self._open), final=True)
            post(self._client, self.stats, self._where, text, blocks)
        else:
            self._edit(text, blocks, final=True)

    # ----------------------------------------------------------------------------- Slack calls

    def _edit(self, text: str, blocks: list[Block], *, final: bool, record: bool = False) -> None:
        """Edit the open message; ``record``: its text is final answer text (it gets the metadata)."""
        metadata = self._metadata if record else None
        if self._current_ts is None:
            self._current_ts = post(self._client, self.stats, self._where, text, blocks, metadata=metadata)
        elif final:  # e.g. the placeholder was deleted: post the text rather than lose it
            self._current_ts = replace(
                self._client,
                self.stats,
                self._where,
                self._current_ts,
                text=text,
                blocks=blocks,
                metadata=metadata,
            )
        else:
            try:
                self.stats.calls["chat.update"] += 1
                self._client.chat_update(
                    channel=self._where.channel,
                    ts=self._current_ts,
                    text=truncate(text, FALLBACK_TEXT_LIMIT),
                    blocks=blocks,
                )
            except SlackApiError as error:
                self.stats.failed_calls += 1
                log.warning("slack_update_failed", error=str(error.response.get("error")), final=False)
        self._last_push = self._clock.monotonic()
