"""Handing a thread to another agent: a ``send: true`` button's click, or a submitted handoff modal.

The person must be allowed to use the target here (else they are told, and nothing is handed off);
the engine checks the rest against the stored conversation (the button's answer is the live one,
written by the button's agent) in one script. The handoff is recorded in the thread, the older
answer's buttons come down, and the target agent answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.errors import ConversationNotFoundError
from bot.logging import bind_more, get_logger
from bot.slack.blocks import handoff_line, truncate, without_actions

if TYPE_CHECKING:
    from bot.core.engine import Engine, HandoffOutcome
    from bot.core.refs import HandoffRef
    from bot.metrics import Metrics
    from bot.slack.flows.access import Gate
    from bot.slack.flows.answer import Answerer
    from bot.slack.payload import Where

log = get_logger("bot.slack.handoff")

HANDED_NOTHING = "Nothing was handed off."
DOING = "hand this thread to"


@dataclass(frozen=True, slots=True)
class HandoffClick:
    """One handoff asked for: the button, who asked, and (for a click) the message it is on."""

    delivery_id: str
    ref: HandoffRef
    user: str | None
    channel: str | None
    prompt: str | None = None
    message_ts: str | None = None
    message_blocks: list[dict[str, Any]] | None = None


def may_hand_off(gate: Gate, client: WebClient, where: Where, target: str) -> bool:
    """True when the person may hand the thread to ``target`` here; else they are told why (only them)."""
    return gate.allowed_or_told(client, where, target, doing=DOING, suffix=HANDED_NOTHING)


class HandoffFlow:
    """Hands threads off for one request."""

    def __init__(self, client: WebClient, *, engine: Engine, metrics: Metrics, answers: Answerer) -> None:
        self._client = client
        self._engine = engine
        self._metrics = metrics
        self._answers = answers

    def hand_off(self, click: HandoffClick) -> HandoffOutcome | None:
        """Claim the click once and hand off (None: a re-delivery, or no channel)."""
        if not click.channel:
            log.warning("handoff_without_channel")
            return None
        with self._engine.once(click.delivery_id) as first:
            if not first:
                return None
            return self._perform(click, click.channel)

    def _perform(self, click: HandoffClick, channel: str) -> HandoffOutcome:
        """Hand the thread to ``ref.target``, record it in the thread, and let the target answer.

        The thread comes from the conversation id, and must be in the channel where the button was
        clicked; the engine checks the rest against the stored conversation.
        """
        ref, user_id = click.ref, click.user
        thread = ref.thread
        if thread is None or thread.channel_id != channel:
            raise ConversationNotFoundError(f"conversation {ref.conversation_id} is not in channel {channel}")
        bind_more(channel=channel, thread_ts=thread.thread_ts)
        outcome = self._engine.hand_off(ref=ref, by_user=user_id, prompt=click.prompt)
        self._metrics.handoff(outcome.from_agent, outcome.to_agent)
        line = handoff_line(
            user_id=user_id, from_agent=outcome.from_agent, to_agent=outcome.to_agent, label=outcome.label
        )
        from bot.core.thread_record import (  # the answer path's: imported by the lazy listener
            HandoffMark,
            metadata,
        )

        handed = HandoffMark(
            from_agent=outcome.from_agent,
            to_agent=outcome.to_agent,
            answer_id=ref.answer_id,
            label=outcome.label[:75],
            by_user=user_id,
            model=outcome.model,
        )
        # the thread line is the one announcement (and the record); the used answer only loses its buttons
        self._client.chat_postMessage(
            channel=channel, thread_ts=thread.thread_ts, text=line, metadata=metadata(handed)
        )
        self._retire_buttons(click, outcome, channel)
        self._answers.answer(
            conversation_id=ref.conversation_id, channel=channel, thread_ts=thread.thread_ts, user_id=user_id
        )
        return outcome

    def _retire_buttons(self, click: HandoffClick, outcome: HandoffOutcome, channel: str) -> None:
        """The handed-off answer's buttons come down (the handoff said where they are), with no second
        announcement under it: the thread line says it."""
        retired = outcome.retired
        if retired is not None:
            from bot.slack.flows.answer import take_down_buttons  # the answer path's module: lazily

            take_down_buttons(self._client, channel, retired)
        elif click.message_ts and click.message_blocks is not None:  # shown before the bot kept track
            from bot.core.thread_record import AnswerMark, metadata

            used = AnswerMark(agent=outcome.from_agent, answer_id=click.ref.answer_id, buttons="used")
            kept = without_actions(click.message_blocks)
            text = next((str(b.get("text")) for b in kept if b.get("type") == "markdown"), "Answer")
            try:
                self._client.chat_update(
                    channel=channel,
                    ts=click.message_ts,
                    text=truncate(text, 2_900),
                    blocks=kept,
                    metadata=metadata(used),
                )
            except SlackApiError:
                log.warning("old_buttons_not_removed")
