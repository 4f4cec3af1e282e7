"""The terminal chat with an agent that acts: tool lines, and approval asked at the prompt."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from bot.adapters import mcp_tools
from bot.cli import main
from tests.fakes import mcp_server
from tests.fakes.mcp_server import LocalMcp
from tests.fakes.openai_server import FakeOpenAI, Stream, calls

local_mcp = mcp_server.local_mcp

AGENT = """---
name: researcher
tools: ['tracker/*']
mcp-servers:
  tracker:
    type: http
    url: {url}
---
You file tickets.
"""


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, local_mcp: LocalMcp) -> FakeOpenAI:
    """A terminal chat wired to a fake model and the local MCP server (allowed by prefix)."""
    mcp_tools.clear_cache()
    for key in ("REDIS_URL", "AWS_LAMBDA_FUNCTION_NAME", "ROUTING_FILE", "MCP_HEADERS", "MCP_SERVERS"):
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "researcher.agent.md").write_text(AGENT.format(url=local_mcp.url))
    monkeypatch.setenv("AGENTS_DIR", str(tmp_path))
    monkeypatch.setenv("MCP_ALLOWED_SERVERS", f"http://127.0.0.1:{local_mcp.port}/")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-chat")
    fake = FakeOpenAI().__enter__()
    monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
    yield fake
    fake.__exit__(None, None, None)
    mcp_tools.clear_cache()


def test_terminal_shows_tool_calls_and_asks_before_a_write(
    terminal: FakeOpenAI,
    local_mcp: LocalMcp,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A read runs and shows its line; a write asks `Approve? [y/N]` and runs only after `y`."""
    terminal.script(
        calls(("tracker__search_docs", {"query": "ledger"})),
        calls(("tracker__create_ticket", {"title": "Fix the ledger"}), text=["Filing."]),
        Stream(["Filed T-1."]),
    )
    monkeypatch.setattr(sys, "stdin", io.StringIO("file a ticket\ny\n/quit\n"))
    assert main(["chat", "researcher"]) == 0
    out = capsys.readouterr().out
    assert "🔧 `tracker/search_docs` ledger → " in out
    assert "researcher wants to run tracker/create_ticket and asks first: it can change something." in out
    assert '"title": "Fix the ledger"' in out
    assert "Approve? [y/N] " in out
    assert "🔧 `tracker/create_ticket` Fix the ledger → " in out
    assert "Filed T-1." in out
    assert local_mcp.tickets == ["Fix the ledger"]


def test_terminal_denial_runs_nothing(
    terminal: FakeOpenAI,
    local_mcp: LocalMcp,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Anything but `y` denies: nothing runs and the agent goes on without it."""
    terminal.script(calls(("tracker__create_ticket", {"title": "Fix it"})), Stream(["No ticket then."]))
    monkeypatch.setattr(sys, "stdin", io.StringIO("file a ticket\n\n/quit\n"))
    assert main(["chat", "researcher"]) == 0
    out = capsys.readouterr().out
    assert "-- denied" in out
    assert "No ticket then." in out
    assert local_mcp.tickets == []
