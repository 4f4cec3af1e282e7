"""The Redis client every Redis adapter shares: production timeouts, retries and TLS.

The container builds one client per process (:func:`connect`) and hands it to the conversation
store and the usage ledger; after a SnapStart restore it drops the pooled connections
(:func:`disconnect`), whose sockets died with the snapshot.
"""

from __future__ import annotations

import redis
from redis.backoff import ExponentialWithJitterBackoff
from redis.retry import Retry


def connect(
    url: str,
    *,
    connect_timeout_s: float = 2.0,
    socket_timeout_s: float = 5.0,
    retries: int = 2,
    health_check_interval_s: int = 30,
    max_connections: int | None = 50,
) -> redis.Redis:
    """A client for ``redis://`` or ``rediss://`` (TLS, certificate and hostname verified).

    Connection and timeout errors are retried ``retries`` times with jittered exponential backoff
    (50 ms base, 500 ms cap); a connection idle for ``health_check_interval_s`` is PINGed before
    use (Lambda freezes instances, and NAT/ElastiCache drop idle connections). Bytes in, bytes out
    (``decode_responses=False``), as the adapters expect. Connects on first use, not here.
    """
    return redis.Redis.from_url(
        url,
        socket_connect_timeout=connect_timeout_s,
        socket_timeout=socket_timeout_s,
        socket_keepalive=True,
        health_check_interval=health_check_interval_s,
        retry=Retry(ExponentialWithJitterBackoff(cap=0.5, base=0.05), retries),
        retry_on_error=[redis.ConnectionError, redis.TimeoutError],
        max_connections=max_connections,
        decode_responses=False,
    )


def disconnect(client: redis.Redis) -> None:
    """Close the pooled connections; the next command opens fresh ones (after a SnapStart restore)."""
    client.connection_pool.disconnect()
