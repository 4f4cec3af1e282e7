"""The thread as the record (pure core): message marks and rebuilding a conversation from a thread."""

from __future__ import annotations

from bot.core.conversation import Role
from bot.core.thread_record import (
    AnswerMark,
    HandoffMark,
    RequestMark,
    ThreadMessage,
    mentions,
    metadata,
    read_mark,
    rebuild,
    strip_mention,
)


def test_marks_round_trip_through_slack_metadata() -> None:
    """What the bot writes in a message's metadata reads back as the same mark: ids and names only."""
    marks = [
        AnswerMark(agent="backend-builder", answer_id="a-0123abcd", buttons="live"),
        HandoffMark(
            from_agent="director", to_agent="backend-builder", answer_id="a-1", label="Build it", by_user="U1"
        ),
        RequestMark(agent="backend-builder", user="U1"),
    ]
    for mark in marks:
        raw = metadata(mark)
        assert raw["event_type"].startswith("architect_")
        assert read_mark(raw) == mark
    assert metadata(marks[0]) == {
        "event_type": "architect_answer",
        "event_payload": {"agent": "backend-builder", "answer_id": "a-0123abcd", "buttons": "live"},
    }


def test_foreign_or_forged_metadata_is_ignored() -> None:
    """Another app's metadata, extra fields or text smuggled into ids are not taken as the bot's marks."""
    assert read_mark(None) is None
    assert read_mark({"event_type": "deploy_started", "event_payload": {"agent": "x"}}) is None
    assert read_mark({"event_type": "architect_answer", "event_payload": "nope"}) is None
    assert (
        read_mark(
            {
                "event_type": "architect_answer",
                "event_payload": {"agent": "a", "answer_id": "x", "secret": "s"},
            }
        )
        is None
    )
    assert (
        read_mark(
            {"event_type": "architect_answer", "event_payload": {"agent": "a", "answer_id": "has spaces"}}
        )
        is None
    )


def person(ts: str, text: str, user: str = "U1") -> ThreadMessage:
    return ThreadMessage(ts=ts, text=text, user_id=user)


def bot(ts: str, text: str, mark: AnswerMark | HandoffMark | RequestMark | None) -> ThreadMessage:
    return ThreadMessage(ts=ts, text=text, user_id="UBOT", from_bot=True, mark=mark)


def test_a_bot_thread_rebuilds_with_its_agent_turns_and_live_buttons() -> None:
    """After a handoff the thread's current agent is the target; the latest answer's buttons stay live."""
    messages = [
        bot("100.000001", "design a queue", RequestMark(agent="director", user="U1")),
        bot("100.000002", "Here is a plan.", AnswerMark(agent="director", answer_id="a-1", buttons="used")),
        bot(
            "100.000003",
            "U1 handed this thread",
            HandoffMark(
                from_agent="director",
                to_agent="backend-builder",
                answer_id="a-1",
                by_user="U1",
                model="gpt-4o",
            ),
        ),
        bot("100.000004", "Part one.", AnswerMark(agent="backend-builder", answer_id="a-2", buttons="live")),
        bot("100.000005", "Part two.", AnswerMark(agent="backend-builder", answer_id="a-2", buttons="live")),
        person("100.000006", "what about retries?", "U2"),
        bot("100.000007", ":warning: something failed", None),
        person("100.000008", "and idempotency?"),
    ]
    rebuilt = rebuild(messages)
    assert rebuilt.agent == "backend-builder"
    assert rebuilt.model == "gpt-4o"  # the handoff's model answers from then on
    assert rebuilt.last_answer_id == "a-2"
    assert [h.to_agent for h in rebuilt.handoffs] == ["backend-builder"]
    assert [(t.role, t.id) for t in rebuilt.turns] == [
        (Role.USER, "100.000001"),
        (Role.ASSISTANT, "a-1"),
        (Role.USER, "handoff-a-1"),  # the handoff's prompt (the engine fills in its text)
        (Role.ASSISTANT, "a-2"),
        (Role.USER, "100.000006"),
        (Role.USER, "100.000008"),
    ]
    first, plan, handoff, answer = rebuilt.turns[:4]
    assert first.user_id == "U1"
    assert first.text == "design a queue"
    assert plan.answered == ("100.000001",)
    assert (handoff.user_id, handoff.agent, handoff.text) == ("U1", "backend-builder", "")
    assert answer.text == "Part one.\n\nPart two."
    assert answer.agent == "backend-builder"
    assert answer.answered == ("handoff-a-1",)
    assert rebuilt.pending == ("100.000006", "100.000008")
    assert rebuilt.answers == 2
    assert rebuilt.messages == len(messages)


def test_a_foreign_thread_is_who_said_what() -> None:
    """A thread the bot never spoke in has no agent; people's messages (and file notes) are its turns."""
    messages = [
        person("200.1", "Proposal: move to Kafka", "U2"),
        ThreadMessage(
            ts="200.2", text="see attached", user_id="U3", file_notes=("file old.docx could not be read",)
        ),
        person("200.3", "", "U4"),
    ]
    rebuilt = rebuild(messages)
    assert rebuilt.agent is None
    assert rebuilt.last_answer_id is None
    assert [t.user_id for t in rebuilt.turns] == ["U2", "U3"]
    assert rebuilt.turns[1].text == "see attached\n\n[file old.docx could not be read]"
    assert rebuilt.pending == ("200.1", "200.2")


def test_marks_on_other_peoples_messages_are_not_trusted() -> None:
    """Only the bot's own messages can say which agent owns the thread."""
    forged = ThreadMessage(
        ts="300.1", text="hi", user_id="U9", mark=AnswerMark(agent="evil", answer_id="a-x", buttons="live")
    )
    rebuilt = rebuild([forged])
    assert rebuilt.agent is None
    assert rebuilt.turns[0].role is Role.USER


def test_mentions_are_found_and_the_bots_is_stripped() -> None:
    """A reply's mentions tell who it is addressed to; the bot's own mention is not part of the request."""
    assert mentions("<@U2> what do you think? cc <@U3|bob> <@U2>") == ("U2", "U3")
    assert strip_mention("<@UBOT> review <@U2>'s plan", "UBOT") == "review <@U2>'s plan"
    assert strip_mention("  hi ", None) == "hi"
