"""In-process :class:`~bot.core.ports.ConversationStore`: local runs without ``REDIS_URL`` and fast tests.

Same contract and semantics as :class:`bot.adapters.redis_store.RedisConversationStore` (the contract
suite in ``tests/test_store_contract.py`` runs against both): turns ordered by Slack ``ts`` with an
assistant turn placed after everything stored, idempotency by turn id (also for turns the cap dropped),
the ``max_turns`` cap that keeps the first turn, handoff compare-and-set, an expiring owner lock and
delivery claims. Expiry follows the injected clock's ``monotonic()`` (a ``FixedClock`` makes it
deterministic); only *waiting* for a lock uses real time, since a fake clock never moves by itself.

Thread-safe (one ``threading.Condition``); state is per process, so it cannot serve several Lambda
instances. The helpers :func:`ts_micros` and :class:`OwnerTokens` are shared with the Redis store.
"""

from __future__ import annotations

import bisect
import secrets
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field

from bot.core.conversation import (
    Conversation,
    ConversationMeta,
    HandoffRecord,
    PendingApproval,
    RecentThread,
    Role,
    ShownAnswer,
    Turn,
    Vote,
    parse_conversation_id,
)
from bot.core.ports import (
    AppendOutcome,
    Clock,
    HandoffStatus,
    LockedConversation,
    Opened,
    VoteOutcome,
    VoteStatus,
)
from bot.errors import ConversationBusyError, ConversationNotFoundError

# Waiting for a lock: first sleep, growth factor and cap (seconds). Short, because an answer lock is
# usually held for seconds and a waiter should start as soon as the holder is done.
LOCK_POLL_FIRST_S = 0.01
LOCK_POLL_FACTOR = 1.5
LOCK_POLL_MAX_S = 0.1

_MICROS = 1_000_000
_MAX_OWNER_TOKENS = 4096


def ts_micros(ts: str) -> int:
    """A Slack ts (``"1700000000.000100"``) as integer microseconds: exact, and exact in a double.

    Digits after the sixth fractional one are ignored (Slack uses six). Raises ``ValueError`` for
    anything that is not ``digits[.digits]``.
    """
    seconds, _, fraction = ts.partition(".")
    if not seconds.isdigit() or (fraction and not fraction.isdigit()) or not seconds.isascii():
        raise ValueError(f"turn ts must be a Slack ts like '1700000000.000100', got {ts[:40]!r}")
    return int(seconds) * _MICROS + int((fraction + "000000")[:6])


def new_token() -> str:
    """A random owner token (locks, claims, retry nonces)."""
    return secrets.token_hex(12)


