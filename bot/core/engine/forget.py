"""Forgetting a conversation on request: its starter or an admin; nothing may rebuild it afterwards."""

from __future__ import annotations

from bot.core.conversation import Conversation
from bot.core.engine.outcomes import ForgetCheck, Forgotten
from bot.core.ports import Conversations, ThreadRecords
from bot.logging import get_logger

log = get_logger("bot.engine")


class Forgetting:
    """Who may have a conversation forgotten, forgetting it, and whether it was."""

    def __init__(self, *, store: Conversations, records: ThreadRecords) -> None:
        self.store = store
        self.records = records

    def permission(self, conversation_id: str, *, by_user: str | None, admin: bool) -> ForgetCheck:
        """May ``by_user`` have this conversation forgotten? Its starter (first turn's author) or an admin."""
        return self._check(conversation_id, by_user=by_user, admin=admin)[0]

    def _check(
        self, conversation_id: str, *, by_user: str | None, admin: bool
    ) -> tuple[ForgetCheck, Conversation | None]:
        if self.store.is_forgotten(conversation_id):
            return ForgetCheck.ALREADY, None
        conversation = self.store.get(conversation_id)
        if conversation is None:
            return ForgetCheck.NOT_FOUND, None
        starter = conversation.turns[0].user_id if conversation.turns else None
        if admin or (by_user is not None and by_user == starter):
            return ForgetCheck.ALLOWED, conversation
        return ForgetCheck.NOT_ALLOWED, conversation

    def forget(self, conversation_id: str, *, by_user: str | None, admin: bool) -> Forgotten:
        """Delete the conversation (starter or admin only) and keep it from ever being reopened.

        Returns what happened: ALLOWED means it is forgotten now, with nothing left that holds its
        words: the conversation (turns, parked replies, a paused approval, what Slack shows, votes and
        comments) and every participant's recent-threads entry; and the thread's canvas id, for the
        caller to delete in Slack. Checks the permission again (the confirmation button may be
        clicked long after it was shown).
        """
        check, conversation = self._check(conversation_id, by_user=by_user, admin=admin)
        if check is ForgetCheck.ALLOWED and conversation is not None:
            # First the people's recent threads (their titles are the request's first words), then the
            # conversation and its tombstone: a crash in between leaves a conversation to forget again,
            # never a title without its thread. The tombstone keeps them from being written again.
            people = sorted({t.user_id for t in conversation.turns if t.user_id})
            for user_id in people:
                self.records.forget_recent(user_id, conversation_id)
            self.store.forget(conversation_id)
            log.info(
                "conversation_forgotten", conversation=conversation_id, by_admin=admin, people=len(people)
            )
        return Forgotten(check, conversation.meta.canvas_id if conversation is not None else None)

    def is_forgotten(self, conversation_id: str) -> bool:
        """True when the conversation was forgotten on request (nothing may rebuild it)."""
        return self.store.is_forgotten(conversation_id)
