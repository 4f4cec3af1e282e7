"""Forgetting a conversation on request: its starter or an admin; nothing may rebuild it afterwards."""

from __future__ import annotations

from bot.core.engine.outcomes import ForgetCheck
from bot.core.ports import Conversations
from bot.logging import get_logger

log = get_logger("bot.engine")


class Forgetting:
    """Who may have a conversation forgotten, forgetting it, and whether it was."""

    def __init__(self, *, store: Conversations) -> None:
        self.store = store

    def permission(self, conversation_id: str, *, by_user: str | None, admin: bool) -> ForgetCheck:
        """May ``by_user`` have this conversation forgotten? Its starter (first turn's author) or an admin."""
        if self.store.is_forgotten(conversation_id):
            return ForgetCheck.ALREADY
        conversation = self.store.get(conversation_id)
        if conversation is None:
            return ForgetCheck.NOT_FOUND
        starter = conversation.turns[0].user_id if conversation.turns else None
        if admin or (by_user is not None and by_user == starter):
            return ForgetCheck.ALLOWED
        return ForgetCheck.NOT_ALLOWED

    def forget(self, conversation_id: str, *, by_user: str | None, admin: bool) -> ForgetCheck:
        """Delete the conversation (starter or admin only) and keep it from ever being reopened.

        Returns what happened: ALLOWED means it is forgotten now. Checks the permission again (the
        confirmation button may be clicked long after it was shown).
        """
        check = self.permission(conversation_id, by_user=by_user, admin=admin)
        if check is ForgetCheck.ALLOWED:
            self.store.forget(conversation_id)
            log.info("conversation_forgotten", conversation=conversation_id, by_admin=admin)
        return check

    def is_forgotten(self, conversation_id: str) -> bool:
        """True when the conversation was forgotten on request (nothing may rebuild it)."""
        return self.store.is_forgotten(conversation_id)
