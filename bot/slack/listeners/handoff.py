"""Handoff buttons and the handoff modal.

A click on a ``send: false`` handoff opens the modal in the ack (``trigger_id`` lives 3 s); a
``send: true`` handoff, and a submitted modal, hand off in the lazy listener
(:mod:`bot.slack.flows.handoff`). Whether a handoff sends at once comes from the registry, never
from the button.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.logging import get_logger
from bot.slack.blocks import (
    HANDOFF_ACTION_PREFIX,
    HANDOFF_MODAL_CALLBACK,
    HANDOFF_PROMPT_ACTION,
    HANDOFF_PROMPT_BLOCK,
    handoff_modal,
)
from bot.slack.flows.handoff import HandoffClick, may_hand_off
from bot.slack.payload import Click, Submission, Where, thread_in

if TYPE_CHECKING:
    from bot.core.refs import HandoffModalRef
    from bot.core.registry import Registry, ResolvedHandoff
    from bot.slack.flows.access import Gate
    from bot.slack.flows.handoff import HandoffFlow
    from bot.slack.replies import Replies

log = get_logger("bot.slack.listeners.handoff")

FORGED = "That button is not valid (it may come from an older version of the bot). Nothing was handed off."


def register(
    app: App,
    *,
    registry: Registry,
    gate: Callable[[], Gate],
    handoff: Callable[[WebClient], HandoffFlow],
    replies: Replies,
) -> None:
    """Attach the handoff button and modal listeners."""
    _register_buttons(app, registry=registry, gate=gate, handoff=handoff, replies=replies)
    _register_modal(app, registry=registry, gate=gate, handoff=handoff, replies=replies)


def _register_buttons(
    app: App,
    *,
    registry: Registry,
    gate: Callable[[], Gate],
    handoff: Callable[[WebClient], HandoffFlow],
    replies: Replies,
) -> None:
    """The buttons under answers."""

    def ack_click(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any
    ) -> None:
        """Acknowledge; for a ``send: false`` handoff open the prompt editor right away."""
        ack()
        click = Click.of(body, context, action)
        from bot.core.refs import (  # button values' models: not on a cold start's first ack
            HandoffModalRef,
            HandoffRef,
        )

        ref = HandoffRef.decode(click.value)
        offered = registry.handoff_to(ref.from_agent, ref.target) if ref else None
        where = click.where(click.thread_ts)
        if ref is None or offered is None or not click.channel:
            log.warning("handoff_button_refused", decoded=ref is not None)
            replies.private(client, where, FORGED)
            return
        if not may_hand_off(gate(), client, where, offered.target):
            return  # told; no modal, and the lazy listener finds it refused too
        if offered.handoff.send:
            return  # the lazy listener hands off at once
        metadata = HandoffModalRef(button=ref, channel_id=click.channel, message_ts=click.message_ts)
        client.views_open(trigger_id=body["trigger_id"], view=_modal(offered, metadata))

    def run_click(body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any) -> None:
        """A ``send: true`` handoff: forward the thread to the target at once."""
        click = Click.of(body, context, action)
        from bot.core.refs import HandoffRef  # button values' models: not on a cold start's first ack

        ref = HandoffRef.decode(click.value)
        offered = registry.handoff_to(ref.from_agent, ref.target) if ref else None
        if ref is None or offered is None or not offered.handoff.send:
            return  # refused in the ack, or the modal takes over
        if not gate().check(offered.target, click.user, click.channel).allowed:
            return  # refused (and told) in the ack
        asked = HandoffClick(
            click.delivery("click"),
            ref,
            click.user,
            click.channel,
            None,
            click.message_ts,
            click.message_blocks,
        )
        with replies.told(client, click.where(thread_in(ref.thread, click.channel))):
            handoff(client).hand_off(asked)

    app.action(re.compile(rf"^{re.escape(HANDOFF_ACTION_PREFIX)}\d+$"))(ack=ack_click, lazy=[run_click])


def _modal(offered: ResolvedHandoff, metadata: HandoffModalRef) -> dict[str, Any]:
    """The prompt editor of a ``send: false`` handoff."""
    return handoff_modal(
        prompt=offered.handoff.prompt,
        label=offered.handoff.label,
        from_agent=metadata.button.from_agent,
        to_agent=offered.target,
        private_metadata=metadata.encode(),
    )


def _register_modal(
    app: App,
    *,
    registry: Registry,
    gate: Callable[[], Gate],
    handoff: Callable[[WebClient], HandoffFlow],
    replies: Replies,
) -> None:
    """The modal of a ``send: false`` handoff (the prompt, editable)."""

    def ack_view(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
        """Close the modal, or keep it open with an error when the prompt is empty."""
        prompt = Submission.of(body, view, context).value(HANDOFF_PROMPT_BLOCK, HANDOFF_PROMPT_ACTION)
        if not prompt.strip():
            ack(response_action="errors", errors={HANDOFF_PROMPT_BLOCK: "Write a prompt for the next agent."})
            return
        ack()

    def run_view(body: dict[str, Any], view: dict[str, Any], client: WebClient, context: Any) -> None:
        """A submitted ``send: false`` handoff: forward the thread with the edited prompt."""
        sent = Submission.of(body, view, context)
        from bot.core.refs import HandoffModalRef  # button values' models: not on a cold start's first ack

        metadata = HandoffModalRef.decode(sent.private_metadata)
        if metadata is None:
            log.warning("modal_metadata_invalid")
            return
        ref, channel = metadata.button, metadata.channel_id
        offered = registry.handoff_to(ref.from_agent, ref.target)
        thread = ref.thread
        where = Where(channel, sent.user, thread.thread_ts if thread is not None else None)
        if not may_hand_off(gate(), client, where, offered.target if offered is not None else ref.target):
            return
        prompt = sent.value(HANDOFF_PROMPT_BLOCK, HANDOFF_PROMPT_ACTION)
        asked = HandoffClick(f"view:{sent.view_id}", ref, sent.user, channel, prompt)
        with replies.told(client, Where(channel, sent.user, thread_in(thread, channel))):
            handoff(client).hand_off(asked)

    app.view(HANDOFF_MODAL_CALLBACK)(ack=ack_view, lazy=[run_view])
