"""``@architect-bot <text>``: continue the thread's conversation or start one with the default agent.

In a thread the bot does not keep yet (a discussion it is called into, or its own thread the store
lost), the whole thread comes along: who said what, with their files. ``@architect-bot forget`` in a
thread asks to forget it (the confirmation, only to that person). Claimed once per event.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot import runtime
from bot.core.engine import ReplyOutcome
from bot.core.notices import Notice
from bot.core.thread_address import conversation_id
from bot.errors import ThreadForgottenError
from bot.logging import get_logger
from bot.slack.flows.forget import OUTSIDE_THREAD
from bot.slack.payload import Where
from bot.slack.replies import tell_notices

if TYPE_CHECKING:
    from bot.core.conversation import UserMessage
    from bot.core.engine import Engine
    from bot.slack.flows.access import Gate
    from bot.slack.flows.answer import Answerer
    from bot.slack.flows.forget import ForgetFlow
    from bot.slack.flows.reading import ThreadReader
    from bot.slack.payload import Message
    from bot.slack.replies import Replies

log = get_logger("bot.slack.mention")

FORGET_REQUEST = re.compile(r"^forget(?: (?:this )?thread)?[.!]?$", re.IGNORECASE)
"""``@architect-bot forget`` (or ``forget this thread``) in a thread asks to forget it."""
ASK_SOMETHING = (
    "Tell me what to work on, e.g. `@architect-bot design a rate limiter`, or see `/architect help`."
)
NO_DEFAULT = "No default agent is configured. Use `/architect help` to pick an agent."


class MentionFlow:
    """Answers mentions for one request."""

    def __init__(
        self,
        client: WebClient,
        *,
        engine: Engine,
        gate: Gate,
        reader: ThreadReader,
        answers: Answerer,
        forget: ForgetFlow,
        replies: Replies,
        default_agent: str | None,
    ) -> None:
        self._client = client
        self._engine = engine
        self._gate = gate
        self._reader = reader
        self._answers = answers
        self._forget = forget
        self._replies = replies
        self._default_agent = default_agent

    def mention(self, message: Message, text: str, where: Where) -> None:
        """Answer the mention (``text``: its words without the bot's mention) in its thread."""
        thread_ts = message.thread_ts or message.ts
        conv_id = conversation_id(message.team, message.channel, thread_ts)
        with self._engine.once(message.delivery) as first:
            if not first:
                return
            if FORGET_REQUEST.match(text):
                self._ask_to_forget(message, conv_id, where)
                return
            if not text and not message.files:
                self._client.chat_postMessage(
                    channel=message.channel, thread_ts=thread_ts, text=ASK_SOMETHING
                )
                return
            deadline = runtime.current().deadline
            stored, notices = self._reader.message(
                text=text, user_id=message.user, ts=message.ts, files=message.files, deadline=deadline
            )
            if thread_ts != message.ts and not self._engine.knows(conv_id):
                notices[:0] = self._join(message, conv_id, thread_ts, stored, deadline)
            if not self._store(message, stored, conv_id, where):
                return
            tell_notices(self._client, channel=message.channel, thread_ts=thread_ts, notices=notices)
            self._answers.answer(
                conversation_id=conv_id, channel=message.channel, thread_ts=thread_ts, user_id=message.user
            )

    def _join(
        self, message: Message, conv_id: str, thread_ts: str, stored: UserMessage, deadline: float
    ) -> list[Notice]:
        """Called into a thread the bot keeps no conversation for: take the whole thread along.

        Returns what to tell (files that could not be read, a partial read, or why the discussion
        could not be read: the mention is then answered alone). A thread forgotten on request is not read.
        """
        if self._engine.is_forgotten(conv_id):
            raise ThreadForgottenError(conv_id)
        adoption = self._reader.adopt(
            conversation_id=conv_id,
            team_id=message.team,
            channel=message.channel,
            thread_ts=thread_ts,
            bot_user_id=message.bot_user_id,
            bot_id=message.bot_id,
            known={stored.id or "": stored.attachments},
            joining=True,
            deadline=deadline,
        )
        if adoption.adopted is not None and adoption.adopted.forgotten:
            raise ThreadForgottenError(conv_id)
        if adoption.adopted is None:
            return [*adoption.notices, Notice.thread_unreadable(adoption.error or "Slack gave nothing back")]
        return adoption.notices

    def _store(self, message: Message, stored: UserMessage, conv_id: str, where: Where) -> bool:
        """Store a mention in the thread's conversation (or a new one); False: nothing to answer."""
        engine, thread_ts = self._engine, where.thread_ts or message.ts
        refused = self._gate.refused_agents(message.user, message.channel)
        if self._default_agent is not None:
            continued = engine.continue_or_start(
                conversation_id=conv_id,
                default_agent=self._default_agent,
                message=stored,
                team_id=message.team,
                channel_id=message.channel,
                thread_ts=thread_ts,
                refuse_agents=refused,
            )
            if continued.forgotten:
                raise ThreadForgottenError(conv_id)
            if continued.refused:
                self._gate.tell(self._client, where, continued.agent)
            return not continued.refused
        outcome = engine.reply(conversation_id=conv_id, message=stored, refuse_agents=refused)
        if outcome is ReplyOutcome.REFUSED:
            self._gate.tell(self._client, where, engine.current_agent(conv_id) or "this thread's agent")
            return False
        if outcome is ReplyOutcome.NOT_FOUND:
            self._client.chat_postMessage(channel=message.channel, thread_ts=thread_ts, text=NO_DEFAULT)
            return False
        return True

    def _ask_to_forget(self, message: Message, conv_id: str, where: Where) -> None:
        """``@architect-bot forget`` in a thread: the confirmation (or why not), to that person only."""
        if not message.thread_ts or not message.user:
            outside = Where(message.channel, message.user)
            self._replies.refuse(self._client, outside, OUTSIDE_THREAD, kind="forget_outside_thread")
            return
        text, blocks = self._forget.prompt(conv_id, message.user)
        self._client.chat_postEphemeral(
            channel=message.channel, user=message.user, text=text, blocks=blocks, thread_ts=message.thread_ts
        )
