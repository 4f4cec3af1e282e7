"""Approve / Deny buttons of tool calls: acknowledged at once; the lazy listener decides
(:mod:`bot.slack.flows.approval`) and the rest of the answer streams into the thread."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.logging import get_logger
from bot.slack.blocks import APPROVAL_ACTION_PREFIX
from bot.slack.flows.approval import Decision
from bot.slack.payload import Click, thread_in

if TYPE_CHECKING:
    from bot.slack.flows.approval import ApprovalFlow
    from bot.slack.replies import Replies

log = get_logger("bot.slack.listeners.approval")

FORGED_APPROVAL = "That button is not valid (it may come from an older version of the bot). Nothing was run."


def register(app: App, *, approval: Callable[[WebClient], ApprovalFlow], replies: Replies) -> None:
    """Attach the Approve / Deny listeners of tool calls."""

    def ack_approval(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any
    ) -> None:
        """Acknowledge at once; a value that is not ours is refused here."""
        ack()
        click = Click.of(body, context, action)
        from bot.core.refs import ApprovalRef  # button values' models: not on a cold start's first ack

        if ApprovalRef.decode(click.value) is None:
            log.warning("approval_button_refused")
            replies.private(client, click.where(click.thread_ts), FORGED_APPROVAL)

    def run_approval(body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any) -> None:
        """Decide the waiting call and let the answer go on."""
        click = Click.of(body, context, action)
        from bot.core.refs import ApprovalRef  # button values' models: not on a cold start's first ack

        ref = ApprovalRef.decode(click.value)
        if ref is None or not click.channel:
            return
        decision = Decision(
            click.delivery("approval"), ref, click.user, click.channel, click.message_ts, click.message_blocks
        )
        with replies.told(client, click.where(thread_in(ref.thread, click.channel))):
            approval(client).decide(decision)

    app.action(re.compile(rf"^{re.escape(APPROVAL_ACTION_PREFIX)}(approve|deny)$"))(
        ack=ack_approval, lazy=[run_approval]
    )
