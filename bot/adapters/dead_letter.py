"""The dead-letter queue keeps what is needed to diagnose a failed lazy invocation, never message text.

Lambda sends an asynchronous invocation that failed for good (retries exhausted, or too old) to its
``onFailure`` destination as an *invocation record* holding the whole original event: the Slack
request body with the message text, the ``response_url`` (a capability to post for 30 minutes), the
signature headers, and the error message and stack trace (which may quote text too). The
destination is therefore a small function (``handlers/dead_letter.handler``) that reduces the record
to :func:`summarize`'s ids and error kind and sends only that to the SQS queue, which alarms.

Kept: when, why (``condition``: ``RetriesExhausted`` / ``EventAgeExceeded``), how often it ran,
the Lambda request id, the error *type* (a class name), and the Slack ids (kind of request,
``event_id``, team, channel, user, message / thread ``ts``, ``action_id``, ``callback_id``, the
command name). Dropped: everything else.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

_ID = re.compile(r"^[A-Za-z0-9._:/\-]{1,255}$")
"""What a kept value may look like: Slack ids, ts values, action ids, class names."""


def _id(value: Any) -> str | None:
    """``value`` when it is id-shaped (no spaces, no free text), else None."""
    if isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value)
        if _ID.match(text):
            return text
    return None


def _slack_body(event: Any) -> dict[str, Any]:
    """The Slack request inside an API Gateway event, parsed (empty when it is not one)."""
    if not isinstance(event, dict) or not isinstance(event.get("body"), str):
        return {}
    text: str = event["body"]
    if event.get("isBase64Encoded"):
        try:
            text = base64.b64decode(text, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return {}
    try:
        if text.startswith("{"):
            parsed = json.loads(text)
        else:
            params = dict(parse_qsl(text, keep_blank_values=True))
            parsed = json.loads(params["payload"]) if "payload" in params else params
    except (ValueError, KeyError):
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _dig(body: dict[str, Any], *paths: str) -> str | None:
    for path in paths:
        value: Any = body
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        found = _id(value)
        if found is not None:
            return found
    return None


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def summarize(record: dict[str, Any]) -> dict[str, Any]:
    """The diagnosable part of a Lambda invocation record: ids and error kind, no text."""
    context = _mapping(record.get("requestContext"))
    response = _mapping(record.get("responsePayload"))
    body = _slack_body(record.get("requestPayload"))
    event = _mapping(body.get("event"))
    actions = body.get("actions") if isinstance(body.get("actions"), list) else []
    kind = "command" if body.get("command") else _id(event.get("type")) or _id(body.get("type"))
    slack = {
        "kind": kind,
        "event_id": _dig(body, "event_id"),
        "team": _dig(body, "team_id", "team.id", "user.team_id"),
        "channel": _dig(body, "channel_id", "channel.id", "container.channel_id")
        or _id(event.get("channel")),
        "user": _dig(body, "user_id", "user.id") or _id(event.get("user")),
        "ts": _id(event.get("ts")) or _dig(body, "container.message_ts", "message.ts"),
        "thread_ts": _id(event.get("thread_ts")) or _dig(body, "container.thread_ts", "message.thread_ts"),
        "action_id": _id(actions[0].get("action_id")) if actions and isinstance(actions[0], dict) else None,
        "callback_id": _dig(body, "callback_id", "view.callback_id"),
        "command": _id(body.get("command")),
    }
    return {
        "timestamp": _id(record.get("timestamp")),
        "condition": _id(context.get("condition")),
        "approximate_invoke_count": context.get("approximateInvokeCount")
        if isinstance(context.get("approximateInvokeCount"), int)
        else None,
        "lambda_request_id": _id(context.get("requestId")),
        "error_type": _id(response.get("errorType")),
        "slack": {key: value for key, value in slack.items() if value is not None},
    }


def forward(record: dict[str, Any], *, queue_url: str, sqs: SQSClient) -> dict[str, Any]:
    """Send the record's summary (never its text) to the dead-letter queue; returns what was sent."""
    summary = summarize(record)
    sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(summary, separators=(",", ":")))
    return summary
