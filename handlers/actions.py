"""Handoff buttons and the handoff modal.

A click on a ``send: false`` handoff opens the modal in the ack (``trigger_id`` lives 3 s); a
``send: true`` handoff, and a submitted modal, hand off in the lazy listener. Whether a handoff
sends at once comes from the registry, never from the button.
"""

from __future__ import annotations

import json
import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Services
from bot.errors import BotError, HandoffNotAllowedError
from bot.logging import get_logger
from bot.slack.answering import once, perform_handoff, tell_error
from bot.slack.blocks import (
    HANDOFF_ACTION_PREFIX,
    HANDOFF_MODAL_CALLBACK,
    HANDOFF_PROMPT_ACTION,
    HANDOFF_PROMPT_BLOCK,
    handoff_modal,
    parse_handoff_value,
)

log = get_logger("handlers.actions")

FORGED = "That button is not valid (it may come from an older version of the bot). Nothing was handed off."


def _ephemeral(
    client: WebClient, *, channel: str | None, user: str | None, text: str, thread_ts: str | None
) -> None:
    if not channel or not user:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
    except SlackApiError as error:
        log.warning("ephemeral_failed", error=str(error.response.get("error")))


def register(app: App, services: Services) -> None:
    """Attach the handoff button and modal listeners."""

    def ack_click(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        """Acknowledge; for a ``send: false`` handoff open the prompt editor right away."""
        ack()
        value = parse_handoff_value(action.get("value", ""))
        channel = (body.get("channel") or {}).get("id")
        user = (body.get("user") or {}).get("id")
        thread_ts = (body.get("container") or {}).get("thread_ts")
        handoff = services.registry.handoff_to(value["f"], value["t"]) if value else None
        if value is None or handoff is None:
            _ephemeral(client, channel=channel, user=user, text=FORGED, thread_ts=thread_ts)
            return
        if handoff.handoff.send:
            return  # the lazy listener hands off at once
        metadata = json.dumps(
            {**value, "ch": channel, "mts": (body.get("container") or {}).get("message_ts")},
            separators=(",", ":"),
        )
        client.views_open(
            trigger_id=body["trigger_id"],
            view=handoff_modal(
                prompt=handoff.handoff.prompt,
                label=handoff.handoff.label,
                from_agent=value["f"],
                to_agent=handoff.target,
                private_metadata=metadata,
            ),
        )

    def run_click(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        """A ``send: true`` handoff: forward the thread to the target at once."""
        value = parse_handoff_value(action.get("value", ""))
        if value is None:
            return
        handoff = services.registry.handoff_to(value["f"], value["t"])
        if handoff is None or not handoff.handoff.send:
            return  # refused in the ack, or the modal takes over
        channel = (body.get("channel") or {}).get("id")
        user = (body.get("user") or {}).get("id")
        container = body.get("container") or {}
        _hand_off(
            services,
            client,
            delivery_id=f"click:{body.get('trigger_id') or action.get('action_ts')}",
            value=value,
            user=user,
            channel=channel,
            prompt=None,
            message_ts=container.get("message_ts"),
            message_blocks=(body.get("message") or {}).get("blocks"),
            thread_ts=container.get("thread_ts"),
        )

    def ack_view(ack: Ack, view: dict[str, Any]) -> None:
        """Close the modal, or keep it open with an error when the prompt is empty."""
        prompt = _submitted_prompt(view)
        if not prompt.strip():
            ack(response_action="errors", errors={HANDOFF_PROMPT_BLOCK: "Write a prompt for the next agent."})
            return
        ack()

    def run_view(body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        """A submitted ``send: false`` handoff: forward the thread with the edited prompt."""
        try:
            metadata = json.loads(view.get("private_metadata") or "{}")
        except ValueError:
            metadata = {}
        value = parse_handoff_value(json.dumps({k: metadata.get(k) for k in ("c", "a", "f", "t")}))
        user = (body.get("user") or {}).get("id")
        if value is None:
            log.warning("modal_metadata_invalid")
            return
        _hand_off(
            services,
            client,
            delivery_id=f"view:{view.get('id')}",
            value=value,
            user=user,
            channel=metadata.get("ch"),
            prompt=_submitted_prompt(view),
            message_ts=None,
            message_blocks=None,
            thread_ts=None,
        )

    app.action(re.compile(rf"^{re.escape(HANDOFF_ACTION_PREFIX)}\d+$"))(ack=ack_click, lazy=[run_click])
    app.view(HANDOFF_MODAL_CALLBACK)(ack=ack_view, lazy=[run_view])


def _submitted_prompt(view: dict[str, Any]) -> str:
    values = ((view.get("state") or {}).get("values") or {}).get(HANDOFF_PROMPT_BLOCK) or {}
    return str((values.get(HANDOFF_PROMPT_ACTION) or {}).get("value") or "")


def _hand_off(
    services: Services,
    client: WebClient,
    *,
    delivery_id: str,
    value: dict[str, str],
    user: str | None,
    channel: str | None,
    prompt: str | None,
    message_ts: str | None,
    message_blocks: list[dict[str, Any]] | None,
    thread_ts: str | None,
) -> None:
    if not channel:
        log.warning("handoff_without_channel")
        return
    if thread_ts is None and value["c"].count(":") == 2:  # team:channel:thread_ts, for error replies only
        _team, conv_channel, conv_thread = value["c"].split(":")
        thread_ts = conv_thread if conv_channel == channel else None
    try:
        with once(services, delivery_id) as first:
            if not first:
                return
            perform_handoff(
                services,
                client,
                conversation_id=value["c"],
                answer_id=value["a"],
                target=value["t"],
                user_id=user,
                channel=channel,
                prompt=prompt,
                message_ts=message_ts,
                message_blocks=message_blocks,
            )
    except HandoffNotAllowedError as error:
        _ephemeral(client, channel=channel, user=user, text=error.user_message, thread_ts=thread_ts)
    except BotError as error:
        if error.kind in {"stale_handoff", "conversation_not_found"}:
            _ephemeral(client, channel=channel, user=user, text=error.user_message, thread_ts=thread_ts)
        else:
            tell_error(services, client, channel=channel, thread_ts=thread_ts, error=error)
    except Exception as error:  # noqa: BLE001 - told in the thread, logged and counted by tell_error
        tell_error(services, client, channel=channel, thread_ts=thread_ts, error=error)