class OwnerTokens:
    """The tokens of the delivery claims this store instance won, per claiming thread.

    :meth:`~bot.core.ports.ConversationStore.release` must delete a claim only if it is still *ours*:
    after a slow attempt's claim expired and a retry re-claimed the delivery, the slow attempt's
    release must not delete the retry's claim (that would let a third attempt in). The port's API
    carries no token, so the store remembers it, keyed by delivery id and thread. A release from a
    thread that did not claim uses the instance's only token for that delivery, if there is exactly
    one; otherwise it does nothing and the claim simply expires (safe: never a double delivery).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, dict[int, str]] = {}

    def remember(self, delivery_id: str, token: str) -> None:
        """Record that the current thread holds the claim ``delivery_id`` with ``token``."""
        with self._lock:
            self._tokens.setdefault(delivery_id, {})[threading.get_ident()] = token
            while len(self._tokens) > _MAX_OWNER_TOKENS:  # claims never completed nor released
                del self._tokens[next(iter(self._tokens))]

    def take(self, delivery_id: str) -> str | None:
        """Forget and return the token the current thread (or, if unambiguous, this instance) holds."""
        with self._lock:
            by_thread = self._tokens.get(delivery_id)
            if not by_thread:
                return None
            token = by_thread.pop(threading.get_ident(), None)
            if token is None and len(by_thread) == 1:
                token = by_thread.popitem()[1]
            if not by_thread:
                del self._tokens[delivery_id]
            return token


PARK_TTL_S = 600.0  # how long a reply that overtook its conversation's creation waits for it
FEEDBACK_TTL_S = 365 * 86_400.0  # agents' feedback totals live a year after the last vote


def vote_change(old: Vote | None, value: int, comment: str | None, at: float) -> Vote | None:
    """The vote after setting ``value`` (and ``comment``) over ``old``; None when nothing changes.

    Shared by both stores (the Redis script does the same): the deltas say how the answer's thumbs
    up and down counts move with this change.
    """
    if old is not None and old.value == value and (comment is None or comment == old.comment):
        return None
    before_up, before_down = (old.value == 1, old.value == -1) if old is not None else (False, False)
    kept = old.comment if old is not None and old.value == value else None
    return Vote(
        value=1 if value > 0 else -1,
        comment=(comment if comment is not None else kept) if value < 0 else None,
        at=at,
        revision=(old.revision + 1) if old is not None else 1,
        delta_up=int(value > 0) - int(before_up),
        delta_down=int(value < 0) - int(before_down),
    )


@dataclass
class _Conv:
    meta: ConversationMeta
    expires_at: float
    order: list[tuple[int, str]] = field(default_factory=list)  # (score, turn id), sorted
    turns: dict[str, Turn] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)  # every turn id ever appended (idempotency)
    handoffs: list[HandoffRecord] = field(default_factory=list)


class _Locked:
    """A conversation read under the lock; :meth:`finish` stores the answer and releases."""

    def __init__(self, store: MemoryConversationStore, conversation_id: str, token: str) -> None:
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


class MemoryConversationStore:
    """The :class:`~bot.core.ports.ConversationStore` contract in one process."""

    def __init__(self, *, ttl_s: int, max_turns: int, clock: Clock) -> None:
        if ttl_s <= 0 or max_turns < 2:
            raise ValueError("ttl_s must be > 0 and max_turns >= 2")
        self.ttl_s = ttl_s
        self.max_turns = max_turns
        self.clock = clock
        self._cond = threading.Condition()
        self._convs: dict[str, _Conv] = {}
        self._parked: dict[str, dict[str, tuple[Turn, float]]] = {}  # conv id -> turn id -> (turn, expires)
        self._claims: dict[str, tuple[str, float]] = {}  # delivery id -> (token or "done", expires)
        self._locks: dict[str, tuple[str, float]] = {}  # conversation id -> (owner token, expires)
        self._forgotten: dict[str, float] = {}  # conversation id -> tombstone expiry
        self._owned = OwnerTokens()
        self._tallies: dict[str, list[int]] = {}  # agent -> [up, down]
        self._tallied: dict[str, float] = {}  # change id -> expiry (each change counted once)
        self._recent: dict[str, dict[str, RecentThread]] = {}  # user -> conversation id -> thread

    # ------------------------------------------------------------------------------ conversation

    def _live(self, conversation_id: str) -> _Conv | None:
        conv = self._convs.get(conversation_id)
        if conv is not None and conv.expires_at <= self.clock.monotonic():
            del self._convs[conversation_id]
            return None
        return conv

    def _touch(self, conv: _Conv) -> None:
        conv.expires_at = self.clock.monotonic() + self.ttl_s

    def _tombstoned(self, conversation_id: str) -> bool:
        expires = self._forgotten.get(conversation_id)
        if expires is not None and expires <= self.clock.monotonic():
            del self._forgotten[conversation_id]
            return False
        return expires is not None

    def create(self, meta: ConversationMeta) -> bool:
        """Store a new conversation; False (and nothing changes) if the id exists or was forgotten."""
        with self._cond:
            if self._live(meta.id) is not None or self._tombstoned(meta.id):
                return False
            self._convs[meta.id] = _Conv(meta=meta, expires_at=self.clock.monotonic() + self.ttl_s)
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
                conv = _Conv(meta=meta, expires_at=self.clock.monotonic() + self.ttl_s)
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
            conv = _Conv(meta=meta, expires_at=self.clock.monotonic() + self.ttl_s)
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

    def hand_off(
        self,
        conversation_id: str,
        *,
        expected_answer_id: str,
        record: HandoffRecord,
        prompt: Turn,
        model: str | None,
    ) -> HandoffStatus:
        """Switch the agent, record the handoff and store the prompt turn, in one atomic step."""
        with self._cond:
            conv = self._live(conversation_id)
            if conv is None:
                return HandoffStatus.MISSING
            if conv.meta.last_answer_id != expected_answer_id:
                return HandoffStatus.STALE
            answer = conv.turns.get(expected_answer_id)
            if answer is None or answer.agent != record.from_agent:
                return HandoffStatus.WRONG_AGENT
            conv.meta = conv.meta.model_copy(
                update={"agent": record.to_agent, "model": model, "last_answer_id": None}
            )
            conv.handoffs.append(record)
            self._append_locked(conversation_id, prompt)
            return HandoffStatus.DONE

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

    # ------------------------------------------------------------------------------- deliveries

    def claim(self, delivery_id: str, *, ttl_s: float) -> bool:
        """True exactly once per delivery until the claim expires or is released."""
        with self._cond:
            now = self.clock.monotonic()
            held = self._claims.get(delivery_id)
            if held is not None and held[1] > now:
                return False
            token = new_token()
            self._claims[delivery_id] = (token, now + ttl_s)
            self._owned.remember(delivery_id, token)
            if len(self._claims) > 1024:  # purge expired claims now and then
                for key in [k for k, (_, exp) in self._claims.items() if exp <= now]:
                    del self._claims[key]
            return True

    def complete(self, delivery_id: str) -> None:
        """Mark the delivery done for the conversation TTL (whoever holds the claim now)."""
        self._owned.take(delivery_id)
        with self._cond:
            self._claims[delivery_id] = ("done", self.clock.monotonic() + self.ttl_s)

    def release(self, delivery_id: str) -> None:
        """Give up our claim so a retry can claim it; a claim that is not ours is left alone."""
        token = self._owned.take(delivery_id)
        if token is None:
            return
        with self._cond:
            held = self._claims.get(delivery_id)
            if held is not None and held[0] == token:
                del self._claims[delivery_id]

    # --------------------------------------------------- what Slack shows: buttons, votes, canvas

    def show_answer(self, conversation_id: str, shown: ShownAnswer) -> tuple[ShownAnswer, ...]:
        """Make ``shown`` the shown answer if it is live; return the buttons to take down."""
        with self._cond:
            conv = self._live(conversation_id)
            if conv is None:
                return ()
            if conv.meta.last_answer_id != shown.answer_id:
                return (shown,)  # superseded before it was shown: its own buttons go
            stale = tuple(s for s in conv.meta.shown.values() if s.answer_id != shown.answer_id)
            conv.meta = conv.meta.model_copy(update={"shown": {shown.answer_id: shown}})
            self._touch(conv)
            return stale

    def retire_answer(self, conversation_id: str, answer_id: str) -> ShownAnswer | None:
        """Forget that ``answer_id`` is shown; return it if it was."""
        with self._cond:
            conv = self._live(conversation_id)
            if conv is None or answer_id not in conv.meta.shown:
                return None
            shown = dict(conv.meta.shown)
            retired = shown.pop(answer_id)
            conv.meta = conv.meta.model_copy(update={"shown": shown})
            self._touch(conv)
            return retired

    def vote(
        self,
        conversation_id: str,
        *,
        answer_id: str,
        user_id: str,
        value: int,
        comment: str | None,
        at: float,
    ) -> VoteOutcome:
        """Set one person's vote on one answer (atomic)."""
        with self._cond:
            conv = self._live(conversation_id)
            if conv is None:
                return VoteOutcome(VoteStatus.MISSING)
            answer = conv.turns.get(answer_id)
            if answer is None or answer.role is not Role.ASSISTANT:
                return VoteOutcome(VoteStatus.NOT_AN_ANSWER)
            per_answer = conv.meta.votes.get(answer_id, {})
            old = per_answer.get(user_id)
            new = vote_change(old, value, comment, at)
            if new is None:
                return VoteOutcome(VoteStatus.UNCHANGED, old, answer.agent, old.value if old else None)
            votes = {**conv.meta.votes, answer_id: {**per_answer, user_id: new}}
            conv.meta = conv.meta.model_copy(update={"votes": votes})
            self._touch(conv)
            return VoteOutcome(VoteStatus.STORED, new, answer.agent, old.value if old else None)

    def set_canvas(self, conversation_id: str, canvas_id: str, *, expected: str | None) -> str | None:
        """Compare-and-set the conversation's canvas id; the id recorded afterwards."""
        with self._cond:
            conv = self._live(conversation_id)
            if conv is None:
                return None
            if conv.meta.canvas_id == expected:
                conv.meta = conv.meta.model_copy(update={"canvas_id": canvas_id})
                self._touch(conv)
            return conv.meta.canvas_id

    def tally_feedback(self, change_id: str, *, agent: str, up: int, down: int) -> None:
        """Count a vote's change once per ``change_id``."""
        with self._cond:
            now = self.clock.monotonic()
            expires = self._tallied.get(change_id)
            if expires is not None and expires > now:
                return
            self._tallied[change_id] = now + FEEDBACK_TTL_S
            counts = self._tallies.setdefault(agent, [0, 0])
            counts[0] += up
            counts[1] += down

    def feedback_tallies(self) -> dict[str, tuple[int, int]]:
        """Thumbs up and down per agent."""
        with self._cond:
            return {agent: (up, down) for agent, (up, down) in self._tallies.items()}

    def remember_thread(self, user_id: str, thread: RecentThread, *, keep: int) -> None:
        """Move ``thread`` to the front of the person's recent threads (keeping its first title)."""
        with self._cond:
            threads = self._recent.setdefault(user_id, {})
            first = threads.get(thread.conversation_id)
            if first is not None:
                thread = first.model_copy(update={"at": thread.at, "agent": thread.agent or first.agent})
            threads[thread.conversation_id] = thread
            for stale in sorted(threads.values(), key=lambda t: t.at, reverse=True)[keep:]:
                del threads[stale.conversation_id]

    def recent_threads(self, user_id: str, limit: int) -> tuple[RecentThread, ...]:
        """The person's recent threads, newest first."""
        with self._cond:
            threads = self._recent.get(user_id, {}).values()
            return tuple(sorted(threads, key=lambda t: t.at, reverse=True)[:limit])
