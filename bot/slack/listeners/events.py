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

from bot import runtime
from bot.container import Services
from bot.core.context import Attachment, Notice
from bot.core.conversation import UserMessage, conversation_id
from bot.core.engine import ReplyOutcome
from bot.errors import BudgetExceededError, StoreUnavailableError, ThreadForgottenError
from bot.logging import get_logger
from bot.slack.answering import stream_answer, tell_error
from bot.slack.governance import access_kind, forget_prompt, refuse
from bot.slack.outage import hold_through_outage
from bot.slack.record import adopt_thread, side_talk, tell, user_message

log = get_logger("bot.slack.events")

ANSWERED_SUBTYPES = frozenset({None, "thread_broadcast", "file_share"})
FORGET_REQUEST = re.compile(r"^forget(?: (?:this )?thread)?[.!]?$", re.IGNORECASE)
"""``@architect-bot forget`` (or ``forget this thread``) in a thread asks to forget it."""


def _refused_agents(services: Services, user: str | None, channel: str) -> frozenset[str]:
    """The agents the person may not use here: the store refuses their message for those atomically."""
    if not services.policy.agents:
        return frozenset()
    return services.access.refused_agents(user_id=user, channel_id=channel)


def _tell_access(
    services: Services, client: WebClient, *, agent: str, user: str | None, channel: str, thread_ts: str
) -> None:
    decision = services.access.check(agent=agent, user_id=user, channel_id=channel)
    refuse(
        services, client, channel=channel, user=user, thread_ts=thread_ts, text=decision.message,
        kind=access_kind(decision),
    )  # fmt: skip


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
    """A reply in a bot-owned thread goes to the thread's current agent.

    Its files are read (only in threads the bot keeps); a reply that mentions people but not the bot
    is kept as context, not answered. When the store lost the thread (a reply under the bot's own
    message finds no conversation), the conversation is rebuilt from the thread as Slack gives it
    back, and answered by the thread's current agent; if Slack cannot give it back, the person is
    told what happened and what to do.
    """
    channel, thread_ts, ts = event["channel"], event["thread_ts"], event["ts"]
    conv_id = conversation_id(context.get("team_id"), channel, thread_ts)
    under_bot = event.get("parent_user_id") == context.get("bot_user_id")
    user = event.get("user")
    engine = services.engine
    deadline = runtime.current().deadline
    text = event.get("text") or ""

    def work() -> None:
        files = event.get("files") or []
        if files and not under_bot and not engine.knows(conv_id):
            log.info("not_our_thread")  # someone else's thread: their files are not downloaded
            return
        refused = _refused_agents(services, user, channel)
        message, notices = user_message(
            services, text=text, user_id=user, ts=ts, files=files, deadline=deadline
        )
        outcome = engine.reply(
            conversation_id=conv_id,
            message=message,
            # under the bot's own message: the conversation may still be being created, or lost
            park_if_missing=under_bot,
            refuse_agents=refused,
        )
        if outcome in (ReplyOutcome.REFUSED, ReplyOutcome.NOT_FOUND):
            if outcome is ReplyOutcome.REFUSED:
                agent = engine.current_agent(conv_id) or "this thread's agent"
                _tell_access(services, client, agent=agent, user=user, channel=channel, thread_ts=thread_ts)
            else:
                log.info("not_our_thread")
            return
        if outcome is ReplyOutcome.DUPLICATE:
            # a re-delivery (Slack retry, Lambda retry): the reply's own id is its claim. Answer only
            # what is still pending (an attempt that crashed before answering); otherwise nothing.
            log.info("duplicate_delivery")
            stream_answer(
                services, client, conversation_id=conv_id, channel=channel, thread_ts=thread_ts, user_id=user
            )
            return
        if outcome is ReplyOutcome.PARKED and not _recover(
            services,
            client,
            context,
            conv_id=conv_id,
            channel=channel,
            thread_ts=thread_ts,
            ts=ts,
            attachments=message.attachments,
            notices=notices,
            refused=refused,
            deadline=deadline,
        ):
            return
        tell(client, channel=channel, thread_ts=thread_ts, notices=notices)
        if side_talk(text):
            log.info("side_talk_kept")  # context for the agent, not a question to it
            return
        stream_answer(
            services,
            client,
            conversation_id=conv_id,
            channel=channel,
            thread_ts=thread_ts,
            user_id=event.get("user"),
        )

    try:
        try:
            # No separate delivery claim: storing the reply (idempotent by its Slack ts) is the claim,
            # and answering covers only what is pending under the thread's lock. Saves two round trips.
            work()
        except StoreUnavailableError as error:
            if not under_bot:
                # Without Redis we cannot tell whether this thread is ours: stay out of other people's
                # threads (the error metric still alarms). Threads under the bot's own message are told.
                services.metrics.error(error.kind)
                log.warning("store_unavailable_unknown_thread", detail=error.detail)
                return
            hold_through_outage(services, client, channel=channel, thread_ts=thread_ts, work=work)
    except BudgetExceededError as error:
        refuse(services, client, channel=channel, user=user, thread_ts=thread_ts, text=error.user_message,
               kind=error.kind)  # fmt: skip
    except Exception as error:  # noqa: BLE001 - told in the thread, logged and counted by tell_error
        tell_error(services, client, channel=channel, thread_ts=thread_ts, error=error)


