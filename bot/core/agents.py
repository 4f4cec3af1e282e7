"""Agent definitions: the VS Code / Copilot custom-agent file format, parsed into validated specs.

See ``docs/agents.md`` (and ``../shared/docs/agent-format.md``) for the format. This module is pure:
it turns one file's *text* into an :class:`AgentSpec` or :class:`Problem` s (the text as far as the
YAML mapping is :mod:`bot.core.agent_text`; the keys and their values :mod:`bot.core.frontmatter`);
reading folders is :mod:`bot.adapters.agent_files`, resolving names and routing is :mod:`bot.core.registry`.

:func:`parse_agent` never raises: every defect of a file becomes a :class:`Problem`. A problem of
severity ``error`` means the file (or the entry it names, e.g. one handoff) was not loaded; a
``warning`` means something was ignored or replaced by its default and the agent still loads.

Values of keys this bot ignores (``metadata``, ``hooks``, unknown keys) are never stored, expanded
or quoted in problems: they may hold ``${{ secrets.X }}`` references. Of ``mcp-servers`` only each
server's name, ``type``, ``url``, ``command`` (whether there is one) and ``tools`` filter are kept;
``headers``, ``env``, ``args`` and ``auth`` are never stored: credentials come from the bot's
settings, and ``${{ secrets.X }}`` is never expanded.

The specs are frozen stdlib dataclasses, not pydantic models: a Lambda cold start parses the agent
files before its first answer, and importing pydantic would cost it about a tenth of a second.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.agent_text import (
    Problem,
    Severity,
    decode_text,
    key_lines,
    load_frontmatter,
    split_frontmatter,
)
from bot.core.frontmatter import (
    HANDOFF_KEYS,
    KNOWN_KEYS,
    as_bool,
    scalar_text,
    type_name,
    unknown_key_message,
    unknown_keys,
)

__all__ = [
    "AGENT_SUFFIXES",
    "KNOWN_TARGETS",
    "AgentSpec",
    "Handoff",
    "McpServerSpec",
    "Problem",
    "Severity",
    "file_stem",
    "parse_agent",
]

AGENT_SUFFIXES = (".agent.md", ".chatmode.md")
"""File name endings of agent files (matched case-insensitively)."""

KNOWN_TARGETS = frozenset({"vscode", "github-copilot"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Handoff:
    """A button offered under an agent's answer.

    ``agent`` is the target agent's name as written in the file; ``line`` the line of the entry in
    its file, for problems. ``label`` and ``agent`` are never empty.
    """

    label: str
    agent: str
    prompt: str
    send: bool = False
    model: str | None = None
    show_continue_on: bool | None = None
    line: int | None = None

    def __post_init__(self) -> None:
        _require_text(self, "label", "agent")


@dataclass(frozen=True, slots=True, kw_only=True)
class McpServerSpec:
    """An MCP server an agent file declares (``mcp-servers``), without any credential.

    ``type``: http, sse, local, stdio... as written; ``command``: True when the entry runs a local
    command; ``tools``: the entry's tools filter (None = all); ``credentials``: True when
    headers/env/auth were given (they are not kept). ``name`` is never empty.
    """

    name: str
    type: str | None = None
    url: str | None = None
    command: bool = False
    tools: tuple[str, ...] | None = None
    credentials: bool = False

    def __post_init__(self) -> None:
        _require_text(self, "name")
        _as_tuples(self, "tools")


@dataclass(frozen=True, slots=True, kw_only=True)
class AgentSpec:
    """One agent as loaded from its file.

    ``file``: the path of the file it came from, as given to the parser; ``stem``: the file name
    without .agent.md / .chatmode.md; ``models``: model names as written, in preference order;
    ``tools_given``: False when the file has no 'tools' (all tools); ``has_frontmatter``: False for
    a body-only file (all defaults). ``name`` is never empty.
    """

    name: str
    file: str
    stem: str
    description: str = ""
    models: tuple[str, ...] = ()
    target: str | None = None
    tools: tuple[str, ...] = ()
    tools_given: bool = False
    mcp_servers: tuple[McpServerSpec, ...] = ()
    argument_hint: str | None = None
    agents: tuple[str, ...] = ()
    user_invocable: bool = True
    disable_model_invocation: bool = False
    handoffs: tuple[Handoff, ...] = ()
    instructions: str = ""
    has_frontmatter: bool = True

    def __post_init__(self) -> None:
        _require_text(self, "name")
        _as_tuples(self, "models", "tools", "mcp_servers", "agents", "handoffs")


def _require_text(spec: object, *names: str) -> None:
    """Raise ValueError when one of ``names`` is empty (what ``min_length=1`` used to check)."""
    for name in names:
        if not getattr(spec, name):
            raise ValueError(f"{type(spec).__name__}.{name} must not be empty")


def _as_tuples(spec: object, *names: str) -> None:
    """Store list values of the tuple fields ``names`` as tuples (equal and hashable like before)."""
    for name in names:
        value = getattr(spec, name)
        if isinstance(value, list):
            object.__setattr__(spec, name, tuple(value))


def file_stem(path: str) -> str:
    """The agent's default name: the file name without ``.agent.md`` / ``.chatmode.md`` (or ``.md``).

    Stems may contain dots: ``4.1-Beast.chatmode.md`` -> ``4.1-Beast``.
    """
    base = re.split(r"[\\/]", path)[-1]
    lower = base.lower()
    for suffix in (*AGENT_SUFFIXES, ".md"):
        if lower.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return base


def parse_agent(text: str | bytes, path: str) -> tuple[AgentSpec | None, list[Problem]]:
    """Parse one agent file's content. Never raises; returns the spec (or None) and its problems."""
    try:
        return _parse(text, path)
    except Exception as exc:  # noqa: BLE001 - the contract is "never raise": a bug becomes a report
        return None, [
            Problem(file=path, message=f"internal parser error ({type(exc).__name__}); file skipped")
        ]


