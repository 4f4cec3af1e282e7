"""MCP tools through the official SDK against a local MCP server (streamable HTTP and SSE)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.adapters import mcp_tools
from bot.adapters.mcp_tools import McpTools, headers_for
from bot.core.ports import FixedClock
from bot.core.tools import McpSelection, McpServer, ToolError, ToolSpec, ToolTimeoutError
from tests.fakes import mcp_server
from tests.fakes.mcp_server import LocalMcp
from tests.support import far

local_mcp = mcp_server.local_mcp


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    mcp_tools.clear_cache()
    yield
    mcp_tools.clear_cache()


def provider(
    url: str, transport: str = "http", tools: frozenset[str] | None = None, **kwargs: object
) -> McpTools:
    server = McpServer(name="local", url=url, transport=transport, origin="agent")  # type: ignore[arg-type]
    return McpTools(McpSelection(server=server, tools=tools), **kwargs)  # type: ignore[arg-type]


def by_name(specs: object, name: str) -> ToolSpec:
    return next(spec for spec in specs if spec.name == name)  # type: ignore[attr-defined]


@pytest.mark.parametrize("transport", ["http", "sse"])
def test_tools_are_listed_and_called(local_mcp: LocalMcp, transport: str) -> None:
    """An agent's MCP server tools reach the model and run, over streamable HTTP and over SSE."""
    url = local_mcp.url if transport == "http" else local_mcp.sse_url
    tools = provider(url, transport)
    specs = tools.specs(deadline=far())
    names = {spec.name for spec in specs}
    assert {"local__search_docs", "local__create_ticket", "local__explode"} <= names
    search = by_name(specs, "local__search_docs")
    assert search.read_only
    assert search.label == "local/search_docs"
    assert search.source == "mcp:local"
    assert search.parameters["required"] == ["query"]
    assert not by_name(specs, "local__create_ticket").read_only  # no readOnlyHint: a write
    output = tools.call(search, {"query": "ledger"}, deadline=far())
    assert not output.is_error
    assert "ADR-1 append-only ledger" in output.text
    created = tools.call(by_name(specs, "local__create_ticket"), {"title": "Fix the ledger"}, deadline=far())
    assert created.text == "Created ticket T-1: Fix the ledger"
    assert local_mcp.tickets == ["Fix the ledger"]


def test_the_agent_files_filter_limits_the_tools(local_mcp: LocalMcp) -> None:
    """Only the tools the agent file selects are offered to the model."""
    tools = provider(local_mcp.url, tools=frozenset({"search_docs"}))
    assert [spec.name for spec in tools.specs(deadline=far())] == ["local__search_docs"]


def test_a_failing_tool_is_an_error_result_for_the_model(local_mcp: LocalMcp) -> None:
    """A tool that raises comes back as an error the model reads; nothing crashes."""
    tools = provider(local_mcp.url)
    output = tools.call(by_name(tools.specs(deadline=far()), "local__explode"), {}, deadline=far())
    assert output.is_error
    assert "the tracker database is down" in output.text


def test_a_slow_tool_stops_at_its_deadline(local_mcp: LocalMcp) -> None:
    """A tool that takes too long is stopped at the call's deadline and reported as a timeout."""
    tools = provider(local_mcp.url)
    nap = by_name(tools.specs(deadline=far()), "local__nap")
    with pytest.raises(ToolTimeoutError, match="did not answer in time"):
        tools.call(nap, {"seconds": 30}, deadline=time.monotonic() + 0.5)


def test_credentials_come_from_settings(local_mcp: LocalMcp) -> None:
    """The server's key comes from the bot's settings; without it the server refuses, and we say why."""
    local_mcp.api_key = "k-123"
    configured = {"http://127.0.0.1": {"X-Api-Key": "wrong"}, local_mcp.url[:-4]: {"X-Api-Key": "k-123"}}
    assert headers_for(local_mcp.url, configured) == {"X-Api-Key": "k-123"}
    good = provider(local_mcp.url, headers=headers_for(local_mcp.url, configured))
    assert good.specs(deadline=far())
    with pytest.raises(ToolError, match=r"refused the bot \(HTTP 401\).*MCP_HEADERS"):
        provider(local_mcp.url, headers={"X-Api-Key": "wrong"}).specs(deadline=far())


def test_an_unreachable_server_is_told() -> None:
    """A server that is down gives a clear reason (and the answer goes on without its tools)."""
    with pytest.raises(ToolError, match="could not be reached"):
        provider("http://127.0.0.1:9/mcp").specs(deadline=far())


def test_tool_lists_are_cached_per_server(local_mcp: LocalMcp) -> None:
    """A warm container lists a server's tools once per cache period, not on every answer."""
    clock = FixedClock()
    first = provider(local_mcp.url, clock=clock, cache_s=300)
    first.specs(deadline=clock.monotonic() + 30)
    requests = len(local_mcp.seen_keys)
    provider(local_mcp.url, clock=clock, cache_s=300).specs(deadline=clock.monotonic() + 30)
    assert len(local_mcp.seen_keys) == requests
    clock.advance(301)
    provider(local_mcp.url, clock=clock, cache_s=300).specs(deadline=clock.monotonic() + 30)
    assert len(local_mcp.seen_keys) > requests
