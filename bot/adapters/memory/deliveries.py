"""In-memory :class:`~bot.core.ports.DeliveryClaims`: each delivery claimed once, then done."""

from __future__ import annotations

from bot.adapters.memory.base import MemoryBase
from bot.adapters.store_common import new_token


class MemoryDeliveryClaims(MemoryBase):
    """The :class:`~bot.core.ports.DeliveryClaims` part of the in-memory store."""

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