# --- implementation ------------------------------------------------------------------------------


class _Report:
    """Collects problems for one file; knows on which line each top-level key sits."""

    def __init__(self, path: str, key_lines: Mapping[str, int], handoff_lines: list[int]) -> None:
        self.path = path
        self.key_lines = key_lines
        self.handoff_lines = handoff_lines
        self.problems: list[Problem] = []

    def add(
        self, message: str, *, key: str | None = None, line: int | None = None, error: bool = False
    ) -> None:
        if line is None and key is not None:
            line = self.key_lines.get(key)
        self.problems.append(
            Problem(file=self.path, line=line, message=message, severity="error" if error else "warning")
        )


def _parse(text: str | bytes, path: str) -> tuple[AgentSpec | None, list[Problem]]:
    stem = file_stem(path)
    decoded, problem = decode_text(text, path)
    if decoded is None:
        return None, [problem] if problem else []
    frontmatter, first_line, body, problem = split_frontmatter(decoded, path)
    if problem is not None:
        return None, [problem]
    instructions = body.lstrip("\n").rstrip()
    if frontmatter is None:
        # VS Code loads a Markdown file without frontmatter as an agent with every default:
        # name = file stem, no description, body = instructions. So do we, with a warning.
        spec = AgentSpec(
            name=stem or "agent", file=path, stem=stem, instructions=instructions, has_frontmatter=False
        )
        message = "no frontmatter: loaded with defaults (name from the file name, no description)"
        return spec, [Problem(file=path, line=1, message=message, severity="warning")]
    data, problem = load_frontmatter(frontmatter, path, first_line)
    if data is None:
        return None, [problem] if problem else []
    return _build(
        data, frontmatter=frontmatter, first_line=first_line, path=path, stem=stem, instructions=instructions
    )


