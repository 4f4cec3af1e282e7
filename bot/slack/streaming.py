"""Showing a stream of text in a Slack thread, within Slack's limits and rate limits.

Two writers behind one small interface (:class:`AnswerWriter`), chosen per answer:

- :class:`NativeWriter` uses Slack's streaming API: ``chat.startStream`` with the first words,
  ``chat.appendStream`` at most once per ``interval_s`` (``appendStream`` is Tier 4, 100+ calls a
  minute per workspace, shared by every answer streaming at the time), ``chat.stopStream`` with the
  footer and the buttons as ``blocks``. Why not slack_sdk's ``chat_stream`` helper: it buffers by
  size only (the first words wait for 256 characters; a fast model can append several times a
  second) and knows nothing of splitting a long answer, of an expired stream or of falling back.
- :class:`ThreadWriter` edits a message with ``chat.update`` at most once per ``interval_s`` (Slack
  advises about one update per second per message): the path for workspaces and channels where
  Slack refuses streaming.

Both seal a message at the per-message Markdown budget (a streamed message cannot take back text it
showed, so its cut is never before what was sent) and continue in a new message of the same thread,
so a long answer is never cut; the last message gets the footer and the buttons. Each message holds
at most :data:`~bot.slack.blocks.MESSAGE_MARKDOWN_BUDGET` characters, well within the 12,000 Slack
allows per ``markdown_text`` and per message.

Before the first words, the thread shows a loading state (:class:`LoadingStatus`,
``assistant.threads.setStatus`` with the agent's name) where Slack allows it, else a placeholder
message ("_<agent> is thinking…_") that the first words replace.

Failures: a refused ``chat.startStream`` falls back to :class:`ThreadWriter` for the rest of the
answer (remembered per workspace or channel by :class:`~bot.slack.features.FeatureMemory`); a stream
that stopped streaming (Slack expires one idle for about five minutes) is finished with
``chat.update`` on the same message. A failed edit mid-stream is logged and skipped (the next edit
carries all text anyway); a failed final edit posts the text as a new message, so nothing is lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

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
from bot.slack.features import Feature, FeatureMemory

log = get_logger("bot.slack.streaming")

EMPTY_ANSWER = "(empty answer)"
LOADING_TEXT_LIMIT = 120


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

    def chunk(self, key: str) -> dict[str, str]:
        """The chunk for ``chat.startStream`` / ``chat.appendStream`` (the same id updates the step)."""
        chunk = {"type": "task_update", "id": key[:64], "title": self.title[:150], "status": self.status}
        if self.output:
            chunk["output"] = self.output[:500]
        return chunk


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


class LoadingStatus:
    """``assistant.threads.setStatus`` for one thread: "<app> is asking <agent>…" with loading messages.

    Slack clears the status with the app's next message in the thread (or after two minutes).
    Where Slack refuses it, the refusal is remembered and :meth:`show` returns False: the writer
    posts a placeholder instead.
    """

    def __init__(
        self,
        client: WebClient,
        recipient: Recipient,
        *,
        agent: str,
        features: FeatureMemory,
        stats: WriterStats,
    ) -> None:
        self._client = client
        self._recipient = recipient
        self._agent = truncate(agent, 60)
        self._features = features
        self._stats = stats

    def show(self) -> bool:
        """Set the loading state; False when Slack does not allow it here."""
        where = self._recipient
        if not self._features.available(Feature.STATUS, where.team_id, where.channel):
            return False
        agent = self._agent
        try:
            self._stats.calls["assistant.threads.setStatus"] += 1
            self._client.assistant_threads_setStatus(
                channel_id=where.channel,
                thread_ts=where.thread_ts,
                status=truncate(f"is asking {agent}…", LOADING_TEXT_LIMIT),
                loading_messages=[
                    truncate(text, LOADING_TEXT_LIMIT)
                    for text in (
                        f"{agent} is reading the thread…",
                        f"{agent} is thinking…",
                        f"{agent} is drafting an answer…",
                    )
                ],
            )
        except SlackApiError as error:
            self._stats.failed_calls += 1
            code = str(error.response.get("error"))
            self._stats.status_refused = code
            scope = self._features.refused(Feature.STATUS, where.team_id, where.channel, code)
            log.info("loading_status_refused", error=code, remembered=scope)
            return False
        return True


def _post(
    client: WebClient,
    stats: WriterStats,
    where: Recipient,
    text: str,
    blocks: list[Block],
    *,
    metadata: dict[str, Any] | None = None,
) -> str | None:
    try:
        stats.calls["chat.postMessage"] += 1
        response = client.chat_postMessage(
            channel=where.channel,
            thread_ts=where.thread_ts,
            text=truncate(text, FALLBACK_TEXT_LIMIT),
            blocks=blocks,
            unfurl_links=False,
            unfurl_media=False,
            metadata=metadata,
        )
    except SlackApiError as error:
        stats.failed_calls += 1
        log.warning("slack_post_failed", error=str(error.response.get("error")))
        raise
    ts = response.get("ts")
    if isinstance(ts, str):
        stats.message_ts.append(ts)
        return ts
    return None


def _replace(
    client: WebClient,
    stats: WriterStats,
    where: Recipient,
    ts: str | None,
    *,
    text: str,
    blocks: list[Block],
    metadata: dict[str, Any] | None = None,
) -> str | None:
    """Set a message's final content with ``chat.update``; post it anew if that fails (nothing lost).

    ``metadata``: Slack message metadata the message carries from now on (an answer's record).
    """
    if ts is not None:
        try:
            stats.calls["chat.update"] += 1
            client.chat_update(
                channel=where.channel,
                ts=ts,
                text=truncate(text, FALLBACK_TEXT_LIMIT),
                blocks=blocks,
                metadata=metadata,
            )
        except SlackApiError as error:
            stats.failed_calls += 1
            log.warning("slack_update_failed", error=str(error.response.get("error")), final=True)
        else:
            return ts
    return _post(client, stats, where, text, blocks, metadata=metadata)


class ThreadWriter:
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
        self._current_ts = _post(
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
            self._current_ts = _post(
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
        """Write the final text of the open message with ``extra_blocks`` (footer, buttons)."""
        blocks = markdown_blocks(self._open) + list(extra_blocks)
        shown = self._open or EMPTY_ANSWER
        self._edit(shown, blocks, final=True, record=True)
        return Written(tuple(self.stats.message_ts), self._current_ts, shown)

    def fail(self, message: str, tracking_id: str | None) -> None:
        """Say in the thread that the answer failed: in place of the placeholder if nothing was written."""
        text, blocks = error_blocks(message, tracking_id)
        if self._open:
            # keep what was written, then say what happened in a message of its own
            self._edit(self._open, markdown_blocks(self._open), final=True)
            _post(self._client, self.stats, self._where, text, blocks)
        else:
            self._edit(text, blocks, final=True)

    # ----------------------------------------------------------------------------- Slack calls

    def _edit(self, text: str, blocks: list[Block], *, final: bool, record: bool = False) -> None:
        """Edit the open message; ``record``: its text is final answer text (it gets the metadata)."""
        metadata = self._metadata if record else None
        if self._current_ts is None:
            self._current_ts = _post(self._client, self.stats, self._where, text, blocks, metadata=metadata)
        elif final:  # e.g. the placeholder was deleted: post the text rather than lose it
            self._current_ts = _replace(
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


class NativeWriter:
    """Renders one answer with Slack's streaming API, falling back to :class:`ThreadWriter`."""

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
        self._fallback: ThreadWriter | None = None
        self.stats = stats or WriterStats()

    # ------------------------------------------------------------------------------- lifecycle

    def start(self) -> None:
        """Show the loading state, or a placeholder message (deleted once the stream starts)."""
        if self._status is not None and self._status.show():
            return
        self._placeholder_ts = _post(
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
        text, blocks = self._sent + self._pending, list(extra_blocks)
        if not self._stop(self._pending, blocks, record=True):
            self._stream_ts = _replace(
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
                _replace(
                    self._client,
                    self.stats,
                    self._where,
                    self._stream_ts,
                    text=shown,
                    blocks=markdown_blocks(shown),
                )
            _post(self._client, self.stats, self._where, text, blocks)
        elif self._placeholder_ts is not None:  # nothing written: the error takes the placeholder's place
            _replace(self._client, self.stats, self._where, self._placeholder_ts, text=text, blocks=blocks)
        else:
            _post(self._client, self.stats, self._where, text, blocks)

    # -------------------------------------------------------------------------------- internals

    def _seal(self) -> None:
        """The open message is full: cut it after what was shown, stop its stream, go on in a new one."""
        open_text = self._sent + self._pending
        head, rest = cut_markdown(open_text, self._limit, earliest=len(self._sent))
        if self._stream_ts is None:  # nothing of this message shown yet: start it with the head
            if not self._start(head[: self._budget]):
                return  # fell back: the thread writer has the whole open text
            self._sent = head[: self._budget]
        if not self._stop(head[len(self._sent) :], [], record=True):
            _replace(
                self._client,
                self.stats,
                self._where,
                self._stream_ts,
                text=head,
                blocks=markdown_blocks(head),
                metadata=self._metadata,
            )
        self._sent, self._pending, self._stream_ts = "", rest, None

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

    def _start(self, piece: str, chunks: list[dict[str, str]] | None = None) -> bool:
        """``chat.startStream`` with the first words of a message (and steps); on a refusal, fall back."""
        where = self._where
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
        """Hand the rest of the answer to a :class:`ThreadWriter` that edits message ``ts``."""
        fallback = ThreadWriter(
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
