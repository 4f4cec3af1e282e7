"""/architect end to end: signed requests through the Lambda handler, fake Slack and OpenAI."""

from __future__ import annotations

from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, USER, Bot

SEED_FIRST_LINE = "You are a ruthless backend and DevOps chief architect."


def test_review_posts_request_and_answers_in_thread(slackbot: Bot) -> None:
    """`/architect review <design>` shows who asked which agent, and backend-builder answers in its thread."""
    slackbot.openai.script(Stream(["## Assumptions\n", "Your design ", "is trash."]))
    ack = slackbot.command("review a monolith on one VM")
    assert ack["statusCode"] == 200
    assert slackbot.slack.calls_of("chat.postMessage") == []  # nothing slow in the ack
    slackbot.lazy()
    root = slackbot.root()
    assert f"<@{USER}>" in root.blocks[0]["elements"][0]["text"]
    assert "backend-builder" in root.blocks[0]["elements"][0]["text"]
    assert "a monolith on one VM" in root.markdown()
    answers = slackbot.answers(root.ts)
    assert len(answers) == 1
    assert answers[0].markdown() == "## Assumptions\nYour design is trash."
    assert [b["text"]["text"] for b in answers[0].buttons()] == ["⬅ Back to Director", "📝 Save as canvas"]
    request = slackbot.openai.requests[-1]
    assert request.model == "gpt-4.1"
    assert request.messages[0]["role"] == "system"
    assert SEED_FIRST_LINE in request.messages[0]["content"]
    assert "a monolith on one VM" in request.messages[-1]["content"]


def test_any_agent_by_name(slackbot: Bot) -> None:
    """`/architect <agent-name> <text>` reaches that agent."""
    slackbot.command("director plan a payments system")
    slackbot.lazy()
    root = slackbot.root()
    assert "director" in root.blocks[0]["elements"][0]["text"]
    assert len(slackbot.answers(root.ts)) == 1
    assert "Director" in slackbot.openai.requests[-1].messages[0]["content"]


def test_help_is_ephemeral_and_calls_no_model(slackbot: Bot) -> None:
    """`/architect help` (and `?`) list agents with verbs, privately, without the model (a bare
    `/architect` opens the form: tests/test_slack_picker.py)."""
    import json

    for text in ("help", "?"):
        ack = slackbot.command(text)
        body = json.loads(ack["body"])
        assert body["response_type"] == "ephemeral"
        shown = json.dumps(body["blocks"])
        for name in ("backend-builder", "director", "frontend-builder", "tokenomics-builder"):
            assert name in shown
        assert "`review`" in shown
    slackbot.lazy()
    assert slackbot.openai.requests == []
    assert slackbot.slack.calls_of("chat.postMessage") == []


def test_unknown_verb_and_missing_text_explain(slackbot: Bot) -> None:
    """A wrong verb, or a verb with nothing to work on, says what is wrong and what works."""
    import json

    body = json.loads(slackbot.command("reveiw my design")["body"])
    assert body["response_type"] == "ephemeral"
    assert "reveiw" in body["text"]
    assert "`review`" in body["text"]
    body = json.loads(slackbot.command("review")["body"])
    assert "needs something to work on" in body["text"]
    slackbot.lazy()
    assert slackbot.openai.requests == []
    assert slackbot.slack.top_level(CHANNEL) == []
