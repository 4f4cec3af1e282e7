"""Architecture: the pure core never imports Slack, OpenAI, Redis or boto3 (see bot/core/__init__.py)."""

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
            if isinstance(node, ast.ImportFrom) and (node.module or "").endswith(
                ("redis_store", "memory_store")
            ):
                offenders.append(f"{relative}:{node.lineno} imports {node.module}")
    assert offenders == []


def test_nothing_under_bot_imports_handlers() -> None:
    """Dependencies point inward: the entry points in handlers/ use bot/, never the other way round."""
    import ast

    offenders = []
    for path in sorted(ROOT.glob("bot/**/*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names if n.split(".")[0] == "handlers"]
    assert offenders == []
