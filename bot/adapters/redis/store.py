"""Redis :class:`~bot.core.ports.ConversationStore`: conversation state shared by all Lambda instances.

The store is its three parts over one client: :class:`RedisConversations` (turns, agent, handoffs,
the answer lock, forgetting), :class:`RedisDeliveryClaims` and :class:`RedisThreadRecords`. Keys:
:mod:`bot.adapters.redis.keys` (the full table, TTLs and writers in ``docs/storage.md``); scripts:
``bot/adapters/redis/lua``. Every mutation is one ``EVALSHA``; every Redis failure surfaces as
:class:`~bot.errors.StoreUnavailableError` whose detail never contains the URL.
"""

from __future__ import annotations

from bot.adapters.redis.client import connect
from bot.adapters.redis.conversations import RedisConversations
from bot.adapters.redis.deliveries import RedisDeliveryClaims
from bot.adapters.redis.records import RedisThreadRecords
from bot.core.ports import Clock, Conversations, DeliveryClaims, SystemClock, ThreadRecords


class RedisConversationStore(RedisConversations, RedisDeliveryClaims, RedisThreadRecords):
    """The :class:`~bot.core.ports.ConversationStore` contract on Redis (standalone or cluster).

    ``client`` must be created with ``decode_responses=False`` (bytes in, bytes out):
    :func:`bot.adapters.redis.client.connect` makes one with the production settings.
    """

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str,
        ttl_s: int,
        max_turns: int,
        clock: Clock | None = None,
        connect_timeout_s: float = 2.0,
        socket_timeout_s: float = 5.0,
        retries: int = 2,
        health_check_interval_s: int = 30,
        max_connections: int | None = 50,
    ) -> RedisConversationStore:
        """A store on its own client from :func:`~bot.adapters.redis.client.connect` (tools, tests)."""
        client = connect(
            url,
            connect_timeout_s=connect_timeout_s,
            socket_timeout_s=socket_timeout_s,
            retries=retries,
            health_check_interval_s=health_check_interval_s,
            max_connections=max_connections,
        )
        return cls(client, prefix=prefix, ttl_s=ttl_s, max_turns=max_turns, clock=clock or SystemClock())


def _each_part_is_its_port(
    conversations: RedisConversations, claims: RedisDeliveryClaims, records: RedisThreadRecords
) -> tuple[Conversations, DeliveryClaims, ThreadRecords]:
    """Never called: mypy checks here that each part alone keeps its narrow port."""
    return conversations, claims, records
