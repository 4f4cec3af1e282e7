"""The tool-using agent and the real tool servers it reaches, for end-to-end tests through the Lambda handler.

A local HTTPS web server for ``fetch`` (reachable through the test-only loopback setting), a fake
GitHub API over HTTP and a local MCP server built with the ``mcp`` SDK; the bot's clock is injected
(approval time limits). Used by ``tests/test_slack_tools.py`` and ``tests/test_forget_everything.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.adapters import mcp_tools
from bot.bootstrap import SLACK_REQUIRED, bootstrap
from bot.core.ports import FixedClock
from tests.fakes.github_server import FakeGitHub
from tests.fakes.mcp_server import LocalMcp
from tests.fakes.slack_server import Message
from tests.fakes.web_server import FakeWeb
from tests.harness import CHANNEL, Bot


@dataclass
class Tools:
    """The bot and the real tool servers it reaches."""

    bot: Bot
    web: FakeWeb
    github: FakeGitHub
    mcp: LocalMcp
    clock: FixedClock

    def ask(self, text: str) -> str:
        """Mention the bot (the researcher answers); returns the thread's ts."""
        _, ts = self.bot.mention(text)
        self.bot.lazy()
        return ts

    def thread_text(self, root: str) -> str:
        return "\n".join(m.markdown() or m.text for m in self.bot.slack.thread(CHANNEL, root))

    def approval(self, root: str) -> Message:
        [message] = [
            m
            for m in self.bot.slack.thread(CHANNEL, root)
            if m.buttons() and "Approve" in json.dumps(m.blocks)
        ]
        return message

    def tasks(self, root: str) -> list[dict[str, object]]:
        """The tool steps (``task_update`` chunks, latest per call) streamed into the thread's answers."""
        streams = self.bot.slack.workspace.agent.streams.values()
        return [task for s in streams if s.thread_ts == root for task in s.tasks.values()]

    def tool_messages(self, request: int = -1) -> list[dict[str, object]]:
        return [m for m in self.bot.openai.requests[request].messages if m.get("role") == "tool"]


AGENT = """---
name: researcher
description: Reads what the team links, and acts in the tracker when asked.
model: gpt-4.1
tools: ['fetch', 'githubRepo', 'tracker/*', 'editFiles', 'runInTerminal']
mcp-servers:
  tracker:
    type: http
    url: {url}
    headers: {{"X-Api-Key": "${{{{ secrets.TRACKER_KEY }}}}"}}
---
You research and file tickets.
"""


@pytest.fixture
def tools(slackbot: Bot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Tools]:
    """The Slack bot with a tool-using agent and real local tool servers; an injectable clock."""
    from handlers import lambda_function

    clock = FixedClock(real_monotonic=True)
    mcp_tools.clear_cache()
    with FakeWeb() as web, FakeGitHub() as github, LocalMcp(api_key="tracker-key-1") as mcp:
        github.add_repo("acme/payments", files={"src/ledger.py": "class Ledger:  # append-only\n"})
        (tmp_path / "researcher.agent.md").write_text(AGENT.format(url=mcp.url))
        (tmp_path / "routing.yaml").write_text("default_agent: researcher\n")
        env = {
            "AGENTS_DIR": str(tmp_path),
            "FETCH_ALLOW_LOOPBACK_FOR_TESTS": "true",
            "FETCH_CA_FILE": web.ca_file,
            "GITHUB_API_URL": github.base_url,
            "GITHUB_TOKEN": github.token or "",
            "GITHUB_ALLOWED_REPOS": "acme",
            "MCP_ALLOWED_SERVERS": f"http://127.0.0.1:{mcp.port}/",
            "MCP_HEADERS": json.dumps({f"http://127.0.0.1:{mcp.port}/": {"X-Api-Key": "tracker-key-1"}}),
            "TOOL_APPROVAL_TIMEOUT_S": "600",
        }
        for key, value in env.items():
            monkeypatch.setenv(key, value)

        def cold_start() -> lambda_function.Container:
            return lambda_function.container_for(bootstrap(required=SLACK_REQUIRED, clock=clock))

        monkeypatch.setattr(lambda_function, "cold_start", cold_start)
        lambda_function.reset()
        yield Tools(bot=slackbot, web=web, github=github, mcp=mcp, clock=clock)
        mcp_tools.clear_cache()
