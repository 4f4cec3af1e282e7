"""App Home: published when a person opens the Home tab (``app_home_opened``), in the lazy half
(it reads their recent threads and, for admins, the agents' feedback from the store)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Services
from bot.core.conversation import RecentThread
from bot.errors import BotError
from bot.logging import get_logger
from bot.slack.home import home_view, thread_link

log = get_logger("bot.slack.home")

STORE_NOTE = (
    ":warning: Your recent threads and the feedback figures cannot be read right now "
    "(the bot's storage is unreachable). Open the tab again in a minute."
)


def publish_home(services: Services, client: WebClient, user: str) -> None:
    """Build and publish the person's Home tab; what cannot be read is said on the tab."""
    recent: tuple[RecentThread, ...] = ()
    feedback: dict[str, tuple[int, int]] | None = None
    note = None
    admin = services.policy.is_admin(user)
    try:
        recent = services.engine.recent_threads(user)
        if admin:
            feedback = services.engine.feedback_by_agent()
    except BotError as error:
        services.metrics.error(error.kind)
        log.warning("home_state_unreadable", kind=error.kind)
        note = STORE_NOTE
        feedback = {} if admin else None
    link = thread_link(services.slack_links.workspace_url(client))
    view = home_view(services.registry, recent=recent, link=link, feedback=feedback, note=note)
    try:
        client.views_publish(user_id=user, view=view)
    except SlackApiError as error:  # e.g. the Home tab is not enabled for the app
        services.metrics.error("home_not_published")
        log.warning("home_not_published", error=str(error.response.get("error")))


def register(app: App, services: Services) -> None:
    """Attach the App Home listener."""

    def ack_home(ack: Ack) -> None:
        ack()

    def run_home(event: dict[str, Any], client: WebClient) -> None:
        if event.get("tab", "home") != "home" or not event.get("user"):
            return  # the Messages tab: the assistant's suggested prompts handle it
        publish_home(services, client, str(event["user"]))

    app.event("app_home_opened")(ack=ack_home, lazy=[run_home])
