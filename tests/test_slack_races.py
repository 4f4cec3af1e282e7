"""Races a busy channel produces, end to end through the Lambda handler."""

from __future__ import annotations

import threading
from typing import Any

from tests.fakes.openai_server import Stream
from tests.harness import OTHER_USER, USER, Bot


def test_reply_sent_before_the_conversation_exists_is_answered(slackbot: Bot) -> None:
    """Someone replies under the request message in the instant before the bot has created the
    thread's conversation: the reply is not dropped, the first answer covers it too."""
    slackbot.openai.script(Stream(["One answer for both."]))
    workspace = slackbot.slack.workspace
    original = workspace.post
    replied: list[str] = []

    def post_then_reply(**kwargs: Any) -> Any:
        message = original(**kwargs)
        if not replied and kwargs.get("thread_ts") is None:  # the request message: the thread's root
            replied.append(message.ts)
            # delivered and run to completion while the command's own run waits for this post
            slackbot.message("also consider multi-region", thread_ts=message.ts, user=OTHER_USER)
            slackbot.lazy()
        return message

    workspace.post = post_then_reply  # type: ignore[method-assign]
    slackbot.command("review a queue-based ingest")
    slackbot.lazy()

    root = replied[0]
    answers = slackbot.answers(root)
    assert [a.markdown() for a in answers] == ["One answer for both."]
    assert len(slackbot.openai.requests) == 1
    prompt = " ".join(m["content"] for m in slackbot.openai.requests[0].messages)
    assert "queue-based ingest" in prompt
    assert "also consider multi-region" in prompt


def test_two_mentions_at_the_same_moment_share_one_conversation(slackbot: Bot) -> None:
    """Two people mention the bot in one thread at once: one conversation, both mentions answered,
    no empty "thinking" placeholder left behind, and never two answers to the same message."""
    slackbot.openai.script(Stream(["Answer."]), Stream(["Answer."]))
    _, root = slackbot.message("our design discussion", thread_ts=None)
    slackbot.mention("what do you think?", thread_ts=root, user=USER)
    slackbot.mention("and about costs?", thread_ts=root, user=OTHER_USER)
    invocations = slackbot.aws_lambda.take()
    assert len(invocations) == 2

    def run(invocation: dict[str, Any]) -> None:
        slackbot.send(invocation["payload"])

    threads = [threading.Thread(target=run, args=(inv,)) for inv in invocations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    thread_messages = slackbot.slack.thread("C1", root)
    assert not any("is thinking" in m.markdown() for m in thread_messages)
    answers = slackbot.answers(root)
    assert 1 <= len(answers) == len(slackbot.openai.requests) <= 2
    last_prompt = " ".join(m["content"] for m in slackbot.openai.requests[-1].messages)
    assert "what do you think?" in last_prompt
    assert "and about costs?" in last_prompt
    first_prompt = slackbot.openai.requests[0].messages[-1]["content"]
    if len(answers) == 2:  # the second answer only came because its mention was not yet covered
        assert "and about costs?" not in first_prompt or "what do you think?" not in first_prompt
