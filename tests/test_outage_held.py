"""Replies during a Redis outage longer than the hold: nothing is lost, nobody is asked to resend.

A real Redis-protocol server (tests/redis_server.py) is paused with its data kept (a failover, a node
replaced with its snapshot, a partition) for longer than ``STORE_OUTAGE_RETRY_S`` (0 here: the hold
is over at once). Each reply is then held on the held-replies queue (SQS, by moto) with its Slack ids
only; once Redis is back, the queue's messages go through the production Lambda handler as the SQS
event source delivers them, and the thread is caught up from Slack and answered once.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, OTHER_USER, TEAM, Bot
from tests.held_queue import drain, sqs_event
from tests.redis_server import OwnServer

HOLDING = "holding on to your message"
STILL_AWAY = "still away"
RESEND = "send it again"
RECOVERED = "My conversation storage is back: your message is kept and answered below."


def _storage_notices(slackbot: Bot, root: str) -> list[str]:
    return [m.text for m in slackbot.slack.thread(CHANNEL, root) if "storage" in m.text]


def _review(slackbot: Bot, redis: OwnServer, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REDIS_URL", redis.url)
    slackbot.openai.script(Stream(["Backend: token bucket."]))
    slackbot.command("review a rate limiter")
    slackbot.lazy()
    return slackbot.root().ts


def test_two_replies_in_a_long_outage_are_answered_once_in_order_when_redis_is_back(
    slackbot: Bot, own_redis: OwnServer, queue: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two people reply while Redis is away for longer than the hold: the thread is told once that the
    answer will come (nobody is asked to resend); when Redis is back with its data, one answer comes
    whose prompt holds both replies, in order, once, and the notice says the storage is back."""
    sqs, url = queue
    root = _review(slackbot, own_redis, monkeypatch)
    answers_before = len(slackbot.answers(root))

    own_redis.pause()
    slackbot.message("what about burst limits?", thread_ts=root, user=OTHER_USER)
    slackbot.lazy()
    slackbot.message("and per-tenant quotas?", thread_ts=root)
    slackbot.lazy()

    notices = _storage_notices(slackbot, root)
    assert len(notices) == 1, notices  # told once, for both replies
    assert STILL_AWAY in notices[0]
    assert "no need to send it again" in notices[0]
    assert RESEND + " in a few minutes" not in notices[0]
    held = drain(sqs, url)
    assert len(held) == 2
    for message in held:  # ids only: the thread is the record, the queue never holds the text
        body = json.loads(message["Body"])
        assert set(body) >= {"team_id", "channel_id", "thread_ts", "message_ts"}
        assert "burst" not in message["Body"]
        assert "quotas" not in message["Body"]
        assert body["team_id"] == TEAM

    own_redis.resume()
    calls = len(slackbot.openai.requests)
    slackbot.openai.script(Stream(["Backend: a second bucket for bursts, one bucket per tenant."]))
    result = slackbot.send(sqs_event(held))

    assert result == {"batchItemFailures": []}
    assert len(slackbot.openai.requests) == calls + 1  # one answer for both replies
    answers = slackbot.answers(root)
    assert len(answers) == answers_before + 1
    assert answers[-1].markdown() == "Backend: a second bucket for bursts, one bucket per tenant."
    joined = "\n".join(slackbot.openai.requests[-1].texts())
    assert joined.count("what about burst limits?") == 1
    assert joined.count("and per-tenant quotas?") == 1
    assert joined.index("what about burst limits?") < joined.index("and per-tenant quotas?")
    assert f"<@{OTHER_USER}>: what about burst limits?" in joined
    assert _storage_notices(slackbot, root) == [RECOVERED]


def test_a_held_reply_while_redis_is_still_away_is_held_again_one_attempt_later(
    slackbot: Bot, own_redis: OwnServer, queue: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The queue hands a held reply back while Redis is still away: it goes back on the queue, one
    attempt later, nothing is answered and the thread is not told again."""
    sqs, url = queue
    root = _review(slackbot, own_redis, monkeypatch)
    own_redis.pause()
    slackbot.message("what about burst limits?", thread_ts=root, user=OTHER_USER)
    slackbot.lazy()
    [held] = drain(sqs, url)
    calls = len(slackbot.openai.requests)

    assert slackbot.send(sqs_event([held])) == {"batchItemFailures": []}

    [again] = drain(sqs, url)
    assert json.loads(again["Body"])["attempts"] == json.loads(held["Body"])["attempts"] + 1
    assert len(slackbot.openai.requests) == calls
    assert len(_storage_notices(slackbot, root)) == 1
    own_redis.resume()


def test_a_held_reply_past_its_last_attempt_is_given_up_and_the_thread_told(
    slackbot: Bot, own_redis: OwnServer, queue: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """After HELD_REPLY_MAX_ATTEMPTS checks with Redis still away, the reply is given up: the notice
    says so plainly and how to get an answer (the message is still in the thread)."""
    sqs, url = queue
    monkeypatch.setenv("HELD_REPLY_MAX_ATTEMPTS", "1")
    root = _review(slackbot, own_redis, monkeypatch)
    own_redis.pause()
    slackbot.message("what about burst limits?", thread_ts=root, user=OTHER_USER)
    slackbot.lazy()
    held = drain(sqs, url)

    slackbot.send(sqs_event(held))

    assert drain(sqs, url) == []
    [notice] = _storage_notices(slackbot, root)
    assert "gave up" in notice
    assert "still in this thread" in notice
    own_redis.resume()


def test_without_a_queue_to_hold_it_the_reply_is_refused_plainly(
    slackbot: Bot, own_redis: OwnServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On Lambda with no held-replies queue (or one that refuses), the person is told plainly that the
    message was not kept and to send it again: the bot never promises an answer it cannot give."""
    root = _review(slackbot, own_redis, monkeypatch)
    own_redis.pause()
    slackbot.message("what about burst limits?", thread_ts=root, user=OTHER_USER)
    slackbot.lazy()

    [notice] = _storage_notices(slackbot, root)
    assert "was not kept" in notice
    assert RESEND in notice
    own_redis.resume()


def test_a_handoff_click_during_the_outage_is_told_to_try_again_and_changes_nothing(
    slackbot: Bot, own_redis: OwnServer, queue: tuple[Any, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A handoff button (send: true) clicked while Redis is away is told to try again; once Redis is
    back the same click hands the thread over (nothing was half-done: the old agent still owned it)."""
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    slackbot.openai.script(Stream(["Director: token bucket per tenant."]))
    slackbot.command("director design a rate limiter")
    slackbot.lazy()
    root = slackbot.root().ts
    answer = slackbot.answers(root)[-1]
    own_redis.pause()
    calls = len(slackbot.openai.requests)
    slackbot.click(answer, "➡ Backend / infra review")
    slackbot.lazy()
    said = [m.text for m in slackbot.slack.thread(CHANNEL, root)]
    said += [str(e.get("text")) for e in slackbot.slack.ephemeral]
    assert any("can't reach my conversation storage" in t and "try again" in t for t in said), said
    assert len(slackbot.openai.requests) == calls
    own_redis.resume()

    slackbot.openai.script(Stream(["Backend: Redis INCR with TTL."]))
    slackbot.click(answer, "➡ Backend / infra review")
    slackbot.lazy()
    assert len(slackbot.openai.requests) == calls + 1
    assert slackbot.answers(root)[-1].markdown() == "Backend: Redis INCR with TTL."