def _recover(
    services: Services,
    client: WebClient,
    context: Any,
    *,
    conv_id: str,
    channel: str,
    thread_ts: str,
    ts: str,
    attachments: tuple[Attachment, ...],
    notices: list[Notice],
    refused: frozenset[str],
    deadline: float,
) -> bool:
    """A reply under the bot's own message found no conversation: the reply overtook its creation,
    or the store lost it. The thread tells: rebuild the conversation from it (the parked reply comes
    along; a concurrent start is harmless). True when there is now a conversation to answer in;
    otherwise the person was told why (or the thread is not one of the bot's conversations)."""
    adoption = adopt_thread(
        services,
        client,
        conversation_id=conv_id,
        team_id=context.get("team_id"),
        channel=channel,
        thread_ts=thread_ts,
        bot_user_id=context.get("bot_user_id"),
        bot_id=context.get("bot_id"),
        known={ts: attachments},
        joining=False,
        deadline=deadline,
    )
    if adoption.not_ours or (adoption.adopted is not None and adoption.adopted.forgotten):
        log.info("not_our_thread", read_back=True)
        return False
    notices[:0] = adoption.notices
    if adoption.adopted is None:
        notices.append(Notice.thread_unavailable(adoption.error or "Slack gave nothing back"))
        tell(client, channel=channel, thread_ts=thread_ts, notices=notices)
        return False
    if adoption.adopted.agent in refused:
        user = context.get("user_id")
        _tell_access(
            services, client, agent=adoption.adopted.agent, user=user, channel=channel, thread_ts=thread_ts
        )
        return False
    return True


def handle_mention(
    services: Services, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: Any
) -> None:
    """``@architect-bot <text>``: continue the thread's conversation or start one (default agent).

    In a thread the bot does not keep yet (a discussion it is called into, or its own thread the
    store lost), the whole thread comes along: who said what, with their files.
    """
    if event.get("bot_id") or event.get("subtype") == "message_changed":
        return
    channel, ts = event["channel"], event["ts"]
    thread_ts = event.get("thread_ts") or ts
    text = _strip_mentions(event.get("text") or "", context.get("bot_user_id"))
    conv_id = conversation_id(context.get("team_id"), channel, thread_ts)
    user = event.get("user")
    engine = services.engine
    deadline = runtime.current().deadline
    try:
        with engine.once(f"event:{body.get('event_id') or ts}") as first:
            if not first:
                return
            if FORGET_REQUEST.match(text):
                _ask_to_forget(services, client, conv_id=conv_id, event=event, user=user, channel=channel)
                return
            files = event.get("files") or []
            if not text and not files:
                client.chat_postMessage(
                    channel=channel,
                    thread_ts=thread_ts,
                    text="Tell me what to work on, e.g. `@architect-bot design a rate limiter`, "
                    "or see `/architect help`.",
                )
                return
            message, notices = user_message(
                services, text=text, user_id=user, ts=ts, files=files, deadline=deadline
            )
            if thread_ts != ts and not engine.knows(conv_id):
                notices[:0] = _join(services, client, context, conv_id=conv_id, channel=channel,
                                    thread_ts=thread_ts, message=message, deadline=deadline)  # fmt: skip
            if not _store_mention(services, client, message, conv_id=conv_id, channel=channel,
                                  thread_ts=thread_ts, team_id=context.get("team_id")):  # fmt: skip
                return
            tell(client, channel=channel, thread_ts=thread_ts, notices=notices)
            stream_answer(
                services,
                client,
                conversation_id=conv_id,
                channel=channel,
                thread_ts=thread_ts,
                user_id=event.get("user"),
            )
    except (BudgetExceededError, ThreadForgottenError) as error:
        refuse(services, client, channel=channel, user=user, thread_ts=thread_ts, text=error.user_message,
               kind=error.kind)  # fmt: skip
    except Exception as error:  # noqa: BLE001 - told in the thread, logged and counted by tell_error
        tell_error(services, client, channel=channel, thread_ts=thread_ts, error=error)


