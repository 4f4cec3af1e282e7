"""What an agent file's ``tools`` and ``mcp-servers`` become here (:func:`plan_tools`).

They are sorted into what runs here and what cannot exist in Slack (editing files, a terminal, the
local workspace, stdio MCP servers), each with the reason. An agent file never grants itself
anything: built-in tools run only when the settings switch them on, MCP servers only when their URL
starts with an allowed prefix."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from bot.core.agents import AgentSpec, McpServerSpec
from bot.core.tools.calls import ToolProvider
from bot.core.tools.catalogue import (
    BUILTIN_ALIASES,
    FETCH,
    GITHUB,
    GITHUB_READ_TOOLS,
    NOT_HERE,
    NOT_HERE_SETS,
)
from bot.core.tools.urls import safe_url

_PLACEHOLDER = re.compile(r"\$\{|\{[A-Za-z_]")


@dataclass(frozen=True, slots=True)
class McpServer:
    """An MCP server the bot may call: from an agent file (allowed by prefix) or the bot's settings."""

    name: str
    url: str
    transport: Literal["http", "sse"]
    tools: tuple[str, ...] | None = None  # the server entry's own filter; None = all
    origin: Literal["agent", "bot"] = "agent"


@dataclass(frozen=True, slots=True)
class ToolConfig:
    """What the bot's settings allow (the agent file can only pick from this)."""

    fetch: bool = False
    github: bool = False
    github_reason: str = "not configured"
    mcp: bool = False
    mcp_allowed_prefixes: tuple[str, ...] = ()
    bot_servers: tuple[McpServer, ...] = ()


@dataclass(frozen=True, slots=True)
class Unavailable:
    """A tool or server an agent file names that does not run here, and why."""

    name: str
    reason: str


@dataclass(frozen=True, slots=True)
class McpSelection:
    """One MCP server an agent uses, and which of its tools (None = all the server offers)."""

    server: McpServer
    tools: frozenset[str] | None = None

    def selects(self, tool: str) -> bool:
        """True when the tool named ``tool`` (the server's own name) is selected."""
        if self.server.tools is not None and "*" not in self.server.tools and tool not in self.server.tools:
            return False
        return self.tools is None or tool in self.tools


@dataclass(frozen=True, slots=True)
class ToolPlan:
    """What an agent gets here: built-in groups, MCP servers, names matched on the servers at run time."""

    builtins: frozenset[str] = frozenset()
    mcp: tuple[McpSelection, ...] = ()
    unavailable: tuple[Unavailable, ...] = ()

    @property
    def empty(self) -> bool:
        """True when the agent gets no tool at all."""
        return not self.builtins and not self.mcp

    def available(self) -> list[str]:
        """What runs here, as people read it: ``fetch``, ``githubRepo``, ``docs/*``, ``tracker/search``."""
        names = [name for group, name in ((FETCH, "fetch"), (GITHUB, "githubRepo")) if group in self.builtins]
        for selection in self.mcp:
            chosen = selection.tools if selection.tools is not None else None
            if chosen is None:
                filtered = selection.server.tools
                names.append(
                    f"{selection.server.name}/*"
                    if filtered is None or "*" in filtered
                    else ", ".join(f"{selection.server.name}/{t}" for t in filtered)
                )
            else:
                names.extend(f"{selection.server.name}/{t}" for t in sorted(chosen) if selection.selects(t))
        return names


def server_refusal(server: McpServerSpec, config: ToolConfig) -> str | None:  # noqa: PLR0911 - one reason each
    """Why an agent file's MCP server does not run here, or None when it does."""
    kind = (server.type or "").lower()
    if server.command and not server.url:
        return (
            "runs a local command (a stdio MCP server); only HTTP and SSE servers can be reached from Slack"
        )
    if kind in ("local", "stdio"):
        return "a local (stdio) MCP server; only HTTP and SSE servers can be reached from Slack"
    if not server.url:
        return "has no url"
    if kind not in ("", "http", "streamable-http", "streamablehttp", "sse", "remote"):
        return f"unknown server type {server.type!r} (expected http or sse)"
    if _PLACEHOLDER.search(server.url):
        return "its url holds a placeholder the bot does not fill in"
    if not config.mcp:
        return "MCP servers are switched off in the bot's settings (TOOL_MCP)"
    if not any(server.url.startswith(prefix) for prefix in config.mcp_allowed_prefixes if prefix):
        return f"{safe_url(server.url)} is not in the bot's MCP_ALLOWED_SERVERS"
    return None


def _transport(server: McpServerSpec) -> Literal["http", "sse"]:
    return "sse" if (server.type or "").lower() == "sse" else "http"


