"""Slack's agent features end to end through the Lambda handler: native streaming, the loading
state, and the fallbacks where a workspace refuses them."""

from __future__ import annotations

import pytest

from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, TEAM, USER, Bot


def test_answer_streams_on_slacks_streaming_api_with_buttons_at_the_end(slackbot: Bot) -> None:
    """The answer is one streamed message for the person who asked; its footer and handoff
    buttons arrive with the end of the stream; no message is edited."""
    slackbot.openai.script(Stream(["Use ", "a ", "queue."]))
    slackbot.command("review our ingest design")
    slackbot.lazy()
    root = slackbot.root().ts
    [started] = slackbot.slack.calls_of("chat.startStream")
    assert started.params["thread_ts"] == root
    assert (started.params["recipient_team_id"], started.params["recipient_user_id"]) == (TEAM, USER)
    [answer] = slackbot.answers(root)
    assert answer.markdown() == "Use a queue."
    assert answer.buttons()  # the handoffs, on the stopped stream
    assert any(b["type"] == "context" and "backend-builder" in str(b) for b in answer.blocks)
    assert slackbot.slack.calls_of("chat.update") == []
    [stopped] = slackbot.slack.calls_of("chat.stopStream")
    assert stopped.params["ts"] == answer.ts


def test_the_thread_shows_who_is_thinking_before_the_first_words(slackbot: Bot) -> None:
    """Before the model writes, the thread shows "<app> is asking <agent>…" with loading messages;
    no placeholder message is posted."""
    slackbot.command("review x")
    slackbot.lazy()
    [status] = slackbot.slack.calls_of("assistant.threads.setStatus")
    assert status.params["thread_ts"] == slackbot.root().ts
    assert "backend-builder" in status.params["status"]
    assert all("backend-builder" in m for m in status.params["loading_messages"])
    methods = [c.method for c in slackbot.slack.calls]
    assert methods.index("assistant.threads.setStatus") < methods.index("chat.startStream")
    assert not any("is thinking" in m.markdown() for m in slackbot.slack.thread(CHANNEL, slackbot.root().ts))


@pytest.mark.parametrize("error", ["access_denied", "channel_type_not_supported"])
def test_where_slack_refuses_streaming_the_answer_comes_by_edits_and_that_is_remembered(
    slackbot: Bot, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A workspace (or channel) that refuses the streaming API still gets whole answers, edited in
    place; the next answer there goes straight to edits, and the fallback is counted."""
    slackbot.slack.refuse_streaming(error)
    slackbot.openai.script(Stream(["First ", "answer."]), Stream(["Second ", "answer."]))
    slackbot.command("review one")
    slackbot.lazy()
    first_root = slackbot.root().ts
    slackbot.message("and more?", thread_ts=first_root)
    slackbot.lazy()
    assert [a.markdown() for a in slackbot.answers(first_root)] == ["First answer.", "Second answer."]
    assert all(a.buttons() for a in slackbot.answers(first_root)[-1:])
    assert len(slackbot.slack.calls_of("chat.startStream")) == 1  # tried once, then remembered
    assert '"SlackFallbacks":1' in capsys.readouterr().out


def test_without_a_loading_state_the_placeholder_shows_until_the_stream_starts(slackbot: Bot) -> None:
    """Where Slack refuses the loading state, the "<agent> is thinking…" placeholder shows as before
    and is removed once the answer streams."""
    slackbot.slack.refuse("assistant.threads.setStatus", "missing_scope")
    slackbot.openai.script(Stream(["Streamed."]))
    slackbot.command("review y")
    slackbot.lazy()
    root = slackbot.root().ts
    [placeholder] = [
        c for c in slackbot.slack.calls_of("chat.postMessage") if c.params.get("thread_ts") == root
    ]
    assert "backend-builder is thinking" in str(placeholder.params["blocks"])
    assert [m.markdown() for m in slackbot.slack.thread(CHANNEL, root)] == ["Streamed."]
    assert len(slackbot.slack.calls_of("chat.delete")) == 1


def test_the_manifest_declares_what_the_agent_features_need() -> None:
    """An app created from manifest.yml has the events, scopes, shortcut and features the agent
    features use (Home tab, agent chats, canvases, the Markdown-file fallback)."""
    import yaml

    from bot.slack.blocks import CANVAS_SHORTCUT
    from tests.harness import ROOT

    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    events = set(manifest["settings"]["event_subscriptions"]["bot_events"])
    assert {"app_home_opened", "message.im"} <= events  # the Messages tab's chats (agent_view)
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"chat:write", "assistant:write", "im:history", "canvases:write", "files:write"} <= scopes
    assert CANVAS_SHORTCUT in {s["callback_id"] for s in manifest["features"]["shortcuts"]}
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "agent_description" in manifest["features"]["agent_view"]
