"""Showing an answer in a Slack thread as the model writes it, within Slack's limits and rate limits.

Two writers behind one small interface (:class:`~bot.slack.writers.base.AnswerWriter`), named for
how they write and chosen per answer by :func:`open_writer`:

- :class:`~bot.slack.writers.native.NativeWriter` (``native.py``): Slack's streaming API,
  ``chat.startStream`` / ``chat.appendStream`` / ``chat.stopStream``.
- :class:`~bot.slack.writers.edits.EditWriter` (``edits.py``): posts a message and edits it with
  ``chat.update``, where Slack refuses streaming (and where a stream broke).

Both seal a message at the per-message Markdown budget (``splitting.py``: a streamed message cannot
take back text it showed, so its cut is never before what was sent) and continue in a new message of
the same thread, so a long answer is never cut; the last message gets the footer and the buttons.
Before the first words, the thread shows a loading state (``loading.py``,
``assistant.threads.setStatus``) where Slack allows it, else a placeholder message ("_<agent> is
thinking…_") that the first words replace. A failed edit mid-stream is logged and skipped (the next
edit carries all text anyway); a failed final edit posts the text as a new message (``messages.py``),
so nothing is lost.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient

from bot.core.ports import Clock
from bot.slack.blocks import MESSAGE_MARKDOWN_BUDGET, MESSAGE_TEXT_BUDGET
from bot.slack.features import Feature, FeatureMemory
from bot.slack.writers.base import AnswerWriter, Recipient, ToolTask, WriterStats, Written
from bot.slack.writers.edits import EditWriter
from bot.slack.writers.loading import LoadingStatus
from bot.slack.writers.native import NativeWriter

__all__ = [
    "AnswerWriter",
    "EditWriter",
    "LoadingStatus",
    "NativeWriter",
    "Recipient",
    "ToolTask",
    "WriterStats",
    "Written",
    "open_writer",
]


def open_writer(
    client: WebClient,
    recipient: Recipient,
    agent: str,
    *,
    features: FeatureMemory,
    clock: Clock,
    native: bool,
    interval_s: float,
    record: dict[str, Any] | None = None,
    reserve: int = 0,
) -> AnswerWriter:
    """The writer for one answer: Slack's streaming API unless this workspace or channel refused it
    (or ``native`` streaming is off, ``SLACK_NATIVE_STREAMING``), else ``chat.update`` edits; a
    loading state where allowed.

    ``record``: the Slack message metadata each message of the answer carries once its text is final.
    ``reserve``: the text the blocks under the answer will take; each message's Markdown leaves it
    free, so the last one holds them within Slack's budget for one message (the text of all blocks).
    """
    limit = max(MESSAGE_MARKDOWN_BUDGET // 2, min(MESSAGE_MARKDOWN_BUDGET, MESSAGE_TEXT_BUDGET - reserve))
    stats = WriterStats()
    status = LoadingStatus(client, recipient, agent=agent, features=features, stats=stats)
    placeholder = f"_{agent} is thinking…_"
    if native and features.available(Feature.STREAMING, recipient.team_id, recipient.channel):
        return NativeWriter(
            client,
            recipient,
            clock=clock,
            features=features,
            interval_s=interval_s,
            limit=limit,
            placeholder=placeholder,
            status=status,
            stats=stats,
            metadata=record,
        )
    return EditWriter(
        client,
        channel=recipient.channel,
        thread_ts=recipient.thread_ts,
        clock=clock,
        interval_s=interval_s,
        limit=limit,
        placeholder=placeholder,
        status=status,
        stats=stats,
        metadata=record,
    )
