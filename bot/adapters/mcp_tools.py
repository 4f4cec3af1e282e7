"""MCP servers' tools, through the official ``mcp`` Python SDK (streamable HTTP and SSE clients).

One :class:`McpTools` serves one server of an agent's :class:`~bot.core.tools.ToolPlan`: it lists the
server's tools (keeping the ones the agent file's ``tools`` filter selects) and calls them. A tool
counts as read-only only when the server marks it ``readOnlyHint: true``; every other tool asks
for approval before it runs (see :func:`bot.core.tools.approval_reason`).

Which servers run is decided by the plan (``MCP_ALLOWED_SERVERS`` prefixes, or the bot's own
``MCP_SERVERS``). Credentials come only from the settings (``MCP_HEADERS``: headers per URL prefix,
a secret that may come from AWS); an agent file's ``headers`` / ``env`` are never read.

The SDK is asynchronous; each listing and each call runs in its own event loop (``anyio.run``) on
the calling thread, bounded by the caller's deadline. Tool lists are cached per server URL for
``cache_s`` seconds so a warm container does not list them on every answer.
Logs: server name, tool, outcome and time; never arguments or results.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from bot.core.ports import Clock, SystemClock
from bot.core.tools import (
    McpSelection,
    ToolError,
    ToolOutput,
    ToolSpec,
    ToolTimeoutError,
    model_tool_name,
    safe_url,
)
from bot.logging import get_logger

log = get_logger(__name__)

_DESCRIPTION_MAX = 1000
_cache: dict[tuple[str, str], tuple[float, tuple[Any, ...]]] = {}
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached tool list (tests)."""
    with _cache_lock:
        _cache.clear()


def headers_for(url: str, configured: Mapping[str, Mapping[str, str]]) -> dict[str, str]:
    """The headers configured for the longest URL prefix that ``url`` starts with."""
    best = ""
    for prefix in configured:
        if url.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return dict(configured[best]) if best else {}


