"""Benchmark: how long loading a whole agents folder takes (parse + registry build).

Usage: .venv/bin/python scripts/bench_loader.py [DIR] [-n RUNS]

DIR defaults to ../shared/corpus/awesome-copilot (next to the repository); when that folder is
absent, 300 synthetic agent files (frontmatter, handoffs, bodies up to ~40,000 characters) are
written to a temporary folder and loaded instead. Prints files, loaded agents, problems, and
milliseconds per full load (median and p95). Goal: 300 files well under a second.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.adapters.agent_files import agent_paths, load_registry  # noqa: E402 - after sys.path setup

DEFAULT_DIR = ROOT.parent / "shared" / "corpus" / "awesome-copilot"


def synthetic(folder: Path, count: int = 300) -> Path:
    """Write ``count`` plausible agent files (some with problems) into ``folder``."""
    for index in range(count):
        body = ("## Section\n\nDo the thing carefully.\n\n---\n\n" * (index % 40 + 1) * 20)[:40_000]
        handoff = index + 1 if index % 10 else 9999  # every tenth hands off to a missing agent
        text = (
            f"---\nname: 'Agent {index}: synthetic'\n"
            f'description: "Synthetic agent {index}: for the bench"\n'
            f"model: {'GPT-4.1 (copilot)' if index % 2 else ['Claude Sonnet 4', 'gpt-4o']}\n"
            "tools: ['search', 'fetch']\n"
            f"handoffs:\n  - label: Next\n    agent: 'Agent {handoff}: synthetic'\n    prompt: Continue.\n"
            f"---\n{body}"
        )
        (folder / f"agent-{index:03d}.agent.md").write_text(text, encoding="utf-8")
    return folder


def bench(folder: Path, runs: int) -> None:
    files = len(agent_paths(folder))
    times: list[float] = []
    registry = None
    for _ in range(runs):
        start = time.perf_counter()
        registry = load_registry(folder, folder / "routing.yaml", "gpt-4.1")
        times.append((time.perf_counter() - start) * 1000)
    assert registry is not None
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    print(f"folder:   {folder}")
    print(f"files:    {files}")
    print(f"loaded:   {len(registry)} agents")
    print(f"problems: {len(registry.problems)}")
    print(f"runs:     {runs}")
    print(f"ms/load:  median {statistics.median(times):.1f}  p95 {p95:.1f}  min {times[0]:.1f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dir", nargs="?", type=Path, default=DEFAULT_DIR)
    parser.add_argument("-n", "--runs", type=int, default=20)
    args = parser.parse_args()
    if args.dir.is_dir():
        bench(args.dir, args.runs)
        return 0
    print(f"{args.dir} not found: using 300 synthetic files", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="ab-bench-") as tmp:
        bench(synthetic(Path(tmp)), args.runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
