"""Feedback buttons under answers (thumbs up / down), and the optional comment after a thumbs down.

A click is acknowledged at once; a thumbs down also opens the comment modal in the ack (a
``trigger_id`` lives 3 s). The vote is stored in the lazy listener, once per click (a re-delivery
changes nothing): one vote per person per answer, changeable, counted for the agent that wrote the
stored answer. The comment, if any, is added to the same vote when the modal is sent.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Services
from bot.core.ports import VoteStatus
from bot.core.refs import FeedbackModalRef, FeedbackRef
from bot.errors import BotError
from bot.logging import bind_more, get_logger
from bot.slack.blocks import (
    FEEDBACK_ACTION,
    FEEDBACK_COMMENT_ACTION,
    FEEDBACK_COMMENT_BLOCK,
    FEEDBACK_MODAL_CALLBACK,
    feedback_modal,
)

log = get_logger("bot.slack.feedback")

FORGOTTEN = (
    "I no longer remember that answer (the thread expired or was forgotten), so the vote was not kept."
)
FAILED = "Your feedback could not be saved right now. Please try again in a minute."


def _ephemeral(
    client: WebClient, channel: str | None, user: str | None, text: str, thread_ts: str | None
) -> None:
    if not channel or not user:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
    except SlackApiError as error:
        log.warning("ephemeral_failed", error=str(error.response.get("error")))


def _vote(
    services: Services,
    client: WebClient,
    *,
    delivery_id: str,
    ref: FeedbackRef,
    user: str,
    channel: str | None,
    comment: str | None,
) -> None:
    thread = ref.thread
    thread_ts = thread.thread_ts if thread is not None else None
    bind_more(channel=channel, thread_ts=thread_ts)
    try:
        with services.engine.once(delivery_id) as first:
            if not first:
                return
            outcome = services.engine.vote(ref, by_user=user, positive=ref.positive, comment=comment)
    except BotError as error:
        services.metrics.error(error.kind)
        log.warning("feedback_failed", kind=error.kind, detail=error.detail)
        _ephemeral(client, channel, user, FAILED, thread_ts)
        return
    if outcome.status in (VoteStatus.MISSING, VoteStatus.NOT_AN_ANSWER):
        _ephemeral(client, channel, user, FORGOTTEN, thread_ts)
        return
    vote = outcome.vote
    if outcome.status is VoteStatus.STORED and vote is not None and outcome.agent:
        services.metrics.feedback(outcome.agent, up=vote.delta_up, down=vote.delta_down)


def register(app: App, services: Services) -> None:
    """Attach the feedback buttons and the comment modal."""

    def ack_vote(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        """Acknowledge; after a thumbs down, offer the optional comment."""
        ack()
        ref = FeedbackRef.decode(action.get("value"))
        channel = (body.get("channel") or {}).get("id")
        if ref is None or ref.positive or not channel or not body.get("trigger_id"):
            return
        metadata = FeedbackModalRef(button=ref, channel_id=channel).encode()
        try:
            client.views_open(trigger_id=body["trigger_id"], view=feedback_modal(private_metadata=metadata))
        except SlackApiError as error:  # the vote still counts; only the comment is not offered
            log.warning("feedback_modal_not_opened", error=str(error.response.get("error")))

    def run_vote(body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        """Store the vote (once per click)."""
        ref = FeedbackRef.decode(action.get("value"))
        user = (body.get("user") or {}).get("id")
        channel = (body.get("channel") or {}).get("id")
        if ref is None or not user:
            log.warning("feedback_button_refused", decoded=ref is not None)
            return
        delivery = f"vote:{body.get('trigger_id') or action.get('action_ts')}"
        _vote(services, client, delivery_id=delivery, ref=ref, user=user, channel=channel, comment=None)

    def run_comment(body: dict[str, Any], view: dict[str, Any], client: WebClient) -> None:
        """Add the comment to the thumbs down (an empty one changes nothing)."""
        metadata = FeedbackModalRef.decode(view.get("private_metadata"))
        user = (body.get("user") or {}).get("id")
        values = ((view.get("state") or {}).get("values") or {}).get(FEEDBACK_COMMENT_BLOCK) or {}
        comment = str((values.get(FEEDBACK_COMMENT_ACTION) or {}).get("value") or "").strip()
        if metadata is None or not user or not comment:
            return
        _vote(
            services,
            client,
            delivery_id=f"view:{view.get('id')}",
            ref=metadata.button,
            user=user,
            channel=metadata.channel_id,
            comment=comment,
        )

    def ack_comment(ack: Ack) -> None:
        ack()

    app.action(FEEDBACK_ACTION)(ack=ack_vote, lazy=[run_vote])
    app.view(FEEDBACK_MODAL_CALLBACK)(ack=ack_comment, lazy=[run_comment])
