"""Forged requests, outages, long answers and Slack's limits, end to end."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest

from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, ROOT, Bot, api_gateway_event, sign


def test_forged_and_stale_signatures_are_rejected(slackbot: Bot) -> None:
    """A wrong signature or a request older than 5 minutes gets 401 and does nothing."""
    good = slackbot.command_event("review x")
    forged = dict(good, headers={**good["headers"], "x-slack-signature": "v0=" + "0" * 64})
    assert slackbot.send(forged)["statusCode"] == 401
    old = int(time.time()) - 6 * 60
    stale = api_gateway_event(good["body"], content_type="application/x-www-form-urlencoded", timestamp=old)
    assert stale["headers"]["x-slack-signature"] == sign(good["body"], old)  # correctly signed, just old
    assert slackbot.send(stale)["statusCode"] == 401
    wrong_secret = api_gateway_event(
        good["body"],
        content_type="application/x-www-form-urlencoded",
        signature=sign(good["body"], int(time.time()), secret="not-the-secret"),
    )
    assert slackbot.send(wrong_secret)["statusCode"] == 401
    assert slackbot.aws_lambda.take() == []
    assert slackbot.slack.calls == []


def test_long_answer_is_split_never_cut(slackbot: Bot) -> None:
    """An answer over 40,000 characters arrives whole, across messages within Slack's limits."""
    paragraph = "Lorem ipsum dolor sit amet, consectetur adipiscing elit. " * 20 + "\n\n"
    code = "```python\n" + "\n".join(f"x_{i} = {i}" for i in range(900)) + "\n```\n\n"
    answer = paragraph * 20 + code + paragraph * 20
    assert len(answer) > 40_000
    slackbot.openai.script(Stream([answer[i : i + 500] for i in range(0, len(answer), 500)]))
    slackbot.command("review a very large design")
    slackbot.lazy()
    messages = slackbot.answers(slackbot.root().ts)
    assert len(messages) >= 4
    for message in messages:
        markdown = [b for b in message.blocks if b["type"] == "markdown"]
        assert sum(len(b["text"]) for b in markdown) <= 12_000
        assert len(message.blocks) <= 50
        assert len(message.text) <= 40_000
        assert message.markdown().count("```") % 2 == 0  # code fences balanced in every message
    shown = "".join(m.markdown() for m in messages)
    words = lambda text: text.replace("```python", "").replace("```", "").split()  # noqa: E731
    assert words(shown) == words(answer)
    assert messages[-1].buttons()
    assert all(not m.buttons() for m in messages[:-1])


@pytest.mark.parametrize("native", [True, False], ids=["streaming-api", "chat-update"])
def test_streaming_respects_update_rate(slackbot: Bot, native: bool) -> None:
    """While streaming, the answer grows at most about once a second (appends on Slack's streaming
    API, edits where Slack refuses it), and the first words show at once."""
    if not native:
        slackbot.slack.refuse_streaming()
    slackbot.openai.script(Stream([f"word{i} " for i in range(40)], delay_s=0.06))
    slackbot.command("review streaming")
    slackbot.lazy()
    answer = slackbot.answers(slackbot.root().ts)[-1]
    assert answer.markdown().startswith("word0 word1")
    # ~2.4 s of streaming: the first words at once, then at most one push a second, then the final one
    if native:
        [started] = slackbot.slack.calls_of("chat.startStream")
        assert "word0" in started.params["markdown_text"]  # the stream starts with the first words
        appends = [c for c in slackbot.slack.calls_of("chat.appendStream") if c.params["ts"] == answer.ts]
        assert 1 <= len(appends) <= 4
        assert len(slackbot.slack.calls_of("chat.stopStream")) == 1
        assert slackbot.slack.calls_of("chat.update") == []
    else:
        assert 2 <= answer.updates <= 5
        first = next(c for c in slackbot.slack.calls_of("chat.postMessage") if c.params.get("thread_ts"))
        assert "word0" in json.dumps(first.params["blocks"])  # the first words are the first message


def test_slack_rate_limit_is_retried(slackbot: Bot) -> None:
    """A 429 from Slack (with Retry-After) is waited out and the answer still arrives."""
    slackbot.slack.fail("chat.update", status=429, retry_after=1)
    slackbot.command("review rate limits")
    slackbot.lazy()
    answers = slackbot.answers(slackbot.root().ts)
    assert answers
    assert answers[-1].markdown() == "Hello from the fake model."


