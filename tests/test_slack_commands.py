"""/architect end to end: signed requests through the Lambda handler, fake Slack and OpenAI."""

from __future__ import annotations

from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, USER, Bot, bot  # noqa: F401 - fixture

SEED_FIRST_LINE = "You are a ruthless backend and DevOps chief architect."


def test_review_posts_request_and_answers_in_thread(bot: Bot) -> None:
    """`/architect review <design>` shows who asked which agent, and backend-builder answers in its thread."""
    bot.openai.script(Stream(["## Assumptions\n", "Your design ", "is trash."]))
    ack = bot.command("review a monolith on one VM")
    assert ack["statusCode"] == 200
    assert bot.slack.calls_of("chat.postMessage") == []  # nothing slow in the ack
    bot.lazy()
    root = bot.root()
    assert f"<@{USER}>" in root.blocks[0]["elements"][0]["text"]
    assert "backend-builder" in root.blocks[0]["elements"][0]["text"]
    assert "a monolith on one VM" in root.markdown()
    answers = bot.answers(root.ts)
    assert len(answers) == 1
    assert answers[0].markdown() == "## Assumptions\nYour design is trash."
    assert [b["text"]["text"] for b in answers[0].buttons()] == ["⬅ Back to Director"]
    request = bot.openai.requests[-1]
    assert request.model == "gpt-4.1"
    assert request.messages[0]["role"] == "system"
    assert SEED_FIRST_LINE in request.messages[0]["content"]
    assert "a monolith on one VM" in request.messages[-1]["content"]


def test_any_agent_by_name(bot: Bot) -> None:
    """`/architect <agent-name> <text>` reaches that agent."""
    bot.command("director plan a payments system")
    bot.lazy()
    root = bot.root()
    assert "director" in root.blocks[0]["elements"][0]["text"]
    assert len(bot.answers(root.ts)) == 1
    assert "Director" in bot.openai.requests[-1].messages[0]["content"]


def test_help_is_ephemeral_and_calls_no_model(bot: Bot) -> None:
    """`/architect help` and a bare `/architect` list agents with verbs, privately, without the model."""
    import json

    for text in ("help", ""):
        ack = bot.command(text)
        body = json.loads(ack["body"])
        assert body["response_type"] == "ephemeral"
        shown = json.dumps(body["blocks"])
        for name in ("backend-builder", "director", "frontend-builder", "tokenomics-builder"):
            assert name in shown
        assert "`review`" in shown
    bot.lazy()
    assert bot.openai.requests == []
    assert bot.slack.calls_of("chat.postMessage") == []


def test_unknown_verb_and_missing_text_explain(bot: Bot) -> None:
    """A wrong verb, or a verb with nothing to work on, says what is wrong and what works."""
    import json

    body = json.loads(bot.command("reveiw my design")["body"])
    assert body["response_type"] == "ephemeral"
    assert "reveiw" in body["text"] and "`review`" in body["text"]
    body = json.loads(bot.command("review")["body"])
    assert "needs something to work on" in body["text"]
    bot.lazy()
    assert bot.openai.requests == []
    assert bot.slack.top_level(CHANNEL) == []
