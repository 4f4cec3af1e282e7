"""App Home: the person's tab (the agent catalogue, how to use the bot, their recent threads linked
to Slack, and for the policy's admins the feedback per agent), published when they open it. What
cannot be read from the store is said on the tab."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import BotError
from bot.logging import get_logger
from bot.slack.home_view import home_view, thread_link

if TYPE_CHECKING:
    from bot.core.conversation import RecentThread
    from bot.core.engine import Engine
    from bot.core.policy import Policy
    from bot.core.registry import Registry
    from bot.metrics import Metrics
    from bot.slack.links import SlackLinks

log = get_logger("bot.slack.home")

STORE_NOTE = (
    ":warning: Your recent threads and the feedback figures cannot be read right now "
    "(the bot's storage is unreachable). Open the tab again in a minute."
)


class HomeFlow:
    """Publishes Home tabs for one request."""

    def __init__(
        self,
        client: WebClient,
        *,
        engine: Engine,
        registry: Registry,
        policy: Policy,
        links: SlackLinks,
        metrics: Metrics,
        refused: str | None = None,
    ) -> None:
        self._client = client
        self._refused = refused  # told to admins only: a set of agent files refused, and why
        self._engine = engine
        self._registry = registry
        self._policy = policy
        self._links = links
        self._metrics = metrics

    def publish(self, user: str) -> None:
        """Build and publish the person's Home tab."""
        recent: tuple[RecentThread, ...] = ()
        feedback: dict[str, tuple[int, int]] | None = None
        note = None
        admin = self._policy.is_admin(user)
        try:
            recent = self._engine.recent_threads(user)
            if admin:
                feedback = self._engine.feedback_by_agent()
        except BotError as error:
            self._metrics.error(error.kind)
            log.warning("home_state_unreadable", kind=error.kind)
            note = STORE_NOTE
            feedback = {} if admin else None
        if admin and self._refused:
            note = f"{note}\n{self._refused}" if note else self._refused
        link = thread_link(self._links.workspace_url(self._client))
        view = home_view(self._registry, recent=recent, link=link, feedback=feedback, note=note)
        try:
            self._client.views_publish(user_id=user, view=view)
        except SlackApiError as error:  # e.g. the Home tab is not enabled for the app
            self._metrics.error("home_not_published")
            log.warning("home_not_published", error=str(error.response.get("error")))
