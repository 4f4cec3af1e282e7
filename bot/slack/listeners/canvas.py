""" "Save as canvas": the button under answers and the message shortcut on any message of a bot thread
(a slash command carries no thread, so there is no `/architect` form). Acknowledged at once; saved
in the lazy listener, once per click (:mod:`bot.slack.flows.canvas`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core.thread_address import conversation_id
from bot.logging import get_logger
from bot.slack.blocks import CANVAS_ACTION, CANVAS_SHORTCUT
from bot.slack.payload import Click, Where

if TYPE_CHECKING:
    from bot.slack.flows.canvas import CanvasFlow
    from bot.slack.replies import Replies

log = get_logger("bot.slack.listeners.canvas")


def register(app: App, *, canvas: Callable[[WebClient], CanvasFlow], replies: Replies) -> None:
    """Attach the button and the message shortcut."""

    def ack_only(ack: Ack) -> None:
        ack()

    def run_button(body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any) -> None:
        """The button under an answer: its own conversation, clicked in its own channel."""
        click = Click.of(body, context, action)
        from bot.core.refs import CanvasRef  # button values' models: not on a cold start's first ack

        ref = CanvasRef.decode(click.value)
        thread = ref.thread if ref is not None else None
        if ref is None or thread is None or thread.channel_id != click.channel:
            log.warning("canvas_button_refused", decoded=ref is not None)
            return
        with replies.told(client, Where(thread.channel_id, click.user, thread.thread_ts)):
            canvas(client).save_once(click.delivery("canvas"), ref.conversation_id, click.user)

    def run_shortcut(body: dict[str, Any], client: WebClient, context: Any) -> None:
        """⋮ on any message of a thread: the thread it belongs to."""
        click = Click.of(body, context)
        if not click.channel or not click.message_thread:
            return
        conv_id = conversation_id(click.team, click.channel, click.message_thread)
        with replies.told(client, click.where(click.message_thread)):
            canvas(client).save_once(click.delivery("canvas"), conv_id, click.user)

    app.action(CANVAS_ACTION)(ack=ack_only, lazy=[run_button])
    app.shortcut(CANVAS_SHORTCUT)(ack=ack_only, lazy=[run_shortcut])
