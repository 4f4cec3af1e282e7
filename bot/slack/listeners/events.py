"""Mentions and thread replies.

The ack path filters without touching Redis: only thread replies written by people (no bot
messages, no edits or deletions, no messages that mention the bot: those arrive as
``app_mention`` too) go on to the lazy listener, which answers only threads the bot owns.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.container import Services
from bot.core.conversation import UserMessage, conversation_id
from bot.core.engine import ReplyOutcome
from bot.errors import StoreUnavailableError
from bot.logging import get_logger
from bot.slack.answering import stream_answer, tell_error

log = get_logger("bot.slack.events")

ANSWERED_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


def _strip_mentions(text: str, bot_user_id: str | None) -> str:
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", "", text)
    return text.strip()


def is_thread_reply_by_person(body: dict[str, Any], context: Any) -> bool:
    """True for a person's reply inside a thread that does not mention the bot."""
    event = body.get("event") or {}
    thread_ts, ts = event.get("thread_ts"), event.get("ts")
    if not thread_ts or thread_ts == ts:
        return False
    if event.get("subtype") not in ANSWERED_SUBTYPES or event.get("bot_id") or event.get("app_id"):
        return False
    user = event.get("user")
    bot_user_id = context.get("bot_user_id")
    if not user or user == bot_user_id:
        return False
    return not (bot_user_id and f"<@{bot_user_id}" in (event.get("text") or ""))


def register(app: App, services: Services) -> None:
    """Attach the message and app_mention listeners."""

    def ack_only(ack: Ack) -> None:
        ack()

    def reply(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: Any) -> None:
        handle_reply(services, body, event, client, context)

    def mention(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: Any) -> None:
        handle_mention(services, body, event, client, context)

    app.event("message", matchers=[is_thread_reply_by_person])(ack=ack_only, lazy=[reply])
    app.event("message")(ack_only)
    app.event("app_mention")(ack=ack_only, lazy=[mention])


def handle_reply(
    services: Services, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: Any
) -> None:
    """A reply in a bot-owned thread goes to the thread's current agent."""
    channel, thread_ts = event["channel"], event["thread_ts"]
    conv_id = conversation_id(context.get("team_id"), channel, thread_ts)
    under_bot = event.get("parent_user_id") == context.get("bot_user_id")
    engine = services.engine
    try:
        with engine.once(f"event:{body.get('event_id') or event['ts']}") as first:
            if not first:
                return
            outcome = engine.reply(
                conversation_id=conv_id,
                message=UserMessage(
                    text=event.get("text") or "",
                    user_id=event.get("user"),
                    ts=event["ts"],
                    id=event["ts"],
                ),
                # under the bot's own message: the conversation may still be being created
                park_if_missing=under_bot,
            )
            if outcome is ReplyOutcome.NOT_FOUND:
                log.info("not_our_thread")
                return
            if outcome is ReplyOutcome.PARKED:
                log.info("reply_parked")  # the conversation's first answer covers it
                return
            stream_answer(services, client, conversation_id=conv_id, channel=channel, thread_ts=thread_ts)
    except StoreUnavailableError as error:
        if not under_bot:
            # Without Redis we cannot tell whether this thread is ours: stay out of other people's
            # threads (the error metric still alarms). Threads under the bot's own message are told.
            services.metrics.error(error.kind)
            log.warning("store_unavailable_unknown_thread", detail=error.detail)
            return
        tell_error(services, client, channel=channel, thread_ts=thread_ts, error=error)
    except Exception as error:  # noqa: BLE001 - told in the thread, logged and counted by tell_error
        tell_error(services, client, channel=channel, thread_ts=thread_ts, error=error)


def handle_mention(
    services: Services, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: Any
) -> None:
    """``@architect-bot <text>``: continue the thread's conversation or start one (default agent)."""
    if event.get("bot_id") or event.get("subtype") == "message_changed":
        return
    channel, ts = event["channel"], event["ts"]
    thread_ts = event.get("thread_ts") or ts
    text = _strip_mentions(event.get("text") or "", context.get("bot_user_id"))
    conv_id = conversation_id(context.get("team_id"), channel, thread_ts)
    message = UserMessage(text=text, user_id=event.get("user"), ts=ts, id=ts)
    engine = services.engine
    try:
        with engine.once(f"event:{body.get('event_id') or ts}") as first:
            if not first:
                return
            if not text:
                client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread_ts,
                    text="Tell me what to work on, e.g. `@architect-bot design a rate limiter`, "
                    "or see `/architect help`.",
                )
                return
            default = services.registry.default_agent
            if default is not None:
                engine.continue_or_start(
                    conversation_id=conv_id,
                    default_agent=default.name,
                    message=message,
                    team_id=context.get("team_id"),
                    channel_id=channel,
                    thread_ts=thread_ts,
                )
            elif engine.reply(conversation_id=conv_id, message=message) is ReplyOutcome.NOT_FOUND:
                client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread_ts,
                    text="No default agent is configured. Use `/architect help` to pick an agent.",
                )
                return
            stream_answer(services, client, conversation_id=conv_id, channel=channel, thread_ts=thread_ts)
    except Exception as error:  # noqa: BLE001 - told in the thread, logged and counted by tell_error
        tell_error(services, client, channel=channel, thread_ts=thread_ts, error=error)
