"""``architect-bot agents list | validate | graph [DIR]``: inspect and check the agents folder.

Every subcommand takes the folder the same way: ``DIR`` (or ``--dir DIR``), default ``AGENTS_DIR``.
``list`` and ``--json`` show agent files relative to that folder; ``validate`` prints every path
(agent, routing and policy files) the same way: relative to the current directory when the file is
under it, else absolute, so each can be opened as printed. ``validate`` exit codes: 0 when no file is broken
(warnings are printed but pass; ``--strict`` makes them fail too), 1 when there is an error (a
file, or an entry in one, could not be loaded), 2 on bad usage (unknown option, a folder that does
not exist). Every problem is always reported.
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import re
import sys
import unicodedata
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.adapters.agent_files import load_registry
from bot.adapters.policy_file import load_policy
from bot.core.agents import AgentSpec, Problem
from bot.core.registry import Registry
from bot.core.text import plural, shortlist
from bot.core.tools import ToolConfig, plan_tools
from bot.errors import ConfigurationError
from bot.settings import Settings, SettingsError
from bot.toolbox import tool_config

HANDOFFS_SHOWN = 3
"""Handoff targets shown per agent in ``list`` (the rest as "... and N more")."""


def register(subparsers: Any) -> None:
    """Add ``agents`` and its sub-commands to the top-level sub-parsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "agents",
        help="list, validate and graph the agent files",
        description=__doc__.split("\n")[0].replace("``", ""),
    )
    commands = parser.add_subparsers(dest="agents_command", metavar="SUBCOMMAND", required=True)

    listing = commands.add_parser(
        "list",
        help="table of agents: name, verb, model, handoffs, file",
        description="One line per agent: NAME, VERB (what to type after /architect), MODEL, HANDOFFS, FILE.",
    )
    _folder_options(listing)
    listing.set_defaults(func=_list)

    validate = commands.add_parser(
        "validate",
        help="check every agent file and the routing file; exit 1 on problems",
        description=(
            "Check agent files. Exit 0 = no file is broken (warnings are printed), 1 = errors "
            "(or warnings with --strict), 2 = bad usage. Every problem is reported."
        ),
    )
    _folder_options(validate)
    validate.add_argument(
        "--policy",
        type=Path,
        help="access and cost policy (default: policy.yaml in the folder, or POLICY_FILE); absent = none",
    )
    validate.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    validate.add_argument("--strict", action="store_true", help="warnings fail too (exit 1)")
    validate.add_argument("--allow-warnings", action="store_true", help=argparse.SUPPRESS)  # the default now
    validate.set_defaults(func=_validate)

    graph = commands.add_parser("graph", help="Mermaid flowchart of the handoffs")
    _folder_options(graph)
    graph.set_defaults(func=_graph)


def _folder_options(parser: argparse.ArgumentParser) -> None:
    """The folder, the same way for every subcommand: ``DIR`` or ``--dir DIR``; and ``--routing``."""
    parser.add_argument(
        "dir", nargs="?", type=Path, metavar="DIR", help="agents folder (default: AGENTS_DIR)"
    )
    parser.add_argument("--dir", dest="dir_option", type=Path, metavar="DIR", help="same as DIR")
    parser.add_argument(
        "--routing", type=Path, help="routing file (default: routing.yaml in the folder, or ROUTING_FILE)"
    )


def _folder(args: argparse.Namespace) -> Path | None:
    """DIR or --dir (the same folder if both are given); None when neither is."""
    given: Path | None = args.dir
    option: Path | None = args.dir_option
    if given is not None and option is not None and given.resolve() != option.resolve():
        raise _UsageError(f"two different folders given: {str(given)!r} and --dir {str(option)!r}")
    return given or option


class _UsageError(Exception):
    """Bad usage found after argument parsing (exit 2, message on stderr)."""


def _load(args: argparse.Namespace) -> Registry | None:
    """The registry for the command's folder; None (after a message) when the folder is unusable."""
    try:
        folder_given = _folder(args)
        settings = Settings()
    except _UsageError as exc:
        print(f"architect-bot: {exc}", file=sys.stderr)
        return None
    except SettingsError as exc:  # "invalid settings: MAX_TURNS: should be at least 10 (got '5')"
        print(f"architect-bot: {exc}", file=sys.stderr)
        return None
    folder: Path = folder_given or settings.agents_dir
    if not folder.is_dir():
        print(
            f"architect-bot: agents folder {str(folder)!r} does not exist or is not a folder", file=sys.stderr
        )
        return None
    routing: Path = args.routing or (folder / "routing.yaml" if folder_given else settings.routing_path)
    return load_registry(folder, routing, settings.default_model, model_routes=settings.model_routes)


