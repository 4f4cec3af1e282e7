"""How a tool call reads in the thread: its title, the one argument that says what it does, and a
compact line with the result's size or the error."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from bot.core.tools.calls import ToolCall, ToolResult, ToolSpec
from bot.core.tools.urls import safe_url


def _short(value: str, limit: int = 80) -> str:
    value = " ".join(value.split())
    return value if len(value) <= limit else value[: limit - 1] + "…"


def call_argument(spec: ToolSpec | None, arguments: Mapping[str, Any]) -> str:
    """The one argument that says what a call does (the address, the path, the query), shortened."""
    for key in ("url", "query", "path", "repo", "q", "name", "id"):
        value = arguments.get(key)
        if isinstance(value, str) and value:
            return _short(safe_url(value) if key == "url" else value)
    if not arguments:
        return ""
    texts = [value for value in arguments.values() if isinstance(value, str) and value]
    if len(arguments) == 1 and texts:
        return _short(texts[0])
    return _short(json.dumps(dict(arguments), ensure_ascii=False, sort_keys=True))


def size_text(chars: int) -> str:
    """``812 chars``, ``12.3k chars``."""
    if chars < 1000:
        return f"{chars} chars"
    return f"{chars / 1000:.1f}k chars"


def call_title(spec: ToolSpec | None, call: ToolCall) -> str:
    """What a call does, in a few words: the tool and its main argument (``fetch https://…``)."""
    try:
        arguments = call.parsed()
    except ValueError:
        arguments = {}
    return f"{spec.shown if spec else call.name} {call_argument(spec, arguments)}".rstrip()


def result_detail(result: ToolResult) -> str:
    """What came back: the size (and whether it was cut), or the error."""
    if result.error is not None:
        return _short(result.error, 120)
    return size_text(result.size) + (" (cut)" if result.truncated else "")


def call_line(spec: ToolSpec | None, call: ToolCall, result: ToolResult | None) -> str:
    """A compact line for the thread: tool, argument, then the result's size or the error."""
    try:
        arguments = call.parsed()
    except ValueError:
        arguments = {}
    name = spec.shown if spec else call.name
    argument = call_argument(spec, arguments)
    head = f"`{name}` {argument}".rstrip()
    if result is None:
        return f"🔧 {head} …"
    if result.error is not None:
        return f"⚠️ {head} → {_short(result.error, 120)}"
    cut = " (cut)" if result.truncated else ""
    return f"🔧 {head} → {size_text(result.size)}{cut}"
