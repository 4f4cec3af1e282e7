"""Mentions and thread replies.

The ack path filters without touching Redis: only thread replies written by people (no bot
messages, no edits or deletions, no messages that mention the bot: those arrive as
``app_mention`` too) go on to the lazy listener, which answers only threads the bot owns
(:mod:`bot.slack.flows.reply`); mentions go to :mod:`bot.slack.flows.mention`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.slack.payload import Message

if TYPE_CHECKING:
    from bot.slack.flows.mention import MentionFlow
    from bot.slack.flows.reply import ReplyFlow
    from bot.slack.replies import Replies

ANSWERED_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})


def is_thread_reply_by_person(body: dict[str, Any], context: Any) -> bool:
    """True for a person's reply inside a thread that does not mention the bot."""
    message = Message.in_body(body, context)
    if not message.thread_ts or message.thread_ts == message.ts:
        return False
    if message.subtype not in ANSWERED_SUBTYPES or message.from_bot or message.from_app:
        return False
    bot_user_id = message.bot_user_id
    if not message.user or message.user == bot_user_id:
        return False
    return not (bot_user_id and f"<@{bot_user_id}" in message.text)


def without_bot_mention(text: str, bot_user_id: str | None) -> str:
    """The mention's words without the bot's own ``<@U…>``."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", "", text)
    return text.strip()


def register(
    app: App,
    *,
    reply: Callable[[WebClient], ReplyFlow],
    mention: Callable[[WebClient], MentionFlow],
    replies: Replies,
) -> None:
    """Attach the message and app_mention listeners."""

    def ack_only(ack: Ack) -> None:
        ack()

    def run_reply(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: Any) -> None:
        message = Message.of(body, event, context)
        flow = reply(client)  # built first: a broken setup is not told in other people's threads
        with replies.told(client, message.where(message.thread_ts)):
            flow.reply(message)

    def run_mention(body: dict[str, Any], event: dict[str, Any], client: WebClient, context: Any) -> None:
        message = Message.of(body, event, context)
        if message.from_bot or message.edited:
            return
        flow = mention(client)
        where = message.where(message.thread_ts or message.ts)
        with replies.told(client, where):
            flow.mention(message, without_bot_mention(message.text, message.bot_user_id), where)

    app.event("message", matchers=[is_thread_reply_by_person])(ack=ack_only, lazy=[run_reply])
    app.event("message")(ack_only)
    app.event("app_mention")(ack=ack_only, lazy=[run_mention])
