"""What the person sees when something goes wrong: the one map from typed errors (bot/errors.py) to a
reply, used by every lazy listener through :meth:`Replies.told`.

=========================================  ==========================================================
Error                                      What the person sees
=========================================  ==========================================================
``BudgetExceededError``,                   a refusal, only to them (ephemeral, in the thread), counted
``ThreadForgottenError``                   as ``Rejections{Kind}``; nothing else is posted
``StaleHandoffError``,                     the error's message only to them (ephemeral): a button
``HandoffNotAllowedError``,                that no longer applies, or someone else's decision
``StaleApprovalError``,
``ApprovalNotAllowedError``,
``ConversationNotFoundError``
any other ``BotError``                     in the thread, with what to do and a tracking id (the
                                           request id, also in every log line), counted as
                                           ``Errors{Kind}``; before the thread exists (a slash
                                           command whose request could not be posted), only to them
any other exception                        the same, as ``unexpected``, with the traceback logged
=========================================  ==========================================================

A listener whose whole exchange is private (a vote, a forget confirmation, ``/architect usage``)
passes ``private=True``: every failure is then told only to the person.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.errors import (
    ApprovalNotAllowedError,
    BotError,
    BudgetExceededError,
    ConversationNotFoundError,
    HandoffNotAllowedError,
    StaleApprovalError,
    StaleHandoffError,
    ThreadForgottenError,
)
from bot.logging import get_logger
from bot.slack.blocks import error_blocks

if TYPE_CHECKING:
    from bot.core.notices import Notice
    from bot.metrics import Metrics
    from bot.slack.blocks import Block
    from bot.slack.payload import Where

log = get_logger("bot.slack.replies")

REFUSALS = (BudgetExceededError, ThreadForgottenError)
PRIVATE = (
    StaleHandoffError,
    HandoffNotAllowedError,
    StaleApprovalError,
    ApprovalNotAllowedError,
    ConversationNotFoundError,
)


class Replies:
    """Tells people what happened: refusals, private notes, errors (the map above), notices."""

    def __init__(self, metrics: Metrics) -> None:
        self._metrics = metrics

    @contextmanager
    def told(
        self, client: WebClient, where: Where, *, private: bool = False, failed: str | None = None
    ) -> Iterator[Where]:
        """Run a flow; whatever it raises is told as the map says (and never reaches Bolt).

        ``private``: every failure only to the person; ``failed`` replaces the message of an
        error that is not a refusal (e.g. "your feedback could not be saved").
        """
        try:
            yield where
        except Exception as error:  # noqa: BLE001 - every failure is told, logged and counted here
            self.error(client, where, error, private=private, failed=failed)

    def error(
        self,
        client: WebClient,
        where: Where,
        error: Exception,
        *,
        private: bool = False,
        failed: str | None = None,
    ) -> None:
        """Tell ``error`` as the map says; never raises."""
        if isinstance(error, REFUSALS):
            self.refuse(client, where, error.user_message, kind=error.kind)
            return
        if isinstance(error, PRIVATE) and not private:
            log.info("request_not_done", kind=error.kind)
            self.private(client, where, error.user_message)
            return
        if isinstance(error, BotError):
            message, kind = error.user_message, error.kind
            log.warning("user_error", kind=kind, detail=error.detail)
        else:
            message, kind = BotError.user_message, "unexpected"
            log.exception("unexpected_error", kind=kind)
        self._metrics.error(kind)
        tracking_id = runtime.current().request_id
        if private or (where.thread_ts is None and where.say is not None):
            self.private(client, where, f":warning: {failed or message}\n_Tracking id: `{tracking_id}`_")
            return
        text, blocks = error_blocks(message, tracking_id)
        self.post(client, where, text, blocks)

    def refuse(self, client: WebClient, where: Where, text: str, *, kind: str) -> None:
        """Tell the person (only them) what is refused; count and log it. Never raises."""
        self._metrics.rejection(kind)
        log.info("request_refused_by_policy", kind=kind)
        self.private(client, where, text)

    def private(self, client: WebClient, where: Where, text: str, blocks: list[Block] | None = None) -> None:
        """Tell the person only: an ephemeral message (in the thread, once there is one), or
        ``where.say`` before there is a thread (a command's ``response_url``); never raises."""
        if where.say is not None and where.thread_ts is None:
            where.say(text)
            return
        if not where.channel or not where.user:
            return
        try:
            client.chat_postEphemeral(
                channel=where.channel, user=where.user, text=text, blocks=blocks, thread_ts=where.thread_ts
            )
        except SlackApiError as error:
            log.warning("ephemeral_failed", error=str(error.response.get("error")))

    def post(self, client: WebClient, where: Where, text: str, blocks: list[Block]) -> None:
        """Post in the thread (or the channel); never raises."""
        if not where.channel:
            return
        try:
            client.chat_postMessage(
                channel=where.channel, thread_ts=where.thread_ts, text=text, blocks=blocks
            )
        except SlackApiError as slack_error:
            log.error("error_report_failed", error=str(slack_error.response.get("error")))


def tell_notices(client: WebClient, *, channel: str, thread_ts: str, notices: Sequence[Notice]) -> None:
    """Say the notices (files not read, a thread read in part...) in the thread, in one message.

    Never raises: the answer still comes."""
    if not notices:
        return
    from bot.core.notices import notices_text  # with the file rules: not on a cold start's first ack

    text = notices_text(notices)
    try:
        client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text=text,
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}],
        )
    except SlackApiError as error:
        log.warning("notice_not_posted", error=str(error.response.get("error")))
    log.info("notices_told", kinds=",".join(sorted({n.kind for n in notices})))
