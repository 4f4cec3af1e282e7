"""What one conversation turn costs in Redis: commands, round trips and milliseconds. Asserts nothing.

One turn = the store calls a Slack thread reply makes: claim the event, append the user's turn,
take the answer lock, load the conversation, append the answer, complete the event, release the lock.

Measured two ways:
- client side, exactly: a counting connection class counts every command and every network round
  trip this process sends (our scripts run as one ``EVALSHA`` each);
- server side: ``INFO commandstats`` deltas, which also count the commands our Lua scripts run inside
  Redis. Other clients of the same server add noise here; the client-side count is the reference.

Usage: ``.venv/bin/python scripts/bench_store.py [--turns 200] [--url redis://...]`` (default:
``REDIS_URL``, else ``redis://127.0.0.1:6379/0``). Keys live under a private prefix, deleted at the end.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections import Counter
from typing import Any

import redis

from bot.adapters.redis_store import RedisConversationStore
from bot.core.conversation import ConversationMeta, Role, Turn
from bot.core.ports import SystemClock

STEPS = ("claim", "append_user", "lock", "get", "append_answer", "complete", "unlock")


class Counts:
    """Commands and round trips sent, per step."""

    def __init__(self) -> None:
        self.step = "setup"
        self.commands: Counter[tuple[str, str]] = Counter()
        self.round_trips: Counter[str] = Counter()


COUNTS = Counts()


def counting(base: type[redis.Connection]) -> type[redis.Connection]:
    """A connection class that counts what it sends."""

    class CountingConnection(base):  # type: ignore[valid-type, misc]
        def send_command(self, *args: Any, **kwargs: Any) -> None:
            COUNTS.commands[(COUNTS.step, str(args[0]).upper())] += 1
            super().send_command(*args, **kwargs)

        def pack_commands(self, commands: Any) -> Any:
            commands = list(commands)
            for command in commands:
                COUNTS.commands[(COUNTS.step, str(command[0]).upper())] += 1
            return super().pack_commands(commands)

        def send_packed_command(self, command: Any, check_health: bool = True) -> None:
            COUNTS.round_trips[COUNTS.step] += 1
            super().send_packed_command(command, check_health)

    return CountingConnection


def commandstats(client: redis.Redis) -> Counter[str]:
    """Server-side calls per command."""
    stats = client.info("commandstats")
    return Counter({name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()})


def one_turn(store: RedisConversationStore, conv_id: str, i: int) -> None:
    """The store calls of one Slack reply and its answer."""
    user_ts = f"{1_700_000_000 + 2 * i}.000100"
    COUNTS.step = "claim"
    store.claim(f"Ev{i}", ttl_s=60)
    COUNTS.step = "append_user"
    store.append_turn(conv_id, Turn(id=user_ts, role=Role.USER, text="q" * 300, ts=user_ts, user_id="U1"))
    COUNTS.step = "lock"
    lock = store.lock(conv_id, ttl_s=120, wait_s=60)
    lock.__enter__()
    COUNTS.step = "get"
    store.get(conv_id)
    COUNTS.step = "append_answer"
    answer_ts = f"{1_700_000_001 + 2 * i}.000100"
    store.append_turn(conv_id, Turn(id=f"a{i}", role=Role.ASSISTANT, text="a" * 1500, ts=answer_ts))
    COUNTS.step = "complete"
    store.complete(f"Ev{i}")
    COUNTS.step = "unlock"
    lock.__exit__(None, None, None)
    COUNTS.step = "other"


def report_counts(n: int, before: Counter[str], after: Counter[str]) -> None:
    """Print the client-side counts and the server-side deltas, per turn."""
    print("\nclient side, per turn (exact):")
    print(f"  {'step':<14} {'round trips':>11}  commands")
    for step in STEPS:
        cmds = {name: c / n for (s, name), c in COUNTS.commands.items() if s == step}
        shown = ", ".join(f"{name} x{count:g}" for name, count in sorted(cmds.items()))
        print(f"  {step:<14} {COUNTS.round_trips[step] / n:>11g}  {shown}")
    total_rt = sum(COUNTS.round_trips[s] for s in STEPS) / n
    total_cmd = sum(c for (s, _), c in COUNTS.commands.items() if s in STEPS) / n
    print(f"  {'TOTAL':<14} {total_rt:>11g}  {total_cmd:g} commands")

    delta = after - before
    delta["info"] -= 1  # our own INFO
    print("\nserver side, per turn (INFO commandstats delta; includes commands run inside Lua;")
    print("other clients of this server add noise):")
    for name, calls in sorted(delta.items(), key=lambda kv: -kv[1]):
        if calls > 0:
            print(f"  {name:<24} {calls / n:8.2f}")
    print(f"  {'TOTAL':<24} {sum(v for v in delta.values() if v > 0) / n:8.2f}")


def report_times(store: RedisConversationStore, conv_id: str, durations: list[float]) -> None:
    """Print ms per turn and the cost of loading the final conversation."""
    durations.sort()
    p95 = durations[min(len(durations) - 1, int(len(durations) * 0.95))]
    median = statistics.median(durations)
    print(f"\nms per turn: median {median:.2f}, p95 {p95:.2f}, max {durations[-1]:.2f}")
    COUNTS.step = "get_full"
    gets = []
    for _ in range(20):
        started = time.perf_counter()
        conv = store.get(conv_id)
        gets.append((time.perf_counter() - started) * 1000)
    kept = len(conv.turns) if conv else 0
    print(f"get() of the final conversation ({kept} turns): median {statistics.median(gets):.2f} ms")


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--url", default=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    parser.add_argument("--max-turns", type=int, default=500)
    args = parser.parse_args()

    base = redis.SSLConnection if args.url.startswith("rediss://") else redis.Connection
    pool = redis.ConnectionPool.from_url(args.url, connection_class=counting(base))
    client = redis.Redis(connection_pool=pool)
    admin = redis.Redis.from_url(args.url)
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    store = RedisConversationStore(
        client, prefix=prefix, ttl_s=3600, max_turns=args.max_turns, clock=SystemClock()
    )
    conv_id = "T1:C1:1700000000.000100"
    try:
        now = time.time()
        store.create(ConversationMeta(id=conv_id, agent="director", created_at=now, updated_at=now))
        one_turn(store, conv_id, -1)  # warm up: connection, client setinfo, SCRIPT LOAD after NOSCRIPT
        COUNTS.commands.clear()
        COUNTS.round_trips.clear()
        before = commandstats(admin)
        durations: list[float] = []
        for i in range(args.turns):
            started = time.perf_counter()
            one_turn(store, conv_id, i)
            durations.append((time.perf_counter() - started) * 1000)
        after = commandstats(admin)
        version = admin.info("server")["redis_version"]
        print(f"Redis {version} at {pool.connection_kwargs.get('host')}: {args.turns} turns, ", end="")
        print(f"max_turns={args.max_turns}, user turn 300 chars, answer 1500 chars")
        report_counts(args.turns, before, after)
        report_times(store, conv_id, durations)
    finally:
        for key in admin.scan_iter(match=f"{prefix}:*", count=500):
            admin.delete(key)
        client.close()
        admin.close()


if __name__ == "__main__":
    main()
