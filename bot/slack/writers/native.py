"""The writer on Slack's streaming API: ``chat.startStream`` with the first words,
``chat.appendStream`` at most once per ``interval_s`` (Tier 4, shared by every answer streaming at
the time), ``chat.stopStream`` with the footer and the buttons as ``blocks``. Why not slack_sdk's
``chat_stream`` helper: it buffers by size only (the first words wait for 256 characters; a fast
model can append several times a second) and knows nothing of splitting a long answer, of an expired
stream or of falling back.

A refused ``chat.startStream`` hands the rest of the answer to :class:`~bot.slack.writers.edits.EditWriter`
(remembered per workspace or channel by :class:`~bot.slack.features.FeatureMemory`); a stream that
stopped streaming (Slack expires one idle for about five minutes) is finished with ``chat.update``
on the same message.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.messages.chunk import MarkdownTextChunk

from bot.logging import get_logger
from bot.slack.blocks import (
    MESSAGE_MARKDOWN_BUDGET,
    MESSAGE_TEXT_BUDGET,
    block_text_length,
    error_blocks,
    markdown_blocks,
    tool_line_markdown,
)
from bot.slack.features import Feature
from bot.slack.writers.base import EMPTY_ANSWER, WriterStats, Written
from bot.slack.writers.edits import EditWriter
from bot.slack.writers.messages import post, replace
from bot.slack.writers.splitting import cut_markdown, last_part

if TYPE_CHECKING:
    from bot.core.ports import Clock
    from bot.slack.blocks import Block
    from bot.slack.features import FeatureMemory
    from bot.slack.writers.base import Recipient, ToolTask
    from bot.slack.writers.loading import LoadingStatus

log = get_logger("bot.slack.writers.native")


class NativeWriter:
    """Renders one answer with Slack's streaming API, falling back to :class:`EditWriter`."""

    def __init__(
        self,
        client: WebClient,
        recipient: Recipient,
        *,
        clock: Clock,
        features: FeatureMemory,
        interval_s: float = 1.0,
        limit: int = MESSAGE_MARKDOWN_BUDGET,
        placeholder: str = "_Thinking…_",
        status: LoadingStatus | None = None,
        stats: WriterStats | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._client = client
        self._where = recipient
        self._metadata = metadata  # Slack message metadata of each message once its text is final
        self._clock = clock
        self._features = features
        self._interval_s = interval_s
        self._limit = limit
        self._budget = limit - 4  # never stream past the point where a cut may need to close a fence
        self._placeholder = placeholder
        self._status = status
        self._sent = ""  # text of the open message already shown
        self._pending = ""  # text of the open message not shown yet
        self._stream_ts: str | None = None
        self._placeholder_ts: str | None = None
        self._last_push = float("-inf")
        self._fallback: EditWriter | None = None
        self.stats = stats or WriterStats()

    # ------------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Show the loading state, or a placeholder message (deleted once the stream starts)."""
        if self._status is not None and self._status.show():
            return
        self._placeholder_ts = post(
            self._client,
            self.stats,
            self._where,
            self._placeholder,
            [{"type": "markdown", "text": self._placeholder}],
        )

    def write(self, delta: str) -> None:
        """Add text: the first words at once, then at most one append per interval."""
        if self._fallback is not None:
            self._fallback.write(delta)
            return
        if not delta:
            return
        self._pending += delta
        while self._fallback is None and len(self._sent) + len(self._pending) > self._limit:
            self._seal()
        if self._fallback is None and (
            self._stream_ts is None or self._clock.monotonic() - self._last_push >= self._interval_s
        ):
            self._flush()

    def tool(self, key: str, line: str, task: ToolTask | None = None) -> None:
        """Show a tool call now: with ``task``, as a ``task_update`` step of the stream (Slack shows the
        steps with their status, and the same id updates a step when the call is done); without, its
        line in the text (a stream cannot take text back: the done line goes under the started one)."""
        if self._fallback is not None:
            self._fallback.tool(key, line)
            return
        if task is not None:
            self._task(key, line, task)
            return
        shown = tool_line_markdown(line)
        if not (self._sent or self._pending):
            shown = shown.lstrip("\n")
        self._pending += shown
        while self._fallback is None and len(self._sent) + len(self._pending) > self._limit:
            self._seal()
        if self._fallback is None:
            self._flush()  # tool lines are not throttled

    def finish(self, extra_blocks: Sequence[Block] = ()) -> Written:
        """Stop the stream with the rest of the text and ``extra_blocks`` under it."""
        if self._fallback is None and self._stream_ts is None:
            self._pending = self._pending or EMPTY_ANSWER
            self._flush()
        if self._fallback is not None:
            return self._fallback.finish(extra_blocks)
        blocks = list(extra_blocks)
        head, tail = last_part(
            self._sent + self._pending, MESSAGE_TEXT_BUDGET - block_text_length(blocks), len(self._sent)
        )
        if head:  # the blocks do not fit beside all the text: the end of it goes with them
            self._close(head)
            self._sent, self._pending, self._stream_ts = "", tail, None
            if not tail:
                return self._blocks_alone(blocks)
            self._flush()
            if self._fallback is not None:
                return self._fallback.finish(blocks)
        text = self._sent + self._pending
        if not self._stop(self._pending, blocks, record=True):
            self._stream_ts = replace(
                self._client,
                self.stats,
                self._where,
                self._stream_ts,
                text=text,
                blocks=markdown_blocks(text) + blocks,
                metadata=self._metadata,
            )
        self._sent, self._pending = text, ""
        return Written(tuple(self.stats.message_ts), self._stream_ts, text)

    def fail(self, message: str, tracking_id: str | None) -> None:
        """Keep what was written (stop the stream), then say what went wrong."""
        if self._fallback is not None:
            self._fallback.fail(message, tracking_id)
            return
        text, blocks = error_blocks(message, tracking_id)
        if self._stream_ts is not None:
            shown = self._sent + self._pending
            if not self._stop(self._pending, []):
                replace(
                    self._client,
                    self.stats,
                    self._where,
                    self._stream_ts,
                    text=shown,
                    blocks=markdown_blocks(shown),
                )
            post(self._client, self.stats, self._where, text, blocks)
        elif self._placeholder_ts is not None:  # nothing written: the error takes the placeholder's place
            replace(self._client, self.stats, self._where, self._placeholder_ts, text=text, blocks=blocks)
        else:
            post(self._client, self.stats, self._where, text, blocks)

    # -------------------------------------------------------------------------------- internals

    def _seal(self) -> None:
        """The open message is full: cut it after what was shown, stop its stream, go on in a new one."""
        open_text = self._sent + self._pending
        head, rest = cut_markdown(open_text, self._limit, earliest=len(self._sent))
        if self._stream_ts is None:  # nothing of this message shown yet: start it with the head
            if not self._start(head[: self._budget]):
                return  # fell back: the thread writer has the whole open text
            self._sent = head[: self._budget]
        self._close(head)
        self._sent, self._pending, self._stream_ts = "", rest, None

    def _close(self, head: str) -> None:
        """Finish the open message with ``head`` as its whole text: stop its stream, or edit it."""
        if not self._stop(head[len(self._sent) :], [], record=True):
            replace(
                self._client,
                self.stats,
                self._where,
                self._stream_ts,
                text=head,
                blocks=markdown_blocks(head),
                metadata=self._metadata,
            )

    def _blocks_alone(self, blocks: list[Block]) -> Written:
        """The blocks under an answer in a message of their own (its text filled the last one)."""
        ts = post(self._client, self.stats, self._where, "⤴", blocks, metadata=self._metadata)
        return Written(tuple(self.stats.message_ts), ts, "")

    def _flush(self) -> None:
        """Show the pending text: start the message's stream, or append to it."""
        piece = self._pending[: self._showable()]
        if not piece:
            return
        if self._stream_ts is None:
            if not self._start(piece):
                return
        else:
            try:
                self.stats.calls["chat.appendStream"] += 1
                self._client.chat_appendStream(
                    channel=self._where.channel, ts=self._stream_ts, markdown_text=piece
                )
            except SlackApiError as error:
                self._stream_broke(error)
                return
        self._sent += piece
        self._pending = self._pending[len(piece) :]
        self._last_push = self._clock.monotonic()

    def _showable(self) -> int:
        """How much pending text may be shown now without ever forcing a cut inside a word.

        Up to half the message, anything. Beyond it (where :func:`cut_markdown` may cut), only up
        to a space or line break, so the cut can fall there: a streamed word is never split across
        two messages, nor is a code fence line.
        """
        room = max(0, self._budget - len(self._sent))
        length = min(room, len(self._pending))
        floor = self._budget // 2
        if len(self._sent) + length <= floor:
            return length
        low = max(0, floor - len(self._sent))
        boundary = max(self._pending.rfind(" ", low, length + 1), self._pending.rfind("\n", low, length + 1))
        return boundary if boundary >= low else low

    def _task(self, key: str, line: str, task: ToolTask) -> None:
        """A step of the answer: with the stream's start, or appended (after the text shown so far)."""
        chunk = task.chunk(key)
        if self._stream_ts is None:
            piece = self._pending[: self._showable()]
            if not self._start(piece, chunks=[chunk]):
                if self._fallback is not None:
                    self._fallback.tool(key, line)
                return
            self._sent += piece
            self._pending = self._pending[len(piece) :]
            return
        self._flush()
        if self._fallback is not None:
            self._fallback.tool(key, line)
            return
        try:
            self.stats.calls["chat.appendStream"] += 1
            self._client.chat_appendStream(channel=self._where.channel, ts=self._stream_ts, chunks=[chunk])
        except SlackApiError as error:
            self._stream_broke(error)
            if self._fallback is not None:
                self._fallback.tool(key, line)
            return
        self._last_push = self._clock.monotonic()

    def _start(self, piece: str, chunks: list[dict[str, Any]] | None = None) -> bool:
        """``chat.startStream`` with the first words of a message (and steps); on a refusal, fall back.

        With steps, the words go first as a ``markdown_text`` chunk: never ``markdown_text`` beside
        ``chunks`` in one call (slack_sdk's own ``ChatStream`` does the same)."""
        where = self._where
        if chunks and piece:
            chunks, piece = [MarkdownTextChunk(text=piece).to_dict(), *chunks], ""
        try:
            self.stats.calls["chat.startStream"] += 1
            response = self._client.chat_startStream(
                channel=where.channel,
                thread_ts=where.thread_ts,
                recipient_team_id=where.team_id,
                recipient_user_id=where.user_id,
                markdown_text=piece or None,
                chunks=chunks,
            )
        except SlackApiError as error:
            self.stats.failed_calls += 1
            code = str(error.response.get("error"))
            scope = self._features.refused(Feature.STREAMING, where.team_id, where.channel, code)
            log.warning("stream_refused", error=code, remembered=scope)
            self.stats.fell_back = code
            self._fall_back(self._placeholder_ts)
            self._placeholder_ts = None
            return False
        ts = response.get("ts")
        self._stream_ts = ts if isinstance(ts, str) else None
        if self._stream_ts is not None:
            self.stats.message_ts.append(self._stream_ts)
        if self._placeholder_ts is not None:
            self._delete_placeholder()
        self._last_push = self._clock.monotonic()
        return True

    def _stream_broke(self, error: SlackApiError) -> None:
        """The stream left the streaming state (expired, stopped): go on with ``chat.update``."""
        self.stats.failed_calls += 1
        code = str(error.response.get("error"))
        log.warning("stream_broke", error=code)
        self.stats.fell_back = code
        self._fall_back(self._stream_ts)

    def _fall_back(self, ts: str | None) -> None:
        """Hand the rest of the answer to a :class:`EditWriter` that edits message ``ts``."""
        fallback = EditWriter(
            self._client,
            channel=self._where.channel,
            thread_ts=self._where.thread_ts,
            clock=self._clock,
            interval_s=self._interval_s,
            limit=self._limit,
            placeholder=self._placeholder,
            stats=self.stats,
            metadata=self._metadata,
        )
        fallback.adopt(ts, self._sent)
        pending, self._sent, self._pending = self._pending, "", ""
        self._fallback = fallback
        fallback.write(pending)

    def _stop(self, text: str, blocks: list[Block], *, record: bool = False) -> bool:
        """``chat.stopStream`` with the last text and the blocks (and, with ``record``, the answer's
        metadata: the message's text is final); False if the stream is gone."""
        if self._stream_ts is None:
            return False
        try:
            self.stats.calls["chat.stopStream"] += 1
            self._client.chat_stopStream(
                channel=self._where.channel,
                ts=self._stream_ts,
                markdown_text=text or None,
                blocks=blocks or None,
                metadata=self._metadata if record else None,
            )
        except SlackApiError as error:
            self.stats.failed_calls += 1
            log.warning("stream_stop_failed", error=str(error.response.get("error")))
            return False
        return True

    def _delete_placeholder(self) -> None:
        if self._placeholder_ts is None:
            return
        try:
            self.stats.calls["chat.delete"] += 1
            self._client.chat_delete(channel=self._where.channel, ts=self._placeholder_ts)
        except SlackApiError as error:
            self.stats.failed_calls += 1
            log.warning("placeholder_not_deleted", error=str(error.response.get("error")))
        if self._placeholder_ts in self.stats.message_ts:
            self.stats.message_ts.remove(self._placeholder_ts)
        self._placeholder_ts = None
