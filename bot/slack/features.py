"""Which of Slack's agent features a workspace (or a channel) refused, remembered for a while.

Slack answers a feature the workspace cannot use (its plan, its settings, the app's scopes) or a
channel type that does not support it with an error code. The bot then falls back (streaming ->
``chat.update`` edits, a loading status -> a placeholder message, a canvas -> a Markdown file) and
remembers the refusal here, so the next answers in that workspace go straight to the fallback
instead of paying a refused call first. The memory lives in the process (each Lambda container
learns it once) and expires after ``ttl_s``, so switching a feature on in the workspace is picked
up without a deploy.

Codes that say something about one call only (rate limits, a server error, a bad argument) are not
remembered: that answer falls back, the next one tries again.
"""

from __future__ import annotations

import threading
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.ports import Clock


DEFAULT_TTL_S = 3600.0


class Feature(StrEnum):
    """A Slack feature with a fallback."""

    STREAMING = "streaming"  # chat.startStream / appendStream / stopStream
    STATUS = "status"  # assistant.threads.setStatus (loading state)
    CANVAS = "canvas"  # canvases.create / edit / access.set


# Refusals that hold for the whole workspace: the plan, the app's scopes or settings, the token.
WORKSPACE_REFUSALS = frozenset(
    {
        "access_denied",
        "canvas_disabled_user_team",
        "deprecated_endpoint",
        "enterprise_is_restricted",
        "free_teams_cannot_create_non_tabbed_canvases",
        "free_teams_cannot_create_standalone_canvases",
        "messages_tab_disabled",
        "method_deprecated",
        "missing_scope",
        "no_permission",
        "not_agent_app",
        "not_allowed_token_type",
        "not_enabled",
        "team_tier_cannot_create_channel_canvases",
        "unknown_method",
    }
)
# Refusals that hold for one channel: its type, its settings, Slack Connect, an existing canvas tab.
CHANNEL_REFUSALS = frozenset(
    {
        "channel_type_not_supported",
        "ekm_access_denied",
        "free_team_canvas_tab_already_exists",
        "restricted_action",
        "restricted_action_non_threadable_channel",
        "restricted_action_read_only_channel",
        "restricted_action_thread_only_channel",
        "slack_connect_canvas_sharing_blocked",
    }
)


class FeatureMemory:
    """Refusals per (feature, workspace) and per (feature, workspace, channel), with a TTL."""

    def __init__(self, clock: Clock, ttl_s: float = DEFAULT_TTL_S) -> None:
        self._clock = clock
        self._ttl_s = ttl_s
        self._until: dict[tuple[str, str, str], float] = {}
        self._lock = threading.Lock()

    def available(self, feature: Feature, team_id: str | None, channel_id: str | None) -> bool:
        """False while a refusal for the workspace or for this channel is remembered."""
        now = self._clock.monotonic()
        team = team_id or "-"
        with self._lock:
            for key in ((feature, team, ""), (feature, team, channel_id or "")):
                until = self._until.get(key)
                if until is not None:
                    if now < until:
                        return False
                    del self._until[key]
        return True

    def refused(self, feature: Feature, team_id: str | None, channel_id: str | None, error: str) -> str:
        """Remember a refusal by its error code; returns its scope: workspace, channel or once."""
        if error in WORKSPACE_REFUSALS:
            scope, key = "workspace", (feature, team_id or "-", "")
        elif error in CHANNEL_REFUSALS and channel_id:
            scope, key = "channel", (feature, team_id or "-", channel_id)
        else:
            return "once"
        with self._lock:
            self._until[key] = self._clock.monotonic() + self._ttl_s
        return scope