def _list(args: argparse.Namespace) -> int:
    registry = _load(args)
    if registry is None:
        return 2
    rows = [("NAME", "VERB", "MODEL", "HANDOFFS", "FILE")]
    for spec in registry:
        targets = list(dict.fromkeys(h.target for h in registry.handoffs(spec.name)))
        name = spec.name if spec.user_invocable else f"{spec.name} (agents only)"
        if registry.default_agent is not None and spec.name == registry.default_agent.name:
            name += " [default]"
        verb, *aliases = registry.verbs_for(spec.name)
        if aliases:
            verb += f" (also {', '.join(aliases)})"
        handoffs = shortlist(targets, HANDOFFS_SHOWN) or "-"
        rows.append((name, verb, registry.model_for(spec.name).model, handoffs, spec.file))
    widths = [max(_cells(row[col]) for row in rows) for col in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell + " " * (width - _cells(cell)) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    print(f"\n{plural(len(registry), 'agent')}", end="")
    if registry.problems:
        folder = f" {_folder(args)}" if _folder(args) else ""
        print(f"; {_problem_counts(registry.problems)} (`architect-bot agents validate{folder}`)", end="")
    print()
    return 0


def unknown_agent(word: str, registry: Registry) -> str:
    """What to say when ``word`` reaches no agent: the closest verbs, then a cut list of them all."""
    verbs = sorted(registry.verb_for(spec.name) or spec.name for spec in registry.user_invocable())
    if not verbs:
        return f"no agent {word!r}: no agents are loaded (check AGENTS_DIR)"
    close = difflib.get_close_matches(word.casefold(), verbs, n=3, cutoff=0.6)
    hint = f" Did you mean {' or '.join(close)}?" if close else ""
    return (
        f"no agent {word!r}.{hint}\n  Verbs: {shortlist(verbs, 6)}\n"
        "  `architect-bot agents list` shows every agent with its verb."
    )


def _cells(text: str) -> int:
    """Terminal columns ``text`` takes: wide characters (CJK, emoji) two, combining marks none."""
    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1
        for ch in text
    )


def _problem_counts(problems: tuple[Problem, ...]) -> str:
    errors = sum(1 for p in problems if p.severity == "error")
    return f"{plural(errors, 'error')}, {plural(len(problems) - errors, 'warning')}"


def _exit_code(problems: tuple[Problem, ...], *, strict: bool) -> int:
    if any(p.severity == "error" for p in problems):
        return 1
    return 1 if problems and strict else 0


def _empty_bodies(registry: Registry) -> list[Problem]:
    """A warning for each agent whose file has no instructions under its frontmatter."""
    return [
        Problem(
            file=spec.file,
            message="the body is empty: the agent has no instructions (write them under the frontmatter)",
            severity="warning",
        )
        for spec in registry
        if not spec.instructions.strip()
    ]


def _policy_problems(args: argparse.Namespace, registry: Registry) -> list[Problem]:
    """The policy file's problems, agent names checked against the loaded agents."""
    folder = _folder(args)
    path: Path = args.policy or (folder / "policy.yaml" if folder else Settings().policy_path)

    def canonical(name: str) -> str | None:
        spec = registry.get(name)
        return spec.name if spec is not None else None

    return load_policy(path, canonical)[1]


def _validate(args: argparse.Namespace) -> int:
    registry = _load(args)
    if registry is None:
        return 2
    problems = (*registry.problems, *_empty_bodies(registry), *_policy_problems(args, registry))
    code = _exit_code(problems, strict=args.strict)
    tools = _tool_config()
    if args.json:
        print(json.dumps(_as_json(registry, problems, tools), ensure_ascii=False, indent=2))
        return code
    folder = _folder(args) or Settings().agents_dir
    for problem in problems:
        shown = _shown(problem.file, folder)
        where = f"{shown}:{problem.line}" if problem.line else shown
        print(f"{where}: {problem.severity}: {problem.message}")
    _print_unavailable(registry, tools, folder)
    if registry.routes:  # model routes: which model each agent really uses, and where
        print(f"Models ({plural(len(registry.routes), 'model route')}, {registry.routes.source}):")
        default = _default_endpoint()
        print("\n".join(f"  {spec.name}: {registry.model_shown(spec.name, default)}" for spec in registry))
    verdict = "OK" if code == 0 else "FAILED"
    print(f"{verdict}: {plural(len(registry), 'agent')} loaded; {_problem_counts(problems)}")
    return code


