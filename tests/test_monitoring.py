"""The alarms and dashboard (resources/monitoring.yml) watch the metrics the bot really emits."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import yaml

from bot.metrics import Metrics

MONITORING = Path(__file__).resolve().parent.parent / "resources" / "monitoring.yml"


def _emitted() -> dict[str, set[frozenset[str]]]:
    """Every metric :class:`Metrics` writes, with the dimension sets it is published under."""
    out = io.StringIO()
    metrics = Metrics("test", stream=out)
    metrics.ack_latency(1)
    metrics.model_latency("a", 1)
    metrics.time_to_first_token("a", 1)
    metrics.tokens("a", tokens_in=1, tokens_out=1)
    metrics.error("model_timeout")
    metrics.rejection("access_person")
    metrics.forgotten(1)
    metrics.feedback("a", up=1, down=0)
    metrics.slack_fallback("streaming")
    metrics.handoff("a", "b")
    metrics.held_reply("given_up")
    metrics.agents_rejected(2)
    emitted: dict[str, set[frozenset[str]]] = {}
    for line in out.getvalue().splitlines():
        for directive in json.loads(line)["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                sets = {frozenset(d) for d in directive["Dimensions"]}
                emitted.setdefault(metric["Name"], set()).update(sets)
    return emitted


def _template() -> tuple[dict[str, Any], str]:
    template = yaml.safe_load(MONITORING.read_text(encoding="utf-8"))
    body = template["Resources"]["Dashboard"]["Properties"]["DashboardBody"]
    body = re.sub(r"\$\{[^}]*timeoutSeconds\}", "300", body)
    return template, re.sub(r"\$\{[^}]*\}", "x", body)


def test_every_public_metrics_method_is_exercised() -> None:
    """The list above covers every metric method, so a new metric cannot slip past the checks below."""
    methods = {name for name, value in vars(Metrics).items() if callable(value) and not name.startswith("_")}
    assert methods == {
        "ack_latency", "model_latency", "time_to_first_token", "tokens", "error", "rejection",
        "forgotten", "feedback", "slack_fallback", "handoff", "held_reply", "agents_rejected",
    }  # fmt: skip


def test_every_metric_the_bot_emits_is_on_the_dashboard_or_alarmed() -> None:
    """An operator finds each of the bot's metrics on the stage's dashboard or behind an alarm."""
    template, body = _template()
    dashboard = json.dumps(json.loads(body))  # the body is valid JSON once the variables are filled
    alarmed = {
        r["Properties"]["MetricName"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == "ArchitectBot"
    }
    unwatched = [
        name
        for name in _emitted()
        if name not in alarmed and f'\\"{name}\\"' not in dashboard and f'"{name}"' not in dashboard
    ]
    assert unwatched == [], f"metrics on no dashboard line and no alarm: {unwatched}"


def test_the_bots_alarms_use_dimensions_the_bot_publishes() -> None:
    """An alarm on a dimension combination the bot never writes would never fire: each of the bot's
    alarms (namespace ArchitectBot) names a metric and dimension set that the bot emits."""
    template, _ = _template()
    emitted = _emitted()
    alarms = [
        r["Properties"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == "ArchitectBot"
    ]
    assert {a["MetricName"] for a in alarms} >= {"Errors", "HeldReplies", "AgentsRejected"}
    for alarm in alarms:
        dimensions = frozenset(d["Name"] for d in alarm["Dimensions"])
        assert dimensions in emitted[alarm["MetricName"]], alarm["AlarmName"]
