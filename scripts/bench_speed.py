"""Issue 8's speed limits, measured beside the leanest Bolt-on-Lambda app in one run. Asserts nothing.

Both apps (the bot's ``handlers/lambda_function.handler`` and ``scripts/lean_app.handler``) run the
same way: each Lambda execution environment is a separate Python process
(``scripts/lambda_process.py``) that gets signed API Gateway events and re-runs Bolt's asynchronous
self-invocations (the lazy listeners) itself, as a warm container would. Slack (the package's Web
API emulator) and OpenAI (a fake that streams its first token after ``--first-token-ms``) are
servers over real HTTP in this process; Redis is real (``REDIS_URL`` or 127.0.0.1:6379; keys under
a private prefix, deleted afterwards). Cold and warm samples of the two apps alternate, so load from
other work on the machine falls on both alike. ``WARM_AFTER_ACK`` is on (the production setting).

Figures, each printed beside its limit:

- cold first ack: a fresh process imports the handler's module (Lambda's INIT) and acks its first
  ``/architect`` request; median over ``--cold`` processes; at most 1.3x the lean app;
- warm ack p50: ``/architect review ...`` on a warm container (the ack, including Bolt's
  asynchronous self-invocation); at most 1.5x the lean app;
- command -> first streamed text (the first Slack call that shows the model's words), at most 600 ms:
  on a warm container; in a cold process (INIT, first ack, then the lazy run, in one process); and
  after a SnapStart restore (the process is initialised with ``AWS_LAMBDA_INITIALIZATION_TYPE=
  snap-start`` as Lambda does before the snapshot, then runs the after-restore hooks the app
  registered, then gets the command): what the deployed function does on a new instance;
- Redis round trips for one thread reply and its answer, counted on the wire (redis-py's packed
  sends) through the Lambda handler; at most 6;
- Redis round trips for one click on an answer's handoff button and the new agent's answer, counted
  the same way (no limit: printed to compare commits).

Not included: API Gateway's and Lambda's own overhead, Python's start-up (the same for both apps),
network latency to Slack, OpenAI and Redis, and the time Lambda takes to restore a snapshot.

    .venv/bin/python scripts/bench_speed.py [--cold 7] [--warm 40] [--answers 8] [--app-root DIR]

``--app-root`` measures the bot of another checkout (e.g. a ``git worktree`` of an older commit)
with this harness; the lean app and the fakes always come from this checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from tests.fakes.openai_server import FakeOpenAI, Stream  # noqa: E402
from tests.fakes.slack_server import FakeLambda, FakeSlack  # noqa: E402
from tests.harness import CHANNEL, Bot, bot_env  # noqa: E402

APPS = {"bot": "handlers.lambda_function", "lean": "scripts.lean_app"}
MARKER = "First words"  # the model's first token: the first Slack call showing it is the first text
COLD_ACK_LIMIT = 1.3
WARM_ACK_LIMIT = 1.5
FIRST_TEXT_LIMIT_MS = 600.0
ROUND_TRIP_LIMIT = 6


class LambdaProcess:
    """A running ``scripts/lambda_process.py``: one Lambda execution environment."""

    def __init__(self, env: dict[str, str], errors: TextIO, runner: list[str] | None = None) -> None:
        read_fd, write_fd = os.pipe()
        runner = runner or [sys.executable, str(ROOT / "scripts" / "lambda_process.py")]
        self._process = subprocess.Popen(
            [*runner, str(write_fd)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,  # the app's logs and metric lines
            stderr=errors,
            env=env,
            pass_fds=(write_fd,),
            text=True,
        )
        os.close(write_fd)
        self._answers = os.fdopen(read_fd)

    def ask(self, **request: Any) -> dict[str, Any]:
        """Send one request; wait for its answer."""
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        line = self._answers.readline()
        if not line:
            raise RuntimeError(f"the measured process stopped (exit {self._process.wait()}); see its stderr")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        """Stop the process."""
        try:
            self.ask(op="exit")
        finally:
            self._process.wait(timeout=30)
            self._answers.close()


@dataclass
class Figures:
    """What one app measured."""

    cold_ack: list[float] = field(default_factory=list)
    cold_ack_cpu: list[float] = field(default_factory=list)
    cold_import: list[float] = field(default_factory=list)
    cold_first_text: list[float] = field(default_factory=list)
    restore_ack: list[float] = field(default_factory=list)
    restore_ack_cpu: list[float] = field(default_factory=list)
    restore_hooks: list[float] = field(default_factory=list)
    restore_first_text: list[float] = field(default_factory=list)
    warm_ack: list[float] = field(default_factory=list)
    warm_ack_cpu: list[float] = field(default_factory=list)
    warm_first_text: list[float] = field(default_factory=list)
    round_trips: list[int] = field(default_factory=list)
    handoff_round_trips: list[int] = field(default_factory=list)
    module_file: str = ""


class Bench:
    """The fakes, the environment, and the measurements."""

    def __init__(
        self, args: argparse.Namespace, slack: FakeSlack, openai: FakeOpenAI, aws: FakeLambda
    ) -> None:
        self.args = args
        self.slack = slack
        self.aws = aws
        self.bot = Bot(slack=slack, openai=openai, aws_lambda=aws)
        self.prefix = f"abspeed-{uuid.uuid4().hex[:8]}"
        self.redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        env = {
            k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "AWS_LAMBDA_INITIALIZATION_TYPE")
        }
        env.update(bot_env(slack, openai, aws, redis_url=self.redis_url, prefix=self.prefix))
        env.update({"WARM_AFTER_ACK": "true", "LOG_LEVEL": "ERROR", "STAGE": "bench"})
        for key in ("SLACK_APP_TOKEN", "SECRETS_MANAGER_SECRET_ID", "ROUTING_FILE"):
            env.pop(key, None)
        self.env = env
        self.roots = {"bot": str(Path(args.app_root).resolve()), "lean": str(ROOT)}
        self.runner: list[str] | None = None  # how a Lambda process starts (default: this Python, the venv)
        self.errors = tempfile.NamedTemporaryFile("w+", prefix="bench_speed-", suffix=".log", delete=False)  # noqa: SIM115
        self.figures = {name: Figures() for name in APPS}

    @contextmanager
    def process(
        self, app: str, *, snap_start: bool = False
    ) -> Iterator[tuple[LambdaProcess, dict[str, Any]]]:
        """A fresh process with ``app`` initialised; yields it and the init answer."""
        env = dict(self.env)
        if snap_start:
            env["AWS_LAMBDA_INITIALIZATION_TYPE"] = "snap-start"
        process = LambdaProcess(env, self.errors, self.runner)
        try:
            init = process.ask(op="init", app=APPS[app], root=self.roots[app])
            self.figures[app].module_file = init.get("file", "")
            yield process, init
        finally:
            process.close()

    def command(self) -> dict[str, Any]:
        """A freshly signed ``/architect review ...`` request."""
        return self.bot.command_event("review the rate limiter design")

    def first_text_at(self, after: float) -> float:
        """When Slack first received a call showing the model's words, after ``after`` (monotonic)."""
        for call in self.slack.calls:
            if call.at >= after and MARKER in json.dumps(call.params):
                return call.at
        raise RuntimeError("no Slack call showed the model's answer: see the measured process's stderr")

    # ------------------------------------------------------------------------------ measurements

    def answered(self, process: LambdaProcess) -> dict[str, Any]:
        """Send a command and run its lazy listener; refuse a sample where that did not happen."""
        invoked = process.ask(op="invoke", event=self.command(), lazy=True)
        if invoked["status"] != 200 or invoked["lazy_runs"] != 1:
            raise RuntimeError(f"the command was not acked and answered: {invoked}")
        return invoked

    def cold(self, app: str) -> None:
        """One cold process: INIT, first ack, then the lazy run."""
        figures = self.figures[app]
        with self.process(app) as (process, init):
            invoked = self.answered(process)
            figures.cold_import.append(init["ms"])
            figures.cold_ack.append(init["ms"] + invoked["ack_ms"])
            figures.cold_ack_cpu.append(init["cpu_ms"] + invoked["ack_cpu_ms"])
            figures.cold_first_text.append((self.first_text_at(init["t0"]) - init["t0"]) * 1000)

    def restored(self, app: str) -> None:
        """One SnapStart-style instance: init before the snapshot, restore hooks, then the command."""
        figures = self.figures[app]
        with self.process(app, snap_start=True) as (process, _):
            restore = process.ask(op="restore")
            invoked = self.answered(process)
            figures.restore_hooks.append(restore["ms"])
            figures.restore_ack.append(restore["ms"] + invoked["ack_ms"])
            figures.restore_ack_cpu.append(restore["cpu_ms"] + invoked["ack_cpu_ms"])
            figures.restore_first_text.append((self.first_text_at(restore["t0"]) - restore["t0"]) * 1000)

    def warm(self) -> None:
        """One warm container per app, sampled in turn: acks, answers, Redis round trips of a reply."""
        with self.process("bot") as (bot, _), self.process("lean") as (lean, _):
            self.warm_samples({"bot": bot, "lean": lean})
            for _ in range(3):
                self.figures["bot"].round_trips.append(self.thread_reply_round_trips(bot))
                self.figures["bot"].handoff_round_trips.append(self.handoff_round_trips(bot))

    def warm_samples(self, processes: dict[str, LambdaProcess]) -> None:
        """Warm acks, then warm answers, the apps in turn (each warmed up by two answers first)."""
        for process in processes.values():
            for _ in range(2):  # the first request builds everything; the second runs warm
                self.answered(process)
        for _ in range(self.args.warm):
            for app, process in processes.items():
                invoked = process.ask(op="invoke", event=self.command(), lazy=False)
                self.figures[app].warm_ack.append(invoked["ack_ms"])
                self.figures[app].warm_ack_cpu.append(invoked["ack_cpu_ms"])
                self.aws.take()  # the lazy runs are not part of the ack
        for _ in range(self.args.answers):
            for app, process in processes.items():
                self.warm_answer(app, process)

    def warm_answer(self, app: str, process: LambdaProcess) -> dict[str, Any]:
        """One answered command on a warm container; records when its first text showed."""
        invoked = self.answered(process)
        at = self.first_text_at(invoked["t0"])
        self.figures[app].warm_first_text.append((at - invoked["t0"]) * 1000)
        return invoked

    def thread_reply_round_trips(self, process: LambdaProcess) -> int:
        """Round trips to Redis for one person's reply in the bot's thread, answered."""
        self.answered(process)  # a new thread: its root is the latest top-level message
        root = self.slack.top_level(CHANNEL)[-1]
        before = len(self.bot.answers(root.ts))
        event, _ = self.bot.message_event("And what about bursts?", thread_ts=root.ts)
        invoked = process.ask(op="invoke", event=event, lazy=True, count_redis=True)
        answered = len(self.bot.answers(root.ts)) - before
        if invoked["lazy_runs"] != 1 or answered != 1:
            raise RuntimeError(f"the thread reply was not answered once ({answered} answers)")
        count: int = invoked["redis_round_trips"]
        return count

    def handoff_round_trips(self, process: LambdaProcess) -> int:
        """Round trips to Redis for one click on an answer's first handoff button, the target answering."""
        # a new thread, answered by the director, whose first handoff sends its prompt at once (no modal)
        invoked = process.ask(op="invoke", event=self.bot.command_event("director plan it"), lazy=True)
        if invoked["status"] != 200 or invoked["lazy_runs"] != 1:
            raise RuntimeError(f"the command was not acked and answered: {invoked}")
        root = self.slack.top_level(CHANNEL)[-1]
        answers = self.bot.answers(root.ts)
        button = next(b for b in answers[-1].buttons() if b["action_id"].startswith("handoff:"))
        event = self.bot.click_event(answers[-1], button["text"]["text"])
        invoked = process.ask(op="invoke", event=event, lazy=True, count_redis=True)
        answered = len(self.bot.answers(root.ts)) - len(answers)
        if invoked["lazy_runs"] != 1 or answered != 1:
            raise RuntimeError(f"the handoff click was not answered once ({answered} answers)")
        count: int = invoked["redis_round_trips"]
        return count

    def run(self) -> None:
        """All measurements, the two apps alternating."""
        for _ in range(self.args.cold):
            for app in APPS:
                self.cold(app)
        for _ in range(self.args.cold):
            for app in APPS:
                self.restored(app)
        self.warm()

    def cleanup(self) -> None:
        """Delete this run's Redis keys."""
        client = redis.Redis.from_url(self.redis_url)
        try:
            for key in client.scan_iter(match=f"{self.prefix}:*", count=500):
                client.delete(key)
        finally:
            client.close()


