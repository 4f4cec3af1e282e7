"""The state every part of the in-memory conversation store shares, under one ``threading.Condition``.

Expiry follows the injected clock's ``monotonic()`` (a ``FixedClock`` makes it deterministic); only
*waiting* for a lock uses real time, since a fake clock never moves by itself. State is per process,
so it cannot serve several Lambda instances.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field

from bot.adapters.store_common import OwnerTokens, ts_micros
from bot.core.conversation import ConversationMeta, HandoffRecord, RecentThread, Role, Turn
from bot.core.ports import AppendOutcome, Clock


@dataclass
class StoredConversation:
    """One conversation as kept in memory."""

    meta: ConversationMeta
    expires_at: float
    order: list[tuple[int, str]] = field(default_factory=list)  # (score, turn id), sorted
    turns: dict[str, Turn] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # every turn id ever appended (idempotency)
    handoffs: list[HandoffRecord] = field(default_factory=list)


class MemoryBase:
    """The in-memory store's state and the helpers its parts share (callers hold ``_cond``)."""

    def __init__(self, *, ttl_s: int, max_turns: int, clock: Clock) -> None:
        if ttl_s <= 0 or max_turns < 2:
            raise ValueError("ttl_s must be > 0 and max_turns >= 2")
        self.ttl_s = ttl_s
        self.max_turns = max_turns
        self.clock = clock
        self._cond = threading.Condition()
        self._convs: dict[str, StoredConversation] = {}
        self._parked: dict[str, dict[str, tuple[Turn, float]]] = {}  # conv id -> turn id -> (turn, expires)
        self._claims: dict[str, tuple[str, float]] = {}  # delivery id -> (token or "done", expires)
        self._locks: dict[str, tuple[str, float]] = {}  # conversation id -> (owner token, expires)
        self._forgotten: dict[str, float] = {}  # conversation id -> tombstone expiry
        self._owned = OwnerTokens()
        self._tallies: dict[str, list[int]] = {}  # agent -> [up, down]
        self._tallied: dict[str, float] = {}  # change id -> expiry (each change counted once)
        self._recent: dict[str, dict[str, RecentThread]] = {}  # user -> conversation id -> thread

    def _live(self, conversation_id: str) -> StoredConversation | None:
        conv = self._convs.get(conversation_id)
        if conv is not None and conv.expires_at <= self.clock.monotonic():
            del self._convs[conversation_id]
            return None
        return conv

    def _touch(self, conv: StoredConversation) -> None:
        conv.expires_at = self.clock.monotonic() + self.ttl_s

    def _tombstoned(self, conversation_id: str) -> bool:
        expires = self._forgotten.get(conversation_id)
        if expires is not None and expires <= self.clock.monotonic():
            del self._forgotten[conversation_id]
            return False
        return expires is not None

    def _append_locked(self, conversation_id: str, turn: Turn) -> AppendOutcome:
        """Append under ``self._cond`` (held by the caller)."""
        score = ts_micros(turn.ts)
        conv = self._live(conversation_id)
        if conv is None:
            return AppendOutcome.MISSING
        if turn.id in conv.seen:
            return AppendOutcome.DUPLICATE
        update: dict[str, object] = {"updated_at": self.clock.now()}
        if turn.role is Role.ASSISTANT:
            if conv.order:
                score = max(score, conv.order[-1][0] + 1)
            update["last_answer_id"] = turn.id
        bisect.insort(conv.order, (score, turn.id))
        conv.turns[turn.id] = turn
        conv.seen.add(turn.id)
        excess = len(conv.order) - self.max_turns
        if excess > 0:  # keep the first turn (rank 0), drop the oldest others
            for _, dropped in conv.order[1 : 1 + excess]:
                del conv.turns[dropped]
            del conv.order[1 : 1 + excess]
            update["dropped_turns"] = conv.meta.dropped_turns + excess
        conv.meta = conv.meta.model_copy(update=update)
        self._touch(conv)
        return AppendOutcome.STORED
