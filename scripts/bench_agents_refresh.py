"""Benchmark: what looking for changed agent files in S3 (``AGENTS_SOURCE``) costs. Asserts nothing.

S3 is moto's, in this process (no network: real S3 in the function's region adds roughly 15-40 ms
per request; the request counts are what the bill and the latency follow). The agents are the
packaged ones (plus ``--extra`` synthetic agent files, to see the cost grow with the set).
Measured, each ``-n`` times (median):

- cold load: the first read at start-up (list + every file downloaded + load and check the set);
- unchanged: one refresh when nothing changed (one list, no download, no load);
- one file edited: one list, one download, the new set loaded, checked and put in use;
- broken edit: the same, the set refused (kept: the last good set).

Then the cost per container per hour at ``AGENTS_REFRESH_S`` (default 60): at most one refresh per
interval, run only at the start of a lazy invocation (never in the ack), so an idle container
makes no S3 call at all and a busy one at most 3600 / AGENTS_REFRESH_S lists an hour.

    .venv/bin/python scripts/bench_agents_refresh.py [-n 20] [--extra 0] [--refresh-s 60]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402
from moto import mock_aws  # noqa: E402

from bot.agents_source import AgentsSource, load_set, open_source  # noqa: E402
from bot.container import Services  # noqa: E402
from bot.core.ports import FixedClock  # noqa: E402
from bot.settings import Settings  # noqa: E402

BUCKET, PREFIX = "bench-agents", "agents/"
EDIT = "You are a ruthless backend and DevOps chief architect."


def _upload(client: Any, extra: int) -> None:
    client.create_bucket(Bucket=BUCKET)
    for path in sorted((ROOT / "agents").iterdir()):
        client.put_object(Bucket=BUCKET, Key=PREFIX + path.name, Body=path.read_bytes())
    body = "Do the thing carefully.\n" * 400
    for index in range(extra):
        text = f"---\nname: extra-{index}\ndescription: Synthetic agent {index}\nmodel: gpt-4.1\n---\n{body}"
        client.put_object(Bucket=BUCKET, Key=f"{PREFIX}extra/extra-{index}.agent.md", Body=text.encode())


def _timed(run: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    result = run()
    return (time.perf_counter() - started) * 1000, result


Row = tuple[float, int, int, int]  # ms, S3 lists, gets, puts


def _refresh(source: AgentsSource, services: Services, clock: FixedClock) -> tuple[str, Row]:
    clock.advance(services.settings.agents_refresh_s)
    calls = source.mirror.files.calls
    before = (calls.lists, calls.gets, calls.puts)
    ms, outcome = _timed(lambda: source.refresh(services))
    return outcome, (ms, calls.lists - before[0], calls.gets - before[1], calls.puts - before[2])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=20, help="runs per figure (median)")
    parser.add_argument(
        "--extra", type=int, default=0, help="synthetic agent files added to the packaged ones"
    )
    parser.add_argument("--refresh-s", type=float, default=60.0, help="AGENTS_REFRESH_S")
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ["LOG_LEVEL"] = "ERROR"
    from bot.logging import configure_logging

    configure_logging(json=True, level="ERROR", stream=open(os.devnull, "w"))  # noqa: SIM115
    figures: dict[str, list[Row]] = {k: [] for k in ("cold", "keep", "unchanged", "edited", "broken")}
    with mock_aws(), tempfile.TemporaryDirectory():
        client = boto3.client("s3", region_name="us-east-1")
        _upload(client, args.extra)
        settings = Settings(agents_source=f"s3://{BUCKET}/{PREFIX}", agents_refresh_s=args.refresh_s)
        key = PREFIX + "backend-builder.agent.md"
        original = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        for run in range(args.n):
            clock = FixedClock()
            ms, (source, local) = _timed(lambda clock=clock: open_source(settings, clock))
            loaded_ms, loaded = _timed(lambda local=local: load_set(local.agents_dir, local))
            calls = source.mirror.files.calls
            figures["cold"].append((ms + loaded_ms, calls.lists, calls.gets, calls.puts))
            ms, _ = _timed(source.keep)  # the first lazy run keeps the accepted set as the last good
            figures["keep"].append((ms, 0, 0, calls.puts))
            services = Services(local, loaded.registry, clock=clock, policy=loaded.policy)
            services.metrics._stream = open(os.devnull, "w")  # noqa: SIM115 - quiet EMF lines
            outcome, row = _refresh(source, services, clock)
            figures["unchanged"].append(row)
            client.put_object(
                Bucket=BUCKET, Key=key, Body=original.replace(EDIT.encode(), f"Edit {run}.".encode())
            )
            outcome, row = _refresh(source, services, clock)
            assert outcome == "applied", outcome
            figures["edited"].append(row)
            client.put_object(Bucket=BUCKET, Key=key, Body=b"---\nname: [broken\n---\nbody\n")
            outcome, row = _refresh(source, services, clock)
            assert outcome == "rejected", outcome
            figures["broken"].append(row)
            client.put_object(Bucket=BUCKET, Key=key, Body=original)
        files = len(source.mirror.current.etags) if source.mirror.current else 0
    print(f"agents refresh (moto S3 in process; {files} files under the prefix; median of {args.n})")
    print(f"{'case':<34}{'ms':>9}{'S3 lists':>10}{'S3 gets':>9}{'S3 puts':>9}")
    labels = {
        "cold": "cold load (start-up)",
        "keep": "keep the last good set (once)",
        "unchanged": "refresh, nothing changed",
        "edited": "refresh, one file edited (used)",
        "broken": "refresh, broken edit (refused)",
    }
    median: dict[str, float] = {}
    for name, rows in figures.items():
        median[name] = statistics.median(r[0] for r in rows)
        print(f"{labels[name]:<34}{median[name]:>9.1f}{rows[0][1]:>10}{rows[0][2]:>9}{rows[0][3]:>9}")
    per_hour = 3600 / args.refresh_s
    print(f"\nper container per hour at AGENTS_REFRESH_S={args.refresh_s:g} (only while requests arrive):")
    print(
        f"  at most {per_hour:.0f} S3 list calls, 0 gets while nothing changes: "
        f"{per_hour * median['unchanged']:.0f} ms of lazy-path time an hour "
        f"({median['unchanged']:.1f} ms per refresh, on the first lazy run after each interval)"
    )
    print(
        f"  each edit synced adds 1 get per changed file and {median['edited'] - median['unchanged']:.1f} ms "
        "(load + check the set, keep it as the last good: 1 put) once per container"
    )
    print("  the ack path makes no S3 call (refresh runs only in lazy invocations)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
