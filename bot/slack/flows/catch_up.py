"""A held reply comes back: when the store answers again, catch the thread up from Slack and answer once.

A reply held through a longer outage (:mod:`bot.slack.flows.outage`) comes back here after
``HELD_REPLY_RETRY_S`` (from SQS on Lambda, a timer locally). While the store is still away it is held
again, one attempt later, until ``HELD_REPLY_MAX_ATTEMPTS``; then the thread is told plainly. Once the
store answers, the thread is the record: every person's message in it newer than the stored history
(all the replies written during the outage, not only this one) is stored in order, each once (a
message's Slack ts is its turn id, so a second catch-up of the same thread stores nothing), and the
thread's agent answers once, covering them all. A thread the store lost entirely is rebuilt from
Slack as a lost thread always is. A thread forgotten meanwhile is left alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot import runtime
from bot.core.engine import ReplyOutcome
from bot.core.thread_address import conversation_id
from bot.errors import HoldUnavailableError, StoreUnavailableError
from bot.logging import bind_request, get_logger
from bot.slack.flows.outage import update_notice

if TYPE_CHECKING:
    from bot.core.engine import Engine
    from bot.core.held import HeldReplies, HeldReply
    from bot.metrics import Metrics
    from bot.slack.flows.answer import Answerer
    from bot.slack.flows.reading import ThreadReader

log = get_logger("bot.slack.catch_up")


class CatchUpFlow:
    """Catches up and answers one thread after a held reply comes back."""

    def __init__(
        self,
        client: WebClient,
        *,
        engine: Engine,
        reader: ThreadReader,
        answers: Answerer,
        held: HeldReplies,
        metrics: Metrics,
        bot_user_id: str | None,
        retry_s: float,
        max_attempts: int,
    ) -> None:
        self._client = client
        self._engine = engine
        self._reader = reader
        self._answers = answers
        self._held = held
        self._metrics = metrics
        self._bot_user_id = bot_user_id
        self._retry_s = retry_s
        self._max_attempts = max_attempts

    def catch_up(self, held: HeldReply) -> None:
        """Answer the held reply's thread if the store is back; otherwise hold it again (or give up).

        Raises only what the queue should retry (a Slack or model failure while answering is told in
        the thread by the answer itself).
        """
        bind_request(  # the invocation's request id too: every line of the catch-up can be found by it
            request_id=runtime.current().request_id,
            team=held.team_id,
            channel=held.channel_id,
            thread_ts=held.thread_ts,
            phase="held_reply",
        )
        conv_id = conversation_id(held.team_id, held.channel_id, held.thread_ts)
        try:
            if self._engine.is_forgotten(conv_id):
                log.info("held_reply_thread_forgotten")
                return
            known = self._engine.conversation(conv_id)
        except StoreUnavailableError:
            self._again(held)
            return
        if known is None:
            answered = self._rebuild(held, conv_id)
        else:
            last = max((float(t.ts) for t in known.turns if t.role == "user"), default=0.0)
            self._store_unseen(held, conv_id, after=last)
            answered = True
        if answered:
            self._answers.answer(
                conversation_id=conv_id,
                channel=held.channel_id,
                thread_ts=held.thread_ts,
                user_id=held.user_id,
            )
            self._metrics.held_reply("answered")
            log.info("held_reply_answered", attempts=held.attempts)
        update_notice(self._client, held.channel_id, held.notice_ts, answered=answered)

    def _again(self, held: HeldReply) -> None:
        """The store is still away: hold the reply once more, or give up after the last attempt."""
        later = held.again()
        if later.attempts >= self._max_attempts:
            log.error("held_reply_given_up", attempts=later.attempts)
            self._metrics.held_reply("given_up")
            update_notice(self._client, held.channel_id, held.notice_ts, answered=False)
            return
        try:
            self._held.hold(later, delay_s=self._retry_s)
        except HoldUnavailableError:
            update_notice(self._client, held.channel_id, held.notice_ts, answered=False)
            raise
        self._metrics.held_reply("held_again")
        log.info("held_reply_held_again", attempts=later.attempts)

    def _store_unseen(self, held: HeldReply, conv_id: str, *, after: float) -> None:
        """Store each person's message of the thread newer than ``after``, in order (each once)."""
        unseen = self._reader.unseen(
            channel=held.channel_id,
            thread_ts=held.thread_ts,
            after_ts=after,
            bot_user_id=self._bot_user_id,
            deadline=runtime.current().deadline,
        )
        stored = 0
        for message in unseen:
            outcome = self._engine.reply(conversation_id=conv_id, message=message, park_if_missing=False)
            stored += outcome is ReplyOutcome.STORED
        log.info("held_thread_caught_up", read=len(unseen), stored=stored)

    def _rebuild(self, held: HeldReply, conv_id: str) -> bool:
        """The store lost the thread too: rebuild it from Slack (the outage's messages included)."""
        adoption = self._reader.adopt(
            conversation_id=conv_id,
            team_id=held.team_id,
            channel=held.channel_id,
            thread_ts=held.thread_ts,
            bot_user_id=self._bot_user_id,
            bot_id=None,
            joining=False,
            deadline=runtime.current().deadline,
        )
        if adoption.adopted is None or adoption.adopted.forgotten:
            log.warning("held_thread_not_rebuilt", error=adoption.error, not_ours=adoption.not_ours)
            return False
        return True
