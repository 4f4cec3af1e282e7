"""The loading state before an answer's first words: ``assistant.threads.setStatus`` where Slack
allows it (else the writer posts a placeholder message that the first words replace)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.logging import get_logger
from bot.slack.blocks import truncate
from bot.slack.features import Feature

if TYPE_CHECKING:
    from bot.slack.features import FeatureMemory
    from bot.slack.writers.base import Recipient, WriterStats

log = get_logger("bot.slack.writers.loading")

LOADING_TEXT_LIMIT = 120


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
