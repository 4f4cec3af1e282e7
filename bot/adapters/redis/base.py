"""What every part of the Redis conversation store shares: the client, settings, scripts and calls."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import redis

from bot.adapters.redis import calls, keys
from bot.adapters.redis.scripts import Scripts
from bot.adapters.store_common import new_token, ts_micros
from bot.core.conversation import Conversation, ConversationMeta, HandoffRecord, Role, Turn
from bot.core.ports import Clock

T = TypeVar("T")


class RedisBase:
    """A Redis client (``decode_responses=False``: bytes in, bytes out) and the store's settings.

    Every part of :class:`~bot.adapters.redis.store.RedisConversationStore` builds on it; each
    part alone is its narrow port (:class:`~bot.core.ports.Conversations`, ...) over the same keys.
    """

    def __init__(self, client: redis.Redis, *, prefix: str, ttl_s: int, max_turns: int, clock: Clock) -> None:
        if ttl_s <= 0 or max_turns < 2:
            raise ValueError("ttl_s must be > 0 and max_turns >= 2")
        self.client = client
        self.prefix = keys.check_prefix(prefix)
        self.ttl_s = ttl_s
        self.max_turns = max_turns
        self.clock = clock
        self.scripts = Scripts(client)

    def conversation_keys(self, conversation_id: str) -> keys.ConversationKeys:
        """meta, turns, bodies, ids, handoffs, parked, lock, forgotten: one conversation's keys."""
        return keys.conversation_keys(self.prefix, conversation_id)

    def call(self, op: str, fn: Callable[[], T]) -> T:
        """Run ``fn`` (a redis-py call); a Redis failure raises ``StoreUnavailableError`` naming ``op``."""
        return calls.call(op, fn)

    def run_script(self, op: str, script: str, script_keys: Sequence[str], args: Sequence[str | int]) -> Any:
        """Run the Lua script ``script`` (one ``EVALSHA``); ``op`` names it in errors."""
        return calls.run_script(op, self.scripts[script], script_keys, args)

    def write_args(self) -> list[str | int]:
        """The arguments every turn-writing script starts with: ttl, cap, updated_at, retry nonce."""
        return [ms(self.ttl_s), self.max_turns, json.dumps(self.clock.now()), new_token()]


def turn_args(turn: Turn) -> list[str | int]:
    """A turn as a script's 5 arguments: id, JSON, score, is-answer, the answer id as JSON."""
    is_answer = turn.role is Role.ASSISTANT
    return [
        turn.id,
        turn.model_dump_json(),
        ts_micros(turn.ts),
        "1" if is_answer else "0",
        json.dumps(turn.id) if is_answer else "",
    ]


def agent_set(agents: frozenset[str]) -> str:
    """Agent names as a JSON object (name -> true): a set Lua's cjson can look names up in."""
    return json.dumps(dict.fromkeys(sorted(agents), True))


def ms(seconds: float) -> int:
    """Seconds as the whole milliseconds ``PEXPIRE`` takes (at least 1)."""
    return max(1, int(seconds * 1000))


def text(value: bytes | str) -> str:
    """A reply value as text."""
    return value.decode() if isinstance(value, bytes) else str(value)


def conversation(meta_pairs: list[bytes], bodies: list[bytes], handoffs: list[bytes]) -> Conversation:
    """A conversation from the read scripts' reply (``_``-prefixed meta fields are nonces)."""
    meta_fields: dict[str, Any] = {}
    for i in range(0, len(meta_pairs), 2):
        name = meta_pairs[i].decode()
        if not name.startswith("_"):
            meta_fields[name] = json.loads(meta_pairs[i + 1])
    return Conversation(
        meta=ConversationMeta.model_validate(meta_fields),
        turns=tuple(Turn.model_validate_json(body) for body in bodies),
        handoffs=tuple(HandoffRecord.model_validate_json(item) for item in handoffs),
    )
