"""The bot's Slack Web API calls, read from its source: every ``WebClient`` method it calls, where."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from slack_sdk import WebClient

ROOT = Path(__file__).resolve().parents[1]

COMPOSED = {"files_upload_v2": ("files.getUploadURLExternal", "files.completeUploadExternal")}
"""slack_sdk helpers that are several Web API calls."""


def parameters(fn: Any) -> tuple[set[str], set[str]]:
    """(all named parameters, required ones) of a WebClient method."""
    named, required = set(), set()
    for parameter in inspect.signature(fn).parameters.values():
        if parameter.name == "self" or parameter.kind is parameter.VAR_KEYWORD:
            continue
        named.add(parameter.name)
        if parameter.default is parameter.empty:
            required.add(parameter.name)
    return named, required


def bot_calls() -> Iterator[tuple[str, int, str, ast.Call]]:
    """(file, line, WebClient method, call) for every WebClient method call in bot/ and handlers/."""
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                continue
            name = node.func.attr
            if name.startswith("_") or "_" not in name or not callable(getattr(WebClient, name, None)):
                continue
            if name in ("api_call", "chat_stream"):
                continue
            yield str(path.relative_to(ROOT)), node.lineno, name, node


def web_api_methods(name: str) -> tuple[str, ...]:
    """The Web API methods (``chat.postMessage``) one WebClient method (``chat_postMessage``) calls."""
    composed = COMPOSED.get(name)
    if composed is not None:
        return composed
    return (_dotted(name),)


def _dotted(name: str) -> str:
    return name.replace("_", ".")
