"""The thread is the record, end to end through the Lambda handler: files, discussions, side talk,
message metadata, bad inputs, and conversations rebuilt from Slack when the store lost them."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.fakes.documents import diagram, text_pdf
from tests.fakes.openai_server import Stream
from tests.fakes.slack_server import Message
from tests.harness import BOT_TOKEN, CHANNEL, OTHER_USER, ROOT, USER, Bot

THIRD = "U3"


def _review(slackbot: Bot, text: str = "review our ingest design") -> str:
    slackbot.openai.script(Stream(["Backend: add a queue."]))
    slackbot.command(text)
    slackbot.lazy()
    return slackbot.root().ts


def _notices(slackbot: Bot, thread_ts: str) -> str:
    """What the bot told in the thread besides answers (notices and errors)."""
    return "\n".join(m.text for m in slackbot.slack.thread(CHANNEL, thread_ts) if not m.markdown())


def _last_user_content(slackbot: Bot) -> Any:
    return slackbot.openai.requests[-1].messages[-1]["content"]


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    return "\n".join(part["text"] for part in content if part["type"] == "text")


def _prompt_text(slackbot: Bot) -> str:
    return "\n".join(_text_of(m["content"]) for m in slackbot.openai.requests[-1].messages)


def _conversation_keys(slackbot: Bot, prefix: str, redis_client: redis.Redis) -> list[bytes]:
    return list(redis_client.scan_iter(match=f"{prefix}:conv:*"))


# ------------------------------------------------------------------------------------------ files


def test_a_text_file_a_pdf_and_an_image_reach_the_model(slackbot: Bot) -> None:
    """Files attached to a thread reply are read: text and PDF text by name in the prompt, the
    diagram as an image input; downloads use the bot token."""
    root = _review(slackbot)
    png = diagram(1200, 800)
    files = [
        slackbot.slack.share_file("design.md", b"# Ingest\nKafka, 3 partitions.\n", mimetype="text/markdown"),
        slackbot.slack.share_file(
            "spec.pdf",
            text_pdf([["Retention: 7 days"], ["Consumers: 4"]]),
            mimetype="application/pdf",
        ),
        slackbot.slack.share_file("arch.png", png, mimetype="image/png"),
    ]
    slackbot.openai.script(Stream(["Reviewed the files."]))
    slackbot.message("here are the design files", thread_ts=root, files=files)
    slackbot.lazy()
    assert slackbot.answers(root)[-1].markdown() == "Reviewed the files."
    content = _last_user_content(slackbot)
    text = _text_of(content)
    assert "here are the design files" in text
    assert "[file design.md]\n```\n# Ingest\nKafka, 3 partitions.\n\n```" in text
    assert "[PDF spec.pdf (2 pages)]" in text
    assert "--- page 1 ---\nRetention: 7 days" in text
    assert "--- page 2 ---\nConsumers: 4" in text
    assert "[image arch.png, 1200x800: attached below]" in text
    images = [part for part in content if part["type"] == "image_url"]
    assert images == [
        {
            "type": "image_url",
            "image_url": {"url": "data:image/png;base64," + base64.b64encode(png).decode(), "detail": "high"},
        }
    ]
    downloads = slackbot.slack.calls_of("files.download")
    assert {c.token for c in downloads} == {BOT_TOKEN}
    # the image is fetched again for the next answer (Slack is the record; bytes are not stored)
    slackbot.openai.script(Stream(["Still looking."]))
    slackbot.message("and the partitions?", thread_ts=root)
    slackbot.lazy()
    contents = slackbot.openai.requests[-1].messages
    assert any(isinstance(m["content"], list) for m in contents)


def test_images_beyond_the_prompts_image_limit_are_told_by_name(
    slackbot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two screenshots whose bytes exceed what one prompt carries: the model sees the first, and the
    person is told by name which one it did not see and what to do; the message is still answered."""
    first, second = diagram(400, 300), diagram(420, 300)
    monkeypatch.setattr("bot.core.engine.images.MAX_PROMPT_IMAGE_BYTES", len(first) + len(second) - 1)
    root = _review(slackbot)
    files = [
        slackbot.slack.share_file("before.png", first, mimetype="image/png"),
        slackbot.slack.share_file("after.png", second, mimetype="image/png"),
    ]
    slackbot.openai.script(Stream(["Compared what I could see."]))
    slackbot.message("compare these", thread_ts=root, files=files)
    slackbot.lazy()
    assert slackbot.answers(root)[-1].markdown() == "Compared what I could see."
    text = _text_of(_last_user_content(slackbot))
    assert "[image before.png, 400x300: attached below]" in text
    assert "[image after.png, 420x300: not shown to you]" in text
    told = _notices(slackbot, root)
    assert "The agent did not see *after.png*" in told
    assert "Share fewer or smaller images" in told
    assert "before.png" not in told


