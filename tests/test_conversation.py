"""Which user turns are still waiting for an answer."""

from __future__ import annotations

from bot.core.conversation import Conversation, ConversationMeta, Role, Turn


def _conv(*turns: Turn, dropped: int = 0) -> Conversation:
    meta = ConversationMeta(id="c", agent="a", created_at=0, updated_at=0, dropped_turns=dropped)
    return Conversation(meta=meta, turns=turns)


def _user(turn_id: str) -> Turn:
    return Turn(id=turn_id, role=Role.USER, text=turn_id, ts="1.0")


def _answer(turn_id: str, *answered: str) -> Turn:
    return Turn(id=turn_id, role=Role.ASSISTANT, text=turn_id, ts="2.0", answered=answered)


def test_reply_during_streaming_stays_pending() -> None:
    """A reply stored before the answer (it was written while streaming) is still waiting."""
    conversation = _conv(_user("q1"), _user("q2"), _answer("a1", "q1"))
    assert [t.id for t in conversation.pending_user_turns()] == ["q2"]


def test_failed_turns_are_picked_up_by_the_next_answer() -> None:
    """A question whose answer failed stays pending together with the next one."""
    conversation = _conv(_user("q1"), _answer("a1", "q1"), _user("q2"), _user("q3"))
    assert [t.id for t in conversation.pending_user_turns()] == ["q2", "q3"]


def test_turn_cap_dropping_an_old_answer_does_not_reopen_the_first_question() -> None:
    """After the cap dropped the first answer, the kept first question is not answered again."""
    conversation = _conv(_user("q1"), _user("q5"), _answer("a5", "q5"), _user("q6"), dropped=3)
    assert [t.id for t in conversation.pending_user_turns()] == ["q6"]


def test_earlier_message_answered_after_a_later_one_stays_pending() -> None:
    """Two messages at once: if the later one is answered first, the earlier one still gets an answer."""
    conversation = _conv(_user("q0"), _answer("a0", "q0"), _user("q1"), _user("q2"), _answer("a2", "q2"))
    assert [t.id for t in conversation.pending_user_turns()] == ["q1"]
