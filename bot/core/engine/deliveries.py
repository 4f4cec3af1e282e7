"""Exactly-once deliveries: a Slack event, click or command runs at most once across retries."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from bot.core.ports import DeliveryClaims
from bot.errors import BotError
from bot.logging import get_logger

log = get_logger("bot.engine")


class Deliveries:
    """Claims on delivery ids, held for as long as one attempt can run."""

    def __init__(self, *, store: DeliveryClaims, lock_ttl_s: float) -> None:
        self.store = store
        self.lock_ttl_s = lock_ttl_s

    @contextmanager
    def once(self, delivery_id: str) -> Iterator[bool]:
        """Run a delivery (a Slack event, click, command) at most once across retries and re-deliveries.

        Yields False when another attempt already claimed ``delivery_id`` (do nothing). A typed
        :class:`~bot.errors.BotError` completes the claim (it was told; a retry would fail the
        same way); any other exception releases it so a retry may do the work.
        """
        # In progress for as long as one attempt can run: a concurrent duplicate is skipped, while
        # Lambda's retry of an attempt that timed out (a minute or more later) finds it expired.
        claim_ttl = max(60.0, self.lock_ttl_s)
        if not self.store.claim(delivery_id, ttl_s=claim_ttl):
            log.info("duplicate_delivery_skipped", delivery=delivery_id)
            yield False
            return
        try:
            yield True
        except BotError:
            self.store.complete(delivery_id)
            raise
        except Exception:
            self.store.release(delivery_id)
            raise
        else:
            self.store.complete(delivery_id)
