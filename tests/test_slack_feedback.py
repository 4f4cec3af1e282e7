"""Feedback buttons and stale handoff buttons end to end through the Lambda handler."""

from __future__ import annotations

import json

import pytest

from bot.core.conversation import Conversation
from bot.slack.blocks import FEEDBACK_COMMENT_ACTION, FEEDBACK_COMMENT_BLOCK
from tests.fakes.openai_server import Stream
from tests.fakes.slack_server import Message
from tests.harness import CHANNEL, OTHER_USER, TEAM, USER, Bot, running_engine
from tests.slack_ui import feedback, handoff_buttons, submit

BACK = "⬅ Back to Director"


def _conversation(root: str) -> Conversation:
    found = running_engine().conversation(f"{TEAM}:{CHANNEL}:{root}")
    assert found is not None
    return found


def _review(slackbot: Bot, *answers: str) -> str:
    slackbot.openai.script(*(Stream([text]) for text in answers))
    slackbot.command("review our ingest design")
    slackbot.lazy()
    return slackbot.root().ts


def _has_feedback(message: Message) -> bool:
    return any(b["type"] == "context_actions" for b in message.blocks)


@pytest.mark.parametrize("native", [True, False], ids=["streaming-api", "chat-update"])
def test_a_newer_answer_removes_the_older_answers_handoff_buttons(slackbot: Bot, native: bool) -> None:
    """After a reply is answered, only the newest answer offers handoffs; the older one keeps its
    text, footer and feedback buttons."""
    if not native:
        slackbot.slack.refuse_streaming()
    root = _review(slackbot, "First answer.", "Second answer.")
    slackbot.message("and the backups?", thread_ts=root)
    slackbot.lazy()
    first, second = slackbot.answers(root)
    assert handoff_buttons(first) == []
    assert first.markdown() == "First answer."
    assert _has_feedback(first)
    assert "backend-builder" in json.dumps(first.blocks)  # the footer stays
    assert handoff_buttons(second)
    assert list(_conversation(root).meta.shown) == [_conversation(root).meta.last_answer_id]


def test_a_long_answer_loses_its_buttons_from_its_last_message_only(slackbot: Bot) -> None:
    """A split answer carries its buttons on its last message; superseding it removes them there and
    every message keeps its text."""
    long = "\n\n".join(f"Paragraph {i}: " + "word " * 150 for i in range(30))
    root = _review(slackbot, long, "Short.")
    before = [m.markdown() for m in slackbot.answers(root)]
    assert len(before) >= 2
    slackbot.message("thanks", thread_ts=root)
    slackbot.lazy()
    after = slackbot.answers(root)
    assert [m.markdown() for m in after[:-1]] == before
    assert all(handoff_buttons(m) == [] for m in after[:-1])
    assert handoff_buttons(after[-1])


def test_the_modal_handoff_also_removes_the_used_buttons(slackbot: Bot) -> None:
    """Handing off through the prompt editor (send: false) takes the used buttons away too."""
    root = _review(slackbot, "Backend says: add a queue.", "Director integrates.")
    answer = slackbot.answers(root)[-1]
    slackbot.click(answer, BACK)
    view = slackbot.slack.views[-1]["view"]
    slackbot.lazy()
    slackbot.submit_view(view, "Integrate it.")
    slackbot.lazy()
    old = next(m for m in slackbot.slack.thread(CHANNEL, root) if m.ts == answer.ts)
    assert handoff_buttons(old) == []
    assert "handed this thread" not in json.dumps(old.blocks)  # announced once, by the thread line
    assert old.markdown() == "Backend says: add a queue."
    assert handoff_buttons(slackbot.answers(root)[-1])


def test_every_answer_has_feedback_buttons_and_one_vote_per_person(
    slackbot: Bot, capsys: pytest.CaptureFixture[str]
) -> None:
    """Thumbs up is counted for the answer's agent; the same click again changes nothing; switching
    to thumbs down replaces the vote (and offers a comment); other people vote on their own."""
    root = _review(slackbot, "Use a queue.")
    [answer] = slackbot.answers(root)
    assert _has_feedback(answer)
    feedback(slackbot, answer, True)
    slackbot.lazy()
    feedback(slackbot, answer, True)  # a second click of the same thumb
    slackbot.lazy()
    votes = _conversation(root).meta.votes[_conversation(root).meta.last_answer_id or ""]
    assert {user: v.value for user, v in votes.items()} == {USER: 1}
    assert running_engine().feedback_by_agent() == {"backend-builder": (1, 0)}
    assert slackbot.slack.views == []  # no comment asked for a thumbs up
    feedback(slackbot, answer, False)
    slackbot.lazy()
    feedback(slackbot, answer, False, user=OTHER_USER)
    slackbot.lazy()
    votes = _conversation(root).meta.votes[_conversation(root).meta.last_answer_id or ""]
    assert {user: v.value for user, v in votes.items()} == {USER: -1, OTHER_USER: -1}
    assert running_engine().feedback_by_agent() == {"backend-builder": (0, 2)}
    out = capsys.readouterr().out
    assert '"FeedbackUp":1,"FeedbackDown":0' in out
    assert '"FeedbackUp":-1,"FeedbackDown":1' in out


def test_a_thumbs_down_offers_an_optional_comment_kept_with_the_vote(slackbot: Bot) -> None:
    """After 👎 a small form asks what was wrong; the comment is kept with that vote; skipping it
    keeps the vote."""
    root = _review(slackbot, "Use a queue.")
    [answer] = slackbot.answers(root)
    feedback(slackbot, answer, False)
    [opened] = slackbot.slack.views
    slackbot.lazy()
    values = {
        FEEDBACK_COMMENT_BLOCK: {
            FEEDBACK_COMMENT_ACTION: {"type": "plain_text_input", "value": "No numbers."}
        }
    }
    assert submit(slackbot, opened["view"], values)["statusCode"] == 200
    slackbot.lazy()
    meta = _conversation(root).meta
    vote = meta.votes[meta.last_answer_id or ""][USER]
    assert (vote.value, vote.comment) == (-1, "No numbers.")
    # the comment is not a second vote
    assert running_engine().feedback_by_agent() == {"backend-builder": (0, 1)}


def test_a_vote_is_stored_once_whatever_slack_redelivers(slackbot: Bot) -> None:
    """Lambda re-delivering a click's lazy half stores and counts the vote once."""
    root = _review(slackbot, "Use a queue.")
    [answer] = slackbot.answers(root)
    feedback(slackbot, answer, True)
    [invocation] = slackbot.aws_lambda.take()
    slackbot.send(invocation["payload"])
    slackbot.send(invocation["payload"])
    assert running_engine().feedback_by_agent() == {"backend-builder": (1, 0)}


def test_a_forged_feedback_value_counts_for_no_one(slackbot: Bot) -> None:
    """A feedback value naming an answer that does not exist is refused with a plain message."""
    from bot.core.refs import FeedbackRef
    from tests.slack_ui import act

    root = _review(slackbot, "Use a queue.")
    [answer] = slackbot.answers(root)
    forged = FeedbackRef(conversation_id=f"{TEAM}:{CHANNEL}:{root}", answer_id="a-forged", positive=True)
    act(
        slackbot,
        {"type": "feedback_buttons", "action_id": "feedback", "value": forged.encode()},
        message=answer,
    )
    slackbot.lazy()
    assert running_engine().feedback_by_agent() == {}
    assert "no longer remember that answer" in slackbot.slack.ephemeral[-1]["text"]
