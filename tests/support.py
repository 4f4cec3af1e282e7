"""Small helpers shared by the tests: free ports, waiting for a started server, moving Redis's expiry
time, and the Slack API emulator's fixtures (a private Redis server: tests/redis_server.py).

The one fake clock is :class:`bot.core.ports.FixedClock` (the ``clock`` fixture here): it moves only when a
test calls ``advance``; stores, quotas, writers and the emulator all take it (the emulator its
``monotonic``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest
import redis

from bot.core.ports import FixedClock
from tests.redis_server import free_port

__all__ = ["READER_TOKEN", "age_redis_keys", "far", "free_port", "refusal", "wait_until"]

if TYPE_CHECKING:
    from slack_sdk import WebClient

    from bot.playground.slack_api import SlackApiServer
    from bot.playground.workspace import Workspace
    from tests.fakes.slack_server import FakeSlack


def wait_until(
    ready: Callable[[], bool], *, what: str, timeout_s: float = 10.0, step_s: float = 0.05
) -> None:
    """Poll ``ready`` until it is true (a server this test started accepts connections); fail the test
    with ``what`` did not start after ``timeout_s``. For processes and threads, never for the bot's time:
    the bot's time is a :class:`FixedClock`."""
    deadline = time.monotonic() + timeout_s
    while not ready():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} did not start")
        time.sleep(step_s)


def far(seconds: float = 30.0) -> float:
    """A deadline ``seconds`` away on the real monotonic clock (for adapters that run on real time)."""
    return time.monotonic() + seconds


# ----------------------------------------------------------------------------------------- Redis


#: Lua: age every key under a prefix by ARGV[1] milliseconds (keys whose time is up are deleted), as if
#: that much time had passed on the server. Keys without a time to live are left as they are.
_AGE_KEYS = """
local cursor, aged = "0", 0
repeat
  local page = redis.call("SCAN", cursor, "MATCH", ARGV[2], "COUNT", 500)
  cursor = page[1]
  for _, key in ipairs(page[2]) do
    local left = redis.call("PTTL", key)
    if left >= 0 then
      if left <= tonumber(ARGV[1]) then
        redis.call("DEL", key)
      else
        redis.call("PEXPIRE", key, left - ARGV[1])
      end
      aged = aged + 1
    end
  end
until cursor == "0"
return aged
"""


def age_redis_keys(client: redis.Redis, prefix: str, seconds: float) -> None:
    """Let ``seconds`` pass for the expiry of this test's keys (only those under ``prefix``): what a
    real sleep of that long would do to them, without sleeping. The server's clock is the one Redis
    expires keys by, so this is how a test moves it."""
    pattern = "".join(f"\\{c}" if c in "*?[]\\" else c for c in prefix) + ":*"
    client.eval(_AGE_KEYS, 0, str(round(seconds * 1000)), pattern)


# ------------------------------------------------------------------------- the Slack API emulator

READER_TOKEN = "xoxb-reader-test-token"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    """The fake Slack over HTTP with the bot token ``READER_TOKEN`` (for the adapters that read from it)."""
    from tests.fakes.slack_server import FakeSlack

    with FakeSlack() as fake:
        fake.workspace.bot_token = READER_TOKEN
        yield fake


@pytest.fixture
def clock() -> FixedClock:
    """The suite's fake clock, moved only by the test (``clock.advance(s)``)."""
    return FixedClock()


@pytest.fixture
def server(workspace: Workspace) -> Iterator[SlackApiServer]:
    """The Slack API emulator serving the test module's ``workspace`` on a free local port."""
    from bot.playground.slack_api import SlackApiServer

    running = SlackApiServer(workspace)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def client(server: SlackApiServer) -> WebClient:
    """slack_sdk's client pointed at the emulator by base URL (as the bot is), with the bot's token."""
    from slack_sdk import WebClient

    return WebClient(token=server.workspace.bot_token, base_url=server.url + "/api/")


def refusal(call: Callable[[], Any]) -> tuple[str, list[str]]:
    """The error Slack answers ``call`` with, and the messages of its ``response_metadata``."""
    from slack_sdk.errors import SlackApiError

    with pytest.raises(SlackApiError) as raised:
        call()
    response = raised.value.response
    return str(response["error"]), list((response.get("response_metadata") or {}).get("messages") or [])
