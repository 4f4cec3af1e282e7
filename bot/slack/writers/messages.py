"""The two plain message calls both writers make: post a message, and set a message's final
content (``chat.update``, or a new message if that fails, so nothing is lost)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.logging import get_logger
from bot.slack.blocks import FALLBACK_TEXT_LIMIT, truncate

if TYPE_CHECKING:
    from bot.slack.blocks import Block
    from bot.slack.writers.base import Recipient, WriterStats

log = get_logger("bot.slack.writers.messages")


def post(
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


def replace(
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
    return post(client, stats, where, text, blocks, metadata=metadata)
