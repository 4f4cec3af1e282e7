"""App Home: published when a person opens the Home tab (``app_home_opened``), in the lazy half
(:mod:`bot.slack.flows.home` reads their recent threads and, for admins, the agents' feedback)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.slack.flows.home import HomeFlow
from bot.slack.payload import Where
from bot.slack.replies import Replies


def register(app: App, *, home: Callable[[WebClient], HomeFlow], replies: Replies) -> None:
    """Attach the App Home listener."""

    def ack_home(ack: Ack) -> None:
        ack()

    def run_home(event: dict[str, Any], client: WebClient, context: Any) -> None:
        user = context.get("user_id")
        if event.get("tab", "home") != "home" or not user:
            return  # the Messages tab: the assistant's suggested prompts handle it
        with replies.told(client, Where(None, user), private=True):
            home(client).publish(str(user))

    app.event("app_home_opened")(ack=ack_home, lazy=[run_home])
