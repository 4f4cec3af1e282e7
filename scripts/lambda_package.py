"""The Lambda zip's bytecode and contents: compile it for the runtime's Python, and check it. Stdlib only.

Lambda extracts the zip into ``/var/task``, which is read-only: a module without a matching ``.pyc``
in its ``__pycache__`` is compiled again at every cold start (about 1 s more for the handler's
imports). So the package carries bytecode for every module, its own and its dependencies', compiled
by the interpreter of the runtime's Python version (``provider.runtime`` in serverless.yml) as
*unchecked-hash* pycs: the runtime uses them without looking at the sources' timestamps, which a zip
does not keep exactly.

    python3.12 scripts/lambda_package.py bytecode build/x.zip --runtime python3.12   # rewrite the zip
    .venv/bin/python scripts/lambda_package.py check build/x.zip --runtime python3.12  # exit 1 if bad

``bytecode`` runs under the runtime's interpreter (the osls plugin scripts/serverless-bytecode.js
calls it with ``PYTHON_RUNTIME_BIN`` while packaging, before osls hashes the zip); any pyc already
in the zip is dropped first. ``check`` runs under any Python: it fails when fewer than 95% of the
``.py`` files have a pyc, when a pyc is for another Python version (tag or magic number) or not
unchecked-hash, or when the zip holds something Lambda never runs (the playground, the terminal and
CLI, the local server, and their libraries).
"""

from __future__ import annotations

import argparse
import compileall
import os
import py_compile
import re
import sys
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
MIN_COVERAGE = 0.95
# importlib.util.MAGIC_NUMBER of each CPython release line (the first two bytes, little-endian).
MAGIC = {(3, 10): 3439, (3, 11): 3495, (3, 12): 3531, (3, 13): 3571}
UNCHECKED_HASH = 0b01  # the pyc header's flags: hash-based, source not checked
# Never run on Lambda: the playground, the terminal chat and CLI, the local HTTP / Socket Mode server
# (serverless.yml leaves them out), and the libraries only they use.
LEFT_OUT = (
    "bot/playground/",
    "bot/cli/",
    "bot/slack/server.py",
    "handlers/local.py",
    "prompt_toolkit/",
    "rich/",
    "markdown_it/",
    "mdurl/",
    "pygments/",
    "pexpect/",
)
_RUNTIME = re.compile(r"^python(\d+)\.(\d+)$")


def _glob(pattern: str) -> re.Pattern[str]:
    """A serverless.yml package pattern as a regular expression over relative POSIX paths."""
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("/**", i) and i + 3 == len(pattern):
            out, i = out + "(?:/.*)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + r"\Z")


def app_files(root: Path, patterns: list[str]) -> list[str]:
    """The files of ``root`` that serverless.yml's ``package.patterns`` put in the zip (last match wins)."""
    rules = [(not p.startswith("!"), _glob(p.removeprefix("!"))) for p in patterns]
    skip = {".git", ".venv", "node_modules", "build", ".serverless"}
    chosen = []
    for directory, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in skip)
        for file in sorted(files):
            name = (Path(directory) / file).relative_to(root).as_posix()
            included = False
            for include, rule in rules:
                if rule.match(name):
                    included = include
            if included:
                chosen.append(name)
    return chosen


def runtime_version(runtime: str) -> tuple[int, int]:
    """``python3.12`` -> (3, 12)."""
    match = _RUNTIME.match(runtime.strip())
    if not match or (int(match[1]), int(match[2])) not in MAGIC:
        raise SystemExit(f"unknown Lambda Python runtime {runtime!r} (known: {sorted(MAGIC)})")
    return int(match[1]), int(match[2])


def pyc_name(source: str, version: tuple[int, int]) -> str:
    """Where CPython looks for a module's bytecode: ``a/b.py`` -> ``a/__pycache__/b.cpython-312.pyc``."""
    path = PurePosixPath(source)
    return str(path.parent / "__pycache__" / f"{path.stem}.cpython-{version[0]}{version[1]}.pyc")


def is_bytecode(name: str) -> bool:
    """A pyc or anything in a ``__pycache__`` directory."""
    return name.endswith(".pyc") or "/__pycache__/" in f"/{name}"