def test_redis_down_ack_in_time_and_user_told(slackbot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    """With Redis unreachable the ack still returns at once and the user is told what happened."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    ack = slackbot.command("review during an outage")  # the ack path never touches Redis (import test)
    assert ack["statusCode"] == 200
    slackbot.lazy()
    [told] = slackbot.slack.responses
    assert told["response_type"] == "ephemeral"
    assert "conversation storage" in told["text"]
    assert slackbot.openai.requests == []


def test_thread_reply_with_redis_down_is_told_in_thread(
    slackbot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reply while Redis is down gets a plain explanation in the thread, not silence."""
    slackbot.command("review x")
    slackbot.lazy()
    root = slackbot.root().ts
    from handlers import lambda_function

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    lambda_function.reset()  # a new container picks the broken URL up
    slackbot.message("still there?", thread_ts=root)
    slackbot.lazy()
    assert any("conversation storage" in json.dumps(m.blocks) for m in slackbot.slack.thread(CHANNEL, root))


def test_answer_cut_by_deadline_is_kept_and_marked(slackbot: Bot) -> None:
    """When Lambda's time runs out mid-answer, what was written stays, marked as cut."""
    slackbot.openai.script(Stream(["start ", "middle ", "never"], delay_s=0.0, stall_after_first_s=120))
    slackbot.command("review slow things")
    # 14 s left: the runtime keeps a 10 s safety margin, so the answer has about 4 s, ample for the
    # first word even on a busy machine, and far less than the model's 120 s stall
    [invocation] = slackbot.aws_lambda.take()
    slackbot.send(invocation["payload"], remaining_ms=14_000)
    answer = slackbot.answers(slackbot.root().ts)[-1]
    assert answer.markdown().startswith("start")
    assert "cut short" in answer.markdown()


def test_missing_agent_in_thread_is_explained(
    slackbot: Bot, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """If the thread's agent file is removed, a reply says the agent is missing and what to do."""
    import shutil

    agents = tmp_path / "agents"
    shutil.copytree(ROOT / "agents", agents)
    monkeypatch.setenv("AGENTS_DIR", str(agents))
    slackbot.command("review x")
    slackbot.lazy()
    root = slackbot.root().ts
    (agents / "backend-builder.agent.md").unlink()
    from handlers import lambda_function

    lambda_function.reset()
    slackbot.message("hello?", thread_ts=root)
    slackbot.lazy()
    assert any("agent does not exist" in json.dumps(m.blocks) for m in slackbot.slack.thread(CHANNEL, root))


def test_cold_start_makes_no_auth_test_call(slackbot: Bot) -> None:
    """With SLACK_BOT_USER_ID configured, a cold start does not call auth.test."""
    slackbot.command("help")
    slackbot.command("review x")
    slackbot.lazy()
    assert slackbot.slack.calls_of("auth.test") == []


def test_ack_path_imports_neither_openai_nor_redis() -> None:
    """Acknowledging a slash command imports neither openai nor redis (cold-start latency).

    The warm-up that follows the first ack (which does import them, in the background, after the
    response is built) is switched off here so that only the ack path itself is observed."""
    script = f"""
import json, sys, time
sys.path.insert(0, {str(ROOT)!r})
from tests.harness import api_gateway_event, LambdaContext, SIGNING_SECRET
import os
os.environ.update(SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_BOT_TOKEN="xoxb-x", SLACK_BOT_USER_ID="UBOT",
                  AWS_LAMBDA_FUNCTION_NAME="f", REDIS_URL="redis://127.0.0.1:1/0", LOG_LEVEL="ERROR",
                  WARM_AFTER_ACK="false")
from handlers.lambda_function import handler
from urllib.parse import urlencode
body = urlencode(dict(team_id="T1", channel_id="C1", user_id="U1", command="/architect", text="help",
                      response_url="http://127.0.0.1:1/r", trigger_id="t"))
response = handler(api_gateway_event(body, content_type="application/x-www-form-urlencoded"), LambdaContext())
assert response["statusCode"] == 200, response
print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in ("openai", "redis", "tiktoken"))))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert json.loads(result.stdout.strip().splitlines()[-1]) == []


def test_redis_down_stays_out_of_other_peoples_threads(
    slackbot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """During a Redis outage, replies in threads the bot did not start get no error message."""
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    slackbot.message("just chatting", thread_ts="1600000000.000100", parent_user_id="U7")
    slackbot.lazy()
    assert slackbot.slack.calls_of("chat.postMessage") == []


def test_unexpected_failure_in_slow_path_is_told(slackbot: Bot) -> None:
    """If Slack refuses the answer's first message, the person is told in the thread with a tracking id."""
    slackbot.command("review x")
    slackbot.lazy()
    root = slackbot.root().ts
    slackbot.slack.fail("chat.startStream", error="invalid_blocks")  # the stream is refused ...
    slackbot.slack.fail("chat.postMessage", error="invalid_blocks")  # ... and so is the fallback's post
    slackbot.message("and now?", thread_ts=root)
    slackbot.lazy()
    told = [m for m in slackbot.slack.thread(CHANNEL, root) if "Tracking id" in json.dumps(m.blocks)]
    assert told
