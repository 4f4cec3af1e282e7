"""The Agents & AI Apps side panel end to end: suggested prompts when a chat opens, the chat's
messages answered by the same engine (handoff and feedback buttons included), a title from the
first message."""

from __future__ import annotations

import time
from typing import Any

from bot.core.registry import Registry
from bot.slack.flows.assistant import choose_agent, suggested_prompts
from tests.fakes.openai_server import Stream
from tests.harness import TEAM, USER, Bot
from tests.slack_ui import event, feedback

DM = "D0CHAT1"


def _started(slackbot: Bot, thread_ts: str) -> None:
    event(
        slackbot,
        {
            "type": "assistant_thread_started",
            "assistant_thread": {
                "user_id": USER,
                "context": {"channel_id": "C1", "team_id": TEAM, "enterprise_id": None},
                "channel_id": DM,
                "thread_ts": thread_ts,
            },
            "event_ts": f"{time.time():.6f}",
        },
    )
    slackbot.lazy()


def _say(slackbot: Bot, thread_ts: str, text: str, *, event_id: str | None = None) -> dict[str, Any]:
    ts = f"{time.time():.6f}"
    return event(
        slackbot,
        {
            "type": "message",
            "channel": DM,
            "channel_type": "im",
            "user": USER,
            "text": text,
            "ts": ts,
            "thread_ts": thread_ts,
            "event_ts": ts,
        },
        event_id=event_id,
    )


def _chat(slackbot: Bot) -> str:
    root = slackbot.slack.workspace.post(
        channel=DM, user=slackbot.slack.workspace.bot_user_id, text="New chat"
    )
    return root.ts


def test_a_new_chat_offers_one_prompt_per_agent(slackbot: Bot) -> None:
    """Opening the side panel greets the person and suggests up to four agents, the default first."""
    thread_ts = _chat(slackbot)
    _started(slackbot, thread_ts)
    [call] = slackbot.slack.calls_of("assistant.threads.setSuggestedPrompts")
    prompts = call.params["prompts"]
    assert 1 <= len(prompts) <= 4
    assert prompts[0]["title"] == "director"
    assert {p["title"] for p in prompts} >= {"director", "backend-builder"}
    assert all(p["message"].split(" ", 1)[0] in {"director", "backend-builder", "frontend-builder",
                                                   "tokenomics-builder"} for p in prompts)  # fmt: skip
    greeting = slackbot.slack.thread(DM, thread_ts)[-1]
    assert "director" in greeting.text


def test_chat_messages_get_streamed_answers_with_buttons_and_a_title(slackbot: Bot) -> None:
    """The first message (starting with an agent's verb) goes to that agent and names the chat;
    the answer streams in the chat with handoff and feedback buttons; the next message continues."""
    slackbot.openai.script(Stream(["Backend: ", "add a queue."]), Stream(["Still backend."]))
    thread_ts = _chat(slackbot)
    _say(slackbot, thread_ts, "backend-builder review our ingest design")
    slackbot.lazy()
    [title] = slackbot.slack.calls_of("assistant.threads.setTitle")
    assert title.params["title"] == "review our ingest design"
    answers = slackbot.answers(thread_ts, channel=DM)
    assert answers[-1].markdown() == "Backend: add a queue."
    assert answers[-1].buttons()  # handoffs
    assert any(b["type"] == "context_actions" for b in answers[-1].blocks)  # feedback
    assert "backend" in slackbot.openai.requests[-1].messages[0]["content"].lower()
    assert "review our ingest design" in slackbot.openai.requests[-1].messages[-1]["content"]
    [status] = [c for c in slackbot.slack.calls_of("assistant.threads.setStatus")]
    assert status.params["channel_id"] == DM
    _say(slackbot, thread_ts, "director what do you think?")  # a verb later does not switch agents
    slackbot.lazy()
    assert slackbot.answers(thread_ts, channel=DM)[-1].markdown() == "Still backend."
    assert "backend" in slackbot.openai.requests[-1].messages[0]["content"].lower()
    assert len(slackbot.slack.calls_of("assistant.threads.setTitle")) == 1
    feedback(slackbot, slackbot.answers(thread_ts, channel=DM)[-1], True)
    assert slackbot.lazy()[0]["statusCode"] == 200


def test_a_chat_without_a_verb_goes_to_the_default_agent_once(slackbot: Bot) -> None:
    """Plain words go to the default agent; a re-delivered message is answered once."""
    slackbot.openai.script(Stream(["Director here."]))
    thread_ts = _chat(slackbot)
    _say(slackbot, thread_ts, "plan our analytics platform", event_id="EvCHAT1")
    [invocation] = slackbot.aws_lambda.take()
    slackbot.send(invocation["payload"])
    slackbot.send(invocation["payload"])
    assert [a.markdown() for a in slackbot.answers(thread_ts, channel=DM)] == ["Director here."]
    assert "Director" in slackbot.openai.requests[-1].messages[0]["content"]


def test_context_changes_cost_no_slack_call(slackbot: Bot) -> None:
    """Switching channels with the panel open changes nothing the bot keeps (no history read)."""
    event(
        slackbot,
        {
            "type": "assistant_thread_context_changed",
            "assistant_thread": {
                "user_id": USER,
                "context": {"channel_id": "C2", "team_id": TEAM},
                "channel_id": DM,
                "thread_ts": "1700000000.000100",
            },
            "event_ts": "1700000001.000000",
        },
    )
    slackbot.lazy()
    assert slackbot.slack.calls == []


def test_prompts_and_first_words(tmp_path: object) -> None:
    """Unit: at most four prompts; a first word that is no agent's verb leaves the text whole."""
    from bot.adapters.agent_files import load_registry
    from tests.harness import ROOT

    registry: Registry = load_registry(ROOT / "agents", ROOT / "agents" / "routing.yaml", "gpt-4.1")
    assert len(suggested_prompts(registry)) <= 4
    agent, text = choose_agent(registry, "frontend-builder make it pretty")
    assert (agent and agent.name, text) == ("frontend-builder", "make it pretty")
    agent, text = choose_agent(registry, "review")  # a verb alone: nothing to work on, so plain words
    assert (agent and agent.name, text) == ("director", "review")
