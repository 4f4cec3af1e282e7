"""Slack user-group membership for the access policy: ``usergroups.users.list``, cached per process.

A policy rule naming ``usergroups`` asks :meth:`SlackUserGroups.members` only when the person is not
listed by id. Members are cached for ``ttl_s`` (5 minutes by default): a warm Lambda container asks
Slack at most once per group per TTL (the method is Tier 2, about 20 calls a minute). A group that
cannot be read (unknown id, missing ``usergroups:read`` scope, Slack down) counts as empty, so the
person is refused (never let in by an error), is logged once per retry period as a warning, and is
asked again after ``failure_ttl_s``.
"""

from __future__ import annotations

import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.ports import Clock
from bot.logging import get_logger

log = get_logger("bot.adapters.slack_usergroups")


class SlackUserGroups:
    """A :class:`~bot.core.policy.GroupDirectory` over the Slack Web API."""

    def __init__(
        self, client: WebClient, *, clock: Clock, ttl_s: float = 300.0, failure_ttl_s: float = 30.0
    ) -> None:
        self.client = client
        self.clock = clock
        self.ttl_s = ttl_s
        self.failure_ttl_s = failure_ttl_s
        self._cache: dict[str, tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def members(self, group_id: str) -> frozenset[str]:
        """The user ids in ``group_id`` (cached); empty when Slack cannot tell."""
        now = self.clock.monotonic()
        with self._lock:
            cached = self._cache.get(group_id)
            if cached is not None and cached[0] > now:
                return cached[1]
        try:
            response = self.client.usergroups_users_list(usergroup=group_id)
            users = frozenset(str(u) for u in response.get("users") or [])
            expires = now + self.ttl_s
        except (SlackApiError, OSError) as error:  # OSError: connection failures after the client's retries
            reason = error.response.get("error") if isinstance(error, SlackApiError) else type(error).__name__
            log.warning("usergroup_unreadable", usergroup=group_id, error=str(reason))
            users, expires = frozenset(), now + self.failure_ttl_s
        with self._lock:
            self._cache[group_id] = (expires, users)
        return users
