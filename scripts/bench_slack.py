"""Benchmark the Slack path: ack time (warm and cold); per answer path (Slack's streaming API, and the
chat.update fallback where Slack refuses it): command -> first visible text, Slack calls, pushes per second.

Runs the production Lambda handler in-process with signed requests, the fake Slack and OpenAI
servers over real HTTP, the fake Lambda endpoint, and the real Redis (REDIS_URL or 127.0.0.1:6379;
keys under a private prefix, deleted afterwards). Prints figures; asserts nothing.

    .venv/bin/python scripts/bench_slack.py [--warm 50] [--cold 5] [--answers 6]

"Pushes" are what makes a streaming answer grow: ``chat.appendStream`` calls on the streaming API,
``chat.update`` edits on the fallback. The 3 s answer is 100 words, one every 30 ms.

What it does not include: API Gateway and Lambda's own invoke overhead, network latency to Slack
and OpenAI, and the model's real time to first token (the fake answers at once).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from tests.fakes.openai_server import FakeOpenAI, Stream  # noqa: E402
from tests.fakes.slack_server import FakeLambda, FakeSlack  # noqa: E402
from tests.harness import Bot, bot_env  # noqa: E402

COLD_SCRIPT = """
import os, sys, time, json
t0 = time.perf_counter()
sys.path.insert(0, {root!r})
from handlers.lambda_function import handler
t_import = time.perf_counter()
from tests.harness import api_gateway_event, LambdaContext
from urllib.parse import urlencode
body = urlencode(dict(team_id="T1", channel_id="C1", user_id="U1", command="/architect", text={text!r},
                      response_url="http://127.0.0.1:9/r", trigger_id="t.cold"))
event = api_gateway_event(body, content_type="application/x-www-form-urlencoded")
t1 = time.perf_counter()
response = handler(event, LambdaContext())
t2 = time.perf_counter()
assert response["statusCode"] == 200
print(json.dumps(dict(import_ms=(t_import - t0) * 1000, first_ack_ms=(t2 - t1) * 1000,
                      total_ms=(t2 - t0) * 1000,
                      heavy=sorted(m for m in sys.modules if m.split(".")[0] in ("openai", "redis")))))
"""


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def line(name: str, values: list[float]) -> str:
    """A figure line: median, p95, max."""
    return (
        f"  {name:<38} median {statistics.median(values):7.1f} ms   p95 {pct(values, 95):7.1f} ms   "
        f"max {max(values):7.1f} ms   (n={len(values)})"
    )


def _has_text(params: dict[str, object]) -> bool:
    shown = json.dumps(params)
    return "w0" in shown or "short answer" in shown


PUSHES = {"native": "chat.appendStream", "fallback": "chat.update"}


def _answer(bot: Bot, openai: FakeOpenAI, slack: FakeSlack, *, streamed: bool) -> dict[str, float]:
    """One /architect answer through the lazy path; its Slack figures."""
    openai.script(
        Stream([f"w{i} " for i in range(100)], delay_s=0.03) if streamed else Stream(["A short answer."])
    )
    before = len(slack.calls)
    t0 = time.monotonic()
    bot.command("review latency")
    bot.lazy()
    calls = slack.calls[before:]
    shown = [c for c in calls if c.method != "assistant.threads.setStatus" and _has_text(c.params)]
    return {
        "calls": len(calls),
        "first_text_ms": (shown[0].at - t0) * 1000,
        "last_at": calls[-1].at,
        "first_at": shown[0].at,
        "appends": sum(c.method == "chat.appendStream" for c in calls),
        "edits": sum(c.method == "chat.update" for c in calls),
    }


def main() -> int:  # noqa: PLR0915 - a linear script: set up, measure, print
    """Run the benchmark and print figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--warm", type=int, default=50)
    parser.add_argument("--cold", type=int, default=5)
    parser.add_argument("--answers", type=int, default=10)
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"abbench-{uuid.uuid4().hex[:8]}"
    with FakeSlack() as slack, FakeOpenAI() as openai, FakeLambda() as aws_lambda:
        env = bot_env(slack, openai, aws_lambda, redis_url=redis_url, prefix=prefix)
        env["LOG_LEVEL"] = "ERROR"
        env["STAGE"] = "bench"
        os.environ.update(env)
        bot = Bot(slack=slack, openai=openai, aws_lambda=aws_lambda)
        devnull = open(os.devnull, "w")  # noqa: SIM115 - logs and EMF lines are not the figures
        real_stdout, sys.stdout = sys.stdout, devnull
        try:
            cold = []
            for _ in range(args.cold):
                out = subprocess.run(
                    [sys.executable, "-c", COLD_SCRIPT.format(root=str(ROOT), text="review x")],
                    capture_output=True,
                    text=True,
                    check=True,
                    env=os.environ,
                ).stdout
                cold.append(json.loads(out.strip().splitlines()[-1]))
            bot.command("help")  # warm the container
            warm_help, warm_review = [], []
            for _ in range(args.warm):
                t0 = time.perf_counter()
                bot.command("help")
                warm_help.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                bot.command("review a design")
                warm_review.append((time.perf_counter() - t0) * 1000)
                aws_lambda.take()
            _answer(bot, openai, slack, streamed=False)  # the engine is built on the first answer
            paths: dict[str, dict[str, list[float]]] = {}
            for path in ("native", "fallback"):
                if path == "fallback":
                    slack.refuse_streaming()
                    _answer(bot, openai, slack, streamed=False)  # learns the refusal (remembered)
                figures: dict[str, list[float]] = {
                    "first_text": [],
                    "calls_short": [],
                    "calls_streamed": [],
                    "pushes_per_s": [],
                }
                for index in range(args.answers):
                    streamed = index % 2 == 1
                    one = _answer(bot, openai, slack, streamed=streamed)
                    figures["first_text"].append(one["first_text_ms"])
                    figures["calls_streamed" if streamed else "calls_short"].append(one["calls"])
                    if streamed:
                        pushes = one["appends"] if path == "native" else one["edits"]
                        figures["pushes_per_s"].append(pushes / max(one["last_at"] - one["first_at"], 1e-3))
                paths[path] = figures
        finally:
            sys.stdout = real_stdout
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(match=f"{prefix}:*"):
                client.delete(key)
    print("architect-bot Slack path (in-process handler; fake Slack/OpenAI over HTTP; real Redis)")
    print(line("ack, cold process: import handler", [c["import_ms"] for c in cold]))
    print(line("ack, cold process: first /architect", [c["first_ack_ms"] for c in cold]))
    print(line("ack, cold process: import + first ack", [c["total_ms"] for c in cold]))
    print(
        f"  heavy modules imported on the ack path: {sorted({m for c in cold for m in c['heavy']}) or 'none'}"
    )
    print(line("ack, warm: /architect help", warm_help))
    print(line("ack, warm: /architect review", warm_review))
    for path, title in (("native", "Slack streaming API"), ("fallback", "chat.update fallback")):
        figures = paths[path]
        print(f"  {title}:")
        print("  " + line("command -> first visible text", figures["first_text"]))
        print(
            f"    Slack API calls per answer: short {statistics.median(figures['calls_short']):.0f}, "
            f"3 s streamed {statistics.median(figures['calls_streamed']):.0f}"
        )
        print(
            f"    {PUSHES[path]} per second while the 3 s answer streams: "
            f"{statistics.median(figures['pushes_per_s']):.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