def test_an_image_for_a_model_that_cannot_see_is_told(
    slackbot: Bot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """An agent on a text-only model gets the message without the image; the person is told so."""
    agents = tmp_path / "agents"
    shutil.copytree(ROOT / "agents", agents)
    (agents / "scribe.agent.md").write_text(
        "---\nname: scribe\ndescription: Takes notes.\nmodel: gpt-3.5-turbo\n---\nYou take notes.\n"
    )
    monkeypatch.setenv("AGENTS_DIR", str(agents))
    slackbot.openai.script(Stream(["Noted."]), Stream(["Noted the diagram."]))
    slackbot.command("scribe note our decisions")
    slackbot.lazy()
    root = slackbot.root().ts
    image = slackbot.slack.share_file("arch.png", diagram(300, 200), mimetype="image/png")
    slackbot.message("see the diagram", thread_ts=root, files=[image])
    slackbot.lazy()
    assert slackbot.answers(root)[-1].markdown() == "Noted the diagram."
    told = _notices(slackbot, root)
    assert "scribe's model (gpt-3.5-turbo) cannot see images" in told
    assert "arch.png" in told
    content = _last_user_content(slackbot)
    assert isinstance(content, str)
    assert "[image arch.png, 300x200: not shown to you]" in content


@pytest.mark.parametrize(
    ("case", "told"),
    [
        ("too_large", "it is 5 kB and I read files up to 1 kB"),
        ("too_many", "You shared 3 files in one message; I read the first 2"),
        ("unsupported", "I can't read *plan.docx* (a Word document)"),
        ("broken_pdf", "I couldn't read *broken.pdf*: it does not open as a PDF"),
        ("no_scope", "lacks the `files:read` scope"),
    ],
)
def test_bad_files_are_told_and_the_message_still_answered(
    slackbot: Bot, monkeypatch: pytest.MonkeyPatch, case: str, told: str
) -> None:
    """Each bad input is told in the thread in plain words; the rest of the message is answered."""
    monkeypatch.setenv("MAX_FILE_BYTES", "1000")
    monkeypatch.setenv("MAX_FILES_PER_MESSAGE", "2")
    root = _review(slackbot)
    share = slackbot.slack.share_file
    files = {
        "too_large": [share("big.md", b"x" * 5_000, mimetype="text/markdown")],
        "too_many": [share(f"n{i}.txt", b"note", mimetype="text/plain") for i in range(3)],
        "unsupported": [share("plan.docx", b"PK\x03\x04", mimetype="application/msword", filetype="docx")],
        "broken_pdf": [share("broken.pdf", b"%PDF-1.7 not really", mimetype="application/pdf")],
        "no_scope": [share("design.md", b"# d", mimetype="text/markdown")],
    }[case]
    if case == "no_scope":
        slackbot.slack.workspace.scopes = {"chat:write", "channels:history", "commands"}
    slackbot.openai.script(Stream(["Answered anyway."]))
    slackbot.message("what do you think?", thread_ts=root, files=files)
    slackbot.lazy()
    assert slackbot.answers(root)[-1].markdown() == "Answered anyway."
    assert told in _notices(slackbot, root)
    assert "what do you think?" in _text_of(_last_user_content(slackbot))


# ------------------------------------------------------------------------------------- discussions


def test_a_mention_in_a_discussion_carries_the_whole_thread(slackbot: Bot) -> None:
    """Called into a thread, the agent reads who said what before, with the files shared there;
    the thread is read once: later replies need no new read."""
    parent = slackbot.slack.say("Proposal: move ingest to Kafka", user=OTHER_USER)
    notes = slackbot.slack.share_file("notes.md", b"Latency target: 50 ms", mimetype="text/markdown")
    slackbot.slack.say("I'd keep SQS, see notes", user=THIRD, thread_ts=parent.ts, files=[notes])
    slackbot.openai.script(Stream(["Director weighs in."]), Stream(["Director again."]))
    slackbot.mention("which one should we pick?", thread_ts=parent.ts)
    slackbot.lazy()
    assert slackbot.answers(parent.ts)[-1].markdown() == "Director weighs in."
    prompt = _prompt_text(slackbot)
    assert f"<@{OTHER_USER}>: Proposal: move ingest to Kafka" in prompt
    assert f"<@{THIRD}>: I'd keep SQS, see notes" in prompt
    assert "[file notes.md]" in prompt
    assert "Latency target: 50 ms" in prompt
    assert f"<@{USER}>: which one should we pick?" in _text_of(_last_user_content(slackbot))
    assert len(slackbot.slack.calls_of("conversations.replies")) == 1
    slackbot.message("and the cost?", thread_ts=parent.ts, parent_user_id=OTHER_USER)
    slackbot.lazy()
    assert slackbot.answers(parent.ts)[-1].markdown() == "Director again."
    assert len(slackbot.slack.calls_of("conversations.replies")) == 1  # cached in the conversation


def test_a_reply_to_a_colleague_is_kept_but_not_answered(slackbot: Bot) -> None:
    """People talking among themselves in the bot's thread: no answer, but the next answer knows."""
    root = _review(slackbot)
    calls = len(slackbot.openai.requests)
    slackbot.message(f"<@{OTHER_USER}> can you check the partition count?", thread_ts=root)
    slackbot.lazy()
    assert len(slackbot.openai.requests) == calls
    assert len(slackbot.answers(root)) == 1
    slackbot.openai.script(Stream(["Partitions: 6."]))
    slackbot.message("ok, what does the bot say?", thread_ts=root, user=OTHER_USER)
    slackbot.lazy()
    assert slackbot.answers(root)[-1].markdown() == "Partitions: 6."
    assert "can you check the partition count?" in _prompt_text(slackbot)


def test_a_thread_longer_than_the_cap_is_read_in_part_and_told(
    slackbot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A discussion of more messages than the cap: the first ones are read, the person is told."""
    monkeypatch.setenv("MAX_THREAD_MESSAGES", "10")
    parent = slackbot.slack.say("long discussion", user=OTHER_USER)
    for i in range(14):
        slackbot.slack.say(f"point {i}", user=THIRD, thread_ts=parent.ts)
    slackbot.openai.script(Stream(["Summary."]))
    slackbot.mention("summarise please", thread_ts=parent.ts)
    slackbot.lazy()
    assert slackbot.answers(parent.ts)[-1].markdown() == "Summary."
    assert "more than 10 messages" in _notices(slackbot, parent.ts)
    prompt = _prompt_text(slackbot)
    assert "point 8" in prompt
    assert "point 12" not in prompt
    assert "summarise please" in prompt


# ----------------------------------------------------------------------------------------- metadata


def _marks(slackbot: Bot, thread_ts: str) -> list[tuple[str, dict[str, Any]]]:
    with slackbot.slack.workspace.lock:
        messages = [
            m
            for m in slackbot.slack.workspace.messages.values()
            if m.channel == CHANNEL and thread_ts in (m.thread_ts, m.ts) and m.metadata
        ]
    return [(m.metadata["event_type"], m.metadata["event_payload"]) for m in sorted(messages, key=_ts)]  # type: ignore[index]


def _ts(message: Message) -> float:
    return float(message.ts)


def test_the_bots_messages_carry_the_record_in_metadata(slackbot: Bot) -> None:
    """Request, answers and handoffs are marked (ids and names only), so the thread can be rebuilt."""
    root = _review(slackbot)
    answer = slackbot.answers(root)[-1]
    slackbot.openai.script(Stream(["Director integrates."]))
    slackbot.click(answer, "⬅ Back to Director")
    [opened] = slackbot.slack.views
    slackbot.submit_view(opened["view"], "integrate it")
    slackbot.lazy()
    marks = _marks(slackbot, root)
    kinds = [kind for kind, _ in marks]
    assert kinds == ["architect_request", "architect_answer", "architect_handoff", "architect_answer"]
    request, first, handoff, second = (payload for _, payload in marks)
    assert request == {"agent": "backend-builder", "user": USER}
    assert first["agent"] == "backend-builder"
    assert first["buttons"] == "used"  # the handoff took its buttons down (the modal path too)
    assert handoff["from_agent"] == "backend-builder"
    assert handoff["to_agent"] == "director"
    assert handoff["answer_id"] == first["answer_id"]
    assert second == {"agent": "director", "answer_id": second["answer_id"], "buttons": "live"}
    flat = str(marks)
    assert "ingest" not in flat  # no text in metadata
    assert "integrate it" not in flat


# ----------------------------------------------------------------------------------------- rebuild


def test_a_lost_conversation_is_rebuilt_from_the_thread(
    slackbot: Bot, redis_client: redis.Redis, redis_prefix: str
) -> None:
    """Redis forgot the thread (eviction, flush, TTL): the next reply is answered by the current
    agent (after a handoff) with the whole history, read once from Slack; its buttons still work."""
    root = _review(slackbot)
    slackbot.openai.script(Stream(["Director integrates."]))
    slackbot.click(slackbot.answers(root)[-1], "⬅ Back to Director")
    [opened] = slackbot.slack.views
    slackbot.submit_view(opened["view"], "integrate it")
    slackbot.lazy()
    keys = _conversation_keys(slackbot, redis_prefix, redis_client)
    assert keys
    redis_client.delete(*keys)

    slackbot.openai.script(Stream(["Director remembers."]))
    slackbot.message("so, what is the plan?", thread_ts=root, user=OTHER_USER)
    slackbot.lazy()
    assert slackbot.answers(root)[-1].markdown() == "Director remembers."
    request = slackbot.openai.requests[-1]
    assert "Director" in request.messages[0]["content"]
    prompt = _prompt_text(slackbot)
    assert "our ingest design" in prompt
    assert "[answer by backend-builder]\nBackend: add a queue." in prompt
    assert "Director integrates." in prompt
    assert "so, what is the plan?" in _text_of(request.messages[-1]["content"])
    assert len(slackbot.slack.calls_of("conversations.replies")) == 1
    # the rebuilt conversation's live buttons work
    slackbot.openai.script(Stream(["Backend again."]))
    slackbot.click(slackbot.answers(root)[-1], "➡ Backend / infra review")
    slackbot.lazy()
    assert slackbot.answers(root)[-1].markdown() == "Backend again."
    assert len(slackbot.slack.calls_of("conversations.replies")) == 1
    clicked = [payload for kind, payload in _marks(slackbot, root) if kind == "architect_answer"][-2]
    assert clicked["agent"] == "director"
    assert clicked["buttons"] == "used"  # the clicked answer's buttons are gone, and marked so


RICH_ANSWER = """## Plan

Put a **queue** in front of `ingest`, see [the runbook](https://runbooks.example/ingest).

- one worker per shard
- retries with _backoff_

```python
consume(queue)
```"""


@pytest.mark.parametrize("read_back", ["as_sent", "translated"])
def test_an_answer_is_read_back_whether_slack_returns_its_markdown_or_translated_blocks(
    slackbot: Bot, redis_client: redis.Redis, redis_prefix: str, read_back: str
) -> None:
    """Slack may give the bot's ``markdown`` block back as sent or translated into the blocks it
    rendered (rich text, sections): the rebuilt conversation carries the answer's text either way
    (its list, code and link), and not its footer or buttons."""
    slackbot.openai.script(Stream([RICH_ANSWER]))
    slackbot.command("review our ingest design")
    slackbot.lazy()
    root = slackbot.root().ts
    redis_client.delete(*_conversation_keys(slackbot, redis_prefix, redis_client))
    slackbot.slack.workspace.agent.markdown_read_back = read_back

    slackbot.openai.script(Stream(["Still queues."]))
    slackbot.message("and the retries?", thread_ts=root)
    slackbot.lazy()
    assert slackbot.answers(root)[-1].markdown() == "Still queues."
    prompt = _prompt_text(slackbot)
    for part in ("Plan", "Put a **queue** in front of `ingest`", "[the runbook](https://runbooks.example/ingest)",
                 "- one worker per shard", "- retries with _backoff_", "consume(queue)\n```"):  # fmt: skip
        assert part in prompt
    assert "· gpt" not in prompt  # the footer is not part of the answer
    assert "👍" not in prompt


def test_when_slack_cannot_give_the_thread_back_the_person_is_told(
    slackbot: Bot, redis_client: redis.Redis, redis_prefix: str
) -> None:
    """A lost conversation whose thread Slack refuses to give back: a plain message, never silence."""
    root = _review(slackbot)
    redis_client.delete(*_conversation_keys(slackbot, redis_prefix, redis_client))
    slackbot.slack.fail("conversations.replies", error="missing_scope")
    calls = len(slackbot.openai.requests)
    slackbot.message("still there?", thread_ts=root)
    slackbot.lazy()
    assert len(slackbot.openai.requests) == calls
    told = _notices(slackbot, root)
    assert "I lost my memory of this thread and could not read it back from Slack" in told
    assert "/architect" in told


def test_a_discussion_slack_will_not_give_back_is_said_and_the_mention_answered(slackbot: Bot) -> None:
    """Without channels:history the bot cannot read the discussion: it says so (and which scope to
    add) and still answers the mention itself."""
    parent = slackbot.slack.say("Proposal: shard by tenant", user=OTHER_USER)
    slackbot.slack.workspace.scopes = {"chat:write", "commands", "files:read"}
    slackbot.openai.script(Stream(["Answering the question alone."]))
    slackbot.mention("is sharding worth it?", thread_ts=parent.ts)
    slackbot.lazy()
    assert slackbot.answers(parent.ts)[-1].markdown() == "Answering the question alone."
    told = _notices(slackbot, parent.ts)
    assert "`channels:history`" in told
    assert "I couldn't read the discussion in this thread" in told
    assert "Proposal: shard by tenant" not in _prompt_text(slackbot)