def _leaf(error: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups, as anyio task groups raise them."""
    while isinstance(error, BaseExceptionGroup) and error.exceptions:
        error = error.exceptions[0]
    return error


def _text_of(content: Sequence[Any], structured: Any) -> str:
    """A tool result's content blocks as text (images and binary parts are named, not sent)."""
    parts: list[str] = []
    for block in content:
        kind = getattr(block, "type", "")
        if kind == "text":
            parts.append(str(block.text))
        elif kind == "resource":
            resource = block.resource
            text = getattr(resource, "text", None)
            parts.append(str(text) if text is not None else f"[binary resource {resource.uri} not shown]")
        elif kind == "resource_link":
            parts.append(f"[resource {block.uri}]")
        else:
            parts.append(f"[{kind or 'unknown'} content not shown]")
    if not parts and structured is not None:
        parts.append(json.dumps(structured, ensure_ascii=False, default=str))
    return "\n".join(parts)


class McpTools:
    """The tools of one MCP server (:class:`bot.core.tools.ToolProvider`)."""

    def __init__(
        self,
        selection: McpSelection,
        *,
        headers: Mapping[str, str] | None = None,
        timeout_s: float = 20.0,
        cache_s: float = 300.0,
        clock: Clock | None = None,
    ) -> None:
        self._selection = selection
        self._server = selection.server
        self._headers = dict(headers or {})
        self._timeout_s = timeout_s
        self._cache_s = cache_s
        self._clock = clock or SystemClock()
        self._names: dict[str, str] = {}  # model-facing name -> the server's tool name
        self._http_status: int | None = None  # the last HTTP error status of a run

    @property
    def name(self) -> str:
        """The server's name (from the agent file or the bot's settings)."""
        return self._server.name

    # ------------------------------------------------------------------------------ provider

    def specs(self, *, deadline: float) -> Sequence[ToolSpec]:
        """The server's tools that the agent selected. Raises :class:`ToolError` if it cannot list them."""
        tools = self._list(deadline)
        specs: list[ToolSpec] = []
        for tool in tools:
            if not self._selection.selects(tool.name):
                continue
            model_name = model_tool_name(self._server.name, tool.name)
            self._names[model_name] = tool.name
            annotations = tool.annotations
            description = (tool.description or tool.title or tool.name).strip()
            specs.append(
                ToolSpec(
                    name=model_name,
                    description=description[:_DESCRIPTION_MAX],
                    parameters=tool.input_schema or {"type": "object", "properties": {}},
                    read_only=bool(annotations is not None and annotations.read_only_hint is True),
                    label=f"{self._server.name}/{tool.name}",
                    source=f"mcp:{self._server.name}",
                )
            )
        return specs

    def call(self, spec: ToolSpec, arguments: Mapping[str, Any], *, deadline: float) -> ToolOutput:
        """Call one tool; an error the tool reports comes back as an error output for the model."""
        tool = self._names.get(spec.name) or spec.shown.partition("/")[2]
        started = self._clock.monotonic()
        left = min(deadline - started, self._timeout_s)
        if left <= 0:
            raise ToolTimeoutError(f"no time left to call {spec.shown}")
        result = self._run(self._call(tool, dict(arguments), left), left, what=f"call {tool}")
        log.info(
            "mcp_call",
            server=self._server.name,
            tool=tool,
            is_error=bool(result.is_error),
            ms=int((self._clock.monotonic() - started) * 1000),
        )
        return ToolOutput(_text_of(result.content, result.structured_content), is_error=bool(result.is_error))

    # ----------------------------------------------------------------------------- internals

    def _list(self, deadline: float) -> tuple[Any, ...]:
        credentials = hashlib.sha256(json.dumps(self._headers, sort_keys=True).encode()).hexdigest()
        key = (self._server.url, credentials)
        now = self._clock.monotonic()
        with _cache_lock:
            cached = _cache.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        left = min(deadline - now, self._timeout_s)
        if left <= 0:
            raise ToolTimeoutError(f"no time left to list the tools of MCP server {self._server.name}")
        tools: tuple[Any, ...] = self._run(self._list_all(left), left, what="list tools")
        with _cache_lock:
            _cache[key] = (self._clock.monotonic() + self._cache_s, tools)
        log.info("mcp_tools_listed", server=self._server.name, tools=len(tools))
        return tools

    def _run(self, coroutine: Any, left: float, *, what: str) -> Any:
        import anyio

        async def bounded() -> Any:
            with anyio.fail_after(left):
                return await coroutine

        self._http_status = None
        try:
            return anyio.run(bounded)
        except BaseException as raised:  # anyio wraps everything in exception groups: sorted below
            error = _leaf(raised)
            if isinstance(error, KeyboardInterrupt | SystemExit):
                raise
            raise self._failure(error, what) from None

    def _failure(self, error: BaseException, what: str) -> ToolError:
        import httpx2
        from mcp import MCPError

        where = f"MCP server {self._server.name} ({safe_url(self._server.url)})"
        log.warning("mcp_failed", server=self._server.name, what=what, error=type(error).__name__)
        if isinstance(error, TimeoutError):
            return ToolTimeoutError(f"{where} did not answer in time ({what})")
        status = (
            error.response.status_code if isinstance(error, httpx2.HTTPStatusError) else self._http_status
        )
        if status is not None:
            if status in (401, 403):
                return ToolError(
                    f"{where} refused the bot (HTTP {status}): "
                    "its credentials in MCP_HEADERS are missing or wrong"
                )
            return ToolError(f"{where} answered HTTP {status}")
        if isinstance(error, httpx2.HTTPError | OSError):
            return ToolError(f"{where} could not be reached ({type(error).__name__})")
        if isinstance(error, MCPError):
            return ToolError(f"{where}: {error.message[:300]}")
        return ToolError(f"{where} failed ({type(error).__name__})")

    @asynccontextmanager
    async def _client(self, left: float) -> AsyncIterator[Any]:
        import httpx2
        from mcp import Client
        from mcp.client.sse import sse_client
        from mcp.client.streamable_http import streamable_http_client

        transport: AbstractAsyncContextManager[Any]
        if self._server.transport == "sse":
            transport = sse_client(
                self._server.url, headers=self._headers, timeout=left, sse_read_timeout=left
            )
            async with Client(transport, read_timeout_seconds=left) as client:
                yield client
            return

        async def note_status(response: httpx2.Response) -> None:
            # The SDK turns an HTTP error into a generic MCP error; keep the status to say why.
            if response.status_code >= 400:
                self._http_status = response.status_code

        async with httpx2.AsyncClient(
            headers=self._headers,
            timeout=httpx2.Timeout(left),
            trust_env=False,
            event_hooks={"response": [note_status]},
        ) as http:
            transport = streamable_http_client(self._server.url, http_client=http)
            async with Client(transport, read_timeout_seconds=left) as client:
                yield client

    async def _list_all(self, left: float) -> tuple[Any, ...]:
        tools: list[Any] = []
        async with self._client(left) as client:
            cursor: str | None = None
            for _page in range(20):
                page = await client.list_tools(cursor=cursor)
                tools.extend(page.tools)
                cursor = page.next_cursor
                if not cursor:
                    break
        return tuple(tools)

    async def _call(self, tool: str, arguments: dict[str, Any], left: float) -> Any:
        async with self._client(left) as client:
            return await client.call_tool(tool, arguments, read_timeout_seconds=left)
