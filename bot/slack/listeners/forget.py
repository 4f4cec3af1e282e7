"""Forgetting a thread: the *Forget this thread* message shortcut and the confirmation buttons.

(``@architect-bot forget`` is in :mod:`bot.slack.listeners.events`, ``/architect forget <link>`` in
:mod:`bot.slack.listeners.commands`.) Every way shows the same confirmation, only to the person
asking; nothing is deleted before the *Forget this thread* button is clicked, and the click checks
again that the person started the thread or is an admin.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Services
from bot.core.conversation import conversation_id
from bot.core.refs import ForgetRef
from bot.errors import BotError
from bot.logging import get_logger
from bot.slack.governance import (
    FORGET_CANCEL_ACTION,
    FORGET_CONFIRM_ACTION,
    FORGET_SHORTCUT,
    forget_prompt,
    perform_forget,
)

log = get_logger("bot.slack.forget")

INVALID = "That button is not valid (it may come from an older version of the bot). Nothing was deleted."


def register(app: App, services: Services) -> None:
    """Attach the shortcut and the confirmation buttons."""

    def ack_only(ack: Ack) -> None:
        ack()

    def run_shortcut(body: dict[str, Any], client: WebClient, context: Any) -> None:
        """*Forget this thread* on any message of a thread: the confirmation, to that person only."""
        channel = str((body.get("channel") or {}).get("id") or "")
        user = (body.get("user") or {}).get("id")
        message = body.get("message") or {}
        thread_ts = str(message.get("thread_ts") or message.get("ts") or "")
        conv_id = conversation_id(context.get("team_id"), channel, thread_ts)
        try:
            text, blocks = forget_prompt(services, conversation_id=conv_id, user=user)
        except BotError as error:
            services.metrics.error(error.kind)
            log.warning("forget_prompt_failed", kind=error.kind, detail=error.detail)
            text, blocks = f":warning: {error.user_message}", []
        try:
            client.chat_postEphemeral(
                channel=channel, user=str(user), text=text, blocks=blocks, thread_ts=thread_ts
            )
        except SlackApiError as error:  # e.g. the bot is not in that channel: nothing it could delete there
            log.warning("forget_prompt_not_shown", error=str(error.response.get("error")))

    def run_confirm(
        body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient, context: Any
    ) -> None:
        """The click on *Forget this thread*: forget, delete the bot's messages, say what was done."""
        ref = ForgetRef.decode(action.get("value"))
        user = (body.get("user") or {}).get("id")
        if ref is None:
            log.warning("forget_button_refused")
            respond(text=INVALID, replace_original=True)
            return
        try:
            with services.engine.once(f"forget:{body.get('trigger_id') or action.get('action_ts')}") as first:
                if not first:
                    return
                text = perform_forget(
                    services, client, ref=ref, user=user, bot_user_id=context.get("bot_user_id")
                )
        except BotError as error:
            services.metrics.error(error.kind)
            log.warning("forget_failed", kind=error.kind, detail=error.detail)
            text = f":warning: {error.user_message}"
        respond(text=text, replace_original=True)

    def run_cancel(respond: Respond) -> None:
        """*Cancel*: the confirmation goes away, nothing changes."""
        respond(delete_original=True)

    app.shortcut(FORGET_SHORTCUT)(ack=ack_only, lazy=[run_shortcut])
    app.action(FORGET_CONFIRM_ACTION)(ack=ack_only, lazy=[run_confirm])
    app.action(FORGET_CANCEL_ACTION)(ack=ack_only, lazy=[run_cancel])
