"""Tools an agent may call while it answers: the ports, the loop's rules, and what is available here.

Pure: no network, no SDK. Adapters (:mod:`bot.adapters.web_fetch`, :mod:`bot.adapters.github_tools`,
:mod:`bot.adapters.mcp_tools`) implement :class:`ToolProvider`; :class:`Toolbox` puts the providers
of one answer together under the names the model sees; the engine runs the loop with
:class:`ToolRules`.

What an agent file asks for (``tools``, ``mcp-servers``) is sorted by :func:`plan_tools` into what
runs here and what cannot exist in Slack (editing files, a terminal, the local workspace, stdio MCP
servers), each with the reason. An agent file never grants itself anything: built-in tools run only
when the settings switch them on, MCP servers only when their URL starts with an allowed prefix.

Approval (:func:`approval_reason`): a call that can change something (a built-in marked so, an MCP
tool not marked ``readOnlyHint``), a tool set to ask first, and a ``fetch`` of an address that no
person wrote in the thread and whose domain is not on the allow-list, all wait for a click.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit, urlunsplit

from bot.core.agents import AgentSpec, McpServerSpec

# ------------------------------------------------------------------------------------------- ports

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


class ToolboxFactory(Protocol):
    """Builds the providers for one answer from the agent's :class:`ToolPlan`."""

    def providers(self, plan: ToolPlan) -> Sequence[ToolProvider]:
        """Providers for what the plan allows (none for an empty plan)."""
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


# ------------------------------------------------------------------------------------ loop rules


@dataclass(frozen=True, slots=True)
class ToolRules:
    """The limits a tool loop works within (from settings).

    - ``max_calls``: tool calls per answer; past it the model is told to answer and, if it still asks,
      the answer stops and the user is told.
    - ``call_timeout_s``: one call's own limit.
    - ``tools_share``: tools may use this share of the answer's time; the rest is kept for the model
      to write the answer after the last result.
    - ``result_max_chars``: a result longer than this is cut, with a note to the model.
    - ``approval_timeout_s``: a call that waits for a click longer than this is denied.
    """

    max_calls: int = 8
    call_timeout_s: float = 20.0
    tools_share: float = 0.6
    result_max_chars: int = 16_000
    approval_timeout_s: float = 600.0
    min_call_s: float = 1.0  # below this much time left, no call is started

    def tools_end(self, *, started: float, deadline: float) -> float:
        """The monotonic time after which no tool call may run in an answer started at ``started``."""
        return started + max(0.0, deadline - started) * self.tools_share

    def call_deadline(self, *, now: float, started: float, deadline: float) -> float | None:
        """The deadline of a call starting ``now``; None when too little time is left for one."""
        end = min(now + self.call_timeout_s, self.tools_end(started=started, deadline=deadline))
        return end if end - now >= self.min_call_s else None

    def cut(self, text: str) -> tuple[str, bool]:
        """``text`` within the size cap; when cut, a note tells the model how much was left out."""
        if len(text) <= self.result_max_chars:
            return text, False
        note = (
            f"\n\n[Cut by the bot: the tool returned {len(text):,} characters; only the first "
            f"{self.result_max_chars:,} are shown. Ask for a narrower part if you need more.]"
        )
        return text[: self.result_max_chars] + note, True


CAP_NOTE = (
    "[The bot's limit of {cap} tool calls for one answer is reached: this call was not run. "
    "Answer now with what you have.]"
)
TIME_NOTE = "[Not run: the time for tools in this answer is used up. Answer now with what you have.]"
DENIED_NOTE = "[Not run: {who} did not approve this call ({why}). Go on without it.]"


def result_for_error(call: ToolCall, reason: str, *, elapsed_ms: int = 0) -> ToolResult:
    """A failed call: the model reads the reason and goes on."""
    return ToolResult(
        call_id=call.id,
        name=call.name,
        content=f"Tool error: {reason}",
        error=reason,
        elapsed_ms=elapsed_ms,
    )


