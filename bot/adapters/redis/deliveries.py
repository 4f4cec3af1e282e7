"""Redis :class:`~bot.core.ports.DeliveryClaims`: ``P:delivery:DID`` claimed once, then ``done``."""

from __future__ import annotations

import redis

from bot.adapters.redis import keys
from bot.adapters.redis.base import RedisBase, ms
from bot.adapters.store_common import OwnerTokens, new_token
from bot.core.ports import Clock

DONE = b"done"


class RedisDeliveryClaims(RedisBase):
    """The :class:`~bot.core.ports.DeliveryClaims` part of the Redis store.

    A claim is the claimant's random token (``SET NX PX`` in a script that also recognises its own
    retried call); the tokens this instance won are kept (:class:`OwnerTokens`) so that a release
    deletes only its own claim.
    """

    def __init__(self, client: redis.Redis, *, prefix: str, ttl_s: int, max_turns: int, clock: Clock) -> None:
        super().__init__(client, prefix=prefix, ttl_s=ttl_s, max_turns=max_turns, clock=clock)
        self._owned = OwnerTokens()

    def delivery_key(self, delivery_id: str) -> str:
        """The idempotency claim of one delivery."""
        return keys.delivery_key(self.prefix, delivery_id)

    def claim(self, delivery_id: str, *, ttl_s: float) -> bool:
        """SET NX PX with an owner token; True exactly once until it expires or is released."""
        token = new_token()
        won = bool(self.run_script("claim", "claim", [self.delivery_key(delivery_id)], [token, ms(ttl_s)]))
        if won:
            self._owned.remember(delivery_id, token)
        return won

    def complete(self, delivery_id: str) -> None:
        """Mark done for the conversation TTL, whoever holds the claim now (the work is done)."""
        self._owned.take(delivery_id)
        key = self.delivery_key(delivery_id)
        self.call("complete", lambda: self.client.set(key, DONE, ex=self.ttl_s))

    def release(self, delivery_id: str) -> None:
        """Delete the claim only if it still holds *our* token (compare-and-delete).

        After our claim expired and a retry re-claimed the delivery, deleting would let a third
        attempt in; after :meth:`complete` it would undo "done". Neither happens.
        """
        token = self._owned.take(delivery_id)
        if token is not None:
            self.run_script("release", "release", [self.delivery_key(delivery_id)], [token])