def _build(
    data: dict[Any, Any], *, frontmatter: str, first_line: int, path: str, stem: str, instructions: str
) -> tuple[AgentSpec | None, list[Problem]]:
    report = _Report(path, *key_lines(frontmatter, first_line))
    for key in unknown_keys(data):
        report.add(unknown_key_message(key, KNOWN_KEYS), key=str(key))
    fields = _Fields(data, report)
    name = fields.text("name")
    if name is not None and not name.strip():
        report.add("'name' is empty: using the file name", key="name")
    name = (name or "").strip() or stem
    if not name:
        report.add("no name and no usable file name; file skipped", error=True)
        return None, report.problems
    target = fields.text("target")
    if target is not None and target.strip().lower() not in KNOWN_TARGETS:
        report.add(
            f"unknown target {target.strip()!r} (expected vscode or github-copilot): treated as both",
            key="target",
        )
        target = None
    spec = AgentSpec(
        name=name,
        file=path,
        stem=stem,
        description=(fields.text("description") or "").strip(),
        models=fields.models(),
        target=target.strip().lower() if target else None,
        tools=fields.names("tools"),
        tools_given=fields.given("tools"),
        mcp_servers=fields.mcp_servers(),
        argument_hint=fields.text("argument-hint"),
        agents=fields.names("agents"),
        user_invocable=fields.user_invocable(),
        disable_model_invocation=fields.disable_model_invocation(),
        handoffs=fields.handoffs(),
        instructions=instructions,
    )
    return spec, report.problems


