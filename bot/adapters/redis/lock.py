"""The answer lock on Redis: take it and read the conversation in one script, store the answer and
release it in another (or park a paused answer, or take an approval decision under it).

The lock is ``P:conv:{ID}:lock`` holding a random owner token (``SET NX PX``); release is
compare-and-delete, so a holder that outlived its ``ttl_s`` never deletes the next holder's lock.
A waiter polls with jittered exponential backoff; waiting uses the real monotonic clock (a fake
clock would never let it stop waiting).
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator
from contextlib import contextmanager

from bot.adapters.redis.base import RedisBase, conversation, ms, turn_args
from bot.adapters.redis.keys import ConversationKeys
from bot.adapters.store_common import LOCK_POLL_FACTOR, LOCK_POLL_FIRST_S, LOCK_POLL_MAX_S, new_token
from bot.core.conversation import Conversation, PendingApproval, Turn
from bot.core.ports import LockedConversation
from bot.errors import ConversationBusyError, ConversationNotFoundError, StoreUnavailableError
from bot.logging import get_logger

log = get_logger("bot.adapters.redis")


@contextmanager
def locked(
    store: RedisBase, keys: ConversationKeys, *, ttl_s: float, wait_s: float
) -> Iterator[LockedConversation]:
    """Hold the conversation's answer lock for the block (waiting up to ``wait_s`` real seconds)."""
    token = new_token()
    deadline = time.monotonic() + wait_s
    delay = LOCK_POLL_FIRST_S
    while True:
        found = store.run_script("lock", "lock_and_read", keys, [token, ms(ttl_s)])
        if found[0]:
            break
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ConversationBusyError(f"lock wait exceeded {wait_s:g}s")
        jittered = delay * (0.5 + random.random())  # noqa: S311 - jitter, not a secret
        time.sleep(min(remaining, jittered))
        delay = min(delay * LOCK_POLL_FACTOR, LOCK_POLL_MAX_S)
    held = RedisLocked(store, keys, token, conversation(*found[1:]) if len(found) > 1 else None)
    try:
        yield held
    finally:
        if not held.finished:
            try:
                store.run_script("unlock", "release", [keys.lock], [token])
            except StoreUnavailableError as exc:  # it expires after ttl_s; don't mask the outcome
                log.warning("lock_release_failed", error=exc.detail)


class RedisLocked:
    """A conversation read under the lock; :meth:`finish` stores the answer and releases (one script)."""

    def __init__(
        self, store: RedisBase, keys: ConversationKeys, token: str, conversation: Conversation | None
    ) -> None:
        self._store = store
        self._keys = keys
        self._token = token
        self.conversation = conversation
        self.finished = False

    def finish(self, answer: Turn) -> bool:
        """Store the answer and release the lock (one script)."""
        args = [*self._store.write_args(), *turn_args(answer), self._token]
        result = int(self._store.run_script("finish", "finish", self._keys, args))
        self.finished = True
        if result == -1:
            raise ConversationNotFoundError(self._keys.meta)
        return result == 1

    def pause(self, pending: PendingApproval) -> None:
        """Store the pending approval and release the lock (one script)."""
        args: list[str | int] = [
            ms(self._store.ttl_s),
            json.dumps(self._store.clock.now()),
            pending.model_dump_json(),
            self._token,
        ]
        result = int(self._store.run_script("pause", "pause", self._keys, args))
        self.finished = True
        if result == -1:
            raise ConversationNotFoundError(self._keys.meta)

    def take_approval(self, approval_id: str) -> PendingApproval | None:
        """Remove and return the pending approval if it is ``approval_id`` (one script, safe to retry)."""
        store = self._store
        args: list[str | int] = [approval_id, new_token(), ms(store.ttl_s), json.dumps(store.clock.now())]
        raw = store.run_script("take_approval", "take_approval", self._keys, args)
        return PendingApproval.model_validate_json(raw) if raw else None
