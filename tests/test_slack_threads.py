"""Thread replies, mentions and what the bot must ignore, end to end."""

from __future__ import annotations

import threading
import time

from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, OTHER_USER, USER, Bot, bot  # noqa: F401 - fixture


def _start_review(bot: Bot, text: str = "review a queue-based ingest") -> str:
    bot.command(text)
    bot.lazy()
    return bot.root().ts


def test_reply_continues_with_whole_thread(bot: Bot) -> None:
    """A reply in the bot's thread goes to the thread's agent with every earlier turn as context."""
    bot.openai.script(Stream(["First answer."]), Stream(["Second answer."]))
    root = _start_review(bot)
    bot.message("what about backups?", thread_ts=root, user=OTHER_USER)
    bot.lazy()
    answers = bot.answers(root)
    assert [a.markdown() for a in answers] == ["First answer.", "Second answer."]
    messages = bot.openai.requests[-1].messages
    contents = [m["content"] for m in messages]
    assert any("queue-based ingest" in c for c in contents)
    assert any(m["role"] == "assistant" and "First answer." in m["content"] for m in messages)
    assert f"<@{OTHER_USER}>" in contents[-1] and "what about backups?" in contents[-1]


def test_ignored_messages(bot: Bot) -> None:
    """Other threads, top-level chatter, bot messages, edits and deletions get no answer."""
    root = _start_review(bot)
    calls_before = len(bot.openai.requests)
    bot.message("unrelated thread", thread_ts="1600000000.000001")
    bot.message("top-level chatter", thread_ts=None)
    bot.message("from a bot", thread_ts=root, user=None, bot_id="B999", subtype="bot_message")
    bot.message("my own", thread_ts=root, user="UBOT")
    bot.message("", thread_ts=root, subtype="message_changed")
    bot.message("", thread_ts=root, subtype="message_deleted")
    bot.lazy()
    assert len(bot.openai.requests) == calls_before
    assert len(bot.answers(root)) == 1


def test_mention_starts_thread_with_director(bot: Bot) -> None:
    """`@architect-bot <text>` in a channel starts a thread answered by the default agent (Director)."""
    ack, ts = bot.mention("design our analytics platform")
    assert ack["statusCode"] == 200
    bot.lazy()
    answers = bot.answers(ts)
    assert len(answers) == 1
    assert "director" in answers[0].blocks[-2]["elements"][0]["text"] or any(
        "director" in str(b) for b in answers[0].blocks
    )
    request = bot.openai.requests[-1]
    assert "Director" in request.messages[0]["content"]
    assert "<@UBOT>" not in request.messages[-1]["content"]
    assert "design our analytics platform" in request.messages[-1]["content"]


def test_mention_in_thread_does_not_answer_twice(bot: Bot) -> None:
    """A mention inside the bot's thread arrives as app_mention and message: one answer."""
    root = _start_review(bot)
    _, ts = bot.mention("and the DR plan?", thread_ts=root)
    # Slack also delivers the same message as a plain message event
    bot.message("<@UBOT> and the DR plan?", thread_ts=root, ts=ts)
    bot.lazy()
    assert len(bot.answers(root)) == 2


def test_slack_retry_gives_one_answer(bot: Bot) -> None:
    """Slack retrying an event (same event_id, X-Slack-Retry-Num) produces one answer."""
    root = _start_review(bot)
    _, ts = bot.message("retry me", thread_ts=root, event_id="EvRETRY1")
    bot.message("retry me", thread_ts=root, ts=ts, event_id="EvRETRY1", retry_num=1)
    bot.message("retry me", thread_ts=root, ts=ts, event_id="EvRETRY1", retry_num=2)
    bot.lazy()
    assert len(bot.answers(root)) == 2  # the review's answer + one for the reply


def test_lambda_redelivery_gives_one_answer(bot: Bot) -> None:
    """Lambda re-delivering the same lazy invocation does not answer twice."""
    root = _start_review(bot)
    bot.message("once please", thread_ts=root)
    [invocation] = bot.aws_lambda.take()
    bot.send(invocation["payload"])
    bot.send(invocation["payload"])  # Lambda's retry of the async invocation
    assert len(bot.answers(root)) == 2


def test_concurrent_replies_both_kept_not_interleaved(bot: Bot) -> None:
    """Two replies at once both reach the history in Slack order; answers never interleave."""
    bot.openai.set_default(Stream(["part one ", "part two ", "part three"], delay_s=0.05))
    root = _start_review(bot)
    bot.message("first question", thread_ts=root, ts=f"{time.time():.6f}")
    bot.message("second question", thread_ts=root, ts=f"{time.time() + 0.001:.6f}")
    invocations = bot.aws_lambda.take()
    assert len(invocations) == 2
    errors: list[BaseException] = []

    def replay(payload: dict) -> None:
        try:
            bot.send(payload)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=replay, args=(i["payload"],)) for i in reversed(invocations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    answers = bot.answers(root)
    for answer in answers:
        assert answer.markdown() == "part one part two part three"  # no answer mixes two streams
    last_prompt = [m["content"] for m in bot.openai.requests[-1].messages]
    joined = "\n".join(last_prompt)
    assert joined.index("first question") < joined.index("second question")


def test_reply_while_model_down_is_kept(bot: Bot) -> None:
    """When the model fails, the thread says so with what to do, and the reply is kept for next time."""
    from tests.fakes.openai_server import Status

    root = _start_review(bot)
    bot.openai.script(*[Status(500)] * 4)  # the first try and 3 retries
    bot.message("the lost question", thread_ts=root)
    bot.lazy()
    texts = [str(m.blocks) for m in bot.slack.thread(CHANNEL, root)]
    assert any("not answering right now" in t and "Tracking id" in t for t in texts)
    bot.openai.script(Stream(["Recovered."]))
    bot.message("try again", thread_ts=root)
    bot.lazy()
    contents = "\n".join(m["content"] for m in bot.openai.requests[-1].messages)
    assert "the lost question" in contents and "try again" in contents
    assert bot.answers(root)[-1].markdown() == "Recovered."
    _ = USER
