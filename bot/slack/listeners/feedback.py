"""Feedback buttons under answers (thumbs up / down), and the optional comment after a thumbs down.

A click is acknowledged at once; a thumbs down also opens the comment modal in the ack (a
``trigger_id`` lives 3 s). The vote is stored in the lazy listener (:mod:`bot.slack.flows.feedback`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.logging import get_logger
from bot.slack.blocks import (
    FEEDBACK_ACTION,
    FEEDBACK_COMMENT_ACTION,
    FEEDBACK_COMMENT_BLOCK,
    FEEDBACK_MODAL_CALLBACK,
    feedback_modal,
)
from bot.slack.flows.feedback import FAILED, Vote
from bot.slack.payload import Click, Submission, Where

if TYPE_CHECKING:
    from bot.slack.flows.feedback import FeedbackFlow
    from bot.slack.replies import Replies

log = get_logger("bot.slack.listeners.feedback")


def register(app: App, *, feedback: Callable[[WebClient], FeedbackFlow], replies: Replies) -> None:
    """Attach the feedback buttons and the comment modal."""

    def ack_vote(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any
    ) -> None:
        """Acknowledge; after a thumbs down, offer the optional comment."""
        ack()
        click = Click.of(body, context, action)
        from bot.core.refs import (  # button values' models: not on a cold start's first ack
            FeedbackModalRef,
            FeedbackRef,
        )

        ref = FeedbackRef.decode(click.value)
        if ref is None or ref.positive or not click.channel or not click.trigger_id:
            return
        metadata = FeedbackModalRef(button=ref, channel_id=click.channel).encode()
        try:
            client.views_open(trigger_id=click.trigger_id, view=feedback_modal(private_metadata=metadata))
        except SlackApiError as error:  # the vote still counts; only the comment is not offered
            log.warning("feedback_modal_not_opened", error=str(error.response.get("error")))

    def run_vote(body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any) -> None:
        """Store the vote (once per click)."""
        click = Click.of(body, context, action)
        from bot.core.refs import FeedbackRef  # button values' models: not on a cold start's first ack

        ref = FeedbackRef.decode(click.value)
        if ref is None or not click.user:
            log.warning("feedback_button_refused", decoded=ref is not None)
            return
        thread = ref.thread
        where = Where(click.channel, click.user, thread.thread_ts if thread is not None else None)
        with replies.told(client, where, private=True, failed=FAILED):
            feedback(client).vote(Vote(click.delivery("vote"), ref, click.user), where)

    def run_comment(body: dict[str, Any], view: dict[str, Any], client: WebClient, context: Any) -> None:
        """Add the comment to the thumbs down (an empty one changes nothing)."""
        sent = Submission.of(body, view, context)
        from bot.core.refs import FeedbackModalRef  # button values' models: not on a cold start's first ack

        metadata = FeedbackModalRef.decode(sent.private_metadata)
        comment = sent.value(FEEDBACK_COMMENT_BLOCK, FEEDBACK_COMMENT_ACTION).strip()
        if metadata is None or not sent.user or not comment:
            return
        thread = metadata.button.thread
        where = Where(metadata.channel_id, sent.user, thread.thread_ts if thread is not None else None)
        with replies.told(client, where, private=True, failed=FAILED):
            feedback(client).vote(Vote(f"view:{sent.view_id}", metadata.button, sent.user, comment), where)

    def ack_comment(ack: Ack) -> None:
        ack()

    app.action(FEEDBACK_ACTION)(ack=ack_vote, lazy=[run_vote])
    app.view(FEEDBACK_MODAL_CALLBACK)(ack=ack_comment, lazy=[run_comment])
