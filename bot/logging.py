"""One structlog configuration for the whole process.

JSON lines on Lambda (CloudWatch indexes them), readable console output locally. Request context
(request id, Slack team/channel/thread/user, agent, event kind) lives in contextvars: bind it once
at the start of a request with :func:`bind_request` and every line logged below carries it.

A redaction processor removes token-shaped strings and drops keys that would hold message texts
or secrets, so a careless ``log.info(..., text=...)`` cannot leak them.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, MutableMapping
from typing import Any, TextIO

import structlog

# Keys whose values are never logged (message texts, prompts, secrets).
_DROPPED_KEYS = frozenset(
    {
        "text",
        "prompt",
        "message",
        "messages",
        "body",
        "content",
        "instructions",
        "token",
        "secret",
        "password",
        "api_key",
        "authorization",
    }
)
# Shapes of Slack tokens, OpenAI keys, bearer headers and URLs with credentials.
_SECRET_PATTERNS = re.compile(
    r"(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|sk-[A-Za-z0-9_-]{8,}|Bearer\s+\S+|"
    r"(?<=://)[^/\s:@]*:[^/\s@]+(?=@))"
)


def redact(value: str) -> str:
    """Replace anything shaped like a token or a URL password with ``[redacted]``."""
    return _SECRET_PATTERNS.sub("[redacted]", value)


def _redact_processor(_logger: Any, _name: str, event_dict: MutableMapping[str, Any]) -> Mapping[str, Any]:
    for key in list(event_dict):
        if key.lower() in _DROPPED_KEYS:
            event_dict[key] = "[dropped]"
        elif isinstance(event_dict[key], str):
            event_dict[key] = redact(event_dict[key])
    return event_dict


class _StdoutHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stdout`` is at the time of the write (Lambda, tests, redirection)."""

    def emit(self, record: logging.LogRecord) -> None:
        self.stream = sys.stdout
        super().emit(record)


def configure_logging(*, json: bool, level: str = "INFO", stream: TextIO | None = None) -> None:
    """Configure structlog (and route stdlib logging, e.g. Bolt's, through the same output).

    Lines go to the current ``sys.stdout`` at each write, or to ``stream`` when given (the terminal
    chat logs to stderr, away from the conversation).
    """
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _redact_processor,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    factory = structlog.PrintLoggerFactory(file=stream) if stream else structlog.PrintLoggerFactory()
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=factory,  # without a stream: the current sys.stdout at each write
        cache_logger_on_first_use=False,
    )
    # Bolt and slack_sdk log through the stdlib; keep them quiet and redacted.
    handler: logging.Handler = _StdoutHandler() if stream is None else logging.StreamHandler(stream)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processor=renderer,
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(logging.WARNING)


def bind_request(**fields: str | int | float | None) -> None:
    """Bind request context for every following log line (None values are skipped)."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(**{k: v for k, v in fields.items() if v is not None})


def bind_more(**fields: str | int | float | None) -> None:
    """Add fields to the current request context."""
    structlog.contextvars.bind_contextvars(**{k: v for k, v in fields.items() if v is not None})


def get_logger(name: str | None = None) -> structlog.typing.FilteringBoundLogger:
    """A structlog logger; ``name`` becomes the ``logger`` field."""
    logger: structlog.typing.FilteringBoundLogger = (
        structlog.get_logger(name) if name else structlog.get_logger()
    )
    return logger
