"""Showing a stream of text in a Slack thread, within Slack's limits and rate limits.

:class:`ThreadWriter` posts a placeholder at once, then edits it with ``chat.update`` at most once
per ``interval_s`` while text arrives (Slack advises about one update per second per message).
When the open message would pass the per-message Markdown budget, it is sealed with its final text
and the answer continues in a new message in the same thread, so a long answer is never cut. The
last message gets the footer and the handoff buttons.

Failed edits mid-stream are logged and skipped (the next edit carries all text anyway); a failed
final edit falls back to posting the text as a new message, so the answer is not lost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.ports import Clock
from bot.logging import get_logger
from bot.slack.blocks import (
    CURSOR,
    FALLBACK_TEXT_LIMIT,
    MESSAGE_MARKDOWN_BUDGET,
    Block,
    cut_markdown,
    error_blocks,
    markdown_blocks,
    tool_line_markdown,
    truncate,
)

log = get_logger("bot.slack.streaming")


@dataclass
class WriterStats:
    """What one answer cost in Slack API calls."""

    posts: int = 0
    updates: int = 0
    failed_calls: int = 0
    message_ts: list[str] = field(default_factory=list)

    @property
    def calls(self) -> int:
        """All Slack API calls made."""
        return self.posts + self.updates


class ThreadWriter:
    """Renders one answer into one or more messages of a thread."""

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
    ) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        self._clock = clock
        self._interval_s = interval_s
        self._limit = limit
        self._placeholder = placeholder
        self._open = ""
        self._current_ts: str | None = None
        self._last_push = float("-inf")
        self._shown_text = False
        self._tool_lines: dict[str, str] = {}
        self.stats = WriterStats()

    # ------------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Post the placeholder message that the answer will replace."""
        self._current_ts = self._post(self._placeholder, [{"type": "markdown", "text": self._placeholder}])
        self._last_push = self._clock.monotonic()

    def write(self, delta: str) -> None:
        """Add text; seals full messages at once, edits the open one at most once per interval."""
        if not delta:
            return
        self._open += delta
        while len(self._open) > self._limit:
            head, rest = cut_markdown(self._open, self._limit)
            self._edit(head, markdown_blocks(head), final=True)
            self._open = rest
            self._current_ts = self._post(truncate(rest, FALLBACK_TEXT_LIMIT), markdown_blocks(rest + CURSOR))
            self._last_push = self._clock.monotonic()
        first_text = not self._shown_text
        if first_text or self._clock.monotonic() - self._last_push >= self._interval_s:
            # the first words replace the placeholder at once; then at most one edit per interval
            self._shown_text = True
            self._edit(self._open, markdown_blocks(self._open + CURSOR), final=False)

    def tool(self, key: str, line: str) -> None:
        """Show a tool call's line now, in the text; the same ``key`` again replaces it (start -> done)."""
        shown = tool_line_markdown(line)
        if not self._open:
            shown = shown.lstrip("\n")
        previous = self._tool_lines.get(key)
        self._tool_lines[key] = shown
        at = self._open.rfind(previous) if previous else -1
        calls = self.stats.calls
        if previous is not None and at >= 0:
            self._open = self._open[:at] + shown + self._open[at + len(previous) :]
        else:
            self.write(shown)
        if self.stats.calls == calls:  # not shown by write(): show it now, tool lines are not throttled
            self._shown_text = True
            self._edit(self._open, markdown_blocks(self._open + CURSOR), final=False)

    def finish(self, extra_blocks: Sequence[Block] = ()) -> list[str]:
        """Write the final text of the open message with ``extra_blocks`` (footer, buttons)."""
        blocks = markdown_blocks(self._open) + list(extra_blocks)
        self._edit(self._open or "(empty answer)", blocks, final=True)
        return list(self.stats.message_ts)

    def fail(self, message: str, tracking_id: str | None) -> None:
        """Say in the thread that the answer failed: in place of the placeholder if nothing was written."""
        text, blocks = error_blocks(message, tracking_id)
        if self._open:
            # keep what was written, then say what happened in a message of its own
            self._edit(self._open, markdown_blocks(self._open), final=True)
            self._post(text, blocks)
        else:
            self._edit(text, blocks, final=True)

    # ----------------------------------------------------------------------------- Slack calls

    def _post(self, text: str, blocks: list[Block]) -> str | None:
        try:
            response = self._client.chat_postMessage(
                channel=self._channel,
                thread_ts=self._thread_ts,
                text=truncate(text, FALLBACK_TEXT_LIMIT),
                blocks=blocks,
                unfurl_links=False,
                unfurl_media=False,
            )
        except SlackApiError as error:
            self.stats.failed_calls += 1
            log.warning("slack_post_failed", error=str(error.response.get("error")))
            raise
        finally:
            self.stats.posts += 1
        ts = response.get("ts")
        if isinstance(ts, str):
            self.stats.message_ts.append(ts)
            return ts
        return None

    def _edit(self, text: str, blocks: list[Block], *, final: bool) -> None:
        if self._current_ts is None:
            self._current_ts = self._post(text, blocks)
            self._last_push = self._clock.monotonic()
            return
        try:
            self.stats.updates += 1
            self._client.chat_update(
                channel=self._channel,
                ts=self._current_ts,
                text=truncate(text, FALLBACK_TEXT_LIMIT),
                blocks=blocks,
            )
        except SlackApiError as error:
            self.stats.failed_calls += 1
            log.warning("slack_update_failed", error=str(error.response.get("error")), final=final)
            if final:  # e.g. the placeholder was deleted: post the text rather than lose it
                self._current_ts = self._post(text, blocks)
        self._last_push = self._clock.monotonic()
