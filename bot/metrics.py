"""Metrics as CloudWatch Embedded Metric Format (EMF) lines on stdout: no API call, no dependency.

On Lambda, every line written to stdout goes to CloudWatch Logs, and a line that is an EMF JSON
document (a top-level ``_aws`` object with ``CloudWatchMetrics``) is turned into metrics by
CloudWatch itself, asynchronously and for free in latency. So emitting a metric is one ``write`` and
one ``flush``: nothing can block or fail the request path on a metrics backend.

Why not ``aws-embedded-metrics`` (the official, well-kept library)? It was considered and left out:

* its API is built around ``@metric_scope`` / ``MetricsLogger`` objects whose ``flush()`` is a
  coroutine; in sync code (Bolt listeners here) it runs an event loop per flush;
* outside Lambda it detects its environment by probing the EC2 metadata endpoint and then sends to a
  CloudWatch agent over TCP/UDP (127.0.0.1:25888) unless ``AWS_EMF_ENVIRONMENT=Local`` is set: a
  network side effect in local runs and tests;
* it adds default dimensions (``ServiceName``, ``ServiceType``, ``LogGroup``) to every metric unless
  each call resets them, which multiplies the dimension combinations (each one is a billed metric);
* the format we need is ~15 lines of JSON building; one more runtime dependency in the Lambda zip
  and one more import on a cold start buy nothing.

Dimension sets are deliberately small (each distinct combination is a billed custom metric):
``Stage``; ``Stage+Agent``; ``Stage+Kind``; ``Stage+Pair``; ``Stage+Feature``. ``Errors`` is also rolled up to
``Stage`` alone so that a CloudWatch alarm (which cannot use SEARCH) sees the total.

Metric values are numbers; dimension values are agent names, error kinds and the stage. Never put a
message text, a prompt, a user id or a secret in a dimension.
"""

from __future__ import annotations

import io
import json
import math
import sys
import time
from collections.abc import Mapping, Sequence
from typing import Literal, TextIO

__all__ = [
    "DEFAULT_NAMESPACE",
    "Metrics",
    "Unit",
    "emit_metric",
    "emit_metrics",
]

DEFAULT_NAMESPACE = "ArchitectBot"

Unit = Literal["Milliseconds", "Seconds", "Microseconds", "Count", "Bytes", "Percent", "None"]

# CloudWatch limits: 30 dimensions per set, dimension values 1..1024 characters.
_MAX_DIMENSIONS = 30
_MAX_DIMENSION_VALUE = 1024


def emit_metric(
    name: str,
    value: float,
    unit: Unit,
    *,
    dimensions: Mapping[str, str],
    namespace: str = DEFAULT_NAMESPACE,
    dimension_sets: Sequence[Sequence[str]] | None = None,
    stream: TextIO | None = None,
) -> str:
    """Write one EMF line with one metric; returns the line written (without the newline).

    ``dimension_sets`` defaults to one set made of every key of ``dimensions``; give several to
    publish the same value under several combinations (e.g. ``[["Stage"], ["Stage", "Kind"]]``).
    """
    return emit_metrics(
        {name: (value, unit)},
        dimensions=dimensions,
        namespace=namespace,
        dimension_sets=dimension_sets,
        stream=stream,
    )


def emit_metrics(
    metrics: Mapping[str, tuple[float, Unit]],
    *,
    dimensions: Mapping[str, str],
    namespace: str = DEFAULT_NAMESPACE,
    dimension_sets: Sequence[Sequence[str]] | None = None,
    stream: TextIO | None = None,
) -> str:
    """Write one EMF line carrying several metrics that share the same dimensions."""
    line = _document(metrics, dimensions, namespace, dimension_sets)
    out = stream if stream is not None else sys.stdout
    out.write(line + "\n")
    out.flush()
    return line


def _document(
    metrics: Mapping[str, tuple[float, Unit]],
    dimensions: Mapping[str, str],
    namespace: str,
    dimension_sets: Sequence[Sequence[str]] | None,
) -> str:
    if not metrics:
        raise ValueError("an EMF line needs at least one metric")
    sets = [list(keys) for keys in dimension_sets] if dimension_sets is not None else [list(dimensions)]
    for keys in sets:
        if len(keys) > _MAX_DIMENSIONS:
            raise ValueError(f"at most {_MAX_DIMENSIONS} dimensions per set")
        unknown = [key for key in keys if key not in dimensions]
        if unknown:
            raise ValueError(f"dimension set names keys without a value: {unknown}")
    clean_dims: dict[str, str] = {}
    for key, raw in dimensions.items():
        if key == "_aws" or key in metrics:
            raise ValueError(f"dimension name {key!r} collides with a metric or _aws")
        text = str(raw)[:_MAX_DIMENSION_VALUE]
        clean_dims[key] = text or "unknown"
    body: dict[str, object] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {
                    "Namespace": namespace,
                    "Dimensions": sets,
                    "Metrics": [{"Name": name, "Unit": unit} for name, (_, unit) in metrics.items()],
                }
            ],
        },
        **clean_dims,
    }
    for name, (value, _) in metrics.items():
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"metric {name} is not a finite number")
        body[name] = int(number) if number.is_integer() else round(number, 3)
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


