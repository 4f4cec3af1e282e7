"""manifest.yml as Slack defines it.

Slack's manifest JSON schemas (slackapi/manifest-schema on GitHub) are not copied into the project:
``test_valid_against_slacks_published_schemas`` validates against a checkout of that repository
named by SLACK_MANIFEST_SCHEMAS (scripts/check_manifest.py does the same by hand) and is skipped
without one. The rest holds without the schema: the Agent messaging experience within the
schema's limits, a scope for every Web API method the bot calls and every event it subscribes to,
the options load URL the picker's external menus need, the shortcuts and command the code serves.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.slack.blocks import CANVAS_SHORTCUT
from bot.slack.flows.forget import FORGET_SHORTCUT
from bot.slack.picker import COMMAND
from tests.webclient_calls import bot_calls, web_api_methods

ROOT = Path(__file__).resolve().parents[1]
MANIFEST: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text(encoding="utf-8"))

METHOD_SCOPES: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("chat:write",),
    "chat.update": ("chat:write",),
    "chat.delete": ("chat:write",),
    "chat.postEphemeral": ("chat:write",),
    "chat.startStream": ("chat:write",),
    "chat.appendStream": ("chat:write",),
    "chat.stopStream": ("chat:write",),
    "assistant.threads.setStatus": ("chat:write", "assistant:write"),
    "assistant.threads.setTitle": ("assistant:write",),
    "assistant.threads.setSuggestedPrompts": ("assistant:write",),
    "conversations.replies": ("channels:history", "groups:history", "im:history", "mpim:history"),
    "conversations.history": ("im:history",),  # the bot reads only its DM (to greet once)
    "files.info": ("files:read",),
    "files.getUploadURLExternal": ("files:write",),
    "files.completeUploadExternal": ("files:write",),
    "canvases.create": ("canvases:write",),
    "canvases.edit": ("canvases:write",),
    "canvases.delete": ("canvases:write",),
    "usergroups.users.list": ("usergroups:read",),
    "views.open": (),
    "views.publish": (),
    "views.update": (),
}
"""Web API method -> the bot scopes its reference page lists (any one; conversations.replies: one
per kind of conversation, and the bot reads threads in all four kinds)."""

EVENT_SCOPES = {
    "app_mention": "app_mentions:read",
    "message.channels": "channels:history",
    "message.groups": "groups:history",
    "message.im": "im:history",
    "message.mpim": "mpim:history",
    "app_home_opened": None,
}
"""Event -> the scope Slack requires to subscribe to it."""


def _scopes() -> set[str]:
    return set(MANIFEST["oauth_config"]["scopes"]["bot"])


def test_the_agent_messaging_experience_within_the_schemas_limits() -> None:
    """New Slack apps get the Agent messaging experience (``agent_view``: a description of at most 300
    characters and at most 4 suggested prompts), in the Messages tab people can write in."""
    features = MANIFEST["features"]
    assert "assistant_view" not in features  # kept only for apps that already have it (README)
    agent = features["agent_view"]
    assert set(agent) <= {"agent_description", "suggested_prompts", "actions"}
    assert 0 < len(agent["agent_description"]) <= 300
    prompts = agent["suggested_prompts"]
    assert 0 < len(prompts) <= 4
    assert all(set(p) == {"title", "message"} and p["title"] and p["message"] for p in prompts)
    home = features["app_home"]
    assert home["messages_tab_enabled"] is True
    assert home["messages_tab_read_only_enabled"] is False


def test_every_web_api_call_and_event_has_its_scope() -> None:
    """A method the bot calls (read from its code) or an event it subscribes to without the scope
    Slack requires would fail with ``missing_scope`` in a real workspace: each has it, group DMs too."""
    scopes = _scopes()
    called = {method for _, _, name, _ in bot_calls() for method in web_api_methods(name)}
    assert {"chat.startStream", "conversations.replies", "views.publish"} <= called
    for method in sorted(called):
        assert method in METHOD_SCOPES, f"{method}: add the scope it needs to METHOD_SCOPES and the manifest"
        needs = METHOD_SCOPES[method]
        if method == "conversations.replies":
            assert set(needs) <= scopes, f"{method} in every kind of conversation needs {needs}"
        elif needs:
            assert scopes & set(needs), f"{method} needs one of {needs}"
    events = MANIFEST["settings"]["event_subscriptions"]["bot_events"]
    assert {"app_mention", "message.im", "message.mpim", "app_home_opened"} <= set(events)
    for event in events:
        needed = EVENT_SCOPES[event]
        assert needed is None or needed in scopes, f"{event} needs {needed}"


def test_the_options_load_url_serves_the_pickers_external_menus() -> None:
    """Over 100 agents the picker's menus are ``external_select``: Slack loads their options from the
    manifest's options load URL, the same endpoint Bolt answers ``app.options`` on."""
    interactivity = MANIFEST["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    endpoint = MANIFEST["settings"]["event_subscriptions"]["request_url"]
    assert interactivity["message_menu_options_url"] == interactivity["request_url"] == endpoint


def test_the_command_and_shortcuts_are_the_ones_the_code_serves() -> None:
    """The slash command and message shortcuts have the names and callback ids the listeners use."""
    features = MANIFEST["features"]
    assert [c["command"] for c in features["slash_commands"]] == [COMMAND]
    assert {s["callback_id"] for s in features["shortcuts"]} == {FORGET_SHORTCUT, CANVAS_SHORTCUT}
    assert all(s["type"] == "message" for s in features["shortcuts"])


SCHEMAS = os.environ.get("SLACK_MANIFEST_SCHEMAS")


@pytest.mark.skipif(
    not SCHEMAS, reason="set SLACK_MANIFEST_SCHEMAS to a checkout of slackapi/manifest-schema"
)
def test_valid_against_slacks_published_schemas(tmp_path: Path) -> None:
    """The manifest validates against Slack's v1 and v2 schemas and the top-level one (read from a
    checkout of slackapi/manifest-schema, never copied here), and the checker refuses a broken one."""
    script = [sys.executable, str(ROOT / "scripts" / "check_manifest.py"), str(SCHEMAS)]
    done = subprocess.run(script, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stdout
    assert done.stdout.count(": valid") == 3
    features = {**MANIFEST["features"], "agent_view": {"agent_description": "x" * 301}}
    path = tmp_path / "manifest.yml"
    path.write_text(yaml.safe_dump({**MANIFEST, "features": features}), encoding="utf-8")
    refused = subprocess.run([*script, "--manifest", str(path)], capture_output=True, text=True,
                             check=False, timeout=60)  # fmt: skip
    assert refused.returncode == 1
    assert "features/agent_view/agent_description" in refused.stdout
