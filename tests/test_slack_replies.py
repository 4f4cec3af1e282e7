"""The one map from typed errors to what the person sees (bot/slack/replies.py), with a recording
Slack client and real EMF metrics: a refusal only to them, a stale button only to them, anything else
in the thread with a tracking id, and before a thread exists only to them."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field
from typing import Any

from bot import runtime
from bot.errors import BudgetExceededError, ModelUnavailableError, StaleHandoffError
from bot.metrics import Metrics
from bot.slack.payload import Where
from bot.slack.replies import Replies


@dataclass
class RecordingClient:
    """The two chat methods the map uses; records each call."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("post", kwargs))
        return {"ok": True, "ts": "1700000000.000100"}

    def chat_postEphemeral(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("ephemeral", kwargs))
        return {"ok": True}


def _tell(error: Exception, where: Where) -> tuple[RecordingClient, list[tuple[str, str]]]:
    """Run a failing flow inside ``told``; what Slack got and the metrics counted (name, kind)."""
    client, stream = RecordingClient(), io.StringIO()
    with Replies(Metrics("test", stream=stream)).told(client, where):  # type: ignore[arg-type]
        raise error
    counted = []
    for line in stream.getvalue().splitlines():
        doc = json.loads(line)
        name = doc["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"]
        counted.append((name, doc["Kind"]))
    return client, counted


def test_a_budget_refusal_is_told_only_to_the_person_in_the_thread() -> None:
    """Over budget: the person alone sees why, in the thread; counted as a rejection, not an error."""
    refusal = BudgetExceededError(None, "You have used today's 1,000 tokens.")
    client, counted = _tell(refusal, Where("C1", "U1", "1700000000.000001"))
    assert client.calls == [
        ("ephemeral", {"channel": "C1", "user": "U1", "text": "You have used today's 1,000 tokens.",
                       "blocks": None, "thread_ts": "1700000000.000001"}),
    ]  # fmt: skip
    assert counted == [("Rejections", "budget_exceeded")]


def test_a_stale_button_is_told_only_to_the_person_who_clicked() -> None:
    """An old handoff button: only the clicker is told, nothing is posted in the thread."""
    client, counted = _tell(StaleHandoffError("old"), Where("C1", "U1", "1700000000.000001"))
    assert [(kind, call["text"]) for kind, call in client.calls] == [
        ("ephemeral", StaleHandoffError.user_message)
    ]
    assert counted == []


def test_a_model_outage_is_told_in_the_thread_with_a_tracking_id() -> None:
    """Anything else is said in the thread, with what to do and the request's tracking id."""
    client, counted = _tell(ModelUnavailableError("503"), Where("C1", "U1", "1700000000.000001"))
    [(kind, call)] = client.calls
    assert kind == "post"
    assert call["thread_ts"] == "1700000000.000001"
    shown = json.dumps(call["blocks"])
    assert "not answering right now" in shown
    assert runtime.current().request_id in shown
    assert counted == [("Errors", "model_unavailable")]


def test_before_the_thread_exists_an_error_is_told_privately() -> None:
    """A slash command that failed before its request message was posted: only its author is told
    (through the command's response_url), with the tracking id; nothing lands in the channel."""
    said: list[str] = []
    client, counted = _tell(RuntimeError("boom"), Where("C1", "U1", None, say=said.append))
    assert client.calls == []
    assert len(said) == 1
    assert said[0].startswith(":warning: Something went wrong on my side.")
    assert "Tracking id" in said[0]
    assert counted == [("Errors", "unexpected")]