class _Fields:
    """Reads the known keys of one frontmatter mapping, reporting wrong types."""

    def __init__(self, data: dict[Any, Any], report: _Report) -> None:
        self.data = data
        self.report = report

    def _get(self, key: str) -> object:
        return self.data.get(key)

    def given(self, key: str) -> bool:
        """True when ``key`` is in the frontmatter with a usable value (a list or a string)."""
        return isinstance(self._get(key), list | str)

    def mcp_servers(self) -> tuple[McpServerSpec, ...]:
        """The ``mcp-servers`` entries: name, type, url, tools filter; credentials are not kept."""
        value = self._get("mcp-servers")
        if value is None:
            return ()
        if not isinstance(value, dict):
            self.report.add(
                f"'mcp-servers' should be a mapping of server names, found a {type_name(value)}: ignored",
                key="mcp-servers",
            )
            return ()
        servers: list[McpServerSpec] = []
        for raw_name, entry in value.items():
            name = scalar_text(raw_name)
            if not name or not name.strip():
                self.report.add("'mcp-servers': an entry without a name: ignored", key="mcp-servers")
                continue
            name = name.strip()
            if not isinstance(entry, dict):
                self.report.add(
                    f"MCP server {name!r} should be a mapping, found a {type_name(entry)}: ignored",
                    key="mcp-servers",
                )
                continue
            kind = scalar_text(entry.get("type"))
            url = scalar_text(entry.get("url"))
            tools = entry.get("tools")
            filter_: tuple[str, ...] | None = None
            if isinstance(tools, str):
                filter_ = tuple(part.strip() for part in tools.split(",") if part.strip())
            elif isinstance(tools, list):
                filter_ = tuple(
                    text.strip() for item in tools if (text := scalar_text(item)) and text.strip()
                )
            elif tools is not None:
                self.report.add(f"MCP server {name!r}: 'tools' should be a list: ignored", key="mcp-servers")
            servers.append(
                McpServerSpec(
                    name=name,
                    type=kind.strip() if kind else None,
                    url=url.strip() if url and url.strip() else None,
                    command=entry.get("command") is not None,
                    tools=filter_,
                    credentials=any(entry.get(key) is not None for key in ("headers", "env", "auth")),
                )
            )
        return tuple(servers)

    def text(self, key: str) -> str | None:
        value = self._get(key)
        if value is None:
            return None
        text = scalar_text(value)
        if text is None:
            self.report.add(f"'{key}' should be a string, found a {type_name(value)}: ignored", key=key)
        return text

    def models(self) -> tuple[str, ...]:
        value = self._get("model")
        if value is None:
            return ()
        items = value if isinstance(value, list) else [value]
        models: list[str] = []
        for item in items:
            text = scalar_text(item)
            if text is None:
                self.report.add(
                    f"'model' entries should be strings, found a {type_name(item)}: ignored", key="model"
                )
            elif text.strip():
                models.append(text.strip())
        return tuple(models)

    def names(self, key: str) -> tuple[str, ...]:
        """A list of names, or a comma-separated string of them (``*`` kept as is)."""
        value = self._get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            items: list[object] = list(value.split(","))
        elif isinstance(value, list):
            items = list(value)
        else:
            self.report.add(
                f"'{key}' should be a list or a comma-separated string, found a {type_name(value)}: ignored",
                key=key,
            )
            return ()
        names: list[str] = []
        skipped = 0
        for item in items:
            text = scalar_text(item)
            if text is None:
                skipped += 1
            elif text.strip():
                names.append(text.strip())
        if skipped:
            self.report.add(
                f"'{key}': {skipped} entr{'y' if skipped == 1 else 'ies'} not a string: ignored", key=key
            )
        return tuple(names)

    def _bool(self, key: str) -> bool | None:
        value = self._get(key)
        if value is None:
            return None
        result = as_bool(value)
        if result is None:
            self.report.add(f"'{key}' should be true or false, found a {type_name(value)}: ignored", key=key)
        return result

    def user_invocable(self) -> bool:
        correct = self._bool("user-invocable")
        variant = self._bool("user-invokable")
        if correct is not None and variant is not None and correct != variant:
            self.report.add(
                "'user-invocable' and 'user-invokable' disagree: using 'user-invocable'", key="user-invokable"
            )
        if correct is not None:
            return correct
        return True if variant is None else variant

    def disable_model_invocation(self) -> bool:
        explicit = self._bool("disable-model-invocation")
        infer = self._bool("infer")
        if infer is not None:
            self.report.add(
                "'infer' is deprecated: write 'disable-model-invocation: "
                f"{'false' if infer else 'true'}' instead",
                key="infer",
            )
        if explicit is not None:
            return explicit
        return infer is False

    def handoffs(self) -> tuple[Handoff, ...]:
        value = self._get("handoffs")
        if value is None:
            return ()
        if not isinstance(value, list):
            self.report.add(
                f"'handoffs' should be a list, found a {type_name(value)}: no handoffs", key="handoffs"
            )
            return ()
        base = self.report.key_lines.get("handoffs")
        handoffs: list[Handoff] = []
        lines = self.report.handoff_lines
        for index, entry in enumerate(value, start=1):
            line = lines[index - 1] if len(lines) == len(value) else base
            handoff = self._handoff(index, entry, line)
            if handoff is not None:
                handoffs.append(handoff)
        return tuple(handoffs)

    def _handoff(self, index: int, entry: object, line: int | None) -> Handoff | None:
        where = f"handoff #{index}"
        if not isinstance(entry, dict):
            self.report.add(
                f"{where} should be a mapping with label/agent/prompt, found a "
                f"{type_name(entry)}; not offered",
                line=line,
                error=True,
            )
            return None
        for key in unknown_keys(entry, HANDOFF_KEYS):
            self.report.add(f"handoff #{index}: {unknown_key_message(key, HANDOFF_KEYS)}", line=line)
        label = (scalar_text(entry.get("label")) or "").strip()
        agent = (scalar_text(entry.get("agent")) or "").strip()
        if label:
            where = f"handoff {label!r}"
        missing = [key for key, text in (("label", label), ("agent", agent)) if not text]
        if missing:
            self.report.add(f"{where} has no {' and no '.join(missing)}; not offered", line=line, error=True)
            return None
        prompt_value = entry.get("prompt")
        prompt = scalar_text(prompt_value) if prompt_value is not None else None
        if prompt is None or not prompt.strip():
            self.report.add(f"{where} has no prompt: dropped (as VS Code does)", line=line)
            return None
        send = as_bool(entry.get("send", False))
        if send is None:
            self.report.add(f"{where}: 'send' should be true or false: using false", line=line)
            send = False
        model_value = entry.get("model")
        model = scalar_text(model_value) if model_value is not None else None
        if model_value is not None and model is None:
            self.report.add(f"{where}: 'model' should be a string: ignored", line=line)
        show_value = entry.get("showContinueOn")
        show = as_bool(show_value) if show_value is not None else None
        if show_value is not None and show is None:
            self.report.add(f"{where}: 'showContinueOn' should be true or false: ignored", line=line)
        return Handoff(
            label=label,
            agent=agent,
            prompt=prompt.strip(),
            send=send,
            model=model.strip() or None if model else None,
            show_continue_on=show,
            line=line,
        )
