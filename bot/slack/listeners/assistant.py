"""Chats with the agents in the app's DM (:mod:`bot.slack.flows.assistant`): Bolt's ``Assistant``
middleware for the side panel's events (suggested prompts when a chat opens) and every reply in a
DM thread; a person's message at the top of the DM (the Messages tab of the Agent messaging
experience) starts a chat answered in its thread.

``assistant_thread_context_changed`` is handled so Bolt's default does not call
``conversations.history`` to store it (answers do not read the channel the person looks at).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Assistant
from slack_sdk import WebClient

from bot.logging import get_logger
from bot.slack.flows.assistant import greet
from bot.slack.payload import Message

if TYPE_CHECKING:
    from bot.core.registry import Registry
    from bot.slack.flows.assistant import AssistantFlow
    from bot.slack.replies import Replies

log = get_logger("bot.slack.listeners.assistant")


ANSWERED_SUBTYPES = frozenset({None, "file_share"})


def is_chat_start(body: dict[str, Any], context: Any) -> bool:
    """A person's message at the top of their DM with the app (not in a thread, not the bot's)."""
    event = body.get("event") or {}
    said = Message.in_body(body, context)
    return (
        event.get("channel_type") == "im"
        and said.thread_ts is None
        and said.subtype in ANSWERED_SUBTYPES
        and not (said.from_bot or said.from_app)
        and said.user is not None
        and said.user != said.bot_user_id
    )


def register(
    app: App, *, registry: Registry, assistant: Callable[[WebClient], AssistantFlow], replies: Replies
) -> None:
    """Attach the Assistant middleware and the chat-start listener (before other listeners see DMs)."""
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
        where = said.where(said.thread_ts or said.ts)  # a chat's start: answered in its own thread
        with replies.told(client, where):
            assistant(client).message(said, where)

    panel.thread_started(lazy=[started])(ack_event)
    panel.thread_context_changed(context_changed)
    panel.user_message(lazy=[message])(ack_event)
    app.use(panel)
    app.event("message", matchers=[is_chat_start])(ack=ack_event, lazy=[message])
