"""App Home: published when a person opens the Home tab (``app_home_opened``), in the lazy half
(:mod:`bot.slack.flows.home` reads their recent threads and, for admins, the agents' feedback).
Opening the Messages tab, with the Agent messaging experience, offers the agents' prompts there
(:func:`bot.slack.flows.assistant.open_messages_tab`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.slack.payload import Where

if TYPE_CHECKING:
    from bot.slack.flows.home import HomeFlow
    from bot.slack.replies import Replies


def register(
    app: App,
    *,
    home: Callable[[WebClient], HomeFlow],
    messages_tab: Callable[[WebClient, str | None], None] | None,
    replies: Replies,
) -> None:
    """Attach the App Home listener (``messages_tab``: None for the side panel's experience)."""

    def ack_home(ack: Ack) -> None:
        ack()

    def run_home(event: dict[str, Any], client: WebClient, context: Any) -> None:
        user = context.get("user_id")
        if event.get("tab") == "messages" and messages_tab is not None:
            messages_tab(client, event.get("channel") or context.get("channel_id"))
            return
        if event.get("tab", "home") != "home" or not user:
            return  # the side panel's Messages tab: assistant_thread_started offers the prompts
        with replies.told(client, Where(None, user), private=True):
            home(client).publish(str(user))

    app.event("app_home_opened")(ack=ack_home, lazy=[run_home])
