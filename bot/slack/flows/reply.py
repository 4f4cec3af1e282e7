"""A person's reply in a thread: answered when the thread is one of the bot's conversations.

Storing the reply (idempotent by its Slack ts) is its delivery claim, and answering covers only
what is pending under the thread's lock: a re-delivery finds ``DUPLICATE`` and answers only what an
earlier attempt left. Its files are read (only in threads the bot keeps); a reply that mentions
people but not the bot is kept as context, not answered. When the store lost the thread (a reply
under the bot's own message finds no conversation), the conversation is rebuilt from the thread as
Slack gives it back; when the store cannot be reached, a reply under the bot's own message is held
through the outage (:mod:`bot.slack.flows.outage`; past its window it is held for a catch-up,
:mod:`bot.slack.flows.catch_up`) and any other reply is left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot import runtime
from bot.core.engine import ReplyOutcome
from bot.core.held import HeldReply
from bot.core.notices import Notice
from bot.core.thread_address import conversation_id
from bot.errors import StoreUnavailableError
from bot.logging import get_logger
from bot.slack.flows.outage import hold_through_outage
from bot.slack.flows.reading import side_talk
from bot.slack.replies import tell_notices

if TYPE_CHECKING:
    from bot.core.engine import Engine
    from bot.core.files import Attachment
    from bot.core.held import HeldReplies
    from bot.metrics import Metrics
    from bot.slack.flows.access import Gate
    from bot.slack.flows.answer import Answerer
    from bot.slack.flows.outage import OutageNotices
    from bot.slack.flows.reading import ThreadReader
    from bot.slack.payload import Message, Where

log = get_logger("bot.slack.reply")


class ReplyFlow:
    """Answers thread replies for one request."""

    def __init__(
        self,
        client: WebClient,
        *,
        engine: Engine,
        gate: Gate,
        reader: ThreadReader,
        answers: Answerer,
        metrics: Metrics,
        outage_window_s: float,
        held: HeldReplies | None = None,
        held_retry_s: float = 60.0,
        notices: OutageNotices | None = None,
    ) -> None:
        self._client = client
        self._engine = engine
        self._gate = gate
        self._reader = reader
        self._answers = answers
        self._metrics = metrics
        self._outage_window_s = outage_window_s
        self._held = held
        self._held_retry_s = held_retry_s
        self._notices = notices

    def reply(self, message: Message) -> None:
        """Store the reply and answer it (or rebuild the lost thread first, or hold through an outage)."""
        thread_ts = message.thread_ts or message.ts
        under_bot = message.parent_user_id == message.bot_user_id
        try:
            self._reply(message, thread_ts, under_bot=under_bot)
        except StoreUnavailableError as error:
            if not under_bot:
                # Without Redis we cannot tell whether this thread is ours: stay out of other people's
                # threads (the error metric still alarms). Threads under the bot's own message are told.
                self._metrics.error(error.kind)
                log.warning("store_unavailable_unknown_thread", detail=error.detail)
                return
            hold_through_outage(
                self._client,
                metrics=self._metrics,
                window_s=self._outage_window_s,
                channel=message.channel,
                thread_ts=thread_ts,
                work=lambda: self._reply(message, thread_ts, under_bot=under_bot),
                hold=self._holder(message, thread_ts),
                notices=self._notices,
            )

    def _holder(self, message: Message, thread_ts: str) -> Callable[[str | None], None] | None:
        """How to hold this reply past the outage window (None: it cannot be held here)."""
        held, team = self._held, message.team
        if held is None or team is None:
            return None

        def hold(notice_ts: str | None) -> None:
            reply = HeldReply(
                team_id=team,
                channel_id=message.channel,
                thread_ts=thread_ts,
                message_ts=message.ts,
                user_id=message.user,
                notice_ts=notice_ts,
            )
            held.hold(reply, delay_s=self._held_retry_s)

        return hold

    def _reply(self, message: Message, thread_ts: str, *, under_bot: bool) -> None:
        conv_id = conversation_id(message.team, message.channel, thread_ts)
        where = message.where(thread_ts)
        if message.files and not under_bot and not self._engine.knows(conv_id):
            log.info("not_our_thread")  # someone else's thread: their files are not downloaded
            return
        refused = self._gate.refused_agents(message.user, message.channel)
        stored, notices = self._reader.message(
            text=message.text,
            user_id=message.user,
            ts=message.ts,
            files=message.files,
            deadline=runtime.current().deadline,
        )
        outcome = self._engine.reply(
            conversation_id=conv_id,
            message=stored,
            # under the bot's own message: the conversation may still be being created, or lost
            park_if_missing=under_bot,
            refuse_agents=refused,
        )
        if outcome is ReplyOutcome.REFUSED:
            self._gate.tell(self._client, where, self._engine.current_agent(conv_id) or "this thread's agent")
            return
        if outcome is ReplyOutcome.NOT_FOUND:
            log.info("not_our_thread")
            return
        if outcome is ReplyOutcome.DUPLICATE:
            # a re-delivery (Slack retry, Lambda retry): the reply's own id is its claim. Answer only
            # what is still pending (an attempt that crashed before answering); otherwise nothing.
            log.info("duplicate_delivery")
        else:
            if outcome is ReplyOutcome.PARKED and not self._recover(
                message, conv_id, where, attachments=stored.attachments, notices=notices, refused=refused
            ):
                return
            tell_notices(self._client, channel=message.channel, thread_ts=thread_ts, notices=notices)
            if side_talk(message.text):
                log.info("side_talk_kept")  # context for the agent, not a question to it
                return
        self._answers.answer(
            conversation_id=conv_id, channel=message.channel, thread_ts=thread_ts, user_id=message.user
        )

    def _recover(
        self,
        message: Message,
        conv_id: str,
        where: Where,
        *,
        attachments: tuple[Attachment, ...],
        notices: list[Notice],
        refused: frozenset[str],
    ) -> bool:
        """A reply under the bot's own message found no conversation: the reply overtook its creation,
        or the store lost it. The thread tells: rebuild the conversation from it (the parked reply
        comes along; a concurrent start is harmless). True when there is now a conversation to answer
        in; otherwise the person was told why (or the thread is not one of the bot's conversations)."""
        thread_ts = where.thread_ts or message.ts
        adoption = self._reader.adopt(
            conversation_id=conv_id,
            team_id=message.team,
            channel=message.channel,
            thread_ts=thread_ts,
            bot_user_id=message.bot_user_id,
            bot_id=message.bot_id,
            known={message.ts: attachments},
            joining=False,
            deadline=runtime.current().deadline,
        )
        if adoption.not_ours or (adoption.adopted is not None and adoption.adopted.forgotten):
            log.info("not_our_thread", read_back=True)
            return False
        notices[:0] = adoption.notices
        if adoption.adopted is None:
            notices.append(Notice.thread_unavailable(adoption.error or "Slack gave nothing back"))
            tell_notices(self._client, channel=message.channel, thread_ts=thread_ts, notices=notices)
            return False
        if adoption.adopted.agent in refused:
            self._gate.tell(self._client, where, adoption.adopted.agent)
            return False
        return True
