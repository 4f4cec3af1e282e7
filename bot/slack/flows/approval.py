"""Approve / Deny of a tool call: the engine decides the waiting call (only the person who asked, or
an admin of the policy; once: a double click or a re-delivery finds it decided), the request
message loses its buttons and says what was decided, and the rest of the answer streams in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.errors import ConversationNotFoundError
from bot.logging import bind_more, get_logger
from bot.slack.blocks import decision_note, without_actions

if TYPE_CHECKING:
    from bot.core.engine import AnswerResult, Engine
    from bot.core.policy import Policy
    from bot.core.refs import ApprovalRef
    from bot.slack.flows.answer import Answerer

log = get_logger("bot.slack.approval")


@dataclass(frozen=True, slots=True)
class Decision:
    """One click on Approve or Deny."""

    delivery_id: str
    ref: ApprovalRef
    user: str | None
    channel: str
    message_ts: str | None
    message_blocks: list[dict[str, Any]] | None


class ApprovalFlow:
    """Decides waiting tool calls for one request."""

    def __init__(self, client: WebClient, *, engine: Engine, policy: Policy, answers: Answerer) -> None:
        self._client = client
        self._engine = engine
        self._policy = policy
        self._answers = answers

    def decide(self, click: Decision) -> AnswerResult | None:
        """Claim the click once, decide, and let the answer go on.

        The thread comes from the conversation id and must be in the channel where the button was
        clicked; the engine checks the rest (the pending approval, who may decide) against state.
        """
        with self._engine.once(click.delivery_id) as first:
            if not first:
                return None
            ref, channel = click.ref, click.channel
            thread = ref.thread
            if thread is None or thread.channel_id != channel:
                raise ConversationNotFoundError(
                    f"conversation {ref.conversation_id} is not in channel {channel}"
                )
            bind_more(channel=channel, thread_ts=thread.thread_ts)
            stream = self._engine.decide(
                ref=ref,
                by_user=click.user,
                approve=ref.approve,
                admin=self._policy.is_admin(click.user),
                deadline=runtime.current().deadline,
            )
            plan = stream.open()
            if plan is None or plan.decision is None:
                return None
            note = decision_note(plan.decision.why, plan.decision.by_user, plan.decision.tool)
            if click.message_ts and click.message_blocks is not None:
                try:
                    self._client.chat_update(
                        channel=channel,
                        ts=click.message_ts,
                        text=note,
                        blocks=without_actions(click.message_blocks, note),
                    )
                except SlackApiError:
                    log.warning("approval_buttons_not_removed")
            return self._answers.render(
                stream, plan, channel=channel, thread_ts=thread.thread_ts, user_id=click.user
            )