def _join(
    services: Services,
    client: WebClient,
    context: Any,
    *,
    conv_id: str,
    channel: str,
    thread_ts: str,
    message: UserMessage,
    deadline: float,
) -> list[Notice]:
    """Called into a thread the bot keeps no conversation for: take the whole thread along.

    Returns what to tell (files that could not be read, a partial read, or why the discussion could
    not be read: the mention is then answered alone). A thread forgotten on request is not read.
    """
    if services.engine.is_forgotten(conv_id):
        raise ThreadForgottenError(conv_id)
    adoption = adopt_thread(
        services,
        client,
        conversation_id=conv_id,
        team_id=context.get("team_id"),
        channel=channel,
        thread_ts=thread_ts,
        bot_user_id=context.get("bot_user_id"),
        bot_id=context.get("bot_id"),
        known={message.id or "": message.attachments},
        joining=True,
        deadline=deadline,
    )
    if adoption.adopted is not None and adoption.adopted.forgotten:
        raise ThreadForgottenError(conv_id)
    if adoption.adopted is None:
        return [*adoption.notices, Notice.thread_unreadable(adoption.error or "Slack gave nothing back")]
    return adoption.notices


def _store_mention(
    services: Services,
    client: WebClient,
    message: UserMessage,
    *,
    conv_id: str,
    channel: str,
    thread_ts: str,
    team_id: str | None,
) -> bool:
    """Store a mention in the thread's conversation (or a new one); False when there is nothing to answer."""
    engine, user = services.engine, message.user_id
    default = services.registry.default_agent
    refused = _refused_agents(services, user, channel)
    if default is not None:
        continued = engine.continue_or_start(
            conversation_id=conv_id,
            default_agent=default.name,
            message=message,
            team_id=team_id,
            channel_id=channel,
            thread_ts=thread_ts,
            refuse_agents=refused,
        )
        if continued.forgotten:
            raise ThreadForgottenError(conv_id)
        if continued.refused:
            _tell_access(
                services, client, agent=continued.agent, user=user, channel=channel, thread_ts=thread_ts
            )
        return not continued.refused
    outcome = engine.reply(conversation_id=conv_id, message=message, refuse_agents=refused)
    if outcome is ReplyOutcome.REFUSED:
        agent = engine.current_agent(conv_id) or "this thread's agent"
        _tell_access(services, client, agent=agent, user=user, channel=channel, thread_ts=thread_ts)
        return False
    if outcome is ReplyOutcome.NOT_FOUND:
        client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text="No default agent is configured. Use `/architect help` to pick an agent.",
        )
        return False
    return True


def _ask_to_forget(
    services: Services,
    client: WebClient,
    *,
    conv_id: str,
    event: dict[str, Any],
    user: str | None,
    channel: str,
) -> None:
    """``@architect-bot forget`` in a thread: the confirmation (or why not), to that person only."""
    thread_ts = event.get("thread_ts")
    if not thread_ts or not user:
        text = "Write `@architect-bot forget` inside the thread to forget, or use `/architect forget <link>`."
        refuse(
            services,
            client,
            channel=channel,
            user=user,
            thread_ts=None,
            text=text,
            kind="forget_outside_thread",
        )
        return
    text, blocks = forget_prompt(services, conversation_id=conv_id, user=user)
    client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks, thread_ts=thread_ts)
