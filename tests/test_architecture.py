"""Architecture: the pure core never imports Slack, OpenAI, Redis or boto3 (see bot/core/__init__.py);
no import circle and no module, class or function over its size limit under bot/ and handlers/."""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import bot.core

ROOT = Path(__file__).resolve().parent.parent
FORBIDDEN = ("slack_bolt", "slack_sdk", "openai", "redis", "boto3")


def _imported_by(modules: list[str]) -> dict[str, list[str]]:
    """For each module, the forbidden top-level packages in sys.modules after importing it alone."""
    code = (
        "import importlib, json, sys\n"
        f"forbidden = {FORBIDDEN!r}\n"
        "module = sys.argv[1]\n"
        "importlib.import_module(module)\n"
        "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules} & set(forbidden))))\n"
    )
    found: dict[str, list[str]] = {}
    for module in modules:
        result = subprocess.run(
            [sys.executable, "-c", code, module], capture_output=True, text=True, cwd=ROOT, check=False
        )
        assert result.returncode == 0, f"{module} failed to import:\n{result.stderr}"
        found[module] = json.loads(result.stdout)
    return found


def test_core_modules_import_no_outside_systems() -> None:
    """Every module in bot.core imports without pulling in slack_bolt, slack_sdk, openai, redis or boto3."""
    modules = sorted(f"bot.core.{info.name}" for info in pkgutil.iter_modules(bot.core.__path__))
    assert "bot.core.registry" in modules
    assert _imported_by(modules) == {module: [] for module in modules}


def test_agent_loading_and_cli_import_no_outside_systems() -> None:
    """The agent-file adapter and the CLI stay light: `architect-bot agents validate` needs no SDK."""
    modules = ["bot.adapters.agent_files", "bot.cli", "bot.cli.agents"]
    assert _imported_by(modules) == {module: [] for module in modules}


STORE_OWNERS = {"bot/container.py", "bot/core/ports.py"}


def test_only_the_engine_and_the_container_touch_the_conversation_store() -> None:
    """Every listener, the Slack layer and the terminal go through the engine's use cases, so its
    guarantees (one read per turn, atomic handoffs, exactly-once) cannot be bypassed."""
    import ast

    offenders: list[str] = []
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]):
        relative = path.relative_to(ROOT).as_posix()
        if relative in STORE_OWNERS or relative.startswith(("bot/adapters/", "bot/core/engine/")):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=relative)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "store":
                offenders.append(f"{relative}:{node.lineno} uses .store")
            if isinstance(node, ast.ImportFrom) and f"{node.module}.".startswith(
                ("bot.adapters.redis.", "bot.adapters.memory.")
            ):
                offenders.append(f"{relative}:{node.lineno} imports {node.module}")
    assert offenders == []


def test_nothing_under_bot_imports_handlers() -> None:
    """Dependencies point inward: the entry points in handlers/ use bot/, never the other way round."""

    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in sorted(ROOT.glob("bot/**/*.py"))
        for name in _imported_names(path)
        if name.split(".")[0] == "handlers"
    ]
    assert offenders == []


def _imported_names(path: Path) -> list[str]:
    """The modules a file imports (``import a.b``, ``from a.b import c``: ``a.b``), anywhere in it."""
    import ast

    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append(node.module or "")
    return names


# ------------------------------------------------------------------ import circles and sizes

MAX_MODULE_LINES = 500
MAX_CLASS_LINES = 400
MAX_FUNCTION_LINES = 60

# Known to be over a limit, with their size (none left since issue 17): nothing new may join.
KNOWN_OVER: dict[str, int] = {}
# Known import circles (each a sorted list of modules): none may join (the playground's is gone).
KNOWN_CIRCLES: list[list[str]] = []


