"""What both conversation stores (Redis and in-memory) share: Slack ts scores, owner tokens, vote rules.

The two stores keep one contract (``tests/test_store_contract.py`` runs both); the rules here are
written once in Python, and the Redis scripts do the same in Lua (``bot/adapters/redis/lua``).
"""

from __future__ import annotations

import secrets
import threading

from bot.core.conversation import Vote

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

    :meth:`~bot.core.ports.DeliveryClaims.release` must delete a claim only if it is still *ours*:
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
