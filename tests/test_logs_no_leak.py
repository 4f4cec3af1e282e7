"""Logs of a whole conversation: JSON, with request context, and never a secret or a message text."""

from __future__ import annotations

import json

import pytest

from tests.fakes.openai_server import Stream
from tests.harness import BOT_TOKEN, CHANNEL, OPENAI_KEY, SIGNING_SECRET, Bot

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
