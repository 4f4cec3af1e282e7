"""One way to call Redis for every Redis adapter: failures become ``StoreUnavailableError``.

The error's detail names the operation and the exception class (for a server error, also the
server's own message); it never contains the URL or the password that connection errors would name.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import redis
from redis.commands.core import Script

from bot.errors import StoreUnavailableError

T = TypeVar("T")


def call(op: str, fn: Callable[[], T]) -> T:
    """Run ``fn``; a Redis failure raises ``StoreUnavailableError`` naming ``op``."""
    try:
        return fn()
    except redis.ResponseError as exc:  # the server's own message: no URL, no password
        raise StoreUnavailableError(f"redis {op} failed: {type(exc).__name__}: {str(exc)[:200]}") from exc
    except redis.RedisError as exc:  # connection errors name host:port; the class is enough
        raise StoreUnavailableError(f"redis {op} failed: {type(exc).__name__}") from exc


def run_script(op: str, script: Script, keys: Sequence[str], args: Sequence[str | int]) -> Any:
    """Run a registered Lua script (``EVALSHA``, reloaded on ``NOSCRIPT``) through :func:`call`."""
    return call(op, lambda: script(keys=list(keys), args=list(args)))
