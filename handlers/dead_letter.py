"""The Slack function's ``onFailure`` destination: keeps ids and the error kind, never message text.

Lambda hands a failed asynchronous invocation (a lazy answer that failed after its retry, or was too
old to run) to this function as an invocation record holding the whole Slack request. This function
forwards only :func:`bot.adapters.dead_letter.summarize`'s fields to the dead-letter queue
(``DEAD_LETTER_QUEUE_URL``), where the ``async-dlq-not-empty`` alarm sees it. It imports neither Bolt
nor the bot's services: nothing here can fail on configuration.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import boto3

from bot.adapters.dead_letter import forward
from bot.logging import configure_logging, get_logger

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

log = get_logger("handlers.dead_letter")

_sqs: SQSClient | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Forward the summary of one failed invocation; raise (so Lambda retries) if SQS refuses it."""
    global _sqs  # noqa: PLW0603 - one client per container
    configure_logging(json=True, level=os.environ.get("LOG_LEVEL", "INFO"))
    if _sqs is None:
        _sqs = boto3.client("sqs")
    summary = forward(event, queue_url=os.environ["DEAD_LETTER_QUEUE_URL"], sqs=_sqs)
    log.warning(
        "lazy_invocation_failed",
        condition=summary["condition"],
        error_type=summary["error_type"],
        slack_kind=summary["slack"].get("kind"),
        event_id=summary["slack"].get("event_id"),
        channel=summary["slack"].get("channel"),
        thread_ts=summary["slack"].get("thread_ts"),
    )
    return {"forwarded": True}


def reset() -> None:
    """Drop the SQS client (tests)."""
    global _sqs  # noqa: PLW0603
    _sqs = None
