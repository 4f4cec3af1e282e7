"""CloudWatch Embedded Metric Format lines (bot.metrics)."""

from __future__ import annotations

import io
import json
import time
from typing import Any

import pytest

from bot.metrics import DEFAULT_NAMESPACE, Metrics, emit_metric

_UNITS = {"Milliseconds", "Seconds", "Microseconds", "Count", "Bytes", "Percent", "None"}


def _check_emf(line: str) -> dict[str, Any]:
    """Parse one line and check it is a valid EMF document; return it."""
    assert "\n" not in line, "one metric document per log line"
    doc = json.loads(line)
    meta = doc["_aws"]
    assert isinstance(meta["Timestamp"], int)
    assert abs(meta["Timestamp"] - time.time() * 1000) < 60_000, "timestamp in epoch milliseconds"
    directives = meta["CloudWatchMetrics"]
    assert isinstance(directives, list)
    assert len(directives) == 1
    for directive in directives:
        assert isinstance(directive["Namespace"], str)
        assert directive["Namespace"]
        for dimension_set in directive["Dimensions"]:
            assert 1 <= len(dimension_set) <= 30
            for key in dimension_set:
                assert isinstance(doc[key], str), f"dimension {key} has a string value at top level"
                assert 1 <= len(doc[key]) <= 1024
        for metric in directive["Metrics"]:
            assert metric["Unit"] in _UNITS
            assert isinstance(doc[metric["Name"]], int | float), "metric value present at top level"
    return doc


def _lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_emit_metric_writes_one_valid_emf_line_to_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    """A metric becomes exactly one JSON line on stdout that CloudWatch turns into a metric."""
    emit_metric("AckLatency", 123.4567, "Milliseconds", dimensions={"Stage": "dev"})

    out = capsys.readouterr().out
    assert out.endswith("\n")
    assert len(out.splitlines()) == 1
    doc = _check_emf(out.strip())
    directive = doc["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == DEFAULT_NAMESPACE
    assert directive["Dimensions"] == [["Stage"]]
    assert directive["Metrics"] == [{"Name": "AckLatency", "Unit": "Milliseconds"}]
    assert doc["Stage"] == "dev"
    assert doc["AckLatency"] == pytest.approx(123.457)


def test_each_helper_uses_its_name_unit_and_small_dimension_set() -> None:
    """Every bot metric has the name, unit and dimensions that the dashboard and alarms query."""
    stream = io.StringIO()
    metrics = Metrics("prod", stream=stream)

    metrics.ack_latency(850)
    metrics.model_latency("backend-builder", 4200.5)
    metrics.time_to_first_token("backend-builder", 900)
    metrics.tokens("director", tokens_in=1500, tokens_out=320)
    metrics.error("model_timeout")
    metrics.handoff("director", "backend-builder")

    docs = [_check_emf(line) for line in _lines(stream)]
    assert len(docs) == 6
    seen = [
        (
            [(m["Name"], m["Unit"]) for m in doc["_aws"]["CloudWatchMetrics"][0]["Metrics"]],
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        )
        for doc in docs
    ]
    assert seen == [
        ([("AckLatency", "Milliseconds")], [["Stage"]]),
        ([("ModelLatency", "Milliseconds")], [["Stage", "Agent"]]),
        ([("TimeToFirstToken", "Milliseconds")], [["Stage", "Agent"]]),
        ([("TokensIn", "Count"), ("TokensOut", "Count")], [["Stage", "Agent"]]),
        ([("Errors", "Count")], [["Stage"], ["Stage", "Kind"]]),
        ([("Handoffs", "Count")], [["Stage", "Pair"]]),
    ]
    assert all(doc["Stage"] == "prod" for doc in docs)
    assert docs[1]["Agent"] == "backend-builder"
    assert docs[1]["ModelLatency"] == 4200.5
    assert (docs[3]["TokensIn"], docs[3]["TokensOut"]) == (1500, 320)
    assert docs[4]["Kind"] == "model_timeout"
    assert docs[4]["Errors"] == 1
    assert docs[5]["Pair"] == "director->backend-builder"


def test_custom_namespace_and_several_dimension_sets() -> None:
    """The namespace can be changed and one value can be published under several dimension sets."""
    stream = io.StringIO()
    emit_metric(
        "Errors",
        2,
        "Count",
        dimensions={"Stage": "staging", "Kind": "store_unavailable"},
        namespace="ArchitectBotTest",
        dimension_sets=[["Stage"], ["Stage", "Kind"]],
        stream=stream,
    )

    doc = _check_emf(stream.getvalue().strip())
    assert doc["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "ArchitectBotTest"
    assert doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stage"], ["Stage", "Kind"]]
    assert doc["Errors"] == 2


@pytest.mark.parametrize(
    ("name", "value", "dimensions", "sets"),
    [
        ("AckLatency", float("nan"), {"Stage": "dev"}, None),
        ("AckLatency", float("inf"), {"Stage": "dev"}, None),
        ("AckLatency", 1.0, {"Stage": "dev"}, [["Stage", "Agent"]]),
        ("Stage", 1.0, {"Stage": "dev"}, None),
        ("AckLatency", 1.0, {"_aws": "x"}, None),
    ],
)
def test_invalid_metrics_are_refused_instead_of_writing_a_broken_line(
    name: str, value: float, dimensions: dict[str, str], sets: list[list[str]] | None
) -> None:
    """A line CloudWatch would silently drop (NaN, unknown dimension, name clash) is a programming error."""
    stream = io.StringIO()
    with pytest.raises(ValueError, match=r"."):
        emit_metric(name, value, "Count", dimensions=dimensions, dimension_sets=sets, stream=stream)
    assert stream.getvalue() == ""


def test_negative_latencies_are_clamped_and_long_dimension_values_truncated() -> None:
    """A clock skew never produces a negative latency; an overlong agent name still gives a valid line."""
    stream = io.StringIO()
    metrics = Metrics("dev", stream=stream)

    metrics.model_latency("a" * 2000, -5)

    doc = _check_emf(stream.getvalue().strip())
    assert doc["ModelLatency"] == 0
    assert len(doc["Agent"]) == 1024
