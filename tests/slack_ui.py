"""What a person does in Slack beyond typing, as Slack sends it to the app: menus, modals, feedback
buttons, message shortcuts, App Home and the assistant side panel. Each helper sends one signed
request through the production Lambda handler (``tests.harness.Bot``) and returns the ack."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from tests.fakes.slack_server import Message
from tests.harness import CHANNEL, TEAM, USER, Bot, api_gateway_event


def _base(kind: str, user: str) -> dict[str, Any]:
    return {
        "type": kind,
        "user": {"id": user, "username": "someone", "team_id": TEAM},
        "api_app_id": "A1",
        "token": "legacy-verification-token",
        "team": {"id": TEAM, "domain": "example"},
        "trigger_id": f"trigger.{uuid.uuid4().hex}",
    }


def act(
    bot: Bot,
    action: dict[str, Any],
    *,
    message: Message | None = None,
    blocks: list[dict[str, Any]] | None = None,
    channel: str = CHANNEL,
    user: str = USER,
    block_id: str | None = None,
) -> dict[str, Any]:
    """A ``block_actions`` click or choice under ``message`` (or under ephemeral ``blocks``)."""
    payload = _base("block_actions", user)
    if message is not None:
        payload["container"] = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": message.channel,
            "is_ephemeral": False,
            "thread_ts": message.thread_ts,
        }
        payload["channel"] = {"id": message.channel, "name": "design"}
        payload["message"] = {
            "type": "message",
            "ts": message.ts,
            "thread_ts": message.thread_ts,
            "text": message.text,
            "blocks": message.blocks,
        }
    else:
        payload["container"] = {
            "type": "message",
            "message_ts": f"{time.time():.6f}",
            "channel_id": channel,
            "is_ephemeral": True,
        }
        payload["channel"] = {"id": channel, "name": "design"}
        payload["response_url"] = bot.slack.response_url("ephemeral")
    payload["actions"] = [{"block_id": block_id or "b", "action_ts": f"{time.time():.6f}", **action}]
    return bot.interaction(payload)


def handoff_buttons(message: Message) -> list[dict[str, Any]]:
    """The handoff buttons under a message (not "Save as canvas" or feedback)."""
    return [b for b in message.buttons() if str(b.get("action_id", "")).startswith("handoff:")]


def element(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    """The interactive element with ``action_id`` among ``blocks`` (actions, context_actions, inputs)."""
    for block in blocks:
        for item in [*block.get("elements", []), block.get("element"), block.get("accessory")]:
            if isinstance(item, dict) and item.get("action_id") == action_id:
                return item
    raise AssertionError(f"no element {action_id!r} in {json.dumps(blocks)[:500]}")


def choose(bot: Bot, blocks: list[dict[str, Any]], action_id: str, value: str, **kw: Any) -> dict[str, Any]:
    """Pick the option whose value is ``value`` in the menu ``action_id`` of ``blocks``."""
    menu = element(blocks, action_id)
    options = menu.get("options") or []
    option = next(
        (o for o in options if o["value"] == value),
        {"text": {"type": "plain_text", "text": value}, "value": value},
    )
    return act(
        bot, {"type": menu["type"], "action_id": action_id, "selected_option": option}, blocks=blocks, **kw
    )


def feedback(bot: Bot, message: Message, positive: bool, *, user: str = USER) -> dict[str, Any]:
    """Click thumbs up (``positive``) or down under an answer."""
    buttons = next(e for b in message.blocks if b["type"] == "context_actions" for e in b["elements"])
    side = buttons["positive_button" if positive else "negative_button"]
    return act(
        bot,
        {
            "type": "feedback_buttons",
            "action_id": buttons["action_id"],
            "value": side["value"],
            "text": side["text"],
        },
        message=message,
        user=user,
    )


def submit(
    bot: Bot, view: dict[str, Any], values: dict[str, dict[str, dict[str, Any]]], *, user: str = USER
) -> dict[str, Any]:
    """Submit a modal ``views.open`` showed, with ``values`` (block id -> action id -> state)."""
    payload = _base("view_submission", user)
    payload["view"] = {**view, "id": f"V{uuid.uuid4().hex[:8]}", "state": {"values": values}}
    return bot.interaction(payload)


def suggest(bot: Bot, action_id: str, typed: str, *, user: str = USER) -> dict[str, Any]:
    """What an ``external_select`` asks for as the person types (``block_suggestion``)."""
    payload = _base("block_suggestion", user)
    payload.update({"action_id": action_id, "block_id": "picker", "value": typed})
    payload.pop("trigger_id")
    return bot.interaction(payload)


def shortcut(bot: Bot, callback_id: str, message: Message, *, user: str = USER) -> dict[str, Any]:
    """A message shortcut (the message's ⋮ menu) on ``message``."""
    payload = _base("message_action", user)
    payload.update(
        {
            "callback_id": callback_id,
            "channel": {"id": message.channel, "name": "design"},
            "message_ts": message.ts,
            "message": {
                "type": "message",
                "ts": message.ts,
                "thread_ts": message.thread_ts,
                "user": message.user,
                "text": message.text,
            },
            "response_url": bot.slack.response_url("shortcut"),
        }
    )
    return bot.interaction(payload)


def event(bot: Bot, body: dict[str, Any], *, event_id: str | None = None) -> dict[str, Any]:
    """Any Events API event (``app_home_opened``, ``assistant_thread_started``, a DM message...)."""
    return bot.send(
        api_gateway_event(bot.event_body(body, event_id=event_id), content_type="application/json")
    )


def ack_json(ack: dict[str, Any]) -> dict[str, Any]:
    """The JSON body of an ack (help, modal errors, options)."""
    body = ack.get("body") or "{}"
    return dict(json.loads(body))


def forget_confirm_button(blocks: list[dict[str, Any]]) -> dict[str, Any]:
    """The *Forget* confirmation's confirm button among a message's blocks."""
    return next(
        e
        for b in blocks
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "forget_confirm"
    )


def click_forget_confirm(
    bot: Bot, button: dict[str, Any], *, user: str, channel: str = CHANNEL
) -> dict[str, Any]:
    """Click the confirmation button shown to ``user`` (an ephemeral message, answered via response_url)."""
    return bot.interaction(
        {
            "type": "block_actions",
            "user": {"id": user, "username": "someone", "team_id": TEAM},
            "api_app_id": "A1",
            "token": "legacy-verification-token",
            "container": {"type": "message", "message_ts": "1717243299.000100", "channel_id": channel,
                          "is_ephemeral": True},
            "trigger_id": f"trigger.{uuid.uuid4().hex}",
            "team": {"id": TEAM, "domain": "example"},
            "channel": {"id": channel, "name": "design"},
            "response_url": bot.slack.response_url("forget"),
            "actions": [{"type": "button", "action_id": button["action_id"], "block_id": "forget",
                         "value": button["value"], "action_ts": f"{time.time():.6f}"}],
        }
    )  # fmt: skip