def _tool_config() -> ToolConfig:
    """What the settings let agents use (so the report matches the bot run with these settings)."""
    try:
        return tool_config(Settings())
    except ConfigurationError as exc:
        print(f"architect-bot: {exc}: MCP_SERVERS left out of the tools report", file=sys.stderr)
        return replace(tool_config(Settings(mcp_servers="")), bot_servers=())


def _shown(file: str, folder: Path) -> str:
    """A problem's path as ``validate`` prints it: relative to the current directory when under it,
    else absolute. Agent files are named relative to the folder; other files as they were given."""
    path = Path(file)
    if not path.is_absolute() and (folder / path).exists():
        path = folder / path
    absolute = Path(os.path.abspath(path))
    try:
        return absolute.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(absolute)


def _print_unavailable(registry: Registry, tools: ToolConfig, folder: Path) -> None:
    """Tools and MCP servers agent files name that do not run here (not problems: agents run without)."""
    lines = [
        f"  {_shown(spec.file, folder)}: {spec.name}: {item.name}: {item.reason}"
        for spec in registry
        for item in plan_tools(spec, tools).unavailable
    ]
    if lines:
        print("Tools not available here (the agents run without them):")
        print("\n".join(lines))


def _as_json(registry: Registry, problems: tuple[Problem, ...], tools: ToolConfig) -> dict[str, Any]:
    return {
        "agents": [
            {
                "name": spec.name,
                "verb": registry.verb_for(spec.name),
                "aliases": list(registry.verbs_for(spec.name)[1:]),
                "file": spec.file,
                "description": spec.description,
                "model": registry.model_for(spec.name).model,
                "endpoint": _endpoint_json(registry, spec.name),
                "handoffs": [
                    {"label": h.handoff.label, "agent": h.target, "send": h.handoff.send}
                    for h in registry.handoffs(spec.name)
                ],
                "tools": _tools_json(spec, tools),
            }
            for spec in registry
        ],
        "problems": [
            {"file": p.file, "line": p.line, "message": p.message, "severity": p.severity} for p in problems
        ],
    }


def _default_endpoint() -> str:
    """Where unrouted models go: OPENAI_BASE_URL, else OpenAI."""
    try:
        return Settings().openai_base_url or "https://api.openai.com/v1"
    except ValueError:
        return "https://api.openai.com/v1"


def _endpoint_json(registry: Registry, name: str) -> dict[str, Any]:
    """The model name an agent's requests carry, the endpoint they go to, and the route (if any)."""
    model = registry.model_for(name).model
    route = registry.routes.match(model)
    if route is None:
        return {"model": model, "base_url": _default_endpoint(), "route": None}
    return {"model": route.sent_name(model), "base_url": route.base_url, "route": route.pattern}


def _tools_json(spec: AgentSpec, tools: ToolConfig) -> dict[str, Any]:
    plan = plan_tools(spec, tools)
    return {
        "available": plan.available(),
        "not_available": [{"tool": item.name, "reason": item.reason} for item in plan.unavailable],
    }


def mermaid(registry: Registry) -> str:
    """The handoffs as a Mermaid ``flowchart LR``; node ids are ``a0``, ``a1``… (safe for any name)."""
    ids = {spec.name: f"a{index}" for index, spec in enumerate(registry)}
    lines = ["flowchart LR"]
    lines.extend(f'    {ids[spec.name]}["{_mermaid_text(spec.name)}"]' for spec in registry)
    for spec in registry:
        for handoff in registry.handoffs(spec.name):
            label = _mermaid_text(handoff.handoff.label)
            lines.append(f'    {ids[spec.name]} -->|"{label}"| {ids[handoff.target]}')
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    """Text safe inside a quoted Mermaid label (quotes and markup as entity codes)."""
    text = re.sub(r"\s+", " ", text).strip()
    for char, code in (("#", "#35;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;"), ("|", "#124;")):
        text = text.replace(char, code)
    return text


def _graph(args: argparse.Namespace) -> int:
    registry = _load(args)
    if registry is None:
        return 2
    sys.stdout.write(mermaid(registry))
    return 0
