"""The Agent messaging experience end to end, through the Lambda handler: chats with the agents in
the app's Messages tab (``features.agent_view``), and apps created with the side panel
(``assistant_view``) still served with ``SLACK_EXPERIENCE=assistant``."""

from __future__ import annotations

import time
from typing import Any

import pytest

from tests.fakes.openai_server import Stream
from tests.harness import TEAM, USER, Bot
from tests.slack_ui import event, feedback

DM = "D0AGENT1"


def _open_messages_tab(slackbot: Bot) -> None:
    event(slackbot, {"type": "app_home_opened", "user": USER, "channel": DM, "tab": "messages",
                     "event_ts": f"{time.time():.6f}"})  # fmt: skip
    slackbot.lazy()


def _dm(slackbot: Bot, text: str, *, thread_ts: str | None = None) -> str:
    """A person's message in their DM with the app (at the top, or in a chat's thread); its ts."""
    ts = f"{time.time():.6f}"
    said: dict[str, Any] = {"type": "message", "channel": DM, "channel_type": "im", "user": USER,
                            "text": text, "ts": ts, "event_ts": ts}  # fmt: skip
    if thread_ts:
        said["thread_ts"] = thread_ts
    slackbot.slack.say(text, user=USER, channel=DM, thread_ts=thread_ts, ts=ts)
    event(slackbot, said)
    slackbot.lazy()
    return ts


def test_the_messages_tab_offers_prompts_and_answers_a_chat_in_its_thread(slackbot: Bot) -> None:
    """Opening the Messages tab greets the person once and offers one prompt per agent (without a
    thread_ts: with one, Slack drops an agent app's prompts); a message there starts a chat answered in
    its thread by the agent its verb names, with a title, a loading state, handoff and feedback
    buttons; a reply in the thread continues the chat with the same agent."""
    _open_messages_tab(slackbot)
    [offered] = slackbot.slack.calls_of("assistant.threads.setSuggestedPrompts")
    assert "thread_ts" not in offered.params
    shown = slackbot.slack.workspace.agent.prompts[(DM, "")]  # what the person sees above the composer
    assert shown["prompts"][0]["title"] == "director"
    [greeting] = slackbot.slack.top_level(DM)
    assert "director" in greeting.text
    _open_messages_tab(slackbot)  # again: prompts again, no second greeting
    assert len(slackbot.slack.calls_of("assistant.threads.setSuggestedPrompts")) == 2
    assert len(slackbot.slack.top_level(DM)) == 1

    slackbot.openai.script(Stream(["Backend: ", "add a queue."]), Stream(["Still backend."]))
    root = _dm(slackbot, "backend-builder review our ingest design")
    answer = slackbot.answers(root, channel=DM)[-1]
    assert answer.thread_ts == root
    assert answer.markdown() == "Backend: add a queue."
    assert answer.buttons()  # handoffs
    assert any(b["type"] == "context_actions" for b in answer.blocks)  # feedback
    [title] = slackbot.slack.calls_of("assistant.threads.setTitle")
    assert (title.params["thread_ts"], title.params["title"]) == (root, "review our ingest design")
    [status] = slackbot.slack.calls_of("assistant.threads.setStatus")
    assert status.params["thread_ts"] == root
    assert "backend" in slackbot.openai.requests[-1].messages[0]["content"].lower()

    _dm(slackbot, "director, what about retries?", thread_ts=root)
    assert slackbot.answers(root, channel=DM)[-1].markdown() == "Still backend."
    assert len(slackbot.slack.calls_of("assistant.threads.setTitle")) == 1
    feedback(slackbot, slackbot.answers(root, channel=DM)[-1], True)
    assert slackbot.lazy()[0]["statusCode"] == 200


def test_a_bots_own_dm_messages_start_no_chat(slackbot: Bot) -> None:
    """The greeting and the bot's answers in the DM are not taken for a person starting a chat."""
    _open_messages_tab(slackbot)
    [greeting] = slackbot.slack.top_level(DM)
    event(slackbot, {**greeting.to_slack(), "channel": DM, "channel_type": "im", "event_ts": greeting.ts})
    assert slackbot.lazy() == []
    assert slackbot.openai.requests == []


@pytest.fixture
def side_panel_app(monkeypatch: pytest.MonkeyPatch) -> None:
    """An app created with ``assistant_view`` (the side panel), set up as the README says."""
    monkeypatch.setenv("SLACK_EXPERIENCE", "assistant")


def test_an_assistant_view_app_keeps_its_side_panel(side_panel_app: None, slackbot: Bot) -> None:
    """With SLACK_EXPERIENCE=assistant the Messages tab is left alone; the side panel's new chat gets
    the greeting and the prompts in its thread, as before."""
    slackbot.slack.workspace.agent.experience = "assistant"
    _open_messages_tab(slackbot)
    assert slackbot.slack.calls_of("assistant.threads.setSuggestedPrompts") == []
    chat = slackbot.slack.workspace.post(
        channel=DM, user=slackbot.slack.workspace.bot_user_id, text="New chat"
    )
    thread = {"user_id": USER, "channel_id": DM, "thread_ts": chat.ts,
              "context": {"channel_id": "C1", "team_id": TEAM, "enterprise_id": None}}  # fmt: skip
    started = {"type": "assistant_thread_started", "event_ts": f"{time.time():.6f}"}
    event(slackbot, {**started, "assistant_thread": thread})
    slackbot.lazy()
    [offered] = slackbot.slack.calls_of("assistant.threads.setSuggestedPrompts")
    assert offered.params["thread_ts"] == chat.ts
    assert slackbot.slack.workspace.agent.prompts[(DM, chat.ts)]["prompts"]
    assert "director" in slackbot.slack.thread(DM, chat.ts)[-1].text
