"""Thread replies, mentions and what the slackbot must ignore, end to end."""

from __future__ import annotations

import threading
import time

from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, OTHER_USER, USER, Bot


def _start_review(slackbot: Bot, text: str = "review a queue-based ingest") -> str:
    slackbot.command(text)
    slackbot.lazy()
    return slackbot.root().ts


def test_reply_continues_with_whole_thread(slackbot: Bot) -> None:
    """A reply in the slackbot's thread goes to the thread's agent with every earlier turn as context."""
    slackbot.openai.script(Stream(["First answer."]), Stream(["Second answer."]))
    root = _start_review(slackbot)
    slackbot.message("what about backups?", thread_ts=root, user=OTHER_USER)
    slackbot.lazy()
    answers = slackbot.answers(root)
    assert [a.markdown() for a in answers] == ["First answer.", "Second answer."]
    messages = slackbot.openai.requests[-1].messages
    contents = [m["content"] for m in messages]
    assert any("queue-based ingest" in c for c in contents)
    assert any(m["role"] == "assistant" and "First answer." in m["content"] for m in messages)
    assert f"<@{OTHER_USER}>" in contents[-1]
    assert "what about backups?" in contents[-1]


def test_ignored_messages(slackbot: Bot) -> None:
    """Other threads, top-level chatter, slackbot messages, edits and deletions get no answer."""
    root = _start_review(slackbot)
    calls_before = len(slackbot.openai.requests)
    slackbot.message("unrelated thread", thread_ts="1600000000.000001")
    slackbot.message("top-level chatter", thread_ts=None)
    slackbot.message("from a slackbot", thread_ts=root, user=None, bot_id="B999", subtype="bot_message")
    slackbot.message("my own", thread_ts=root, user="UBOT")
    slackbot.message("", thread_ts=root, subtype="message_changed")
    slackbot.message("", thread_ts=root, subtype="message_deleted")
    slackbot.lazy()
    assert len(slackbot.openai.requests) == calls_before
    assert len(slackbot.answers(root)) == 1


def test_mention_starts_thread_with_director(slackbot: Bot) -> None:
    """`@architect-slackbot <text>` in a channel starts a thread answered by the default agent (Director)."""
    ack, ts = slackbot.mention("design our analytics platform")
    assert ack["statusCode"] == 200
    slackbot.lazy()
    answers = slackbot.answers(ts)
    assert len(answers) == 1
    footer = next(b for b in answers[0].blocks if b["type"] == "context")
    assert "director" in footer["elements"][0]["text"]
    request = slackbot.openai.requests[-1]
    assert "Director" in request.messages[0]["content"]
    assert "<@UBOT>" not in request.messages[-1]["content"]
    assert "design our analytics platform" in request.messages[-1]["content"]


def test_mention_in_thread_does_not_answer_twice(slackbot: Bot) -> None:
    """A mention inside the slackbot's thread arrives as app_mention and message: one answer."""
    root = _start_review(slackbot)
    _, ts = slackbot.mention("and the DR plan?", thread_ts=root)
    # Slack also delivers the same message as a plain message event
    slackbot.message("<@UBOT> and the DR plan?", thread_ts=root, ts=ts)
    slackbot.lazy()
    assert len(slackbot.answers(root)) == 2


def test_slack_retry_gives_one_answer(slackbot: Bot) -> None:
    """Slack retrying an event (same event_id, X-Slack-Retry-Num) produces one answer."""
    root = _start_review(slackbot)
    _, ts = slackbot.message("retry me", thread_ts=root, event_id="EvRETRY1")
    slackbot.message("retry me", thread_ts=root, ts=ts, event_id="EvRETRY1", retry_num=1)
    slackbot.message("retry me", thread_ts=root, ts=ts, event_id="EvRETRY1", retry_num=2)
    slackbot.lazy()
    assert len(slackbot.answers(root)) == 2  # the review's answer + one for the reply


def test_lambda_redelivery_gives_one_answer(slackbot: Bot) -> None:
    """Lambda re-delivering the same lazy invocation does not answer twice."""
    root = _start_review(slackbot)
    slackbot.message("once please", thread_ts=root)
    [invocation] = slackbot.aws_lambda.take()
    slackbot.send(invocation["payload"])
    slackbot.send(invocation["payload"])  # Lambda's retry of the async invocation
    assert len(slackbot.answers(root)) == 2


def test_concurrent_replies_both_kept_not_interleaved(slackbot: Bot) -> None:
    """Two replies at once both reach the history in Slack order; answers never interleave."""
    slackbot.openai.set_default(Stream(["part one ", "part two ", "part three"], delay_s=0.05))
    root = _start_review(slackbot)
    slackbot.message("first question", thread_ts=root, ts=f"{time.time():.6f}")
    slackbot.message("second question", thread_ts=root, ts=f"{time.time() + 0.001:.6f}")
    invocations = slackbot.aws_lambda.take()
    assert len(invocations) == 2
    errors: list[BaseException] = []

    def replay(payload: dict) -> None:
        try:
            slackbot.send(payload)
        except BaseException as error:  # surfaced below
            errors.append(error)

    threads = [threading.Thread(target=replay, args=(i["payload"],)) for i in reversed(invocations)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors
    answers = slackbot.answers(root)
    for answer in answers:
        assert answer.markdown() == "part one part two part three"  # no answer mixes two streams
    last_prompt = [m["content"] for m in slackbot.openai.requests[-1].messages]
    joined = "\n".join(last_prompt)
    assert joined.index("first question") < joined.index("second question")


def test_reply_while_model_down_is_kept(slackbot: Bot) -> None:
    """When the model fails, the thread says so with what to do, and the reply is kept for next time."""
    from tests.fakes.openai_server import Status

    root = _start_review(slackbot)
    slackbot.openai.script(*[Status(500)] * 4)  # the first try and 3 retries
    slackbot.message("the lost question", thread_ts=root)
    slackbot.lazy()
    texts = [str(m.blocks) for m in slackbot.slack.thread(CHANNEL, root)]
    assert any("not answering right now" in t and "Tracking id" in t for t in texts)
    slackbot.openai.script(Stream(["Recovered."]))
    slackbot.message("try again", thread_ts=root)
    slackbot.lazy()
    contents = "\n".join(m["content"] for m in slackbot.openai.requests[-1].messages)
    assert "the lost question" in contents
    assert "try again" in contents
    assert slackbot.answers(root)[-1].markdown() == "Recovered."
    _ = USER