def _our_modules() -> dict[str, Path]:
    """Every module under bot/ and handlers/, by dotted name."""
    modules: dict[str, Path] = {}
    for path in sorted([*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ours that ``name`` imports anywhere (top level, in functions, for typing)."""
    import ast

    found: set[str] = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name in modules}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in modules else target)
    return (found & modules.keys()) - {name}


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component: list[str] = []
            while not component or component[-1] != node:
                component.append(stack.pop())
            if len(component) > 1:
                circles.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(circles)


def test_no_import_circle_inside_bot_and_handlers() -> None:
    """No module of ours imports (directly or through others) a module that imports it back, so
    each package can be read, tested and changed from the bottom up."""
    modules = _our_modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert "bot.core.engine.model_loop" in graph["bot.core.engine.answer"]  # the graph sees imports
    assert [c for c in _circles(graph) if c not in KNOWN_CIRCLES] == []


def test_the_circle_finder_finds_a_circle() -> None:
    """The circle check can fail: a three-module loop is found, a chain is not."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _circles(graph) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def _over_limits(relative: str, text: str) -> dict[str, int]:
    """The module (``relative``) and its classes and functions (``relative:name``, decorators and
    docstrings included) that are over their limit, with their length in lines."""
    import ast

    over: dict[str, int] = {}
    if len(text.splitlines()) > MAX_MODULE_LINES:
        over[relative] = len(text.splitlines())
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
            size = (node.end_lineno or node.lineno) - first + 1
            limit = MAX_CLASS_LINES if isinstance(node, ast.ClassDef) else MAX_FUNCTION_LINES
            if size > limit:
                key = f"{relative}:{node.name}"
                over[key] = max(size, over.get(key, 0))
    return over


def test_the_size_check_finds_a_long_function() -> None:
    """The size check can fail: a 61-line function is over, a 60-line one is not."""
    body = "".join(f"    x{i} = {i}\n" for i in range(59))
    assert _over_limits("m.py", f"def long():\n{body}    return 0\n") == {"m.py:long": 61}
    assert _over_limits("m.py", f"def fits():\n{body}") == {}


def test_no_module_class_or_function_over_its_size_limit() -> None:
    """Modules fit in 500 lines, classes in 400, functions in 60 (the known exceptions may only shrink)."""
    over: dict[str, int] = {}
    for path in _our_modules().values():
        over |= _over_limits(path.relative_to(ROOT).as_posix(), path.read_text(encoding="utf-8"))
    grown = {key: size for key, size in over.items() if size > KNOWN_OVER.get(key, 0)}
    assert grown == {}


# The layers, highest first: a module may import its own layer and the ones below, never one above.
# Modules not named here (errors, logging, metrics, runtime, settings) are the bottom layer with core.
LAYERS: dict[str, int] = {
    "handlers": 4,  # process entry points
    "bot.slack": 3,  # Slack: listeners -> flows -> writers
    "bot.cli": 3,  # the terminal
    "bot.playground": 3,  # the local Slack
    "bot.container": 2,  # wiring
    "bot.bootstrap": 2,
    "bot.toolbox": 2,
    "bot.agents_source": 2,  # wiring: agent files from S3, refreshed
    "bot.adapters": 1,  # one outside system each
}


def _layer(module: str) -> int:
    """The layer of a dotted module name (0: core and the shared basics)."""
    return next(
        (level for prefix, level in LAYERS.items() if module == prefix or module.startswith(f"{prefix}.")), 0
    )


def _upward(graph: dict[str, set[str]]) -> list[str]:
    """Every import from a lower layer to a higher one, as ``importer -> imported``."""
    return sorted(f"{a} -> {b}" for a, targets in graph.items() for b in targets if _layer(b) > _layer(a))


def test_no_import_from_a_lower_layer_to_a_higher_one() -> None:
    """Dependencies point inward (handlers -> slack/cli/playground -> container/bootstrap -> adapters
    -> core), counting every import: at module level, inside functions and for typing only."""
    modules = _our_modules()
    graph = {name: _imports(name, path, modules) for name, path in modules.items()}
    assert "bot.container" in graph["bot.slack.wiring"]  # the graph sees the Slack layer's imports
    assert _upward(graph) == []


def test_the_layer_check_finds_an_upward_import() -> None:
    """The layer check can fail: the container importing the Slack layer is found, the reverse is not."""
    assert _upward({"bot.container": {"bot.slack.features"}}) == ["bot.container -> bot.slack.features"]
    assert _upward({"bot.slack.wiring": {"bot.container"}, "bot.core.engine": {"bot.errors"}}) == []


# The registration points: the only functions in bot/slack that take the whole services container.
SERVICES_TAKERS = {"bot/slack/app.py:build_app", "bot/slack/wiring.py:__init__"}


def test_only_the_registration_points_take_the_services_container() -> None:
    """Flows and listeners say what they use: each gets its collaborators (the engine, the access
    gate, metrics, the Slack client), not the container."""
    import ast

    takers: set[str] = set()
    for path in sorted(ROOT.glob("bot/slack/**/*.py")):
        relative = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                arguments = [*node.args.posonlyargs, *node.args.args, *node.args.kwonlyargs]
                if any("Services" in ast.unparse(a.annotation) for a in arguments if a.annotation):
                    takers.add(f"{relative}:{node.name}")
    assert takers == SERVICES_TAKERS


def _test_module_imports(paths: list[Path]) -> list[str]:
    """``importer -> imported`` for every import of a ``tests.test_*`` module by a file in ``paths``."""
    return sorted(
        f"{path.name} -> {name}"
        for path in paths
        for name in _imported_names(path)
        if name.startswith("tests.test_")
    )


def test_no_test_module_imports_another() -> None:
    """Shared fixtures and helpers live in support modules (tests/conftest.py registers them), so a test
    module can be read, moved or deleted on its own."""
    assert _test_module_imports(sorted((ROOT / "tests").rglob("*.py"))) == []


def test_the_test_import_check_finds_one(tmp_path: Path) -> None:
    """The check above can fail: a test module importing a helper from another one is found."""
    borrowing = tmp_path / "test_borrowing.py"
    borrowing.write_text("from tests.test_governance import helper\nimport tests.support\n")
    assert _test_module_imports([borrowing]) == ["test_borrowing.py -> tests.test_governance"]
