"""``architect-bot agents list | validate | graph``: inspect and check the agents folder.

``validate`` exit codes: 0 when nothing at all is reported, 1 when any problem is found (warnings
included: a clean agents folder has nothing to say; ``--allow-warnings`` makes only errors fail),
2 on bad usage (unknown option, a folder that does not exist). Every problem is always reported.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

from bot.adapters.agent_files import load_registry
from bot.core.agents import Problem
from bot.core.registry import Registry
from bot.settings import Settings


def register(subparsers: Any) -> None:
    """Add ``agents`` and its sub-commands to the top-level sub-parsers."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "agents", help="list, validate and graph the agent files", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="agents_command", metavar="SUBCOMMAND", required=True)

    listing = commands.add_parser("list", help="table of agents: name, verbs, model, handoffs, file")
    _folder_options(listing, positional=False)
    listing.set_defaults(func=_list)

    validate = commands.add_parser(
        "validate",
        help="check every agent file and the routing file; exit 1 on problems",
        description="Check agent files. Exit 0 = no problems, 1 = problems (all reported), 2 = bad usage.",
    )
    _folder_options(validate, positional=True)
    validate.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    validate.add_argument(
        "--allow-warnings", action="store_true", help="exit 0 when there are only warnings (no errors)"
    )
    validate.set_defaults(func=_validate)

    graph = commands.add_parser("graph", help="Mermaid flowchart of the handoffs")
    _folder_options(graph, positional=False)
    graph.set_defaults(func=_graph)


def _folder_options(parser: argparse.ArgumentParser, *, positional: bool) -> None:
    if positional:
        parser.add_argument("dir", nargs="?", type=Path, help="agents folder (default: AGENTS_DIR)")
    else:
        parser.add_argument("--dir", dest="dir", type=Path, help="agents folder (default: AGENTS_DIR)")
    parser.add_argument(
        "--routing", type=Path, help="routing file (default: routing.yaml in the folder, or ROUTING_FILE)"
    )


def _load(args: argparse.Namespace) -> Registry | None:
    """The registry for the command's folder; None (after a message) when the folder is unusable."""
    try:
        settings = Settings()
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        print(f"architect-bot: invalid settings: {exc}", file=sys.stderr)
        return None
    folder: Path = args.dir or settings.agents_dir
    if not folder.is_dir():
        print(
            f"architect-bot: agents folder {str(folder)!r} does not exist or is not a folder", file=sys.stderr
        )
        return None
    routing: Path = args.routing or (folder / "routing.yaml" if args.dir else settings.routing_path)
    return load_registry(folder, routing, settings.default_model)


def _list(args: argparse.Namespace) -> int:
    registry = _load(args)
    if registry is None:
        return 2
    rows = [("NAME", "VERBS", "MODEL", "HANDOFFS", "FILE")]
    for spec in registry:
        handoffs = ", ".join(dict.fromkeys(h.target for h in registry.handoffs(spec.name)))
        name = spec.name if spec.user_invocable else f"{spec.name} (agents only)"
        if registry.default_agent is not None and spec.name == registry.default_agent.name:
            name += " [default]"
        verbs = ", ".join(registry.verbs_for(spec.name)) or "-"
        rows.append((name, verbs, registry.model_for(spec.name).model, handoffs or "-", _shown(spec.file)))
    widths = [max(len(row[col]) for row in rows) for col in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    print(f"\n{len(registry)} agents", end="")
    if registry.problems:
        print(f"; {len(registry.problems)} problems (run `architect-bot agents validate`)", end="")
    print()
    return 0


def _shown(file: str) -> str:
    """A file path relative to the current folder when it is under it (shorter tables)."""
    try:
        return str(Path(file).resolve().relative_to(Path.cwd()))
    except ValueError:
        return file


def _exit_code(problems: tuple[Problem, ...], *, allow_warnings: bool) -> int:
    if any(p.severity == "error" for p in problems):
        return 1
    return 1 if problems and not allow_warnings else 0


def _validate(args: argparse.Namespace) -> int:
    registry = _load(args)
    if registry is None:
        return 2
    code = _exit_code(registry.problems, allow_warnings=args.allow_warnings)
    if args.json:
        print(json.dumps(_as_json(registry), ensure_ascii=False, indent=2))
        return code
    for problem in registry.problems:
        where = f"{problem.file}:{problem.line}" if problem.line else problem.file
        print(f"{where}: {problem.severity}: {problem.message}")
    errors = sum(1 for p in registry.problems if p.severity == "error")
    warnings = len(registry.problems) - errors
    verdict = "OK" if code == 0 else "FAILED"
    print(f"{verdict}: {len(registry)} agents loaded; {errors} errors, {warnings} warnings")
    return code


def _as_json(registry: Registry) -> dict[str, Any]:
    return {
        "agents": [
            {
                "name": spec.name,
                "file": spec.file,
                "description": spec.description,
                "model": registry.model_for(spec.name).model,
                "handoffs": [
                    {"label": h.handoff.label, "agent": h.target, "send": h.handoff.send}
                    for h in registry.handoffs(spec.name)
                ],
            }
            for spec in registry
        ],
        "problems": [
            {"file": p.file, "line": p.line, "message": p.message, "severity": p.severity}
            for p in registry.problems
        ],
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