# ------------------------------------------------------------------------------------------ report


def median(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


def p95(values: list[float]) -> float:
    """The 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def verdict(ok: bool) -> str:
    """How a limit fares."""
    return "holds" if ok else "DOES NOT HOLD"


def report(bench: Bench, started: float) -> None:
    """Print the figures, the ratios and the limits."""
    bot, lean = bench.figures["bot"], bench.figures["lean"]
    args = bench.args
    print("architect-bot speed beside the leanest Bolt-on-Lambda app (scripts/lean_app.py), one run")
    print(
        f"  python {sys.version.split()[0]}, {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.2f}; fake model: first token after {args.first_token_ms} ms; "
        f"bot from {bench.roots['bot']}"
    )
    rows: list[tuple[str, str, str, str, str, str]] = []

    def ms(value: float) -> str:
        return f"{value:.0f} ms" if value >= 10 else f"{value:.1f} ms"

    def ratio_row(name: str, ours: list[float], theirs: list[float], limit: float) -> None:
        ratio = median(ours) / median(theirs)
        rows.append(
            (
                name,
                ms(median(ours)),
                ms(median(theirs)),
                f"{ratio:.2f}x",
                f"<= {limit}x",
                verdict(ratio <= limit),
            )
        )

    def limit_row(name: str, ours: list[float], theirs: list[float]) -> None:
        value = median(ours)
        rows.append(
            (
                name,
                ms(value),
                ms(median(theirs)),
                f"{value / median(theirs):.2f}x",
                f"<= {FIRST_TEXT_LIMIT_MS:.0f} ms",
                verdict(value <= FIRST_TEXT_LIMIT_MS),
            )
        )

    ratio_row(f"cold first ack (median of {len(bot.cold_ack)})", bot.cold_ack, lean.cold_ack, COLD_ACK_LIMIT)
    ratio_row(f"warm ack p50 (n={len(bot.warm_ack)})", bot.warm_ack, lean.warm_ack, WARM_ACK_LIMIT)
    limit_row("command -> first text, warm container", bot.warm_first_text, lean.warm_first_text)
    limit_row("command -> first text, SnapStart restore", bot.restore_first_text, lean.restore_first_text)
    limit_row("command -> first text, cold process", bot.cold_first_text, lean.cold_first_text)
    trips = max(bot.round_trips)
    rows.append(
        (
            "Redis round trips, thread reply + answer",
            str(trips),
            "-",
            "-",
            f"<= {ROUND_TRIP_LIMIT}",
            verdict(trips <= ROUND_TRIP_LIMIT),
        )
    )
    handoff_trips = max(bot.handoff_round_trips)
    rows.append(("Redis round trips, handoff click + answer", str(handoff_trips), "-", "-", "-", ""))
    header = ("figure", "bot", "lean app", "ratio", "limit", "")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(6)]
    for row in [header, *rows]:
        print(
            "  "
            + "  ".join(
                cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
            )
        )

    print("\ndetails (median / p95 / max, ms)")

    def detail(name: str, pick: Callable[[Figures], list[float]]) -> None:
        for app, figures in (("bot", bot), ("lean", lean)):
            values = pick(figures)
            shown = f"{median(values):8.1f} {p95(values):8.1f} {max(values):8.1f}"
            print(f"  {name:<44} {app:<5} {shown}   (n={len(values)})")

    detail("cold: import the handler's module (INIT)", lambda f: f.cold_import)
    detail("cold: INIT + first ack", lambda f: f.cold_ack)
    detail("cold: INIT + first ack, CPU time", lambda f: f.cold_ack_cpu)
    detail("cold: command -> first text", lambda f: f.cold_first_text)
    detail("SnapStart: after-restore hooks", lambda f: f.restore_hooks)
    detail("SnapStart: hooks + first ack", lambda f: f.restore_ack)
    detail("SnapStart: hooks + first ack, CPU time", lambda f: f.restore_ack_cpu)
    detail("SnapStart: command -> first text", lambda f: f.restore_first_text)
    detail("warm: ack", lambda f: f.warm_ack)
    detail("warm: ack, CPU time", lambda f: f.warm_ack_cpu)
    detail("warm: command -> first text", lambda f: f.warm_first_text)
    print(f"  Redis round trips per thread reply + answer (bot): {bot.round_trips}")
    print(f"  Redis round trips per handoff click + answer (bot): {bot.handoff_round_trips}")
    print(
        f"  floor for command -> first text: {args.first_token_ms} ms (the model) + the Slack calls before it"
    )
    print(
        f"  measured in {time.monotonic() - started:.0f} s; measured processes' stderr: {bench.errors.name}"
    )


def main() -> int:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cold", type=int, default=7, help="cold processes per app (and SnapStart restores)")
    parser.add_argument("--warm", type=int, default=40, help="warm acks per app")
    parser.add_argument("--answers", type=int, default=8, help="warm command -> first text samples per app")
    parser.add_argument("--first-token-ms", type=int, default=300)
    parser.add_argument("--app-root", default=str(ROOT), help="checkout whose bot is measured")
    args = parser.parse_args()
    started = time.monotonic()
    model = Stream([MARKER, " of the answer, and the rest."], stall_before_s=args.first_token_ms / 1000)
    with FakeSlack() as slack, FakeOpenAI(default=model) as openai, FakeLambda() as aws:
        bench = Bench(args, slack, openai, aws)
        try:
            bench.run()
        finally:
            bench.cleanup()
    report(bench, started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
