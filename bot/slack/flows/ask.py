"""Asking an agent: ``/architect <verb> <text>`` and the agent picker's modal.

The visible request message is posted in the channel, the conversation is opened keyed by that
message's ``ts`` and the agent answers in its thread. Claimed once per delivery (the command's
``trigger_id``, the modal's id). Who may ask is checked in the ack (:class:`~bot.slack.flows.access.Gate`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.thread_address import conversation_id
from bot.logging import bind_more, get_logger
from bot.slack.blocks import request_message

if TYPE_CHECKING:
    from bot.core.agents import AgentSpec
    from bot.core.engine import Engine
    from bot.slack.flows.answer import Answerer
    from bot.slack.payload import Where

log = get_logger("bot.slack.ask")

NOT_IN_CHANNEL = (
    "I can't post in this conversation. Invite me first with `/invite @architect-bot`, "
    "or use the command in a channel I'm in."
)
_CANNOT_POST = frozenset({"not_in_channel", "channel_not_found", "is_archived"})


@dataclass(frozen=True, slots=True)
class Request:
    """One request to an agent: who, where, what, and the delivery's id."""

    delivery_id: str
    team: str | None
    channel: str
    user: str
    agent: AgentSpec
    text: str


class Asked(Enum):
    """How a request went."""

    ANSWERED = "answered"
    DUPLICATE = "duplicate"  # a re-delivery: the first one answers
    NOT_IN_CHANNEL = "not_in_channel"  # the bot cannot post in that conversation


class AskFlow:
    """Posts requests and lets their agents answer, for one request."""

    def __init__(self, client: WebClient, *, engine: Engine, answers: Answerer) -> None:
        self._client = client
        self._engine = engine
        self._answers = answers

    def ask(self, request: Request, where: Where) -> Asked:
        """Post the visible request message, start the conversation, answer in its thread.

        ``where.thread_ts`` is set once the request message is posted (errors are told there).
        """
        bind_more(agent=request.agent.name)
        with self._engine.once(request.delivery_id) as first:
            if not first:
                return Asked.DUPLICATE
            root_ts = self._post_request(request)
            if root_ts is None:
                return Asked.NOT_IN_CHANNEL
            where.thread_ts = root_ts
            bind_more(thread_ts=root_ts)
            conv_id = conversation_id(request.team, request.channel, root_ts)
            from bot.core.conversation import UserMessage  # the answer path's: imported by the lazy listener

            self._engine.start(
                conversation_id=conv_id,
                agent=request.agent.name,
                message=UserMessage(text=request.text, user_id=request.user, ts=root_ts, id=root_ts),
                team_id=request.team,
                channel_id=request.channel,
                thread_ts=root_ts,
            )
            self._answers.answer(
                conversation_id=conv_id, channel=request.channel, thread_ts=root_ts, user_id=request.user
            )
            return Asked.ANSWERED

    def _post_request(self, request: Request) -> str | None:
        """The request message's ts; None when the bot cannot post in that conversation."""
        from bot.core.thread_record import (  # the answer path's: imported by the lazy listener
            RequestMark,
            metadata,
        )

        text, blocks = request_message(user_id=request.user, agent=request.agent.name, text=request.text)
        try:
            asked = RequestMark(agent=request.agent.name, user=request.user)
            posted = self._client.chat_postMessage(
                channel=request.channel, text=text, blocks=blocks, metadata=metadata(asked)
            )
        except SlackApiError as error:
            if error.response.get("error") in _CANNOT_POST:
                return None
            raise
        return str(posted["ts"])
