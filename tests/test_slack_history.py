"""Reading a thread back (bot/adapters/slack_history.py) from the Slack emulator over real HTTP."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.adapters.slack_history import SlackHistory, answer_text
from bot.core.conversation import Role
from bot.core.ports import FixedClock
from bot.core.thread_record import AnswerMark, HandoffMark, RequestMark, metadata, rebuild
from tests.fakes.slack_server import FakeSlack
from tests.support import READER_TOKEN

CHANNEL = "C1"


def history(slack: FakeSlack, clock: FixedClock | None = None, **options: int) -> SlackHistory:
    client = WebClient(token=READER_TOKEN, base_url=slack.api_url)
    return SlackHistory(client, bot_user_id="UBOT", bot_id="BBOT", clock=clock or FixedClock(), **options)  # type: ignore[arg-type]


def bot_says(slack: FakeSlack, text: str, thread_ts: str | None, mark: object | None) -> str:
    """A message posted by the bot, as chat.postMessage leaves it (Markdown block, footer, metadata)."""
    blocks = [
        {"type": "markdown", "text": text},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "*director* · gpt-4.1"}]},
    ]
    message = slack.workspace.post(
        channel=CHANNEL,
        user="UBOT",
        bot_id="BBOT",
        text=text[:100],
        blocks=blocks,
        thread_ts=thread_ts,
        metadata=metadata(mark) if mark is not None else None,  # type: ignore[arg-type]
    )
    return message.ts


def a_bot_thread(slack: FakeSlack, replies: int = 0) -> str:
    """A slash-command thread: request, answer, a handoff, an answer, then ``replies`` people's replies."""
    root = bot_says(slack, "design a rate limiter", None, RequestMark(agent="director", user="U1"))
    bot_says(
        slack, "Plan: token bucket.", root, AnswerMark(agent="director", answer_id="a-1", buttons="used")
    )
    bot_says(
        slack,
        "↪ handed over",
        root,
        HandoffMark(from_agent="director", to_agent="backend-builder", answer_id="a-1", by_user="U1"),
    )
    bot_says(
        slack,
        "Build: Redis INCR.",
        root,
        AnswerMark(agent="backend-builder", answer_id="a-2", buttons="live"),
    )
    for i in range(replies):
        slack.say(f"reply {i} <@UBOT>", user="U2" if i % 2 else "U1", thread_ts=root)
    return root


def test_a_thread_reads_back_with_marks_and_rebuilds(slack: FakeSlack) -> None:
    """The bot's messages come back with their marks; people's replies without the bot's mention."""
    root = a_bot_thread(slack, replies=2)
    read = history(slack).read(CHANNEL, root, deadline=100_000.0)
    assert read.complete
    assert read.error is None
    assert read.notices == []
    messages = [m.message for m in read.messages]
    assert [m.from_bot for m in messages] == [True, True, True, True, False, False]
    assert messages[1].text == "Plan: token bucket."  # the Markdown, not the footer
    assert messages[4].text == "reply 0"
    rebuilt = rebuild(messages)
    assert rebuilt.agent == "backend-builder"
    assert rebuilt.last_answer_id == "a-2"
    assert [t.role for t in rebuilt.turns] == [  # request, answer, handoff prompt, answer, 2 replies
        Role.USER,
        Role.ASSISTANT,
        Role.USER,
        Role.ASSISTANT,
        Role.USER,
        Role.USER,
    ]
    assert read.calls == 1
    call = slack.calls_of("conversations.replies")[0]
    assert call.params["include_all_metadata"] in (True, "true", "1")


def test_long_threads_are_paginated(slack: FakeSlack) -> None:
    """A 200-message thread read 15 at a time (Tier 1) takes 14 calls and misses nothing."""
    root = a_bot_thread(slack, replies=196)
    slack.workspace.replies_limit_cap = 15
    read = history(slack).read(CHANNEL, root, deadline=100_000.0)
    assert read.complete
    assert len(read.messages) == 200
    assert read.calls == 14
    assert len({m.message.ts for m in read.messages}) == 200