def result_for_output(call: ToolCall, output: ToolOutput, rules: ToolRules, *, elapsed_ms: int) -> ToolResult:
    """A finished call, cut to the size cap."""
    if output.is_error:
        reason = output.text.strip().splitlines()[0][:200] if output.text.strip() else "the tool failed"
        content, truncated = rules.cut(f"Tool error: {output.text}")
        return ToolResult(
            call_id=call.id,
            name=call.name,
            content=content,
            size=len(output.text),
            truncated=truncated,
            error=reason,
            elapsed_ms=elapsed_ms,
        )
    content, truncated = rules.cut(output.text)
    return ToolResult(
        call_id=call.id,
        name=call.name,
        content=content,
        size=len(output.text),
        truncated=truncated,
        elapsed_ms=elapsed_ms,
    )


# --------------------------------------------------------------------------------------- approval

_URL_IN_TEXT = re.compile(r"https?://[^\s<>|\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>*_~"


def normalize_url(url: str) -> str | None:
    """A URL in a comparable form (lower-case scheme and host, no fragment, ``/`` for an empty path).

    Path and query are kept exactly: they are where text could be smuggled out.
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def urls_in(texts: Iterable[str]) -> frozenset[str]:
    """Every http(s) address written in ``texts`` (Slack's ``<url|label>`` form included), normalized."""
    found: set[str] = set()
    for text in texts:
        for match in _URL_IN_TEXT.finditer(text):
            raw = match.group(0).rstrip(_TRAILING)
            normalized = normalize_url(raw)
            if normalized:
                found.add(normalized)
                if normalized.startswith("http://"):
                    # fetch reads https only: the person's http address is read as https
                    found.add("https://" + normalized.removeprefix("http://"))
    return frozenset(found)


def domain_allowed(url: str, domains: Iterable[str]) -> bool:
    """True when the URL's host is one of ``domains`` or a subdomain of one."""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    for written in domains:
        domain = written.strip().lower().strip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    """Which calls wait for a click (from settings).

    ``ask_first``: tools (as people write them: ``fetch``, ``githubRepo``, ``server/tool``) that
    always ask. ``trusted``: tools that never ask although they may change something. The
    ``fetch`` address rule holds for every fetch: only ``fetch_domains`` waive it.
    """

    ask_first: frozenset[str] = frozenset()
    trusted: frozenset[str] = frozenset()
    fetch_domains: tuple[str, ...] = ()


def _names_of(spec: ToolSpec) -> set[str]:
    names = {spec.name.lower(), spec.shown.lower()}
    if spec.source.startswith("mcp:"):
        server = spec.source.removeprefix("mcp:").lower()
        names.add(f"{server}/*")
    elif spec.name.startswith("github_"):
        names.update({"githubrepo", "github", "github/*"})
    return names


def approval_reason(
    spec: ToolSpec,
    arguments: Mapping[str, Any],
    *,
    policy: ApprovalPolicy,
    people_urls: frozenset[str],
) -> str | None:
    """Why this call must wait for a click, or None when it may run at once.

    ``people_urls``: the addresses people wrote in the thread (:func:`urls_in` of their turns).
    """
    names = _names_of(spec)
    if names & {name.lower() for name in policy.ask_first}:
        return "it is set to ask first"
    if spec.name == FETCH:
        url = arguments.get("url")
        normalized = normalize_url(url) if isinstance(url, str) else None
        if normalized is None:
            return None  # the call fails on its own (not an address); nothing leaves
        if normalized in people_urls or domain_allowed(normalized, policy.fetch_domains):
            return None
        return "the address was not written by a person in this thread"
    if not spec.read_only and not names & {name.lower() for name in policy.trusted}:
        return "it can change something"
    return None


# ---------------------------------------------------------------------------------- what's here

FETCH = "fetch"
GITHUB = "github"

FETCH_SPEC = ToolSpec(
    name=FETCH,
    description=(
        "Read a web page (https only) and return its text as Markdown. Use it for pages people in the "
        "conversation linked. Addresses nobody in the conversation wrote need a person's approval."
    ),
    parameters={
        "type": "object",
        "properties": {"url": {"type": "string", "description": "The https:// address to read"}},
        "required": ["url"],
        "additionalProperties": False,
    },
    read_only=True,
    label=FETCH,
)
"""The fetch tool as the model sees it (here, so offering it needs no HTTP code)."""

#: Agent-file names of the built-in tools -> the built-in group they select.
BUILTIN_ALIASES: Mapping[str, frozenset[str]] = {
    "fetch": frozenset({FETCH}),
    "web/fetch": frozenset({FETCH}),
    "web": frozenset({FETCH, GITHUB}),
    "web/*": frozenset({FETCH, GITHUB}),
    "githubrepo": frozenset({GITHUB}),
    "web/githubrepo": frozenset({GITHUB}),
    "github": frozenset({GITHUB}),
    "github/*": frozenset({GITHUB}),
}

#: Read-only tools of GitHub's own MCP server that the built-in GitHub tools stand in for.
GITHUB_READ_TOOLS = frozenset(
    {
        "get_file_contents",
        "search_code",
        "search_repositories",
        "get_repository",
        "list_directory",
        "get_repository_tree",
    }
)

_EDITS = "edits files in the workspace"
_TERMINAL = "runs commands on the user's machine"
_WORKSPACE = "reads the local workspace, which Slack does not have"
_EDITOR = "a feature of the editor"

#: VS Code tools (and tool sets) that cannot exist in Slack, with the reason shown to people.
NOT_HERE: Mapping[str, str] = {
    **dict.fromkeys(
        (
            "edit",
            "editfiles",
            "edit/editfiles",
            "edit/createfile",
            "edit/createdirectory",
            "edit/editnotebook",
            "edit/newjupyternotebook",
            "createfile",
            "createdirectory",
            "editnotebook",
            "new",
            "newworkspace",
            "vscode/newworkspace",
            "apply_patch",
        ),
        _EDITS,
    ),
    **dict.fromkeys(
        (
            "execute",
            "runcommands",
            "runincommands",
            "runinterminal",
            "execute/runinterminal",
            "getterminaloutput",
            "execute/getterminaloutput",
            "terminallastcommand",
            "terminalselection",
            "terminalcommand",
            "runcommands/terminallastcommand",
            "runcommands/terminalselection",
            "runcommands/runinterminal",
            "read/terminallastcommand",
            "read/terminalselection",
            "runtasks",
            "runtask",
            "createandruntask",
            "gettaskoutput",
            "execute/runtask",
            "execute/createandruntask",
            "execute/gettaskoutput",
            "read/gettaskoutput",
            "runtests",
            "execute/runtests",
            "testfailure",
            "execute/testfailure",
            "runnotebooks",
            "runcell",
            "readcelloutput",
            "shell",
        ),
        _TERMINAL,
    ),
    **dict.fromkeys(
        (
            "codebase",
            "search",
            "search/codebase",
            "search/searchresults",
            "search/usages",
            "search/filesearch",
            "search/textsearch",
            "search/listdirectory",
            "searchresults",
            "usages",
            "problems",
            "read/problems",
            "changes",
            "search/changes",
            "findtestfiles",
            "read",
            "read/readfile",
            "readfile",
            "filesearch",
            "textsearch",
            "listdirectory",
            "selection",
        ),
        _WORKSPACE,
    ),
    **dict.fromkeys(
        (
            "vscode",
            "vscodeapi",
            "vscode/vscodeapi",
            "extensions",
            "vscode/extensions",
            "vscode/installextension",
            "installextension",
            "vscode/runcommand",
            "vscode/getprojectsetupinfo",
            "getprojectsetupinfo",
            "vscode/openSimpleBrowser".lower(),
            "opensimplebrowser",
            "vscode/memory",
            "memory",
            "todo",
            "todos",
            "think",
            "agent",
            "runsubagent",
            "agent/runsubagent",
            "activepullrequest",
            "copilotcodingagent",
            "githubpullrequest",
            "updateuserpreferences",
        ),
        _EDITOR,
    ),
}

#: VS Code tool sets: any ``set/tool`` not listed above gets the set's reason.
NOT_HERE_SETS: Mapping[str, str] = {
    "edit": _EDITS,
    "execute": _TERMINAL,
    "runcommands": _TERMINAL,
    "read": _WORKSPACE,
    "search": _WORKSPACE,
    "vscode": _EDITOR,
    "agent": _EDITOR,
    "todo": _EDITOR,
}

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
    bare_names: frozenset[str] = field(default_factory=frozenset)

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


def safe_url(url: str) -> str:
    """A URL for display and logs: scheme, host and path only (a query may hold a key)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid address)"
    netloc = parts.hostname or ""
    try:
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:
        return "(invalid address)"
    shown = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return shown + ("?…" if parts.query else "")


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
            bare_names=frozenset(self.bare),
        )


# ------------------------------------------------------------------------------------- showing


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
