"""The harness of the ConversationStore contract (``tests/test_store_contract*.py``): stores of both
implementations (in-memory and real Redis, under the test's key prefix) whose time moves without
sleeping, and the values the engine stores (metas, turns, handoff records) built as it builds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.adapters.memory.store import MemoryConversationStore
from bot.adapters.redis.store import RedisConversationStore
from bot.core.conversation import ConversationMeta, HandoffRecord, Role, Turn
from bot.core.ports import ConversationStore, FixedClock
from tests.support import age_redis_keys

CONV = "T1:C1:1700000000.000100"


@dataclass
class Harness:
    """Builds stores of one implementation and moves their time."""

    kind: str
    clock: FixedClock
    build: Callable[[int, int], ConversationStore]
    age_keys: Callable[[float], None] = lambda seconds: None

    def make(self, *, ttl_s: int = 3600, max_turns: int = 100) -> ConversationStore:
        """A fresh store (Redis: under this test's prefix)."""
        return self.build(ttl_s, max_turns)

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` pass for expiry purposes: the clock, and on Redis the server's expiry."""
        self.clock.advance(seconds)
        self.age_keys(seconds)


@pytest.fixture(params=["memory", "redis"])
def harness(request: pytest.FixtureRequest) -> Iterator[Harness]:
    """One harness per implementation."""
    clock = FixedClock()
    if request.param == "memory":
        yield Harness(
            "memory",
            clock,
            lambda ttl, cap: MemoryConversationStore(ttl_s=ttl, max_turns=cap, clock=clock),
        )
        return
    client = request.getfixturevalue("redis_client")
    prefix = request.getfixturevalue("redis_prefix")
    yield Harness(
        "redis",
        clock,
        lambda ttl, cap: RedisConversationStore(client, prefix=prefix, ttl_s=ttl, max_turns=cap, clock=clock),
        lambda seconds: age_redis_keys(client, prefix, seconds),
    )


def meta(conv_id: str = CONV, agent: str = "director", **kw: Any) -> ConversationMeta:
    """A conversation's meta as the engine creates it."""
    fields: dict[str, Any] = {
        "id": conv_id,
        "agent": agent,
        "created_at": 1_700_000_000.123456,
        "updated_at": 1_700_000_000.123456,
        "team_id": "T1",
        "channel_id": "C1",
        "thread_ts": "1700000000.000100",
    }
    fields.update(kw)
    return ConversationMeta(**fields)


def user(turn_id: str, ts: str, text: str = "hello") -> Turn:
    """A user's message in the thread."""
    return Turn(id=turn_id, role=Role.USER, text=text, ts=ts, user_id="U1", agent="director")


def answer(turn_id: str, ts: str, text: str = "answer") -> Turn:
    """An agent's answer."""
    return Turn(id=turn_id, role=Role.ASSISTANT, text=text, ts=ts, agent="director")


def record(to_agent: str = "frontend-builder", at: float = 1.0) -> HandoffRecord:
    """A handoff button click."""
    return HandoffRecord(from_agent="director", to_agent=to_agent, label="Build it", by_user="U1", at=at)


def prompt(turn_id: str = "handoff-a1") -> Turn:
    """The prompt turn a handoff stores for the target agent."""
    return Turn(id=turn_id, role=Role.USER, text="build it", ts="1700000009.000000", agent="frontend-builder")


def ids(store: ConversationStore, conv_id: str = CONV) -> list[str]:
    """The stored turn ids, in stored order."""
    conv = store.get(conv_id)
    assert conv is not None
    return [t.id for t in conv.turns]
