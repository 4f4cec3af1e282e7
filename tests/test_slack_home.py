"""App Home end to end: opening the Home tab publishes the agent catalogue, how to use the bot, the
person's recent threads with links, and (for the policy's admins) feedback per agent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, OTHER_USER, USER, Bot
from tests.slack_ui import event, feedback


def _open_home(slackbot: Bot, user: str = USER) -> dict[str, Any]:
    event(
        slackbot, {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home", "event_ts": "1.2"}
    )
    slackbot.lazy()
    published = slackbot.slack.workspace.home[user]
    return published.view


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view, ensure_ascii=False)


def test_home_shows_every_agent_how_to_use_and_recent_threads(slackbot: Bot) -> None:
    """A person opening the Home tab sees each agent with its verb, model and handoff targets, how to
    use the bot, and the threads they started, newest first, linked to Slack."""
    slackbot.openai.script(Stream(["One."]), Stream(["Two."]))
    slackbot.command("review our ingest design")
    slackbot.lazy()
    first_root = slackbot.root().ts
    slackbot.mention("plan the analytics platform")
    slackbot.lazy()
    view = _open_home(slackbot)
    assert view["type"] == "home"
    text = _text(view)
    for agent, verb in (("backend-builder", "backend-builder"), ("director", "director")):
        assert f"*{agent}*" in text
        assert f"`/architect {verb}`" in text
    assert "gpt-4.1" in text or "gpt-" in text
    assert "hands off to *director*" in text
    assert "/architect <verb> <request>" in text
    recent = text[text.index("Your recent threads") : text.index('"Agents"')]
    assert recent.index("plan the analytics platform") < recent.index("our ingest design")  # newest first
    assert f"https://example.slack.com/archives/{CHANNEL}/p{first_root.replace('.', '')}" in text
    assert "Feedback per agent" not in text  # not an admin


def test_someone_new_sees_an_empty_history_and_no_admin_figures(slackbot: Bot) -> None:
    """Without threads the Home tab says how to start one."""
    text = _text(_open_home(slackbot, OTHER_USER))
    assert "None yet" in text
    assert "Feedback per agent" not in text


def test_admins_see_feedback_per_agent(
    slackbot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The policy's admins also see thumbs up and down per agent."""
    admin = "U0ADMIN1"
    policy = tmp_path / "policy.yaml"
    policy.write_text(f"admins: [{admin}]\n")
    monkeypatch.setenv("POLICY_FILE", str(policy))
    slackbot.openai.script(Stream(["Use a queue."]))
    slackbot.command("review our ingest design")
    slackbot.lazy()
    [answer] = slackbot.answers(slackbot.root().ts)
    feedback(slackbot, answer, True)
    feedback(slackbot, answer, False, user=OTHER_USER)
    slackbot.lazy()
    text = _text(_open_home(slackbot, admin))
    assert "Feedback per agent (admins)" in text
    assert "*backend-builder*: 👍 1 · 👎 1 (50% 👍)" in text
    assert "Feedback per agent" not in _text(_open_home(slackbot, USER))


def test_a_home_tab_that_cannot_be_published_is_logged_not_crashed(slackbot: Bot) -> None:
    """Where the Home tab is not enabled, Slack refuses it; the bot keeps working."""
    slackbot.slack.refuse("views.publish", "not_enabled")
    event(
        slackbot, {"type": "app_home_opened", "user": USER, "channel": "D1", "tab": "home", "event_ts": "1.2"}
    )
    assert slackbot.lazy()[0]["statusCode"] == 200
    assert USER not in slackbot.slack.workspace.home
