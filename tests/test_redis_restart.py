"""A real redis-server restarted empty in the middle of a conversation: the thread is not lost.

The test runs its own redis-server on a free port (no persistence, like a cache node that restarts
empty) and stops it between two turns. Messages written while it is down are told to try again;
once it is back, the next reply is answered by the thread's current agent (after a handoff) with
every earlier turn, the outage-time messages included, read back from Slack.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, OTHER_USER, Bot
from tests.redis_server import OwnServer


def test_redis_restarted_empty_mid_conversation(
    slackbot: Bot, own_redis: OwnServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a handoff, Redis restarts empty; a message sent during the outage is told to retry; the
    next reply is answered by the backend builder with the whole thread, the outage message included."""
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    slackbot.openai.script(Stream(["Director: token bucket per tenant."]))
    slackbot.command("director design a rate limiter")
    slackbot.lazy()
    root = slackbot.root().ts
    slackbot.openai.script(Stream(["Backend: Redis INCR with TTL."]))
    slackbot.click(slackbot.answers(root)[-1], "➡ Backend / infra review")  # send: true
    slackbot.lazy()
    assert slackbot.answers(root)[-1].markdown() == "Backend: Redis INCR with TTL."
    assert own_redis.keys() > 0

    own_redis.stop()
    slackbot.message("what about burst limits?", thread_ts=root, user=OTHER_USER)
    slackbot.lazy()
    told = [m.text for m in slackbot.slack.thread(CHANNEL, root) if not m.markdown()]
    assert any("can't reach my conversation storage" in t for t in told)

    own_redis.start()
    assert own_redis.keys() == 0  # restarted empty
    calls = len(slackbot.openai.requests)
    slackbot.openai.script(Stream(["Backend: bursts via a second bucket."]))
    slackbot.message("so?", thread_ts=root)
    slackbot.lazy()
    assert len(slackbot.openai.requests) == calls + 1
    assert slackbot.answers(root)[-1].markdown() == "Backend: bursts via a second bucket."
    contents = slackbot.openai.requests[-1].texts()
    assert "ruthless backend" in contents[0]  # the backend builder's instructions: the current agent
    joined = "\n".join(contents)
    assert "design a rate limiter" in joined
    assert "[answer by director]\nDirector: token bucket per tenant." in joined
    assert "Backend: Redis INCR with TTL." in joined
    assert "Take the system design in this thread" in joined  # the handoff's prompt
    assert f"<@{OTHER_USER}>: what about burst limits?" in joined  # written while Redis was down
    assert contents[-1].endswith("so?")
    assert own_redis.keys() > 0  # the conversation is kept again


def test_message_sent_during_a_short_outage_is_kept_and_answered(
    slackbot: Bot, own_redis: OwnServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Redis is unreachable for a moment (and comes back with its data): the person is told the bot
    holds on to their message, and once Redis is back the message is stored and answered, with
    nothing to retype."""
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    monkeypatch.setenv("STORE_OUTAGE_RETRY_S", "120")
    slackbot.openai.script(Stream(["Backend: token bucket."]))
    slackbot.command("review a rate limiter")
    slackbot.lazy()
    root = slackbot.root().ts

    own_redis.pause()  # refuses connections; the data stays
    slackbot.message("what about burst limits?", thread_ts=root, user=OTHER_USER)
    [invocation] = slackbot.aws_lambda.take()
    slackbot.openai.script(Stream(["Backend: a second bucket for bursts."]))
    lazy = threading.Thread(target=slackbot.send, args=(invocation["payload"],))
    lazy.start()
    for _ in range(600):  # the notice comes first (up to 60 s on a very busy machine)
        if any("holding on to your message" in m.text for m in slackbot.slack.thread(CHANNEL, root)):
            break
        time.sleep(0.1)
    else:
        pytest.fail("no outage notice")
    own_redis.resume()
    lazy.join(120)
    assert not lazy.is_alive()

    assert slackbot.answers(root)[-1].markdown() == "Backend: a second bucket for bursts."
    assert "what about burst limits?" in slackbot.openai.requests[-1].texts()[-1]
    notices = [m.text for m in slackbot.slack.thread(CHANNEL, root) if "storage" in m.text]
    assert notices == ["My conversation storage is back: your message is kept and answered below."]
