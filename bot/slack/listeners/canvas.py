""" "Save as canvas": the button under answers and the message shortcut on any message of a bot thread
(a slash command carries no thread, so there is no `/architect` form). Acknowledged at once; saved
in the lazy listener, once per click."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.container import Services
from bot.core.conversation import conversation_id
from bot.core.refs import CanvasRef
from bot.logging import get_logger
from bot.slack.answering import tell_error
from bot.slack.blocks import CANVAS_ACTION, CANVAS_SHORTCUT
from bot.slack.canvas import save_thread

log = get_logger("bot.slack.canvas")


def _save(services: Services, client: WebClient, *, delivery: str, conv_id: str, user: str | None) -> None:
    thread = CanvasRef(conversation_id=conv_id).thread
    try:
        with services.engine.once(delivery) as first:
            if first:
                save_thread(services, client, conversation_id=conv_id, user=user)
    except Exception as error:  # noqa: BLE001 - told in the thread, logged and counted by tell_error
        if thread is not None:
            tell_error(services, client, channel=thread.channel_id, thread_ts=thread.thread_ts, error=error)


def register(app: App, services: Services) -> None:
    """Attach the button and the message shortcut."""

    def ack_only(ack: Ack) -> None:
        ack()

    def run_button(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        """The button under an answer: its own conversation, clicked in its own channel."""
        ref = CanvasRef.decode(action.get("value"))
        channel = (body.get("channel") or {}).get("id")
        thread = ref.thread if ref is not None else None
        if ref is None or thread is None or thread.channel_id != channel:
            log.warning("canvas_button_refused", decoded=ref is not None)
            return
        delivery = f"canvas:{body.get('trigger_id') or action.get('action_ts')}"
        _save(
            services,
            client,
            delivery=delivery,
            conv_id=ref.conversation_id,
            user=(body.get("user") or {}).get("id"),
        )

    def run_shortcut(body: dict[str, Any], client: WebClient, context: Any) -> None:
        """⋮ on any message of a thread: the thread it belongs to."""
        channel = (body.get("channel") or {}).get("id")
        message = body.get("message") or {}
        thread_ts = message.get("thread_ts") or message.get("ts") or body.get("message_ts")
        if not channel or not thread_ts:
            return
        conv_id = conversation_id(context.get("team_id"), channel, str(thread_ts))
        delivery = f"canvas:{body.get('trigger_id') or body.get('action_ts')}"
        _save(services, client, delivery=delivery, conv_id=conv_id, user=(body.get("user") or {}).get("id"))

    app.action(CANVAS_ACTION)(ack=ack_only, lazy=[run_button])
    app.shortcut(CANVAS_SHORTCUT)(ack=ack_only, lazy=[run_shortcut])
