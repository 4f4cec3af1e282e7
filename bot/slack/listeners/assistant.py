"""The Agents & AI Apps side panel (Bolt's ``Assistant`` middleware): suggested prompts when a chat
opens, and the person's messages answered by the same engine (:mod:`bot.slack.flows.assistant`).

``assistant_thread_context_changed`` is handled so Bolt's default does not call
``conversations.history`` to store it (answers do not read the channel the person looks at).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Assistant
from slack_sdk import WebClient

from bot.core.registry import Registry
from bot.logging import get_logger
from bot.slack.flows.assistant import AssistantFlow, greet
from bot.slack.payload import Message
from bot.slack.replies import Replies

log = get_logger("bot.slack.listeners.assistant")


def register(
    app: App, *, registry: Registry, assistant: Callable[[WebClient], AssistantFlow], replies: Replies
) -> None:
    """Attach the Assistant middleware (before other listeners see the side panel's messages)."""
    panel = Assistant()

    def ack_event(ack: Ack) -> None:
        ack()

    def started(client: WebClient, context: Any) -> None:
        greet(client, registry, channel=context.get("channel_id"), thread_ts=context.get("thread_ts"))

    def context_changed(payload: dict[str, Any]) -> None:
        """The person looks at another channel: answers do not read it, nothing to keep."""
        log.debug("assistant_context_changed")

    def message(body: dict[str, Any], payload: dict[str, Any], client: WebClient, context: Any) -> None:
        said = Message.of(body, payload, context)
        where = said.where(said.thread_ts)
        with replies.told(client, where):
            assistant(client).message(said, where)

    panel.thread_started(lazy=[started])(ack_event)
    panel.thread_context_changed(context_changed)
    panel.user_message(lazy=[message])(ack_event)
    app.use(panel)
