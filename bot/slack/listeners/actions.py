"""Handoff buttons, the handoff modal, and the Approve / Deny buttons of tool calls.

A click on a ``send: false`` handoff opens the modal in the ack (``trigger_id`` lives 3 s); a
``send: true`` handoff, and a submitted modal, hand off in the lazy listener. Whether a handoff
sends at once comes from the registry, never from the button.

Approve / Deny: acknowledged at once; the lazy listener asks the engine to decide (only the person
who asked, or an admin of the policy; once: a double click or a re-delivery finds it decided) and
streams the rest of the answer into the thread.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Services
from bot.core.refs import ApprovalRef, HandoffModalRef, HandoffRef
from bot.errors import (
    ApprovalNotAllowedError,
    BotError,
    BudgetExceededError,
    HandoffNotAllowedError,
    StaleApprovalError,
)
from bot.logging import get_logger
from bot.slack.answering import perform_decision, perform_handoff, tell_error
from bot.slack.blocks import (
    APPROVAL_ACTION_PREFIX,
    HANDOFF_ACTION_PREFIX,
    HANDOFF_MODAL_CALLBACK,
    HANDOFF_PROMPT_ACTION,
    HANDOFF_PROMPT_BLOCK,
    handoff_modal,
)
from bot.slack.governance import access_kind, refuse

log = get_logger("bot.slack.actions")

FORGED = "That button is not valid (it may come from an older version of the bot). Nothing was handed off."
FORGED_APPROVAL = "That button is not valid (it may come from an older version of the bot). Nothing was run."


def is_admin(services: Services, user_id: str | None) -> bool:
    """True for an admin of the access policy (``admins`` in the policy file)."""
    return services.policy.is_admin(user_id)


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
        ref = HandoffRef.decode(action.get("value"))
        channel = (body.get("channel") or {}).get("id")
        user = (body.get("user") or {}).get("id")
        container = body.get("container") or {}
        handoff = services.registry.handoff_to(ref.from_agent, ref.target) if ref else None
        if ref is None or handoff is None or not channel:
            log.warning("handoff_button_refused", decoded=ref is not None)
            _ephemeral(client, channel=channel, user=user, text=FORGED, thread_ts=container.get("thread_ts"))
            return
        thread_ts = container.get("thread_ts")
        if not _may_hand_off(
            services, client, target=handoff.target, user=user, channel=channel, thread_ts=thread_ts
        ):
            return  # told; no modal, and the lazy listener finds it refused too
        if handoff.handoff.send:
            return  # the lazy listener hands off at once
        metadata = HandoffModalRef(button=ref, channel_id=channel, message_ts=container.get("message_ts"))
        client.views_open(
            trigger_id=body["trigger_id"],
            view=handoff_modal(
                prompt=handoff.handoff.prompt,
                label=handoff.handoff.label,
                from_agent=ref.from_agent,
                to_agent=handoff.target,
                private_metadata=metadata.encode(),
            ),
        )

    def run_click(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        """A ``send: true`` handoff: forward the thread to the target at once."""
        ref = HandoffRef.decode(action.get("value"))
        if ref is None:
            return
        handoff = services.registry.handoff_to(ref.from_agent, ref.target)
        if handoff is None or not handoff.handoff.send:
            return  # refused in the ack, or the modal takes over
        user = (body.get("user") or {}).get("id")
        channel = (body.get("channel") or {}).get("id")
        if not services.access.check(agent=handoff.target, user_id=user, channel_id=channel).allowed:
            return  # refused (and told) in the ack
        container = body.get("container") or {}
        _hand_off(
            services,
            client,
            delivery_id=f"click:{body.get('trigger_id') or action.get('action_ts')}",
            ref=ref,
            user=(body.get("user") or {}).get("id"),
            channel=(body.get("channel") or {}).get("id"),
            prompt=None,
            message_ts=container.get("message_ts"),
            message_blocks=(body.get("message") or {}).get("blocks"),
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
        metadata = HandoffModalRef.decode(view.get("private_metadata"))
        if metadata is None:
            log.warning("modal_metadata_invalid")
            return
        user = (body.get("user") or {}).get("id")
        thread = metadata.button.thread
        thread_ts = thread.thread_ts if thread is not None else None
        handoff = services.registry.handoff_to(metadata.button.from_agent, metadata.button.target)
        target = handoff.target if handoff is not None else metadata.button.target
        if not _may_hand_off(
            services, client, target=target, user=user, channel=metadata.channel_id, thread_ts=thread_ts
        ):
            return
        _hand_off(
            services,
            client,
            delivery_id=f"view:{view.get('id')}",
            ref=metadata.button,
            user=(body.get("user") or {}).get("id"),
            channel=metadata.channel_id,
            prompt=_submitted_prompt(view),
            message_ts=None,
            message_blocks=None,
        )

    app.action(re.compile(rf"^{re.escape(HANDOFF_ACTION_PREFIX)}\d+$"))(ack=ack_click, lazy=[run_click])
    _register_approvals(app, services)
    app.view(HANDOFF_MODAL_CALLBACK)(ack=ack_view, lazy=[run_view])


def _may_hand_off(
    services: Services,
    client: WebClient,
    *,
    target: str,
    user: str | None,
    channel: str | None,
    thread_ts: str | None,
) -> bool:
    """True when ``user`` may use ``target`` here; else they are told why (ephemeral) and whom to ask."""
    decision = services.access.check(
        agent=target, user_id=user, channel_id=channel, doing="hand this thread to"
    )
    if decision.allowed:
        return True
    if channel:
        text = f"{decision.message} Nothing was handed off."
        refuse(services, client, channel=channel, user=user, thread_ts=thread_ts, text=text,
               kind=access_kind(decision))  # fmt: skip
    return False


def _register_approvals(app: App, services: Services) -> None:
    """Attach the Approve / Deny listeners of tool calls."""

    def ack_approval(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        """Acknowledge at once; a value that is not ours is refused here."""
        ack()
        if ApprovalRef.decode(action.get("value")) is None:
            log.warning("approval_button_refused")
            _ephemeral(
                client,
                channel=(body.get("channel") or {}).get("id"),
                user=(body.get("user") or {}).get("id"),
                text=FORGED_APPROVAL,
                thread_ts=(body.get("container") or {}).get("thread_ts"),
            )

    def run_approval(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        """Decide the waiting call and let the answer go on."""
        ref = ApprovalRef.decode(action.get("value"))
        channel = (body.get("channel") or {}).get("id")
        if ref is None or not channel:
            return
        user = (body.get("user") or {}).get("id")
        container = body.get("container") or {}
        thread = ref.thread
        thread_ts = thread.thread_ts if thread is not None and thread.channel_id == channel else None
        try:
            with services.engine.once(
                f"approval:{body.get('trigger_id') or action.get('action_ts')}"
            ) as first:
                if not first:
                    return
                perform_decision(
                    services,
                    client,
                    ref=ref,
                    user_id=user,
                    admin=is_admin(services, user),
                    channel=channel,
                    message_ts=container.get("message_ts"),
                    message_blocks=(body.get("message") or {}).get("blocks"),
                )
        except (StaleApprovalError, ApprovalNotAllowedError) as error:
            _ephemeral(client, channel=channel, user=user, text=error.user_message, thread_ts=thread_ts)
        except BotError as error:
            if error.kind == "conversation_not_found":
                _ephemeral(client, channel=channel, user=user, text=error.user_message, thread_ts=thread_ts)
            else:
                tell_error(services, client, channel=channel, thread_ts=thread_ts, error=error)
        except Exception as error:  # noqa: BLE001 - told in the thread, logged and counted by tell_error
            tell_error(services, client, channel=channel, thread_ts=thread_ts, error=error)

    app.action(re.compile(rf"^{re.escape(APPROVAL_ACTION_PREFIX)}(approve|deny)$"))(
        ack=ack_approval, lazy=[run_approval]
    )


def _submitted_prompt(view: dict[str, Any]) -> str:
    values = ((view.get("state") or {}).get("values") or {}).get(HANDOFF_PROMPT_BLOCK) or {}
    return str((values.get(HANDOFF_PROMPT_ACTION) or {}).get("value") or "")


def _hand_off(
    services: Services,
    client: WebClient,
    *,
    delivery_id: str,
    ref: HandoffRef,
    user: str | None,
    channel: str | None,
    prompt: str | None,
    message_ts: str | None,
    message_blocks: list[dict[str, Any]] | None,
) -> None:
    if not channel:
        log.warning("handoff_without_channel")
        return
    thread = ref.thread
    thread_ts = thread.thread_ts if thread is not None and thread.channel_id == channel else None
    try:
        with services.engine.once(delivery_id) as first:
            if not first:
                return
            perform_handoff(
                services,
                client,
                ref=ref,
                user_id=user,
                channel=channel,
                prompt=prompt,
                message_ts=message_ts,
                message_blocks=message_blocks,
            )
    except BudgetExceededError as error:  # handed off; the target answers a reply after the reset
        refuse(services, client, channel=channel, user=user, thread_ts=thread_ts, text=error.user_message,
               kind=error.kind)  # fmt: skip
    except HandoffNotAllowedError as error:
        _ephemeral(client, channel=channel, user=user, text=error.user_message, thread_ts=thread_ts)
    except BotError as error:
        if error.kind in {"stale_handoff", "conversation_not_found"}:
            _ephemeral(client, channel=channel, user=user, text=error.user_message, thread_ts=thread_ts)
        else:
            tell_error(services, client, channel=channel, thread_ts=thread_ts, error=error)
    except Exception as error:  # noqa: BLE001 - told in the thread, logged and counted by tell_error
        tell_error(services, client, channel=channel, thread_ts=thread_ts, error=error)
