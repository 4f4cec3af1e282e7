"""The Lambda package: bytecode for the runtime's Python and only what Lambda runs (lambda_package.py).

The package check runs in ``make package`` over the real zip; here it runs over small zips built the
same way (real modules of the bot, compiled by this interpreter), so that it is known to fail on each
kind of bad package.
"""

from __future__ import annotations

import ast
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from scripts import lambda_package
from scripts.lambda_package import LEFT_OUT, add_bytecode, app_files, inspect, read_zip

ROOT = Path(__file__).resolve().parent.parent
HERE = f"python{sys.version_info[0]}.{sys.version_info[1]}"  # the runtime this interpreter compiles for
OTHER = "python3.12" if HERE != "python3.12" else "python3.11"
SAMPLE = [
    "bot/__init__.py",
    "bot/errors.py",
    "bot/settings.py",
    "bot/logging.py",
    "handlers/lambda_function.py",
]


def serverless() -> dict[str, object]:
    loaded: dict[str, object] = yaml.safe_load((ROOT / "serverless.yml").read_text())
    return loaded


def sample_zip(path: Path, names: list[str] = SAMPLE) -> Path:
    """A zip of real source files, as osls writes it (no bytecode yet)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(ROOT / name, name)
    return path


def test_a_package_compiled_for_its_runtime_passes(tmp_path: Path) -> None:
    """Every module gets unchecked-hash bytecode in ``__pycache__`` and the check accepts the zip."""
    built = sample_zip(tmp_path / "app.zip")
    add_bytecode(built, HERE)
    report = inspect(read_zip(built), HERE)
    assert report.problems == []
    assert (report.sources, report.compiled) == (len(SAMPLE), len(SAMPLE))
    with zipfile.ZipFile(built) as archive:
        assert sorted(n for n in archive.namelist() if not n.endswith(".pyc")) == sorted(SAMPLE)


def test_bytecode_for_another_python_fails_the_package(tmp_path: Path) -> None:
    """Bytecode compiled by this interpreter is refused for another runtime, even under that runtime's
    file name (the magic number tells)."""
    built = sample_zip(tmp_path / "app.zip")
    add_bytecode(built, HERE)
    assert any("wrong Python" in p or "bytecode for 0" in p for p in inspect(read_zip(built), OTHER).problems)
    entries = read_zip(built)
    tag = f"cpython-{sys.version_info[0]}{sys.version_info[1]}"
    other_tag = "cpython-" + OTHER.removeprefix("python").replace(".", "")
    renamed = {name.replace(tag, other_tag): header for name, header in entries.items()}
    problems = inspect(renamed, OTHER).problems
    assert any("not Python" in p and "bytecode" in p for p in problems)


def test_compiling_under_the_wrong_interpreter_is_refused(tmp_path: Path) -> None:
    """`make package` stops rather than ship bytecode the runtime would ignore."""
    with pytest.raises(SystemExit, match="must be compiled by Python"):
        add_bytecode(sample_zip(tmp_path / "app.zip"), OTHER)


def test_missing_or_timestamped_bytecode_fails_the_package(tmp_path: Path) -> None:
    """Under 95% of modules with bytecode, or pycs that check source timestamps, fail the check."""
    built = sample_zip(tmp_path / "app.zip")
    add_bytecode(built, HERE)
    entries = read_zip(built)
    one_pyc = next(name for name in entries if name.endswith(".pyc"))
    fewer = {name: header for name, header in entries.items() if name != one_pyc}
    assert any("at least 95%" in p for p in inspect(fewer, HERE).problems)  # 4 of 5 = 80%
    stamped = {
        name: (header[:4] + (0).to_bytes(4, "little") + header[8:]) if name.endswith(".pyc") else header
        for name, header in entries.items()
    }
    assert any("not unchecked-hash" in p for p in inspect(stamped, HERE).problems)


def test_the_playground_and_the_terminal_fail_the_package(tmp_path: Path) -> None:
    """A zip holding the playground, the CLI or their libraries is refused."""
    built = sample_zip(tmp_path / "app.zip", [*SAMPLE, "bot/playground/__init__.py", "bot/cli/__init__.py"])
    add_bytecode(built, HERE)
    problems = inspect(read_zip(built), HERE).problems
    assert len(problems) == 1
    assert "bot/playground/" in problems[0]
    assert "bot/cli/" in problems[0]


def test_serverless_packages_only_what_lambda_runs() -> None:
    """The package patterns leave out the playground, the CLI and the local server, and keep the
    handlers, the bot and the agent files; the runtime is one SnapStart supports (Python 3.12+)."""
    config = serverless()
    package = config["package"]
    provider = config["provider"]
    assert isinstance(package, dict)
    assert isinstance(provider, dict)
    files = app_files(ROOT, package["patterns"])
    assert "handlers/lambda_function.py" in files
    assert "handlers/dead_letter.py" in files
    assert any(name.startswith("agents/") for name in files)
    assert "bot/adapters/redis/lua/hand_off.lua" in files  # the Redis scripts are package data
    assert not [name for name in files if name.startswith(LEFT_OUT)]
    assert lambda_package.runtime_version(provider["runtime"]) >= (3, 12)


def _imports(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_nothing_in_the_package_imports_what_was_left_out() -> None:
    """No packaged module imports (at the top or lazily) the playground, the CLI, the local server or
    the terminal's libraries: Lambda would fail with ImportError where they are missing."""
    config = serverless()
    package = config["package"]
    assert isinstance(package, dict)
    left_out = [p.removesuffix("/").removesuffix(".py").replace("/", ".") for p in LEFT_OUT]
    offenders = []
    for name in app_files(ROOT, package["patterns"]):
        if not name.endswith(".py"):
            continue
        for imported in _imports((ROOT / name).read_text()):
            if any(imported == gone or imported.startswith(gone + ".") for gone in left_out):
                offenders.append(f"{name} imports {imported}")
    assert offenders == []
