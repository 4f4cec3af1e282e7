"""What one conversation turn costs in Redis: commands, round trips and milliseconds. Asserts nothing.

One turn = what a Slack thread reply makes the engine do (the real :class:`~bot.core.engine.Engine`
with a scripted model): claim the event, store the reply, take the answer lock and read the
conversation, store the answer and release the lock, complete the event.

Run twice: without a policy, then with the governance a policy adds (access rules on the reply,
decided in the same write; budgets and a rate limit: reserve before the model call, charge after),
so the round trips the policy checks add to a turn show as the difference.

Then handoff clicks: the store calls one click on a handoff button makes, as the Slack layer makes
them (claim the click, hand off, the new agent's answer, record where its buttons are shown,
complete the click), agents handing the thread back and forth.

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
from collections.abc import Iterator
from typing import Any

import redis

from bot.adapters.redis.ledger import RedisLedger
from bot.adapters.redis.store import RedisConversationStore
from bot.adapters.token_counter import EstimatingCounter
from bot.core.agents import AgentSpec, parse_agent
from bot.core.conversation import UserMessage
from bot.core.engine import Engine, EngineConfig
from bot.core.governance import Access, Quota
from bot.core.policy import parse_policy
from bot.core.ports import Completion, ModelEvent, ModelRequest, SystemClock, TextDelta
from bot.core.refs import HandoffRef
from bot.core.registry import Registry, RoutingConfig
from bot.logging import configure_logging

STEPS = (
    "claim",
    "reply",
    "handoff",
    "lock+read",
    "reserve",
    "answer+unlock",
    "charge",
    "show",
    "complete",
    "unlock",
    "other",
)


class ScriptedModel:
    """Answers 1,500 characters at once."""

    def stream(self, request: ModelRequest, *, deadline: float) -> Iterator[ModelEvent]:
        """One delta and the end."""
        from bot.core.conversation import Usage

        yield TextDelta("a" * 1500)
        yield Completion(usage=Usage(model=request.model))


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
            name = str(args[0]).upper()
            if name == "EVALSHA":
                COUNTS.step = SCRIPT_STEPS.get(str(args[1]), "other")
            elif name == "SET":
                COUNTS.step = "complete"
            COUNTS.commands[(COUNTS.step, name)] += 1
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


SCRIPT_STEPS: dict[str, str] = {}


def one_turn(engine: Engine, conv_id: str, i: int, refused: frozenset[str] = frozenset()) -> None:
    """The engine calls of one Slack thread reply and its answer (as the reply listener makes them:
    the reply's own Slack ts is its delivery claim, so there is no separate claim/complete).
    The Slack layer adds one more round trip per answer (where its buttons are shown);
    scripts/bench_speed.py counts the whole reply through the Lambda handler."""
    user_ts = f"{1_700_000_000 + 2 * i}.000100"
    engine.reply(
        conversation_id=conv_id,
        message=UserMessage(text="q" * 300, user_id="U1", ts=user_ts),
        refuse_agents=refused,
    )
    result = engine.answer(conv_id, deadline=time.monotonic() + 60).drain()
    assert result is not None
    COUNTS.step = "other"


def one_handoff(engine: Engine, conv_id: str, i: int, answer_id: str, agent: str) -> tuple[str, str]:
    """The store calls of one click on ``answer_id``'s handoff button (to the other agent), as the
    Slack layer makes them; returns the new answer's id and agent."""
    target = "builder" if agent == "director" else "director"
    ref = HandoffRef(c=conv_id, a=answer_id, f=agent, t=target)
    with engine.once(f"handoff:{conv_id}:{i}") as first:
        assert first
        engine.hand_off(ref=ref, by_user="U1")  # also retires the clicked answer's buttons
        result = engine.answer(conv_id, deadline=time.monotonic() + 60).drain()
        assert result is not None
        new_id = result.turn.id
        engine.show_answer(conv_id, answer_id=new_id, agent=target, message_ts=f"{i}.1", restore="[]")
    COUNTS.step = "other"
    return new_id, target


def report_counts(n: int, before: Counter[str], after: Counter[str], unit: str = "turn") -> None:
    """Print the client-side counts and the server-side deltas, per turn."""
    print(f"\nclient side, per {unit} (exact):")
    print(f"  {'step':<14} {'round trips':>11}  commands")
    for step in STEPS:
        cmds = {name: c / n for (s, name), c in COUNTS.commands.items() if s == step}
        if not cmds:
            continue
        shown = ", ".join(f"{name} x{count:g}" for name, count in sorted(cmds.items()))
        print(f"  {step:<14} {COUNTS.round_trips[step] / n:>11g}  {shown}")
    total_rt = sum(COUNTS.round_trips[s] for s in STEPS) / n
    total_cmd = sum(c for (s, _), c in COUNTS.commands.items() if s in STEPS) / n
    print(f"  {'TOTAL':<14} {total_rt:>11g}  {total_cmd:g} commands")

    delta = after - before
    delta["info"] -= 1  # our own INFO
    print(f"\nserver side, per {unit} (INFO commandstats delta; includes commands run inside Lua;")
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
    parser.add_argument("--handoffs", type=int, default=50)
    args = parser.parse_args()
    configure_logging(json=False, level="WARNING")

    base = redis.SSLConnection if args.url.startswith("rediss://") else redis.Connection
    pool = redis.ConnectionPool.from_url(args.url, connection_class=counting(base))
    client = redis.Redis(connection_pool=pool)
    admin = redis.Redis.from_url(args.url)
    prefix = f"bench-{uuid.uuid4().hex[:10]}"
    store = RedisConversationStore(
        client, prefix=prefix, ttl_s=3600, max_turns=args.max_turns, clock=SystemClock()
    )
    ledger = RedisLedger(client, prefix=prefix)
    steps = {
        "claim": "claim",
        "append_turn": "reply",
        "hand_off": "handoff",
        "lock_and_read": "lock+read",
        "finish": "answer+unlock",
        "show_answer": "show",
        "release": "unlock",
        "open": "other",
    }
    SCRIPT_STEPS.update({store.scripts[name].sha: step for name, step in steps.items()})
    SCRIPT_STEPS.update({ledger.scripts["reserve"].sha: "reserve", ledger.scripts["charge"].sha: "charge"})
    registry = Registry.build(AGENTS, [], RoutingConfig(), "gpt-4.1")
    policy, problems = parse_policy(GOVERNED, "bench-policy.yaml")
    assert not problems, problems
    config = EngineConfig(max_prompt_tokens=120_000, reserve_tokens=4096, lock_ttl_s=120, lock_wait_s=60)
    try:
        version = admin.info("server")["redis_version"]
        print(f"Redis {version} at {pool.connection_kwargs.get('host')}: {args.turns} turns, ", end="")
        print(f"max_turns={args.max_turns}, user turn 300 chars, answer 1500 chars")
        totals = {}
        for label, gate in (
            ("without a policy", None),
            ("with the policy's checks", Quota(policy, ledger, SystemClock())),
        ):
            # the reply carries the agents U1 may not use, as the Slack layer computes them (no Redis)
            refused = (
                Access(policy, None).refused_agents(user_id="U1", channel_id="C1") if gate else frozenset()
            )
            engine = Engine(
                registry=registry, store=store, model=ScriptedModel(), counter=EstimatingCounter(),
                clock=SystemClock(), config=config, quota=gate,
            )  # fmt: skip
            print(f"\n=== {label} ===")
            conv_id = f"T1:C1:17000000{len(totals)}0.000100"
            totals[label] = run(
                engine, admin, store=store, conv_id=conv_id, turns=args.turns, refused=refused
            )
        added = totals["with the policy's checks"] - totals["without a policy"]
        print(f"\nround trips the policy checks add to a turn: {added:g} (reserve before, charge after)")
        engine = Engine(
            registry=registry, store=store, model=ScriptedModel(), counter=EstimatingCounter(),
            clock=SystemClock(), config=config,
        )  # fmt: skip
        print("\n=== handoff clicks (without a policy) ===")
        handoffs(engine, admin, conv_id="T1:C1:1700000090.000100", clicks=args.handoffs)
    finally:
        for key in admin.scan_iter(match=f"{prefix}:*", count=500):
            admin.delete(key)
        client.close()
        admin.close()


def run(
    engine: Engine,
    admin: redis.Redis,
    *,
    store: RedisConversationStore,
    conv_id: str,
    turns: int,
    refused: frozenset[str],
) -> float:
    """Warm up, then measure ``turns`` turns; print the figures and return round trips per turn."""
    engine.start(
        conversation_id=conv_id,
        agent="director",
        message=UserMessage(text="start", user_id="U1", ts="1699999999.0"),
        team_id="T1",
        channel_id="C1",
        thread_ts=conv_id.rsplit(":", 1)[1],
    )
    engine.answer(conv_id, deadline=time.monotonic() + 60).drain()
    one_turn(engine, conv_id, -1, refused)  # warm up: connection, client setinfo, SCRIPT LOAD after NOSCRIPT
    COUNTS.commands.clear()
    COUNTS.round_trips.clear()
    before = commandstats(admin)
    durations: list[float] = []
    for i in range(turns):
        started = time.perf_counter()
        one_turn(engine, conv_id, i, refused)
        durations.append((time.perf_counter() - started) * 1000)
    after = commandstats(admin)
    report_counts(turns, before, after)
    report_times(store, conv_id, durations)
    return sum(COUNTS.round_trips[s] for s in STEPS) / turns


def handoffs(engine: Engine, admin: redis.Redis, *, conv_id: str, clicks: int) -> None:
    """Warm up, then measure ``clicks`` handoff clicks; print the figures."""
    engine.start(
        conversation_id=conv_id,
        agent="director",
        message=UserMessage(text="start", user_id="U1", ts="1699999999.0"),
        team_id="T1",
        channel_id="C1",
        thread_ts=conv_id.rsplit(":", 1)[1],
    )
    result = engine.answer(conv_id, deadline=time.monotonic() + 60).drain()
    assert result is not None
    answer_id, agent = one_handoff(engine, conv_id, -1, result.turn.id, "director")  # warm up
    COUNTS.commands.clear()
    COUNTS.round_trips.clear()
    before = commandstats(admin)
    for i in range(clicks):
        answer_id, agent = one_handoff(engine, conv_id, i, answer_id, agent)
    report_counts(clicks, before, commandstats(admin), unit="handoff click")


def _agent(name: str, target: str) -> AgentSpec:
    text = f"---\nname: {name}\nhandoffs:\n  - label: To {target}\n    agent: {target}\n"
    spec, _ = parse_agent(text + f"    prompt: Go on.\n---\nYou are {name}.", f"{name}.agent.md")
    assert spec is not None
    return spec


AGENTS = [_agent("director", "builder"), _agent("builder", "director")]

GOVERNED = """
admins: [U0ADMIN1]
agents:
  backend-builder: {users: [U0ALICE]}
budgets:
  user_daily_tokens: 100000000
  workspace_daily_tokens: 1000000000
rate_limits:
  user_per_minute: 100000
"""


if __name__ == "__main__":
    main()
