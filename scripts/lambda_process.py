"""One Lambda execution environment as a process, driven by ``scripts/bench_speed.py``. Stdlib only.

The benchmark starts one such process per cold sample (and one per app for the warm figures) and
talks to it in JSON lines: requests on stdin, answers on the file descriptor given as the first
argument (stdout and stderr stay free for the app's logs). Nothing of the app is imported before
``init``, and nothing but the standard library before that, so a cold sample pays exactly what a
cold Lambda container pays for the app. Requests:

- ``{"op": "init", "app": "handlers.lambda_function", "root": "..."}``: import the handler's module
  (the INIT phase). With ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start`` in the environment this is
  the SnapStart init before the snapshot. Answers ``{"t0": <monotonic before the import>, "ms",
  "cpu_ms", "file"}`` (``cpu_ms``: this process's CPU time, all threads).
- ``{"op": "restore"}``: run the after-restore hooks that the app registered with
  ``snapshot_restore_py`` (what Lambda does when it resumes a snapshot). Answers ``{"t0", "ms", "hooks"}``.
- ``{"op": "invoke", "event": {...}, "lazy": true, "count_redis": false}``: call the handler with an
  API Gateway event (the ack); with ``lazy``, then fetch Bolt's asynchronous self-invocations from the
  fake Lambda endpoint (``GET /invocations``) and run them here too, as Lambda would on this warm
  container. Answers ``{"t0", "ack_ms", "ack_cpu_ms", "status", "lazy_runs", "lazy_ms",
  "redis_round_trips"}``.
- ``{"op": "exit"}``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
import urllib.request
from typing import Any


class Context:
    """The parts of the Lambda context object that the handlers use."""

    def __init__(self, number: int) -> None:
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "bench")
        self.function_name = name
        self.aws_request_id = f"bench-{os.getpid()}-{number}"
        self.invoked_function_arn = os.environ.get(
            "BENCH_INVOKED_FUNCTION_ARN", f"arn:aws:lambda:us-east-1:123456789012:function:{name}"
        )

    def get_remaining_time_in_millis(self) -> int:
        """Lambda's time left for this invocation."""
        return 300_000


class RoundTrips:
    """Counts what redis-py sends on the wire: one packed send is one round trip."""

    def __init__(self) -> None:
        self.count = 0
        self._patched: Any = None

    def __enter__(self) -> RoundTrips:
        from redis.connection import AbstractConnection

        original = AbstractConnection.send_packed_command
        counter = self

        def counting(conn: Any, command: Any, check_health: bool = True) -> None:
            counter.count += 1
            original(conn, command, check_health)

        self._patched = (AbstractConnection, original)
        AbstractConnection.send_packed_command = counting  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        cls, original = self._patched
        cls.send_packed_command = original


def main() -> int:
    """Serve the benchmark's requests until ``exit``."""
    answers = os.fdopen(int(sys.argv[1]), "w", buffering=1)
    handler: Any = None
    invocations = 0
    for line in sys.stdin:
        request = json.loads(line)
        op = request["op"]
        answer: dict[str, Any] = {}
        if op == "init":
            t0, cpu0 = time.monotonic(), time.process_time()
            sys.path.insert(0, request["root"])
            module = importlib.import_module(request["app"])
            handler = module.handler
            answer = {
                "t0": t0,
                "ms": (time.monotonic() - t0) * 1000,
                "cpu_ms": (time.process_time() - cpu0) * 1000,
                "file": module.__file__,
            }
        elif op == "restore":
            t0, cpu0 = time.monotonic(), time.process_time()
            from snapshot_restore_py import get_after_restore

            hooks = get_after_restore()
            for hook, args, kwargs in hooks:  # type: ignore[misc]
                hook(*args, **kwargs)
            answer = {
                "t0": t0,
                "ms": (time.monotonic() - t0) * 1000,
                "cpu_ms": (time.process_time() - cpu0) * 1000,
                "hooks": len(hooks),
            }
        elif op == "invoke":
            counter = RoundTrips() if request.get("count_redis") else None
            if counter is not None:
                counter.__enter__()
            t0, cpu0 = time.monotonic(), time.process_time()
            invocations += 1
            response = handler(request["event"], Context(invocations))
            t1, cpu1 = time.monotonic(), time.process_time()
            lazy_runs = 0
            if request.get("lazy"):
                endpoint = os.environ["AWS_ENDPOINT_URL_LAMBDA"].rstrip("/")
                with urllib.request.urlopen(f"{endpoint}/invocations", timeout=10) as got:
                    pending = json.loads(got.read())
                for invocation in pending:
                    invocations += 1
                    handler(invocation["payload"], Context(invocations))
                    lazy_runs += 1
            t2 = time.monotonic()
            if counter is not None:
                counter.__exit__()
            answer = {
                "t0": t0,
                "ack_ms": (t1 - t0) * 1000,
                "ack_cpu_ms": (cpu1 - cpu0) * 1000,
                "status": response.get("statusCode"),
                "lazy_runs": lazy_runs,
                "lazy_ms": (t2 - t1) * 1000,
                "redis_round_trips": counter.count if counter is not None else None,
            }
        elif op == "exit":
            answers.write("{}\n")
            return 0
        answers.write(json.dumps(answer) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
