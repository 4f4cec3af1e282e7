"""The held-replies queue for end-to-end tests: moto's SQS queue the bot holds replies on while Redis is
away, drained and handed back as Lambda's event source does. Used by ``tests/test_outage_held.py`` and
``tests/test_logs_no_leak.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws


@pytest.fixture
def queue(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, str]]:
    """A moto SQS queue the bot holds replies on (set before the bot's cold start)."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="architect-bot-test-held-replies")["QueueUrl"]
        monkeypatch.setenv("HELD_REPLIES_QUEUE_URL", url)
        monkeypatch.setenv("HELD_REPLY_RETRY_S", "0")
        yield sqs, url


def drain(sqs: Any, url: str) -> list[dict[str, Any]]:
    """Every message waiting on the queue, removed from it (as the event source does)."""
    out: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        out.extend(batch)
    return out


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """An SQS event source batch, as Lambda hands it to the function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {"ApproximateReceiveCount": "1"},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:architect-bot-test-held-replies",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }
