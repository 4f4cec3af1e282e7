"""Benchmark the playground: start-up, acks through it, command -> streamed text, page and API latency.

Runs the playground in-process (the real bot over HTTP, the fake OpenAI server as the model, the
in-memory store) and drives it as the page does. Prints figures; asserts nothing.

    .venv/bin/python scripts/bench_playground.py [--commands 30] [--answers 10] [--messages 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slack_sdk import WebClient  # noqa: E402

from bot.playground.app import Playground  # noqa: E402
from bot.settings import Settings  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI, Stream  # noqa: E402

CHANNEL, USER = "C01DESIGN", "U01ADA"


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def line(name: str, values: list[float]) -> str:
    """A figure line: median, p95, max."""
    return (
        f"  {name:<48} median {statistics.median(values):7.1f} ms   p95 {pct(values, 95):7.1f} ms   "
        f"max {max(values):7.1f} ms   (n={len(values)})"
    )


def wait_for(playground: Playground, found: object) -> float:
    """Seconds (monotonic) when ``found()`` first holds, re-checked on every workspace change."""
    ws = playground.workspace
    seen = ws.seq
    while not found():  # type: ignore[operator]
        changes = ws.wait_changes(seen, timeout=30)
        if not changes:
            raise TimeoutError("nothing changed in 30 s")
        seen = changes[-1].seq
    return time.monotonic()


def one_answer(playground: Playground, openai: FakeOpenAI) -> tuple[float, float, float]:
    """One streamed review: ms from send to ack, to the first streamed words, to the final answer."""
    platform, ws = playground.platform, playground.workspace
    assert platform is not None
    openai.script(Stream([f"w{i} " for i in range(60)], delay_s=0.02))
    roots = len(ws.top_level(CHANNEL))
    t0 = time.monotonic()
    platform.send(user=USER, channel=CHANNEL, text="/architect review latency")
    ack = time.monotonic()
    wait_for(playground, lambda: len(ws.top_level(CHANNEL)) > roots)
    ts = ws.top_level(CHANNEL)[-1].ts
    first = wait_for(playground, lambda: any("w0" in m.markdown() for m in ws.thread(CHANNEL, ts)))
    done = wait_for(playground, lambda: any(m.buttons() for m in ws.thread(CHANNEL, ts)))
    return (ack - t0) * 1000, (first - t0) * 1000, (done - t0) * 1000


def main() -> int:
    """Run the benchmark and print figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commands", type=int, default=30)
    parser.add_argument("--answers", type=int, default=10)
    parser.add_argument("--messages", type=int, default=200)
    args = parser.parse_args()
    with FakeOpenAI() as openai:
        settings = Settings(
            openai_api_key="sk-bench",
            openai_base_url=openai.base_url,
            agents_dir=ROOT / "agents",
            redis_url=None,
            log_level="ERROR",
            stage="bench",
        )
        devnull = open(os.devnull, "w")  # noqa: SIM115 - logs and EMF lines are not the figures
        real_stdout, sys.stdout = sys.stdout, devnull
        started = time.perf_counter()
        playground = Playground(port=0, settings=settings)
        playground.start()
        start_ms = (time.perf_counter() - started) * 1000
        platform, ws = playground.platform, playground.workspace
        assert platform is not None
        try:
            help_acks = []
            for _ in range(args.commands):
                t0 = time.perf_counter()
                platform.send(user=USER, channel=CHANNEL, text="/architect help")
                help_acks.append((time.perf_counter() - t0) * 1000)
            review_acks, first_text, final = [], [], []
            for _ in range(args.answers):
                ack, first, done = one_answer(playground, openai)
                review_acks.append(ack)
                first_text.append(first)
                final.append(done)
            client = WebClient(token=playground.session.bot_token, base_url=playground.url + "/api/")
            posts = []
            for index in range(args.messages):
                t0 = time.perf_counter()
                client.chat_postMessage(
                    channel=CHANNEL,
                    text=f"message {index}",
                    blocks=[{"type": "markdown", "text": f"**{index}**"}],
                )
                posts.append((time.perf_counter() - t0) * 1000)
            pages = []
            for _ in range(10):
                t0 = time.perf_counter()
                with urllib.request.urlopen(
                    f"{playground.url}/?as={USER}&channel={CHANNEL}", timeout=30
                ) as page:
                    size = len(page.read())
                pages.append((time.perf_counter() - t0) * 1000)
        finally:
            playground.stop()
            sys.stdout = real_stdout
    print("architect-bot playground (in-process; real bot over HTTP; fake OpenAI; in-memory store)")
    print(f"  {'start-up (page + emulator + bot)':<48} {start_ms:7.1f} ms")
    print(line("/architect help: send -> ack shown", help_acks))
    print(line("/architect review: send -> ack", review_acks))
    print(line("/architect review: send -> first streamed text", first_text))
    print(line("/architect review: send -> final answer (60 chunks)", final))
    print(line("emulator chat.postMessage round trip", posts))
    print(line(f"page render, channel with {len(ws.top_level(CHANNEL))} messages ({size // 1024} KB)", pages))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
