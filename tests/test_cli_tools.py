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


def test_validate_reports_tools_not_available_here(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`agents validate` lists what each agent file asks for that cannot run here, and still passes."""
    for key in ("MCP_ALLOWED_SERVERS", "MCP_SERVERS", "GITHUB_ALLOWED_REPOS", "TOOL_FETCH"):
        monkeypatch.delenv(key, raising=False)
    (tmp_path / "coder.agent.md").write_text(
        "---\nname: coder\ntools: ['fetch', 'editFiles', 'runInTerminal', 'githubRepo']\n"
        "mcp-servers:\n  local:\n    type: local\n    command: npx\n---\nCode.\n"
    )
    (tmp_path / "routing.yaml").write_text("default_agent: coder\n")
    assert main(["agents", "validate", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "Tools not available here (the agents run without them):" in out
    assert "coder.agent.md: coder: editFiles: edits files in the workspace" in out
    assert "coder.agent.md: coder: runInTerminal: runs commands on the user's machine" in out
    assert "coder: githubRepo: GitHub tools are not configured (GITHUB_ALLOWED_REPOS is empty)" in out
    assert "coder: MCP server local: " in out
    assert out.rstrip().endswith("OK: 1 agent loaded; 0 errors, 0 warnings")
    assert main(["agents", "validate", str(tmp_path), "--json"]) == 0
    report = __import__("json").loads(capsys.readouterr().out)
    tools = report["agents"][0]["tools"]
    assert tools["available"] == ["fetch"]
    assert {"tool": "editFiles", "reason": "edits files in the workspace"} in tools["not_available"]


def test_slack_help_shows_tools_per_agent(tmp_path: Path) -> None:
    """Help in Slack says which tools each agent has here, and which its file names but cannot have."""
    from bot.adapters.agent_files import load_registry
    from bot.core.tools import ToolConfig
    from bot.slack.help import help_blocks

    (tmp_path / "coder.agent.md").write_text("---\nname: coder\ntools: ['fetch', 'editFiles']\n---\nCode.\n")
    registry = load_registry(tmp_path, tmp_path / "routing.yaml", "gpt-4.1")
    _, blocks = help_blocks(registry, ToolConfig(fetch=True))
    text = "\n".join(b["text"]["text"] for b in blocks if "text" in b)  # and the agent menu
    assert "*coder*" in text
    assert "_(tools: `fetch`; not available here: `editFiles`)_" in text
