"""In-process :class:`~bot.core.ports.ConversationStore`: local runs without ``REDIS_URL`` and fast tests.

Same contract and semantics as :class:`bot.adapters.redis.store.RedisConversationStore` (the contract
suite in ``tests/test_store_contract.py`` runs against both): turns ordered by Slack ``ts`` with an
assistant turn placed after everything stored, idempotency by turn id (also for turns the cap dropped),
the ``max_turns`` cap that keeps the first turn, handoff compare-and-set, an expiring owner lock and
delivery claims. Thread-safe (one ``threading.Condition``); state is per process, so it cannot serve
several Lambda instances.
"""

from __future__ import annotations

from bot.adapters.memory.conversations import MemoryConversations
from bot.adapters.memory.deliveries import MemoryDeliveryClaims
from bot.adapters.memory.records import MemoryThreadRecords
from bot.core.ports import Conversations, DeliveryClaims, ThreadRecords


class MemoryConversationStore(MemoryConversations, MemoryDeliveryClaims, MemoryThreadRecords):
    """The :class:`~bot.core.ports.ConversationStore` contract in one process."""


def _each_part_is_its_port(
    conversations: MemoryConversations, claims: MemoryDeliveryClaims, records: MemoryThreadRecords
) -> tuple[Conversations, DeliveryClaims, ThreadRecords]:
    """Never called: mypy checks here that each part alone keeps its narrow port."""
    return conversations, claims, records
