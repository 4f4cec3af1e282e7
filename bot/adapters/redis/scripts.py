"""The Lua scripts (``lua/*.lua``, package data) and their registration on a client.

Each use-case step is one script, run atomically by Redis as one ``EVALSHA`` (redis-py's
``register_script``; the script is loaded again after a ``NOSCRIPT``). A script whose first line
is :data:`AFTER_LIB` runs after ``lib.lua``, the shared functions that store a turn (``append``),
refresh a conversation's TTLs (``touch``) and release its answer lock (``release``); the two are
sent as one script text.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

import redis
from redis.commands.core import Script

AFTER_LIB = "-- After lib.lua."


@cache
def source(name: str) -> str:
    """The text Redis runs for script ``name`` (``lua/<name>.lua``, after ``lib.lua`` if it says so)."""
    text = resources.files(__package__).joinpath("lua", f"{name}.lua").read_text(encoding="utf-8")
    return source("lib") + text if text.startswith(AFTER_LIB) else text


class Scripts:
    """The scripts registered on one client, by name (registering sends nothing to Redis)."""

    def __init__(self, client: redis.Redis) -> None:
        self._client = client
        self._registered: dict[str, Script] = {}

    def __getitem__(self, name: str) -> Script:
        script = self._registered.get(name)
        if script is None:  # two threads may both register it: the same script, harmless
            script = self._registered[name] = self._client.register_script(source(name))
        return script