class _Discard(io.StringIO):
    """Where metric lines go when they are not wanted: nowhere."""

    def write(self, text: str) -> int:
        return len(text)


_DISCARD = _Discard()


class Metrics:
    """The bot's metrics, bound to one stage (``Settings.stage``).

    Every method writes exactly one EMF line. Every metric is on the dashboard or behind an alarm in
    resources/monitoring.yml (``tests/test_monitoring.py`` holds that): a new metric goes there too.
    Alarms: ``Errors`` (Stage), ``HeldReplies`` (Stage, Outcome=given_up) and ``AgentsRejected`` (Stage).
    """

    def __init__(
        self,
        stage: str,
        *,
        namespace: str = DEFAULT_NAMESPACE,
        stream: TextIO | None = None,
        enabled: bool = True,
    ) -> None:
        self.stage = stage
        self.namespace = namespace
        self._stream = stream
        self.enabled = enabled  # False: lines are built (and returned) but not written (a local console)

    def _emit(
        self,
        metrics: Mapping[str, tuple[float, Unit]],
        extra: Mapping[str, str] | None = None,
        sets: Sequence[Sequence[str]] | None = None,
    ) -> str:
        dimensions = {"Stage": self.stage, **(extra or {})}
        return emit_metrics(
            metrics,
            dimensions=dimensions,
            namespace=self.namespace,
            dimension_sets=sets,
            stream=self._stream if self.enabled else _DISCARD,
        )

    def ack_latency(self, ms: float) -> str:
        """Time from the Slack request reaching the function to the ack being returned."""
        return self._emit({"AckLatency": (max(ms, 0.0), "Milliseconds")})

    def model_latency(self, agent: str, ms: float) -> str:
        """Duration of one whole model call (request to last token), per agent."""
        return self._emit({"ModelLatency": (max(ms, 0.0), "Milliseconds")}, {"Agent": agent})

    def time_to_first_token(self, agent: str, ms: float) -> str:
        """Time from sending the model request to the first streamed token, per agent."""
        return self._emit({"TimeToFirstToken": (max(ms, 0.0), "Milliseconds")}, {"Agent": agent})

    def tokens(self, agent: str, *, tokens_in: int, tokens_out: int) -> str:
        """Prompt and completion tokens of one answer, per agent (cost tracking)."""
        return self._emit(
            {"TokensIn": (max(tokens_in, 0), "Count"), "TokensOut": (max(tokens_out, 0), "Count")},
            {"Agent": agent},
        )

    def error(self, kind: str) -> str:
        """One error of ``kind`` (a :class:`bot.errors.BotError` kind); also counted per stage."""
        return self._emit({"Errors": (1, "Count")}, {"Kind": kind}, [["Stage"], ["Stage", "Kind"]])

    def rejection(self, kind: str) -> str:
        """One request refused by policy or as malformed; ``kind`` says which rule (also per stage).

        Kinds: ``access_channel``, ``access_person`` (the access policy), ``user_daily_tokens``,
        ``workspace_daily_tokens``, ``user_per_minute`` (budgets and rate limits), ``thread_forgotten``
        (a mention in a forgotten thread), ``malformed``, ``unknown_request`` (hostile or broken
        requests).
        """
        return self._emit({"Rejections": (1, "Count")}, {"Kind": kind}, [["Stage"], ["Stage", "Kind"]])

    def forgotten(self, messages_deleted: int) -> str:
        """One thread forgotten on request, with how many of the bot's messages were deleted."""
        return self._emit(
            {"ThreadsForgotten": (1, "Count"), "MessagesDeleted": (max(messages_deleted, 0), "Count")}
        )

    def feedback(self, agent: str, *, up: int, down: int) -> str:
        """A vote on an agent's answer: how its thumbs up and down totals moved (-1, 0 or 1 each)."""
        return self._emit(
            {"FeedbackUp": (float(up), "Count"), "FeedbackDown": (float(down), "Count")}, {"Agent": agent}
        )

    def slack_fallback(self, feature: str) -> str:
        """Slack refused a feature (streaming, loading status, canvas) and the fallback served instead."""
        return self._emit({"SlackFallbacks": (1, "Count")}, {"Feature": feature})

    def agents_rejected(self, errors: int) -> str:
        """A changed set of agent files (AGENTS_SOURCE) refused; the last good set keeps answering."""
        return self._emit({"AgentsRejected": (1, "Count"), "AgentsRejectedErrors": (max(errors, 0), "Count")})

    def handoff(self, from_agent: str, to_agent: str) -> str:
        """One handoff between two agents (dimension ``Pair`` = ``from->to``)."""
        return self._emit({"Handoffs": (1, "Count")}, {"Pair": f"{from_agent}->{to_agent}"})

    def held_reply(self, outcome: str) -> str:
        """A reply held through a storage outage: ``held``, ``held_again``, ``answered`` or ``given_up``."""
        return self._emit(
            {"HeldReplies": (1, "Count")}, {"Outcome": outcome}, [["Stage"], ["Stage", "Outcome"]]
        )