def plan_tools(agent: AgentSpec, config: ToolConfig) -> ToolPlan:
    """Sort an agent's ``tools`` and ``mcp-servers`` into what runs here and what does not.

    - ``tools`` absent, or ``*``: every built-in the settings switch on, the agent's runnable MCP
      servers and the bot's own servers (as VS Code gives an agent without a list every tool).
    - ``fetch``, ``web/fetch``, ``githubRepo``, ``github``, ``web``: the built-ins.
    - ``server/*``, ``server/tool``, ``server``: an MCP server's tools (agent file's or the bot's).
    - any other bare name: an MCP tool, matched on the agent's own servers when it runs.
    """
    planner = _Planner(config)
    planner.add_servers(agent)
    for written in agent.tools if agent.tools_given else ("*",):
        planner.add_tool(written)
    return planner.plan()


class _Planner:
    """The state of one :func:`plan_tools` reading."""

    def __init__(self, config: ToolConfig) -> None:
        self.config = config
        self.unavailable: list[Unavailable] = []
        self.servers: dict[str, McpServer] = {}
        self.refused: set[str] = set()
        self.refused_tools: dict[str, str] = {}
        self.builtins: set[str] = set()
        self.selections: dict[str, set[str] | None] = {}
        self.bare: set[str] = set()

    def refuse(self, written: str, reason: str) -> None:
        self.unavailable.append(Unavailable(written, reason))

    def add_servers(self, agent: AgentSpec) -> None:
        for declared in agent.mcp_servers:
            why = server_refusal(declared, self.config)
            if why or declared.url is None:
                self.refuse(f"MCP server {declared.name}", why or "has no url")
                self.refused.add(declared.name.lower())
                for tool_name in declared.tools or ():
                    self.refused_tools.setdefault(tool_name.lower(), declared.name)
                continue
            self.servers[declared.name.lower()] = McpServer(
                name=declared.name,
                url=declared.url,
                transport=_transport(declared),
                tools=declared.tools,
                origin="agent",
            )
        if self.config.mcp:
            for server in self.config.bot_servers:
                self.servers.setdefault(server.name.lower(), server)

    def builtin(self, group: str, written: str) -> None:
        if group == FETCH and not self.config.fetch:
            self.refuse(written, "switched off in the bot's settings (TOOL_FETCH)")
        elif group == GITHUB and not self.config.github:
            self.refuse(written, f"GitHub tools are {self.config.github_reason}")
        else:
            self.builtins.add(group)

    def everything(self) -> None:
        if self.config.fetch:
            self.builtins.add(FETCH)
        if self.config.github:
            self.builtins.add(GITHUB)
        for name in self.servers:
            self.selections[name] = None

    def server_tool(self, server: str, tool: str, written: str) -> None:
        if not tool or tool == "*":
            self.selections[server] = None
            return
        current = self.selections.setdefault(server, set())
        if current is not None:
            current.add(written.strip().partition("/")[2])

    def add_tool(self, written: str) -> None:
        key = written.strip().lower()
        server, _, tool = key.partition("/")
        if key == "*":
            self.everything()
        elif key in BUILTIN_ALIASES and server not in self.servers:
            for group in sorted(BUILTIN_ALIASES[key]):
                self.builtin(group, written)
        elif server in self.servers:
            self.server_tool(server, tool, written)
        elif key in NOT_HERE:
            self.refuse(written, NOT_HERE[key])
        elif server in self.refused or key in self.refused_tools:
            self.refuse(written, f"its MCP server {self.refused_tools.get(key, server)!r} does not run here")
        elif server == GITHUB and tool in GITHUB_READ_TOOLS:
            self.builtin(GITHUB, written)
        elif tool:
            self.refuse(written, self._unknown_set_tool(server))
        elif self.servers:
            self.bare.add(written.strip())
        else:
            self.refuse(written, "not a tool the bot offers, and no MCP server the bot may use provides it")

    @staticmethod
    def _unknown_set_tool(server: str) -> str:
        """Why ``set/tool`` does not run when ``set`` is no server here."""
        if server in NOT_HERE_SETS:
            return NOT_HERE_SETS[server]
        if server == GITHUB:
            return "changes GitHub, or is a GitHub tool the bot does not offer"
        if "." in server:
            return "a tool of a VS Code extension"
        return f"no MCP server named {server!r} that the bot may use"

    def plan(self) -> ToolPlan:
        if self.bare:
            # Bare names pick tools on the agent's own servers (Copilot profiles list MCP tools so).
            for name, server in self.servers.items():
                if server.origin == "agent" and name not in self.selections:
                    self.selections[name] = set(self.bare)
        mcp = tuple(
            McpSelection(server=self.servers[name], tools=None if chosen is None else frozenset(chosen))
            for name, chosen in self.selections.items()
        )
        return ToolPlan(
            builtins=frozenset(self.builtins),
            mcp=mcp,
            unavailable=tuple(self.unavailable),
        )


class ToolboxFactory(Protocol):
    """Builds the providers for one answer from the agent's :class:`ToolPlan`."""

    def providers(self, plan: ToolPlan) -> Sequence[ToolProvider]:
        """Providers for what the plan allows (none for an empty plan)."""
        ...
