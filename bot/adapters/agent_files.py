"""Reading the agents folder from disk into a :class:`~bot.core.registry.Registry`.

Agent files are ``*.agent.md`` and ``*.chatmode.md`` (any case), found recursively under the
folder in sorted order (deterministic). Folders whose name starts with ``.`` (``.git``; except
``.github``, where Copilot keeps agents) and ``node_modules`` are not searched. Every file
that can be read is parsed by :func:`bot.core.agents.parse_agent`; a file that cannot be read is a
problem, never an exception. Paths in problems and specs are relative to the folder, with ``/``
(``director.agent.md``, ``sub/helper.agent.md``): short, and the same on every machine. The
routing file is shown relative to the folder too when it is inside it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from bot.core.agents import AGENT_SUFFIXES, Problem, parse_agent
from bot.core.model_routes import ROUTES_FILE, ModelRoutes, parse_routes
from bot.core.registry import Registry, RoutingConfig, parse_routing

if TYPE_CHECKING:
    from bot.core.agents import AgentSpec

_SKIP_DIRS = frozenset({"node_modules", "__pycache__"})


def agent_paths(agents_dir: Path) -> list[Path]:
    """Every agent file under ``agents_dir``, sorted by relative path."""
    found: list[Path] = []
    for root, dirs, files in os.walk(agents_dir):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and (d == ".github" or not d.startswith(".")))
        root_path = Path(root)
        found.extend(root_path / name for name in files if name.lower().endswith(AGENT_SUFFIXES))
    return sorted(found, key=lambda path: path.relative_to(agents_dir).as_posix())


def load_agent_files(agents_dir: Path) -> tuple[list[AgentSpec], list[Problem]]:
    """Parse every agent file under ``agents_dir``; unreadable files become problems."""
    if not agents_dir.is_dir():
        return [], [Problem(file=str(agents_dir), message="agents folder not found (or not a folder)")]
    specs: list[AgentSpec] = []
    problems: list[Problem] = []
    for path in agent_paths(agents_dir):
        shown = path.relative_to(agents_dir).as_posix()
        try:
            content = path.read_bytes()
        except OSError as exc:
            problems.append(Problem(file=shown, message=f"cannot read file ({exc.strerror or exc}); skipped"))
            continue
        spec, found = parse_agent(content, shown)
        problems.extend(found)
        if spec is not None:
            specs.append(spec)
    return specs, problems


def shown_path(path: Path, folder: Path) -> str:
    """``path`` relative to ``folder`` when it is inside it (``routing.yaml``), else as given."""
    try:
        return path.resolve().relative_to(folder.resolve()).as_posix()
    except (ValueError, OSError):
        return str(path)


def load_routing(routing_path: Path | None, shown: str | None = None) -> tuple[RoutingConfig, list[Problem]]:
    """The routing file; a missing file gives the defaults (no verbs, no default agent) and a warning.

    ``shown`` is how problems name the file (default: the path as given).
    """
    if routing_path is None:
        return RoutingConfig(), []
    name = shown or str(routing_path)
    try:
        content = routing_path.read_bytes()
    except FileNotFoundError:
        message = "no routing file: no extra verbs, and no agent answers a plain @mention"
        return RoutingConfig(file=name), [Problem(file=name, message=message, severity="warning")]
    except OSError as exc:
        message = f"cannot read routing file ({exc.strerror or exc}): using defaults"
        return RoutingConfig(file=name), [Problem(file=name, message=message)]
    return parse_routing(content, name)


def load_registry(
    agents_dir: Path, routing_path: Path | None, default_model: str, *, model_routes: str = ""
) -> Registry:
    """Load every agent under ``agents_dir`` and the routing file into an immutable registry.

    ``routing_path=None`` means "no routing configured": defaults, no warning. ``model_routes``:
    the ``MODEL_ROUTES`` JSON; when empty, ``model-routes.yaml`` in the folder, if there is one.
    """
    specs, problems = load_agent_files(agents_dir)
    shown = shown_path(routing_path, agents_dir) if routing_path is not None else None
    routing, routing_problems = load_routing(routing_path, shown)
    routes, route_problems = load_model_routes(agents_dir, model_routes)
    found = [*problems, *routing_problems, *route_problems]
    return Registry.build(specs, found, routing, default_model, routes)


def load_model_routes(agents_dir: Path, model_routes: str = "") -> tuple[ModelRoutes, list[Problem]]:
    """``MODEL_ROUTES`` (JSON) when set, else ``model-routes.yaml`` beside the agents; none if neither."""
    if model_routes.strip():
        return parse_routes(model_routes, "MODEL_ROUTES")
    path = agents_dir / ROUTES_FILE
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return ModelRoutes(), []
    except OSError as exc:
        return ModelRoutes(), [Problem(file=ROUTES_FILE, message=f"cannot read ({exc.strerror or exc})")]
    return parse_routes(content, ROUTES_FILE)
