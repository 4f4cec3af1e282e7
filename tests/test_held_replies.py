"""Held replies: the queue message carries ids only and refuses anything else; both queues hand back."""

from __future__ import annotations

import json
import threading

import boto3
import pytest
from moto import mock_aws

from bot.adapters.held_replies import LocalHeldReplies, SqsHeldReplies
from bot.core.held import HeldReply
from bot.errors import HoldUnavailableError

IDS = {"team_id": "T1", "channel_id": "C1", "thread_ts": "1", "message_ts": "2"}
REPLY = HeldReply(
    team_id="T1", channel_id="C1", thread_ts="1.000100", message_ts="2.000200", user_id="U1", notice_ts="3.0"
)


def test_a_held_reply_round_trips_through_its_queue_body() -> None:
    """What goes on the queue comes back the same, one attempt later when held again."""
    assert HeldReply.from_json(REPLY.to_json()) == REPLY
    assert HeldReply.from_json(REPLY.again().to_json()).attempts == 1


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"team_id": "T1", "channel_id": "C1", "thread_ts": "1.0"}),  # no message ts
        json.dumps({"team_id": "T1", "channel_id": "C1", "thread_ts": "1.0", "message_ts": ""}),
        json.dumps(
            {"team_id": "T1", "channel_id": "C1", "thread_ts": "1", "message_ts": "2", "attempts": -1}
        ),
        json.dumps({"team_id": "T1", "channel_id": "C1", "thread_ts": "1", "message_ts": "2", "user_id": 5}),
    ],
)
def test_a_body_that_is_not_a_held_reply_is_refused(body: str) -> None:
    """A forged or broken queue message is refused with ValueError (the handler drops it, logged)."""
    with pytest.raises(ValueError, match="held reply"):
        HeldReply.from_json(body)


def test_the_local_queue_hands_the_reply_back_after_the_delay() -> None:
    """Locally a timer thread gives the held reply to the catch-up."""
    got: list[HeldReply] = []
    done = threading.Event()
    queue = LocalHeldReplies(lambda reply: (got.append(reply), done.set()))
    queue.hold(REPLY, delay_s=0)
    assert done.wait(30)
    assert got == [REPLY]


def test_the_local_queue_without_a_catch_up_refuses_to_hold() -> None:
    """Nothing bound to hand the reply back to: the reply is refused, never silently dropped."""
    with pytest.raises(HoldUnavailableError):
        LocalHeldReplies().hold(REPLY, delay_s=0)


def test_sqs_keeps_ids_only_and_a_missing_queue_is_refused() -> None:
    """On SQS the message body is the reply's ids; a queue that is not there raises HoldUnavailableError."""
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="held")["QueueUrl"]
        SqsHeldReplies(url, sqs).hold(REPLY, delay_s=0)
        [message] = sqs.receive_message(QueueUrl=url)["Messages"]
        assert HeldReply.from_json(message["Body"]) == REPLY
        with pytest.raises(HoldUnavailableError):
            SqsHeldReplies(url + "-gone", sqs).hold(REPLY, delay_s=0)