def test_a_rate_limit_keeps_what_was_read_and_says_so(slack: FakeSlack) -> None:
    """A 429 part way does not wait a minute: the first page is used and the person is told."""
    root = a_bot_thread(slack, replies=40)
    slack.workspace.replies_limit_cap = 15
    read_so_far = history(slack)
    slack.workspace.fail("conversations.replies", status=429, retry_after=60)
    nothing = read_so_far.read(CHANNEL, root, deadline=100_000.0)
    assert nothing.messages == []
    assert nothing.error == "Slack is rate limiting me"
    slack.fail("conversations.replies", status=429, retry_after=60, after=1)  # the second page
    read = read_so_far.read(CHANNEL, root, deadline=100_000.0)
    assert len(read.messages) == 15
    assert not read.complete
    assert [n.kind for n in read.notices] == ["thread_partial"]
    assert "rate limit" in read.notices[0].text


def test_huge_threads_are_capped_with_a_note(slack: FakeSlack) -> None:
    """A thread over the cap keeps the first messages up to the cap, and says so."""
    root = a_bot_thread(slack, replies=60)
    read = history(slack, max_messages=50, page_size=20).read(CHANNEL, root, deadline=100_000.0)
    assert len(read.messages) == 50
    assert not read.complete
    assert [n.kind for n in read.notices] == ["thread_capped"]
    assert read.calls == 3


def test_a_missing_history_scope_names_the_scope(slack: FakeSlack) -> None:
    """Without channels:history nothing can be read; the admin is told which scope to add."""
    root = a_bot_thread(slack)
    slack.workspace.scopes = {"chat:write", "files:read"}
    read = history(slack).read(CHANNEL, root, deadline=100_000.0)
    assert read.messages == []
    assert read.error == "the app lacks the channels:history scope"
    assert "`channels:history`" in read.notices[0].text


def test_a_deleted_thread_is_said_plainly(slack: FakeSlack) -> None:
    """A thread Slack no longer has gives a reason a person understands."""
    read = history(slack).read(CHANNEL, "1700000000.000001", deadline=100_000.0)
    assert read.messages == []
    assert read.error == "the thread was deleted"


def test_the_deadline_stops_reading(slack: FakeSlack) -> None:
    """With no time left nothing is called; the reason says so."""
    clock = FixedClock()
    root = a_bot_thread(slack)
    read = history(slack, clock).read(CHANNEL, root, deadline=clock.monotonic())
    assert read.calls == 0
    assert read.error == "no time was left"


def test_answer_text_prefers_markdown_then_rich_text_then_text() -> None:
    """What the bot wrote is read from its Markdown blocks; rich text or plain text when that is all."""
    assert (
        answer_text({"text": "fallback", "blocks": [{"type": "markdown", "text": "**real**"}]}) == "**real**"
    )
    rich = {
        "type": "rich_text",
        "elements": [
            {
                "type": "rich_text_section",
                "elements": [{"type": "text", "text": "Hi "}, {"type": "user", "user_id": "U1"}],
            }
        ],
    }
    assert answer_text({"text": "fallback", "blocks": [rich]}) == "Hi <@U1>"
    assert answer_text({"text": "only text"}) == "only text"


def test_translated_blocks_read_back_as_markdown_without_the_bots_own_blocks() -> None:
    """Blocks Slack may translate an answer into (headers, sections, rich text with quotes, ordered
    lists, styles, emoji, mentions) read back as Markdown in order; footer and buttons are left out."""
    blocks = [
        {"type": "header", "text": {"type": "plain_text", "text": "Design"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": "Two options."}},
        {
            "type": "rich_text",
            "elements": [
                {"type": "rich_text_quote", "elements": [{"type": "text", "text": "keep it simple"}]},
                {
                    "type": "rich_text_list",
                    "style": "ordered",
                    "offset": 2,
                    "elements": [
                        {"type": "rich_text_section", "elements": [
                            {"type": "text", "text": "ship", "style": {"bold": True, "italic": True}},
                            {"type": "emoji", "name": "rocket"},
                            {"type": "broadcast", "range": "here"},
                        ]},
                    ],
                },
                {"type": "rich_text_preformatted", "elements": [{"type": "text", "text": "make test"}]},
            ],
        },
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "*backend-builder* · gpt-4.1"}]},
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}}]},
    ]  # fmt: skip
    assert answer_text({"text": "fallback", "blocks": blocks}) == (
        "## Design\n\nTwo options.\n\n> keep it simple\n\n3. _**ship**_:rocket:<!here>\n\n```\nmake test\n```"
    )
