"""Cold starts as Lambda runs the package, beside the lean app packaged the same way. Asserts nothing.

Both apps are packaged here as ``make package`` packages them, from the same installed wheels (this
virtualenv's, pinned by requirements.txt: no network), for this machine's platform and Python:

- the bot: the files serverless.yml's ``package.patterns`` select (no playground, CLI or local
  server) and the dependencies of requirements.txt less ``noDeploy`` (boto3 & co., which the Lambda
  runtime provides); the lean app (``scripts/lean_app.py``): slack-bolt and slack-sdk;
- zipped, then given bytecode and checked by ``scripts/lambda_package.py`` (the package step), then
  extracted into a read-only directory (``chmod -R a-w``); processes run with
  ``PYTHONDONTWRITEBYTECODE=1`` and without site-packages (``python -S``), so they import only the
  package and what the runtime provides (boto3, botocore, ``snapshot_restore_py``: a third directory,
  compiled too, as Lambda's runtime is). The run checks that nothing was written into the packages.

Then ``scripts/bench_speed.py``'s measurements, one fresh process per cold start
(``scripts/lambda_process.py``), the two apps alternating, with a fake Slack, a fake OpenAI whose first
token comes after ``--first-token-ms`` and the real Redis:

- cold first ack, wall and CPU (import of the handler's module = Lambda's INIT, then the first ack);
  also with the bytecode taken out of the package (``--no-bytecode`` processes per app): what a zip
  without bytecode costs on a read-only ``/var/task``;
- the same after a SnapStart-style init (the process is initialised with
  ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`` before the request, then runs the after-restore hooks);
- warm ack p50 / p99 on a warm container; command -> first streamed text (warm, cold, restored);
- new TCP connections to the model per answer on a warm container (the fake counts them).

    .venv/bin/python scripts/bench_coldstart.py [--cold 7] [--no-bytecode 3] [--warm 60] [--answers 8]

Lambda runs Python 3.12 on arm64 (serverless.yml); this runs the venv's Python on this machine, the
same for both apps: the ratios are what carries over.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts import lambda_package  # noqa: E402
from scripts.bench_speed import APPS, MARKER, Bench, Figures, LambdaProcess  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI, Stream  # noqa: E402
from tests.fakes.slack_server import FakeLambda, FakeSlack  # noqa: E402

RUNTIME_PROVIDED_EXTRA = ["snapshot-restore-py"]  # Lambda's Python runtime ships it (SnapStart hooks)
LEAN_DISTRIBUTIONS = ["slack-bolt", "slack-sdk"]
FIRST_TEXT_WARM_LIMIT_MS = 400.0


def _requirement_names() -> list[str]:
    names = []
    for raw in (ROOT / "requirements.txt").read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if "==" in line:
            names.append(line.split("==", 1)[0].strip())
    return names


@dataclass
class Package:
    """One built package: its zip, the read-only directory it was extracted to, and its check."""

    name: str
    zip: Path
    root: Path
    report: lambda_package.Report


class Packages:
    """Builds the bot's and the lean app's packages and the runtime's directory under ``base``."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.runtime = f"python{sys.version_info[0]}.{sys.version_info[1]}"
        config = yaml.safe_load((ROOT / "serverless.yml").read_text())
        self.patterns: list[str] = config["package"]["patterns"]
        self.no_deploy: set[str] = set(config["custom"]["pythonRequirements"]["noDeploy"])
        self.lambda_runtime: str = config["provider"]["runtime"]

    @staticmethod
    def _distribution_files(names: list[str]) -> Iterator[tuple[str, Path]]:
        """(name in the zip, installed file) for each file of each installed distribution, no bytecode."""
        for name in names:
            distribution = importlib.metadata.distribution(name)
            for file in distribution.files or []:
                relative = file.as_posix()
                if relative.startswith("..") or lambda_package.is_bytecode(relative):
                    continue
                yield relative, Path(str(distribution.locate_file(file)))

    def _build(self, name: str, files: list[tuple[str, Path]]) -> Package:
        """Zip ``files``, add bytecode and check it (the package step), extract it read-only."""
        archive = self.base / f"{name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as out:
            for inside, source in sorted(set(files)):
                out.write(source, inside)
        lambda_package.add_bytecode(archive, self.runtime)
        report = lambda_package.inspect(lambda_package.read_zip(archive), self.runtime)
        root = self.base / name
        with zipfile.ZipFile(archive) as built:
            built.extractall(root)
        return Package(name, archive, root, report)

    def _runtime_provided(self, inside: str) -> bool:
        """serverless-python-requirements' rule: a file whose first name part is in ``noDeploy``."""
        return re.split(r"[-\\/]|\.py$|\.pyc$", inside, maxsplit=1)[0] in self.no_deploy

    def _dependencies(self) -> list[tuple[str, Path]]:
        """requirements.txt less the ``noDeploy`` lines, then less the ``noDeploy`` files (as the plugin)."""
        wanted = [n for n in _requirement_names() if n not in self.no_deploy]
        return [(i, p) for i, p in self._distribution_files(wanted) if not self._runtime_provided(i)]

    def bot(self) -> Package:
        app = [(n, ROOT / n) for n in lambda_package.app_files(ROOT, self.patterns)]
        return self._build("bot", app + self._dependencies())

    def lean(self) -> Package:
        app = [("scripts/lean_app.py", ROOT / "scripts" / "lean_app.py")]
        return self._build("lean", app + list(self._distribution_files(LEAN_DISTRIBUTIONS)))

    def lambda_runtime_dir(self) -> Path:
        """What Lambda's Python runtime provides (boto3 & co., snapshot_restore_py) and the runner."""
        everything = self._distribution_files(_requirement_names() + RUNTIME_PROVIDED_EXTRA)
        bundled = set(self._dependencies())
        files = [item for item in everything if item not in bundled]
        files.append(("lambda_process.py", ROOT / "scripts" / "lambda_process.py"))
        return self._build("runtime", files).root

    @staticmethod
    def without_bytecode(package: Package, base: Path) -> Path:
        """A copy of the extracted package with every pyc taken out."""
        copy = base / f"{package.name}-no-bytecode"
        shutil.copytree(package.root, copy, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        return copy


def read_only(*roots: Path) -> None:
    """``chmod -R a-w`` (root ignores it: PYTHONDONTWRITEBYTECODE and the file count make sure)."""
    for root in roots:
        for path in [*root.rglob("*"), root]:
            path.chmod(path.stat().st_mode & ~0o222)


def writable(*roots: Path) -> None:
    for root in roots:
        for path in [root, *root.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)


def file_count(*roots: Path) -> int:
    return sum(1 for root in roots for _ in root.rglob("*"))


class PackagedBench(Bench):
    """bench_speed's measurements, each process importing only a read-only package."""

    def __init__(
        self, args: argparse.Namespace, slack: FakeSlack, openai: FakeOpenAI, aws: FakeLambda
    ) -> None:
        super().__init__(args, slack, openai, aws)
        self.openai = openai
        self.env["PYTHONDONTWRITEBYTECODE"] = "1"
        if args.policy is not None:  # a policy with content is checked at the cold start
            self.env["POLICY_FILE"] = str(args.policy.resolve())
        self.env.pop("PYTHONPYCACHEPREFIX", None)
        self.apps = {"bot": APPS["bot"], "lean": APPS["lean"]}
        self.figures.update({"bot-no-bytecode": Figures(), "lean-no-bytecode": Figures()})
        self.connections: dict[str, list[int]] = {"bot": [], "lean": []}
        self.lambda_runtime = "?"

    def use(self, roots: dict[str, Path], runtime_dir: Path) -> None:
        """Where each app's package is, and the runtime's directory (runner included)."""
        self.roots = {name: str(path) for name, path in roots.items()}
        self.runner = [sys.executable, "-S", "-B", str(runtime_dir / "lambda_process.py")]

    @contextmanager
    def process(
        self, app: str, *, snap_start: bool = False
    ) -> Iterator[tuple[LambdaProcess, dict[str, Any]]]:
        """A fresh process with ``app`` (``bot``, ``lean``, or ``<app>-no-bytecode``) initialised."""
        env = dict(self.env)
        if snap_start:
            env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "snap-start"
        process = LambdaProcess(env, self.errors, self.runner)
        try:
            init = process.ask(op="init", app=self.apps[app.split("-", maxsplit=1)[0]], root=self.roots[app])
            self.figures[app].module_file = init.get("file", "")
            yield process, init
        finally:
            process.close()

    def warm(self) -> None:
        """One warm container per app: acks, then answers (first text, new model connections)."""
        with self.process("bot") as (bot, _), self.process("lean") as (lean, _):
            self.warm_samples({"bot": bot, "lean": lean})

    def warm_answer(self, app: str, process: LambdaProcess) -> dict[str, Any]:
        """bench_speed's warm answer, also counting the new connections the model's server saw."""
        before = self.openai.connections
        invoked = super().warm_answer(app, process)
        self.connections[app].append(self.openai.connections - before)
        return invoked

    def run(self) -> None:
        """All measurements, the two apps alternating."""
        for _ in range(self.args.cold):
            for app in ("bot", "lean"):
                self.cold(app)
        for _ in range(self.args.no_bytecode):
            for app in ("bot-no-bytecode", "lean-no-bytecode"):
                self.cold(app)
        for _ in range(self.args.cold):
            for app in ("bot", "lean"):
                self.restored(app)
        self.warm()


def p99(values: list[float]) -> float:
    """The 99th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.99 * len(ordered)) - 1))]


def report(bench: PackagedBench, packages: dict[str, lambda_package.Package], written: int) -> None:
    """Print the figures beside the goals."""
    bot, lean = bench.figures["bot"], bench.figures["lean"]
    med = statistics.median
    print("architect-bot cold starts from its Lambda package, beside the lean app packaged the same way")
    print(
        f"  python {sys.version.split()[0]} -S (Lambda: {bench.lambda_runtime}), {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}; fake model: first token after {bench.args.first_token_ms} ms"
    )
    print(f"  policy: {bench.args.policy or 'the packaged agents/policy.yaml (all comments: no rules)'}")
    for package in packages.values():
        r = package.report
        print(
            f"  package {package.name:<5} {package.zip.stat().st_size / 1048576:5.1f} MB, {r.files} files, "
            f"bytecode for {r.compiled}/{r.sources} .py ({r.coverage:.1%})"
            f"{'; CHECK FAILED: ' + '; '.join(r.problems) if r.problems else ''}"
        )
    print(f"  files written into the read-only packages during the run: {written}")

    def row(name: str, ours: float, theirs: float, goal: str, ok: bool) -> None:
        ratio = ours / theirs if theirs else float("inf")
        print(
            f"  {name:<44} {ours:8.1f} {theirs:8.1f} {ratio:6.2f}x  {goal:<10} "
            + ("holds" if ok else "DOES NOT HOLD")
        )

    print(f"  {'figure (ms; median unless said)':<44} {'bot':>8} {'lean':>8} {'ratio':>7}  goal")
    cold, cold_lean = med(bot.cold_ack), med(lean.cold_ack)
    row("cold: INIT + first ack", cold, cold_lean, "<= 1.3x", cold <= 1.3 * cold_lean)
    cpu, cpu_lean = med(bot.cold_ack_cpu), med(lean.cold_ack_cpu)
    row("cold: INIT + first ack, CPU", cpu, cpu_lean, "<= 1.3x", cpu <= 1.3 * cpu_lean)
    warm, warm_lean = med(bot.warm_ack), med(lean.warm_ack)
    row(f"warm ack p50 (n={len(bot.warm_ack)})", warm, warm_lean, "<= 1.5x", warm <= 1.5 * warm_lean)
    tail, tail_lean = p99(bot.warm_ack), p99(lean.warm_ack)
    row(f"warm ack p99 (n={len(bot.warm_ack)})", tail, tail_lean, "<= 2x", tail <= 2 * tail_lean)
    first, first_lean = med(bot.warm_first_text), med(lean.warm_first_text)
    row("command -> first text, warm", first, first_lean, "<= 400 ms", first <= FIRST_TEXT_WARM_LIMIT_MS)
    new = bench.connections["bot"]
    print(
        f"  {'new model connections per warm answer':<44} {max(new):8d} {max(bench.connections['lean']):8d}"
        f"          {'0':<10} {'holds' if max(new) == 0 else 'DOES NOT HOLD'}   (each answer: {new})"
    )
    print("\ndetails (median / p95 / max, ms)")

    def detail(name: str, app: str, values: list[float]) -> None:
        if values:
            high = sorted(values)[round(0.95 * (len(values) - 1))]
            shown = f"{med(values):8.1f} {high:8.1f} {max(values):8.1f}"
            print(f"  {name:<46} {app:<5} {shown}   (n={len(values)})")

    for label, pick in (
        ("cold: import the handler (INIT)", lambda f: f.cold_import),
        ("cold: INIT + first ack", lambda f: f.cold_ack),
        ("cold: INIT + first ack, CPU", lambda f: f.cold_ack_cpu),
        ("cold: command -> first text", lambda f: f.cold_first_text),
        ("SnapStart: hooks + first ack", lambda f: f.restore_ack),
        ("SnapStart: hooks + first ack, CPU", lambda f: f.restore_ack_cpu),
        ("SnapStart: command -> first text", lambda f: f.restore_first_text),
        ("warm: ack", lambda f: f.warm_ack),
        ("warm: ack, CPU", lambda f: f.warm_ack_cpu),
        ("warm: command -> first text", lambda f: f.warm_first_text),
    ):
        for app in ("bot", "lean"):
            detail(label, app, pick(bench.figures[app]))
    for app in ("bot", "lean"):
        figures = bench.figures[f"{app}-no-bytecode"]
        detail("no bytecode: import the handler (INIT)", app, figures.cold_import)
        detail("no bytecode: INIT + first ack", app, figures.cold_ack)
        detail("no bytecode: INIT + first ack, CPU", app, figures.cold_ack_cpu)
    print(f"  measured processes' stderr: {bench.errors.name}")


def main() -> int:
    """Build the packages, run the measurements, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", type=int, default=7, help="cold processes per app (and SnapStart restores)")
    parser.add_argument("--no-bytecode", type=int, default=3, help="cold processes per app without bytecode")
    parser.add_argument("--warm", type=int, default=60, help="warm acks per app")
    parser.add_argument("--answers", type=int, default=8, help="warm answers per app")
    parser.add_argument("--first-token-ms", type=int, default=300)
    parser.add_argument(
        "--policy",
        type=Path,
        help="the bot's policy file (POLICY_FILE); default: the packaged agents/policy.yaml (all comments)",
    )
    parser.set_defaults(app_root=str(ROOT))  # bench_speed's option; the packages say where the apps are
    args = parser.parse_args()
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench_coldstart-") as tmp:
        base = Path(tmp)
        builder = Packages(base)
        built = {"bot": builder.bot(), "lean": builder.lean()}
        runtime_dir = builder.lambda_runtime_dir()
        roots = {name: package.root for name, package in built.items()}
        roots.update({f"{n}-no-bytecode": Packages.without_bytecode(p, base) for n, p in built.items()})
        print(f"packages built in {time.monotonic() - started:.0f} s", flush=True)
        everything = [*roots.values(), runtime_dir]
        read_only(*everything)
        files_before = file_count(*everything)
        model = Stream([MARKER, " of the answer, and the rest."], stall_before_s=args.first_token_ms / 1000)
        try:
            with FakeSlack() as slack, FakeOpenAI(default=model) as openai, FakeLambda() as aws:
                bench = PackagedBench(args, slack, openai, aws)
                bench.lambda_runtime = builder.lambda_runtime
                bench.use(roots, runtime_dir)
                try:
                    bench.run()
                finally:
                    bench.cleanup()
            written = file_count(*everything) - files_before
        finally:
            writable(*everything)
        report(bench, built, written)
    print(f"  measured in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
