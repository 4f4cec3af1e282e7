"""In-memory :class:`~bot.core.ports.Conversations`: turns, agent, handoffs, the answer lock, forgetting."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager

from bot.adapters.memory.base import MemoryBase, StoredConversation
from bot.adapters.store_common import (
    LOCK_POLL_FACTOR,
    LOCK_POLL_FIRST_S,
    LOCK_POLL_MAX_S,
    PARK_TTL_S,
    new_token,
    ts_micros,
)
from bot.core.conversation import (
    Conversation,
    ConversationMeta,
    HandoffRecord,
    PendingApproval,
    Turn,
    parse_conversation_id,
)
from bot.core.ports import AppendOutcome, HandedOff, HandoffStatus, LockedConversation, Opened
from bot.errors import ConversationBusyError, ConversationNotFoundError


class _Locked:
    """A conversation read under the lock; :meth:`finish` stores the answer and releases."""

    def __init__(self, store: MemoryConversations, conversation_id: str, token: str) -> None:
        self._store = store
        self._conversation_id = conversation_id
        self._token = token
        self.released = False
        self.conversation = store.get(conversation_id)

    def finish(self, answer: Turn) -> bool:
        """Store the answer and release the lock atomically."""
        with self._store._cond:
            try:
                stored = self._store._append_locked(self._conversation_id, answer)
            finally:
                self.release()
        if stored is AppendOutcome.MISSING:
            raise ConversationNotFoundError(self._conversation_id)
        return stored is AppendOutcome.STORED

    def pause(self, pending: PendingApproval) -> None:
        """Store the pending approval and release the lock atomically."""
        with self._store._cond:
            try:
                conv = self._store._live(self._conversation_id)
                if conv is None:
                    raise ConversationNotFoundError(self._conversation_id)
                update = {"pending_approval": pending, "updated_at": self._store.clock.now()}
                conv.meta = conv.meta.model_copy(update=update)
                self._store._touch(conv)
            finally:
                self.release()

    def take_approval(self, approval_id: str) -> PendingApproval | None:
        """Remove and return the pending approval if it is ``approval_id`` (compare-and-clear)."""
        with self._store._cond:
            conv = self._store._live(self._conversation_id)
            pending = conv.meta.pending_approval if conv is not None else None
            if conv is None or pending is None or pending.id != approval_id:
                return None
            conv.meta = conv.meta.model_copy(
                update={"pending_approval": None, "updated_at": self._store.clock.now()}
            )
            self._store._touch(conv)
            return pending

    def release(self) -> None:
        """Release the lock if we still own it."""
        with self._store._cond:
            if self.released:
                return
            self.released = True
            held = self._store._locks.get(self._conversation_id)
            if held is not None and held[0] == self._token:  # only the owner releases
                del self._store._locks[self._conversation_id]
                self._store._cond.notify_all()


class MemoryConversations(MemoryBase):
    """The :class:`~bot.core.ports.Conversations` part of the in-memory store."""

    def create(self, meta: ConversationMeta) -> bool:
        """Store a new conversation; False (and nothing changes) if the id exists or was forgotten."""
        with self._cond:
            if self._live(meta.id) is not None or self._tombstoned(meta.id):
                return False
            self._convs[meta.id] = StoredConversation(
                meta=meta, expires_at=self.clock.monotonic() + self.ttl_s
            )
            return True

    def open(
        self, meta: ConversationMeta, turn: Turn, *, refuse_agents: frozenset[str] = frozenset()
    ) -> Opened:
        """Create if absent (adopting parked turns), then store ``turn``; one atomic step."""
        with self._cond:
            conv = self._live(meta.id)
            if conv is None and self._tombstoned(meta.id):
                return Opened(created=False, agent=meta.agent, stored=False, forgotten=True)
            agent = conv.meta.agent if conv is not None else meta.agent
            if agent in refuse_agents:
                return Opened(created=False, agent=agent, stored=False, refused=True)
            created = conv is None
            if conv is None:
                conv = StoredConversation(meta=meta, expires_at=self.clock.monotonic() + self.ttl_s)
                self._convs[meta.id] = conv
                now = self.clock.monotonic()
                for parked, expires in self._parked.pop(meta.id, {}).values():
                    if expires > now:
                        self._append_locked(meta.id, parked)
            stored = self._append_locked(meta.id, turn)
            return Opened(created=created, agent=conv.meta.agent, stored=stored is AppendOutcome.STORED)

    def adopt(
        self, meta: ConversationMeta, turns: Sequence[Turn], handoffs: Sequence[HandoffRecord]
    ) -> Opened:
        """Create the conversation with its history if absent (adopting parked turns); one atomic step."""
        with self._cond:
            conv = self._live(meta.id)
            if conv is not None:
                return Opened(created=False, agent=conv.meta.agent, stored=False)
            if self._tombstoned(meta.id):  # forgotten on request: never rebuilt
                return Opened(created=False, agent=meta.agent, stored=False, forgotten=True)
            conv = StoredConversation(meta=meta, expires_at=self.clock.monotonic() + self.ttl_s)
            self._convs[meta.id] = conv
            for turn in sorted(turns, key=lambda t: ts_micros(t.ts)):
                self._append_locked(meta.id, turn)
            now = self.clock.monotonic()
            for parked, expires in self._parked.pop(meta.id, {}).values():
                if expires > now:
                    self._append_locked(meta.id, parked)
            conv.meta = conv.meta.model_copy(update={"last_answer_id": meta.last_answer_id})
            conv.handoffs.extend(handoffs)
            return Opened(created=True, agent=meta.agent, stored=True)

    def exists(self, conversation_id: str) -> bool:
        """Whether the conversation exists and has not expired."""
        with self._cond:
            return self._live(conversation_id) is not None

    def get(self, conversation_id: str) -> Conversation | None:
        """The whole conversation, or None if unknown or expired."""
        with self._cond:
            conv = self._live(conversation_id)
            if conv is None:
                return None
            return Conversation(
                meta=conv.meta,
                turns=tuple(conv.turns[turn_id] for _, turn_id in conv.order),
                handoffs=tuple(conv.handoffs),
            )

    def find(self, *, channel_id: str, thread_ts: str) -> list[str]:
        """Ids of the live conversations of a Slack thread, in any team (sorted)."""
        with self._cond:
            found = []
            for conversation_id in list(self._convs):
                address = parse_conversation_id(conversation_id)
                matches = address is not None and (address.channel_id, address.thread_ts) == (
                    channel_id,
                    thread_ts,
                )
                if matches and self._live(conversation_id) is not None:
                    found.append(conversation_id)
            return sorted(found)

    def append_turn(
        self,
        conversation_id: str,
        turn: Turn,
        *,
        park_if_missing: bool = False,
        refuse_agents: frozenset[str] = frozenset(),
    ) -> AppendOutcome:
        """Store a turn; park it when the conversation does not exist yet and ``park_if_missing``."""
        with self._cond:
            conv = self._live(conversation_id)
            if conv is not None and conv.meta.agent in refuse_agents:
                return AppendOutcome.REFUSED
            outcome = self._append_locked(conversation_id, turn)
            if outcome is AppendOutcome.MISSING and park_if_missing and not self._tombstoned(conversation_id):
                parked = self._parked.setdefault(conversation_id, {})
                parked.setdefault(turn.id, (turn, self.clock.monotonic() + PARK_TTL_S))
                if len(self._parked) > 1024:  # purge expired parkings now and then
                    now = self.clock.monotonic()
                    for key in [k for k, v in self._parked.items() if all(e <= now for _, e in v.values())]:
                        del self._parked[key]
                return AppendOutcome.PARKED
            return outcome

    def hand_off(
        self,
        conversation_id: str,
        *,
        expected_answer_id: str,
        record: HandoffRecord,
        prompt: Turn,
        model: str | None,
    ) -> HandedOff:
        """Switch the agent, record the handoff, store the prompt turn and retire the clicked
        answer's buttons, in one atomic step."""
        with self._cond:
            conv = self._live(conversation_id)
            if conv is None:
                return HandedOff(HandoffStatus.MISSING)
            if conv.meta.last_answer_id != expected_answer_id:
                return HandedOff(HandoffStatus.STALE)
            answer = conv.turns.get(expected_answer_id)
            if answer is None or answer.agent != record.from_agent:
                return HandedOff(HandoffStatus.WRONG_AGENT)
            shown = dict(conv.meta.shown)
            retired = shown.pop(expected_answer_id, None)
            conv.meta = conv.meta.model_copy(
                update={"agent": record.to_agent, "model": model, "last_answer_id": None, "shown": shown}
            )
            conv.handoffs.append(record)
            self._append_locked(conversation_id, prompt)
            return HandedOff(HandoffStatus.DONE, retired)

    def forget(self, conversation_id: str) -> bool:
        """Drop the conversation and its parked turns; a tombstone refuses the id for ``ttl_s``."""
        with self._cond:
            existed = self._live(conversation_id) is not None
            self._convs.pop(conversation_id, None)
            self._parked.pop(conversation_id, None)
            now = self.clock.monotonic()
            self._forgotten[conversation_id] = now + self.ttl_s
            if len(self._forgotten) > 1024:  # purge expired tombstones now and then
                for key in [k for k, expires in self._forgotten.items() if expires <= now]:
                    del self._forgotten[key]
            return existed

    def is_forgotten(self, conversation_id: str) -> bool:
        """True while the conversation's tombstone lives."""
        with self._cond:
            return self._tombstoned(conversation_id)

    # ------------------------------------------------------------------------------------- lock

    def locked(
        self, conversation_id: str, *, ttl_s: float, wait_s: float
    ) -> AbstractContextManager[LockedConversation]:
        """Take the answer lock (waiting up to ``wait_s`` real time) and read the conversation."""
        return self._locked(conversation_id, ttl_s, wait_s)

    @contextmanager
    def _locked(self, conversation_id: str, ttl_s: float, wait_s: float) -> Iterator[LockedConversation]:
        token = new_token()
        deadline = time.monotonic() + wait_s
        delay = LOCK_POLL_FIRST_S
        with self._cond:
            while True:
                held = self._locks.get(conversation_id)
                if held is None or held[1] <= self.clock.monotonic():
                    self._locks[conversation_id] = (token, self.clock.monotonic() + ttl_s)
                    break
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ConversationBusyError(f"lock wait exceeded {wait_s:g}s")
                # Woken early by a release; the timeout re-checks expiry under a moving fake clock.
                self._cond.wait(min(remaining, delay))
                delay = min(delay * LOCK_POLL_FACTOR, LOCK_POLL_MAX_S)
            locked = _Locked(self, conversation_id, token)
        try:
            yield locked
        finally:
            locked.release()
