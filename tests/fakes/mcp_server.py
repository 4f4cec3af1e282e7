"""A local MCP server built with the official SDK (``MCPServer``, formerly FastMCP), over HTTP.

Usage::

    with LocalMcp() as mcp:                     # streamable HTTP at mcp.url, SSE at mcp.sse_url
        ...
        assert mcp.tickets == ["Fix the ledger"]

Tools:
- ``search_docs(query)``: read-only (``readOnlyHint``), returns a short text;
- ``create_ticket(title)``: not marked read-only (a write), records the ticket in :attr:`tickets`;
- ``explode()``: raises, so the result is an MCP error result;
- ``nap(seconds)``: sleeps (for deadlines);
- ``huge()``: returns 100,000 characters.

With ``api_key`` set, requests without the header ``X-Api-Key: <key>`` get 401. Header values
seen are recorded in :attr:`seen_keys`.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any

import anyio
import pytest
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations

from tests.support import free_port, wait_until

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class LocalMcp:
    """Two uvicorn servers in threads: the same MCP tools over streamable HTTP and over SSE."""

    def __init__(self, *, api_key: str | None = None) -> None:
        self.api_key = api_key
        self.tickets: list[str] = []
        self.seen_keys: list[str | None] = []
        self.calls: list[str] = []
        self._servers: list[tuple[uvicorn.Server, threading.Thread]] = []
        self.port = 0
        self.sse_port = 0
        self.mcp = self._build()

    def _build(self) -> MCPServer[Any]:
        server: MCPServer[Any] = MCPServer("local-test")

        @server.tool(annotations=ToolAnnotations(readOnlyHint=True))
        def search_docs(query: str) -> str:
            """Search the team's design docs."""
            self.calls.append("search_docs")
            return f"3 docs match {query!r}: ADR-1 append-only ledger; ADR-2 outbox; ADR-7 idempotency keys."

        @server.tool()
        def create_ticket(title: str) -> str:
            """Create a ticket in the tracker."""
            self.calls.append("create_ticket")
            self.tickets.append(title)
            return f"Created ticket T-{len(self.tickets)}: {title}"

        @server.tool(annotations=ToolAnnotations(readOnlyHint=True))
        def explode() -> str:
            """Always fails."""
            self.calls.append("explode")
            raise ToolError("the tracker database is down")

        @server.tool(annotations=ToolAnnotations(readOnlyHint=True))
        async def nap(seconds: float) -> str:
            """Sleep, then answer."""
            self.calls.append("nap")
            await anyio.sleep(seconds)
            return "rested"

        @server.tool(annotations=ToolAnnotations(readOnlyHint=True))
        def huge() -> str:
            """A very long answer."""
            self.calls.append("huge")
            return "z" * 100_000

        return server

    def _guard(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> Any:
        async def guarded(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] == "http":
                headers = {k.decode().lower(): v.decode() for k, v in scope.get("headers", [])}
                key = headers.get("x-api-key")
                self.seen_keys.append(key)
                if self.api_key is not None and key != self.api_key:
                    await send({"type": "http.response.start", "status": 401, "headers": []})
                    await send({"type": "http.response.body", "body": b"unauthorized"})
                    return
            await app(scope, receive, send)

        return guarded

    def _start(self, app: Any) -> int:
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name=f"local-mcp-{port}", daemon=True)
        thread.start()
        wait_until(lambda: server.started or not thread.is_alive(), what="the local MCP server", step_s=0.01)
        if not server.started:
            raise RuntimeError("the local MCP server did not start")
        self._servers.append((server, thread))
        return port

    def __enter__(self) -> LocalMcp:
        self.port = self._start(self._guard(self.mcp.streamable_http_app()))
        self.sse_port = self._start(self._guard(self.mcp.sse_app()))
        return self

    def __exit__(self, *exc: object) -> None:
        for server, _ in self._servers:
            server.should_exit = True
        for _, thread in self._servers:
            thread.join(timeout=10)

    @property
    def url(self) -> str:
        """Streamable HTTP endpoint."""
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def sse_url(self) -> str:
        """SSE endpoint."""
        return f"http://127.0.0.1:{self.sse_port}/sse"


@pytest.fixture
def local_mcp() -> Iterator[LocalMcp]:
    """A running :class:`LocalMcp` (bind it in a test module with ``local_mcp = mcp_server.local_mcp``)."""
    with LocalMcp() as server:
        yield server
