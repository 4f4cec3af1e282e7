"""Logs of a whole conversation, and of the paths added since (model routes, held replies, agent files
from S3): JSON, with request context, and never a secret, a message text or an agent's instructions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.core.ports import FixedClock
from tests.agents_in_s3 import SEED_FIRST_LINE, edit_in_s3
from tests.fakes.openai_server import FakeOpenAI, Stream, litellm_invalid_model
from tests.harness import BOT_TOKEN, CHANNEL, OPENAI_KEY, SIGNING_SECRET, Bot
from tests.held_queue import drain, sqs_event
from tests.model_gateway import GATEWAY_KEY, agents_with_model, routes_json
from tests.redis_server import OwnServer

DESIGN = "ZEBRA-design: a monolith named quokka on one VM"
ANSWER = "PELICAN-answer: shard the quokka immediately"
REPLY = "OTTER-reply: what about backups for quokka?"
EDITED = "NARWHAL-prompt: integrate quokka with everything"


def test_full_conversation_logs_no_secret_or_text(slackbot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    """Every log line is JSON with the request id; no token, key, secret or message text appears."""
    slackbot.openai.set_default(Stream([ANSWER[:10], ANSWER[10:]]))
    slackbot.command(f"review {DESIGN}")
    slackbot.lazy()
    root = slackbot.root().ts
    slackbot.message(REPLY, thread_ts=root)
    slackbot.lazy()
    answer = slackbot.answers(root)[-1]
    slackbot.click(answer, "⬅ Back to Director")
    slackbot.submit_view(slackbot.slack.views[-1]["view"], EDITED)
    slackbot.lazy()
    assert len(slackbot.answers(root)) == 3  # the conversation really happened

    output = capsys.readouterr().out
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) > 20
    for secret in (SIGNING_SECRET, BOT_TOKEN, OPENAI_KEY):
        assert secret not in output
    for text in ("ZEBRA", "PELICAN", "OTTER", "NARWHAL", "quokka"):
        assert text not in output, f"message text {text!r} leaked into the logs"
    records = [json.loads(line) for line in lines]  # every line is JSON
    app_records = [r for r in records if "event" in r]
    assert all("request_id" in r for r in app_records)
    lazy = [r for r in app_records if r.get("phase") == "lazy" and r["event"] == "answer_stored"]
    assert lazy
    for record in lazy:
        assert record["team"] == "T1"
        assert record["channel"] == CHANNEL
        assert record["thread_ts"] == root
        assert record["agent"] in {"backend-builder", "director"}
    metrics = [r for r in records if "_aws" in r]
    names = {m["Name"] for r in metrics for d in r["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]}
    assert {"AckLatency", "ModelLatency", "TimeToFirstToken", "TokensIn", "TokensOut", "Handoffs"} <= names


def _assert_no_leak(
    output: str, words: tuple[str, ...], secrets: tuple[str, ...] = ()
) -> list[dict[str, Any]]:
    """Every line is JSON; none holds a secret or one of ``words``; the app's lines carry a request id."""
    for secret in (SIGNING_SECRET, BOT_TOKEN, OPENAI_KEY, *secrets):
        assert secret not in output
    for word in words:
        assert word not in output, f"message text {word!r} leaked into the logs"
    records = [json.loads(line) for line in output.splitlines() if line.strip()]
    without = [r["event"] for r in records if "event" in r and "request_id" not in r]
    assert without == [], f"log lines without a request id: {without}"
    return records


def test_a_routed_model_and_a_gateways_error_log_no_key_or_text(
    slackbot: Bot,
    gateway: FakeOpenAI,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An agent answered through a model route, after the gateway refused its first model as LiteLLM
    does: the logs name the route and what the provider said, never the route's key or the texts."""
    monkeypatch.setenv("AGENTS_DIR", str(agents_with_model(tmp_path, "[Claude Sonnet 4.5, Claude Opus 4]")))
    monkeypatch.setenv("GATEWAY_KEY", GATEWAY_KEY)
    monkeypatch.setenv("MODEL_ROUTES", routes_json(gateway))
    gateway.script(litellm_invalid_model("claude-sonnet-4.5"), Stream([ANSWER]))
    capsys.readouterr()

    slackbot.command(f"review {DESIGN}")
    slackbot.lazy()

    assert slackbot.answers(slackbot.root().ts)[-1].markdown().startswith("PELICAN")  # really answered
    records = _assert_no_leak(capsys.readouterr().out, ("ZEBRA", "PELICAN", "quokka"), (GATEWAY_KEY,))
    events = {r.get("event") for r in records}
    assert {"model_route_client", "model_call"} <= events
    assert any("Invalid model name" in str(r.get("provider_said")) for r in records)


def test_a_reply_held_through_an_outage_logs_no_text(
    slackbot: Bot,
    own_redis: OwnServer,
    queue: tuple[Any, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A reply held on the queue while Redis is away, then caught up and answered: every step is
    logged with ids and counts, never the reply's or the answer's words."""
    sqs, url = queue
    monkeypatch.setenv("REDIS_URL", own_redis.url)
    slackbot.openai.script(Stream(["Backend: a queue."]))
    slackbot.command(f"review {DESIGN}")
    slackbot.lazy()
    root = slackbot.root().ts
    own_redis.pause()
    slackbot.message(REPLY, thread_ts=root)
    slackbot.lazy()
    own_redis.resume()
    slackbot.openai.script(Stream([ANSWER]))
    capsys.readouterr()

    slackbot.send(sqs_event(drain(sqs, url)))

    assert slackbot.answers(root)[-1].markdown().startswith("PELICAN")  # caught up and answered
    assert "OTTER" in "\n".join(slackbot.openai.requests[-1].texts())
    records = _assert_no_leak(capsys.readouterr().out, ("ZEBRA", "PELICAN", "OTTER", "quokka"))
    caught_up = [r for r in records if r.get("event") in {"held_thread_caught_up", "held_reply_answered"}]
    assert len(caught_up) == 2
    assert all(r["team"] == "T1" and r["thread_ts"] == root for r in caught_up)


def test_agent_files_from_s3_and_a_refused_set_log_no_instructions_or_text(
    slackbot: Bot,
    s3: Any,
    s3_clock: FixedClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Agent files read from S3, then a broken edit refused: the refresh and refusal lines name files
    and counts, never an agent's instructions or what people wrote."""
    marker = "WALRUS-instructions: never log me"
    slackbot.openai.script(Stream(["Answered."]))
    slackbot.command("review a cache")  # the container starts with the set as it was
    slackbot.lazy()
    edit_in_s3(s3, "backend-builder.agent.md", SEED_FIRST_LINE, marker)
    edit_in_s3(s3, "director.agent.md", "name: director", "name: [director")
    s3_clock.advance(61)
    slackbot.openai.script(Stream([ANSWER]))
    capsys.readouterr()

    slackbot.command(f"review {DESIGN}")
    slackbot.lazy()

    assert SEED_FIRST_LINE in str(slackbot.openai.requests[-1].messages[0]["content"])  # last good set
    records = _assert_no_leak(capsys.readouterr().out, ("ZEBRA", "PELICAN", "quokka", "WALRUS"))
    assert "agents_rejected" in {r.get("event") for r in records}
