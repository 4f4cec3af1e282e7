"""Forgetting a thread: the *Forget this thread* message shortcut and the confirmation buttons
(:mod:`bot.slack.flows.forget`; ``@architect-bot forget`` is a mention, ``/architect forget <link>``
a command). Nothing is deleted before the *Forget this thread* button is clicked."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot.core.thread_address import conversation_id
from bot.logging import get_logger
from bot.slack.flows.forget import FORGET_CANCEL_ACTION, FORGET_CONFIRM_ACTION, FORGET_SHORTCUT, INVALID
from bot.slack.payload import Click

if TYPE_CHECKING:
    from bot.slack.flows.forget import ForgetFlow
    from bot.slack.replies import Replies

log = get_logger("bot.slack.listeners.forget")


def register(app: App, *, forget: Callable[[WebClient], ForgetFlow], replies: Replies) -> None:
    """Attach the shortcut and the confirmation buttons."""

    def ack_only(ack: Ack) -> None:
        ack()

    def run_shortcut(body: dict[str, Any], client: WebClient, context: Any) -> None:
        """*Forget this thread* on any message of a thread: the confirmation, to that person only."""
        click = Click.of(body, context)
        thread_ts = click.message_thread or ""
        where = click.where(thread_ts)
        with replies.told(client, where, private=True):
            text, blocks = forget(client).prompt(
                conversation_id(click.team, click.channel or "", thread_ts), click.user
            )
            replies.private(client, where, text, blocks)

    def run_confirm(
        body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient, context: Any
    ) -> None:
        """The click on *Forget this thread*: forget, delete the bot's messages, say what was done."""
        click = Click.of(body, context, action)
        from bot.core.refs import ForgetRef  # button values' models: not on a cold start's first ack

        ref = ForgetRef.decode(click.value)

        def say(text: str) -> None:
            respond(text=text, replace_original=True)

        if ref is None:
            log.warning("forget_button_refused")
            say(INVALID)
            return
        with replies.told(client, click.where(say=say), private=True):
            done = forget(client).forget(
                click.delivery("forget"), ref, click.user, context.get("bot_user_id")
            )
            if done is not None:
                say(done)

    def run_cancel(respond: Respond) -> None:
        """*Cancel*: the confirmation goes away, nothing changes."""
        respond(delete_original=True)

    app.shortcut(FORGET_SHORTCUT)(ack=ack_only, lazy=[run_shortcut])
    app.action(FORGET_CONFIRM_ACTION)(ack=ack_only, lazy=[run_confirm])
    app.action(FORGET_CANCEL_ACTION)(ack=ack_only, lazy=[run_cancel])