def compile_tree(directory: Path, *, prefix: str = "/var/task") -> int:
    """Compile every ``.py`` under ``directory`` as unchecked-hash pycs; the number that failed.

    Tracebacks name ``prefix/...`` (where Lambda puts the files) until the import system replaces it
    with the real path of the source.
    """
    ok = compileall.compile_dir(
        str(directory),
        quiet=2,
        workers=0,
        stripdir=str(directory),
        prependdir=prefix,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    if ok:
        return 0
    failed = 0
    for source in directory.rglob("*.py"):
        cached = source.parent / "__pycache__" / f"{source.stem}.{sys.implementation.cache_tag}.pyc"
        failed += not cached.exists()
    return failed


def add_bytecode(zip_path: Path, runtime: str) -> None:
    """Rewrite ``zip_path`` with fresh bytecode for ``runtime``; must run under that Python."""
    version = runtime_version(runtime)
    if sys.version_info[:2] != version:
        raise SystemExit(
            f"bytecode for {runtime} must be compiled by Python {version[0]}.{version[1]}, "
            f"not {sys.version.split()[0]} ({sys.executable}): set PYTHON_RUNTIME_BIN"
        )
    with zipfile.ZipFile(zip_path) as original, tempfile.TemporaryDirectory() as tmp:
        kept = [info for info in original.infolist() if not is_bytecode(info.filename)]
        sources = [info for info in kept if info.filename.endswith(".py")]
        for info in sources:
            original.extract(info, tmp)
        failed = compile_tree(Path(tmp))
        compiled = sorted(Path(tmp).rglob("*.pyc"))
        rewritten = zip_path.with_suffix(".bytecode.zip")
        with zipfile.ZipFile(rewritten, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
            for info in kept:
                out.writestr(info, original.read(info))
            for pyc in compiled:
                entry = zipfile.ZipInfo(pyc.relative_to(tmp).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
                entry.external_attr = 0o100644 << 16
                entry.compress_type = zipfile.ZIP_DEFLATED
                out.writestr(entry, pyc.read_bytes())
    os.replace(rewritten, zip_path)
    print(
        f"   bytecode: {len(compiled)} pycs for {len(sources)} .py files (Python {version[0]}.{version[1]}, "
        f"unchecked-hash){f', {failed} did not compile' if failed else ''}"
    )


@dataclass
class Report:
    """What :func:`inspect` found in a package."""

    sources: int = 0
    compiled: int = 0
    files: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def coverage(self) -> float:
        return self.compiled / self.sources if self.sources else 1.0


def inspect(entries: dict[str, bytes], runtime: str, *, min_coverage: float = MIN_COVERAGE) -> Report:
    """Check a package given as {name: first 16 bytes of each pyc, b"" for other files}."""
    version = runtime_version(runtime)
    magic = MAGIC[version].to_bytes(2, "little") + b"\r\n"
    tag = f".cpython-{version[0]}{version[1]}.pyc"
    report = Report(files=len(entries))
    good: set[str] = set()
    wrong: list[str] = []
    for name, header in entries.items():
        if not name.endswith(".pyc"):
            continue
        flags = int.from_bytes(header[4:8], "little") if len(header) >= 8 else -1
        if not name.endswith(tag) or "/__pycache__/" not in f"/{name}" or header[:4] != magic:
            wrong.append(f"{name} (not Python {version[0]}.{version[1]} bytecode)")
        elif flags != UNCHECKED_HASH:
            wrong.append(f"{name} (flags {flags}: not unchecked-hash)")
        else:
            good.add(name)
    for name in entries:
        if name.endswith(".py"):
            report.sources += 1
            report.compiled += pyc_name(name, version) in good
    left_in = sorted({prefix for prefix in LEFT_OUT for name in entries if name.startswith(prefix)})
    if wrong:
        report.problems.append(f"{len(wrong)} pycs for the wrong Python or mode, e.g. {wrong[:3]}")
    if report.coverage < min_coverage:
        report.problems.append(
            f"bytecode for {report.compiled} of {report.sources} .py files ({report.coverage:.1%}); "
            f"at least {min_coverage:.0%} needed"
        )
    if left_in:
        report.problems.append(f"holds what Lambda never runs: {left_in}")
    return report


def read_zip(zip_path: Path) -> dict[str, bytes]:
    """Every file of a zip, with the first 16 bytes of each pyc."""
    entries: dict[str, bytes] = {}
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            header = b""
            if info.filename.endswith(".pyc"):
                with archive.open(info) as pyc:
                    header = pyc.read(16)
            entries[info.filename] = header
    return entries


def check(zip_path: Path, runtime: str, *, min_coverage: float = MIN_COVERAGE) -> int:
    """Print what the package holds; 1 when it fails a rule."""
    report = inspect(read_zip(zip_path), runtime, min_coverage=min_coverage)
    size = zip_path.stat().st_size
    print(
        f"   {zip_path}: {size / 1048576:.1f} MB, {report.files} files; bytecode for {report.compiled} "
        f"of {report.sources} .py files ({report.coverage:.1%}, {runtime}, unchecked-hash)"
    )
    for problem in report.problems:
        print(f"   PACKAGE CHECK FAILED: {problem}", file=sys.stderr)
    return 1 if report.problems else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["bytecode", "check"])
    parser.add_argument("zip", type=Path)
    parser.add_argument("--runtime", required=True, help="the Lambda runtime, e.g. python3.12")
    parser.add_argument("--min-coverage", type=float, default=MIN_COVERAGE)
    args = parser.parse_args()
    if args.command == "bytecode":
        add_bytecode(args.zip, args.runtime)
        return 0
    return check(args.zip, args.runtime, min_coverage=args.min_coverage)


if __name__ == "__main__":
    sys.exit(main())
