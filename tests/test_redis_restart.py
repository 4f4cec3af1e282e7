"""A real redis-server restarted empty in the middle of a conversation: the thread is not lost.

The test runs its own redis-server on a free port (no persistence, like a cache node that restarts
empty) and stops it between two turns. Messages written while it is down are told to try again;
once it is back, the next reply is answered by the thread's current agent (after a handoff) with
every earlier turn, the outage-time messages included, read back from Slack.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, OTHER_USER, Bot


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class OwnRedis:
    """A redis-server this test starts, stops and starts again (empty) on the same port."""

    binary: str
    port: int
    workdir: str
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        self.process = subprocess.Popen(
            [self.binary, *args, "--dir", self.workdir],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.5)
        for _ in range(200):  # up to 10 s for the server to accept connections
            try:
                if client.ping():
                    return
            except redis.RedisError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def keys(self) -> int:
        return int(redis.Redis.from_url(self.url).dbsize())

    def pause(self) -> None:
        """Take the server away without losing its data (a blip, a failover that keeps data):
        SHUTDOWN SAVE writes dump.rdb, which :meth:`resume` loads again."""
        assert self.process is not None
        with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it exits
            redis.Redis.from_url(self.url).shutdown(save=True)
        self.process.wait(timeout=30)
        self.process = None

    def resume(self) -> None:
        """Start the server again on the same port, with the data it had."""
        self.start()


@pytest.fixture
def own_redis() -> Iterator[OwnRedis]:
    """A private redis-server for this test only."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("redis-server is not installed")
    server = OwnRedis(binary, _free_port(), tempfile.mkdtemp(prefix="ab-restart-"))
    server.start()
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.workdir, ignore_errors=True)


def _contents(slackbot: Bot) -> list[str]:
    out = []
    for message in slackbot.openai.requests[-1].messages:
        content: Any = message["content"]
        out.append(content if isinstance(content, str) else " ".join(p.get("text", "") for p in content))
    return out


def test_redis_restarted_empty_mid_conversation(
    slackbot: Bot, own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch
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
    contents = _contents(slackbot)
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
    slackbot: Bot, own_redis: OwnRedis, monkeypatch: pytest.MonkeyPatch
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
    assert "what about burst limits?" in _contents(slackbot)[-1]
    notices = [m.text for m in slackbot.slack.thread(CHANNEL, root) if "storage" in m.text]
    assert notices == ["My conversation storage is back: your message is kept and answered below."]
