"""Held replies' queues: SQS on Lambda (boto3), a timer thread in a local process.

On Lambda the queue is ``HELD_REPLIES_QUEUE_URL`` (serverless.yml creates it). A held reply is one
message with its Slack ids (never text) and ``DelaySeconds`` up to SQS's 15 minutes; the Slack
function consumes the queue (an SQS event source, one message per batch) and catches the thread up,
or holds the reply again, one attempt later, while the store is still away.

Locally (``architect-bot run``, the playground, tests without SQS) a daemon timer thread hands the
reply back to the same catch-up after the delay: nothing survives the process, as nothing of a local
in-memory run does.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.core.held import HeldReply
from bot.errors import HoldUnavailableError
from bot.logging import get_logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

log = get_logger("bot.adapters.held_replies")

SQS_MAX_DELAY_S = 900
"""SQS's longest ``DelaySeconds``."""


class SqsHeldReplies:
    """Held replies as SQS messages (ids only); ``DelaySeconds`` schedules the next catch-up."""

    def __init__(self, queue_url: str, client: SQSClient | None = None) -> None:
        self._queue_url = queue_url
        self._client = client
        self._lock = threading.Lock()

    def _sqs(self) -> SQSClient:
        with self._lock:
            if self._client is None:
                import boto3  # only when a reply is held: never on the ack path

                self._client = boto3.client("sqs")
            return self._client

    def hold(self, reply: HeldReply, *, delay_s: float) -> None:
        """Send the reply's ids to the queue, to come back after ``delay_s`` (at most 15 minutes)."""
        from botocore.exceptions import BotoCoreError, ClientError

        delay = max(0, min(SQS_MAX_DELAY_S, round(delay_s)))
        try:
            self._sqs().send_message(
                QueueUrl=self._queue_url, MessageBody=reply.to_json(), DelaySeconds=delay
            )
        except (BotoCoreError, ClientError) as error:
            log.error("held_reply_not_queued", error=type(error).__name__, attempts=reply.attempts)
            raise HoldUnavailableError(type(error).__name__) from error
        log.info("held_reply_queued", attempts=reply.attempts, delay_s=delay)


class LocalHeldReplies:
    """Held replies on daemon timer threads of this process, handed to ``deliver`` after the delay."""

    def __init__(self, deliver: Callable[[HeldReply], None] | None = None) -> None:
        self._deliver = deliver

    def bind(self, deliver: Callable[[HeldReply], None]) -> None:
        """Set where replies go back to (the catch-up), once the Slack side is built."""
        self._deliver = deliver

    def hold(self, reply: HeldReply, *, delay_s: float) -> None:
        """Start a timer that hands ``reply`` back after ``delay_s``."""
        deliver = self._deliver
        if deliver is None:
            raise HoldUnavailableError("no catch-up bound to the local held-replies queue")
        timer = threading.Timer(max(0.0, delay_s), deliver, args=(reply,))
        timer.daemon = True
        timer.name = "held-reply"
        timer.start()
        log.info("held_reply_kept_locally", attempts=reply.attempts, delay_s=delay_s)
