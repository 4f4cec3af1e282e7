"""What a tool is to the bot: the tool as offered to the model, a call, its output and result, the
errors, the provider port, and the :class:`Toolbox` that puts one answer's providers together under
the names the model sees."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

_MODEL_NAME = re.compile(r"[^A-Za-z0-9_-]")
MAX_TOOL_NAME = 64  # OpenAI's limit for function names


@dataclass(frozen=True, slots=True)
class ToolSpec:
    """A tool as offered to the model.

    ``name`` is what the model calls (``^[A-Za-z0-9_-]{1,64}$``); ``label`` is how a person reads it
    (``fetch``, ``docs/search``). ``parameters`` is a JSON schema of an object. ``read_only`` False
    means a call may change something, so it asks first.
    """

    name: str
    description: str
    parameters: Mapping[str, Any]
    read_only: bool
    label: str = ""
    source: str = "builtin"  # "builtin" or "mcp:<server>"

    @property
    def shown(self) -> str:
        """The name a person sees."""
        return self.label or self.name


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model asked for. ``arguments`` is the JSON text exactly as the model sent it."""

    id: str
    name: str
    arguments: str

    def parsed(self) -> dict[str, Any]:
        """The arguments as an object; raises ValueError when they are not a JSON object."""
        text = self.arguments.strip() or "{}"
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the arguments are not valid JSON ({exc.msg} at {exc.pos})") from None
        if not isinstance(value, dict):
            raise ValueError("the arguments must be a JSON object")
        return value


@dataclass(frozen=True, slots=True)
class ToolOutput:
    """What a provider returned: text for the model, and whether it is an error."""

    text: str
    is_error: bool = False


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The outcome of one call as the model and the thread see it.

    ``content`` is what the model gets (cut to the size cap, with a note when cut); ``size`` is the
    length of the whole output; ``error`` a short reason when the call failed (shown in the thread).
    """

    call_id: str
    name: str
    content: str
    size: int = 0
    truncated: bool = False
    error: str | None = None
    elapsed_ms: int = 0

    @property
    def ok(self) -> bool:
        """True when the tool ran and returned a result."""
        return self.error is None


@dataclass(frozen=True, slots=True)
class AssistantToolCalls:
    """A model message that asked for tools (with any text it wrote before them)."""

    calls: tuple[ToolCall, ...]
    text: str = ""


@dataclass(frozen=True, slots=True)
class ToolMessage:
    """A tool's result sent back to the model."""

    call_id: str
    content: str


class ToolError(Exception):
    """A tool failed in a way the model should be told about (the answer goes on).

    ``str(error)`` is the reason, written for the model and shown in the thread: it never holds a
    secret or the contents of what was read.
    """


class ToolTimeoutError(ToolError):
    """A tool did not finish before its deadline."""


class ToolProvider(Protocol):
    """One outside system's tools (the web, GitHub, one MCP server)."""

    def specs(self, *, deadline: float) -> Sequence[ToolSpec]:
        """The tools it offers (may ask the server; ``deadline`` is a ``monotonic()`` value)."""
        ...

    def call(self, spec: ToolSpec, arguments: Mapping[str, Any], *, deadline: float) -> ToolOutput:
        """Run one tool. Raises :class:`ToolError` (or :class:`ToolTimeoutError`) on failure."""
        ...


def model_tool_name(*parts: str) -> str:
    """A name the model may call: ``[A-Za-z0-9_-]``, at most 64 characters, stable for the input.

    ``model_tool_name("docs", "search.pages")`` -> ``docs__search_pages``; too long a name keeps its
    start and ends with a short hash of the whole, so two long names never collide.
    """
    joined = "__".join(_MODEL_NAME.sub("_", part) for part in parts if part)
    whole = "__".join(parts)
    if len(joined) <= MAX_TOOL_NAME and joined:
        return joined
    digest = hashlib.sha256(whole.encode()).hexdigest()[:8]
    return f"{joined[: MAX_TOOL_NAME - 9]}_{digest}"


class Toolbox:
    """The tools of one answer: the providers' specs under unique model names, and dispatch.

    A provider that fails to list its tools is left out (``failures`` says which and why); the
    answer goes on with the others.
    """

    def __init__(self, providers: Sequence[ToolProvider], *, deadline: float) -> None:
        self._by_name: dict[str, tuple[ToolSpec, ToolProvider]] = {}
        self.failures: list[str] = []
        for provider in providers:
            try:
                specs = provider.specs(deadline=deadline)
            except ToolError as exc:
                self.failures.append(str(exc))
                continue
            for spec in specs:
                if spec.name not in self._by_name:
                    self._by_name[spec.name] = (spec, provider)

    @property
    def specs(self) -> tuple[ToolSpec, ...]:
        """Every tool offered to the model, in provider order."""
        return tuple(spec for spec, _ in self._by_name.values())

    def __bool__(self) -> bool:
        return bool(self._by_name)

    def spec(self, name: str) -> ToolSpec | None:
        """The tool the model calls ``name``, if offered."""
        found = self._by_name.get(name)
        return found[0] if found else None

    def call(self, call: ToolCall, arguments: Mapping[str, Any], *, deadline: float) -> ToolOutput:
        """Run ``call`` on its provider. Raises :class:`ToolError` for an unknown tool or a failure."""
        found = self._by_name.get(call.name)
        if found is None:
            raise ToolError(f"there is no tool named {call.name!r}")
        spec, provider = found
        return provider.call(spec, arguments, deadline=deadline)
