"""The dead-letter queue keeps ids and the error kind of a failed lazy run, never what people wrote."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import boto3
import pytest
from moto import mock_aws

from bot.adapters.dead_letter import forward, summarize
from tests.harness import api_gateway_event

SECRET_TEXT = "our Q3 acquisition target is ACME"
RESPONSE_URL = "https://hooks.slack.com/commands/T1/123/secretcapability"


def invocation_record(request_event: dict[str, Any]) -> dict[str, Any]:
    """What Lambda sends to an onFailure destination after the last retry (AWS's documented shape)."""
    return {
        "version": "1.0",
        "timestamp": "2024-06-01T12:00:00.000Z",
        "requestContext": {
            "requestId": "c3c1b1e4-0000-4a2b-9f3e-1b2c3d4e5f60",
            "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:architect-bot-prod-slack:$LATEST",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 2,
        },
        "requestPayload": request_event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {
            "errorMessage": f"Task timed out while answering: {SECRET_TEXT}",
            "errorType": "Sandbox.Timedout",
            "stackTrace": [f'  File "x.py", line 1, in answer\n    text = "{SECRET_TEXT}"'],
        },
    }


def reply_event() -> dict[str, Any]:
    """A lazy re-invocation of a thread reply, as Bolt sends it to itself."""
    body = json.dumps(
        {
            "team_id": "T1",
            "type": "event_callback",
            "event_id": "Ev0123ABCD",
            "event": {
                "type": "message",
                "channel": "C0DESIGN",
                "user": "U0ALICE",
                "text": SECRET_TEXT,
                "ts": "1717243200.000200",
                "thread_ts": "1717243100.000100",
                "blocks": [{"type": "rich_text", "elements": [{"type": "text", "text": SECRET_TEXT}]}],
            },
        }
    )
    event = api_gateway_event(body, content_type="application/json")
    event["headers"]["x-slack-bolt-lazy-only"] = "1"
    return event


def command_event() -> dict[str, Any]:
    """A lazy re-invocation of `/architect review <secret>`."""
    body = urlencode(
        {
            "team_id": "T1",
            "channel_id": "C0DESIGN",
            "user_id": "U0ALICE",
            "command": "/architect",
            "text": f"review {SECRET_TEXT}",
            "response_url": RESPONSE_URL,
            "trigger_id": "1337.42.abcdef",
        }
    )
    return api_gateway_event(body, content_type="application/x-www-form-urlencoded")


def modal_event() -> dict[str, Any]:
    """A submitted handoff modal whose prompt holds text."""
    payload = {
        "type": "view_submission",
        "team": {"id": "T1"},
        "user": {"id": "U0ALICE"},
        "view": {
            "id": "V0123",
            "callback_id": "handoff_modal",
            "private_metadata": SECRET_TEXT,
            "state": {"values": {"b": {"a": {"value": SECRET_TEXT}}}},
        },
    }
    return api_gateway_event(
        urlencode({"payload": json.dumps(payload)}), content_type="application/x-www-form-urlencoded"
    )


@pytest.mark.parametrize(
    ("event", "slack"),
    [
        (reply_event(), {"kind": "message", "event_id": "Ev0123ABCD", "team": "T1", "channel": "C0DESIGN",
                         "user": "U0ALICE", "ts": "1717243200.000200", "thread_ts": "1717243100.000100"}),
        (command_event(), {"kind": "command", "team": "T1", "channel": "C0DESIGN", "user": "U0ALICE",
                           "command": "/architect"}),
        (modal_event(), {"kind": "view_submission", "team": "T1", "user": "U0ALICE",
                         "callback_id": "handoff_modal"}),
    ],
)  # fmt: skip
def test_summary_keeps_ids_and_error_kind_only(event: dict[str, Any], slack: dict[str, str]) -> None:
    """An operator can find the thread and the error kind; the message text, prompt and links are gone."""
    summary = summarize(invocation_record(event))
    assert summary == {
        "timestamp": "2024-06-01T12:00:00.000Z",
        "condition": "RetriesExhausted",
        "approximate_invoke_count": 2,
        "lambda_request_id": "c3c1b1e4-0000-4a2b-9f3e-1b2c3d4e5f60",
        "error_type": "Sandbox.Timedout",
        "slack": slack,
    }
    dumped = json.dumps(summary)
    for leak in (SECRET_TEXT, "acquisition", "hooks.slack.com", "v0=", "stackTrace"):
        assert leak not in dumped


def test_a_record_that_is_not_slacks_keeps_only_what_is_id_shaped() -> None:
    """A garbled or foreign record still gives a summary, with no free text in it."""
    summary = summarize({"requestContext": {"condition": "EventAgeExceeded", "requestId": "has spaces in it"},
                         "requestPayload": {"body": "not json at all", "isBase64Encoded": True}})  # fmt: skip
    assert summary["condition"] == "EventAgeExceeded"
    assert summary["lambda_request_id"] is None
    assert summary["slack"] == {}


@pytest.fixture
def sqs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A moto SQS queue."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_DEFAULT_REGION": "eu-west-1"}.items():  # fmt: skip
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL_SQS", raising=False)
    with mock_aws():
        yield boto3.client("sqs", region_name="eu-west-1")


def test_forward_puts_only_the_summary_on_the_queue(sqs: Any) -> None:
    """What lands in the dead-letter queue (kept 14 days) has the ids, not the text."""
    url = sqs.create_queue(QueueName="architect-bot-test-async-dlq")["QueueUrl"]
    forward(invocation_record(reply_event()), queue_url=url, sqs=sqs)
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    assert SECRET_TEXT not in messages[0]["Body"]
    assert json.loads(messages[0]["Body"])["slack"]["event_id"] == "Ev0123ABCD"


def test_the_destination_function_forwards_the_summary(sqs: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """The onFailure function (handlers/dead_letter.handler) puts ids on the queue, and logs no text."""
    from handlers import dead_letter

    url = sqs.create_queue(QueueName="architect-bot-test-async-dlq")["QueueUrl"]
    monkeypatch.setenv("DEAD_LETTER_QUEUE_URL", url)
    dead_letter.reset()
    assert dead_letter.handler(invocation_record(command_event()), None) == {"forwarded": True}
    body = sqs.receive_message(QueueUrl=url)["Messages"][0]["Body"]
    assert json.loads(body)["slack"] == {"kind": "command", "team": "T1", "channel": "C0DESIGN",
                                         "user": "U0ALICE", "command": "/architect"}  # fmt: skip
    assert SECRET_TEXT not in body
    assert "secretcapability" not in body
    dead_letter.reset()
