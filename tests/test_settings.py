"""Settings from the environment: what a platform engineer sets, what they are told when it is wrong."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.settings import DEFAULT_AGENTS_DIR, Secret, Settings, SettingsError
from tests.harness import Bot

ROOT = Path(__file__).resolve().parent.parent


def test_environment_variables_are_read_in_any_case_and_arguments_win(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """``MAX_TURNS=40`` (or ``max_turns``) sets ``max_turns``; a keyword argument overrides both."""
    monkeypatch.setenv("MAX_TURNS", "40")
    monkeypatch.setenv("slack_update_interval_s", " 2.5 ")
    monkeypatch.setenv("TOOL_FETCH", "off")
    monkeypatch.setenv("AGENTS_DIR", "/srv/agents")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    settings = Settings(default_model="gpt-5")
    assert settings.max_turns == 40
    assert settings.slack_update_interval_s == 2.5
    assert settings.tool_fetch is False
    assert settings.agents_dir == Path("/srv/agents")
    assert settings.slack_api_url == "http://127.0.0.1:9/api/"  # the trailing slash the clients need
    assert settings.default_model == "gpt-5"
    assert Settings(max_turns=60).max_turns == 60


def test_defaults_apply_where_nothing_is_set(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the variables, the documented defaults hold."""
    for name in ("MAX_TURNS", "AGENTS_DIR", "SLACK_EXPERIENCE", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    assert (settings.max_turns, settings.agents_dir, settings.slack_experience) == (
        500,
        DEFAULT_AGENTS_DIR,
        "agent",
    )
    assert settings.redis_url is None


@pytest.mark.parametrize("word", ["true", "TRUE", "1", "yes", "on", "t", "y"])
def test_true_is_written_in_the_usual_ways(word: str) -> None:
    """``true``, ``1``, ``yes``, ``on`` (any case) all switch a flag on."""
    assert Settings(warm_after_ack="no", fetch_allow_loopback_for_tests=word).fetch_allow_loopback_for_tests


def test_every_wrong_value_is_named_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """One error names each wrong variable, why, and its value: all fixed in one go."""
    monkeypatch.setenv("MAX_TURNS", "5")
    monkeypatch.setenv("SLACK_EXPERIENCE", "sidebar")
    monkeypatch.setenv("WARM_AFTER_ACK", "maybe")
    monkeypatch.setenv("MODEL_READ_TIMEOUT_S", "soon")
    with pytest.raises(SettingsError) as raised:
        Settings()
    assert raised.value.problems == (
        "SLACK_EXPERIENCE: should be one of 'agent', 'assistant' (got 'sidebar')",
        "MODEL_READ_TIMEOUT_S: should be a number (got 'soon')",
        "MAX_TURNS: should be at least 10 (got '5')",
        "WARM_AFTER_ACK: should be true or false (got 'maybe')",
    )
    assert isinstance(raised.value, ValueError)  # the CLIs print "invalid settings: ..." for a ValueError


@pytest.mark.parametrize(
    ("name", "value", "reason"),
    [
        ("slack_update_interval_s", "0.1", "should be at least 0.2"),
        ("model_connect_timeout_s", "0", "should be greater than 0"),
        ("max_files_per_message", "101", "should be at most 100"),
        ("max_file_bytes", "1.5e6", "should be a whole number"),
        ("tool_time_share", "nan", "should be at least 0.1"),
        ("port", "", "should be a whole number"),
    ],
)
def test_bounds_and_types_are_checked(name: str, value: str, reason: str) -> None:
    """A number outside its bounds, a fraction where a whole number goes, nothing at all: refused."""
    with pytest.raises(SettingsError) as raised:
        Settings(**{name: value})
    assert raised.value.problems == (f"{name.upper()}: {reason} (got {value!r})",)


def test_a_secret_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    """Printing the settings, or an error about a secret, never shows the secret's value."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-very-secret")
    settings = Settings()
    assert settings.slack_bot_token == Secret("xoxb-very-secret")
    assert settings.slack_bot_token is not None
    assert settings.slack_bot_token.get_secret_value() == "xoxb-very-secret"
    assert "xoxb-very-secret" not in repr(settings) + str(settings.slack_bot_token)
    with pytest.raises(SettingsError) as raised:
        Settings(openai_api_key=12345)
    assert raised.value.problems == ("OPENAI_API_KEY: should be text",)


def test_a_changed_copy_is_checked_and_leaves_the_original_alone() -> None:
    """``replace`` gives changed settings (checked like the rest); the original is unchanged."""
    settings = Settings(max_turns=50)
    changed = replace(settings, max_turns=70, redis_url=None)
    assert (settings.max_turns, changed.max_turns) == (50, 70)
    with pytest.raises(SettingsError):
        replace(settings, max_turns=1)
    with pytest.raises(TypeError, match="max_turn"):
        Settings(max_turn=50)  # a typo in code is an error, not silently ignored
    with pytest.raises(AttributeError):
        settings.max_turns = 3  # type: ignore[misc]


def test_a_wrong_setting_stops_the_cold_start_with_one_clear_line(
    slackbot: Bot, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """On Lambda a wrong value stops the start; one JSON log line names the variable and the reason."""
    monkeypatch.setenv("LOCK_TTL_S", "-1")
    with pytest.raises(SettingsError):
        slackbot.command("help")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line.get("level") == "error"]
    assert [(e["event"], e["invalid"]) for e in errors] == [
        ("start_failed", "LOCK_TTL_S: should be greater than 0 (got '-1')")
    ]


def test_an_empty_variable_leaves_an_optional_setting_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """``REDIS_URL=`` or a CI secret that was never set is no value at all, not an empty one."""
    monkeypatch.setenv("REDIS_URL", "")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "  ")
    monkeypatch.setenv("ROUTING_FILE", "")
    settings = Settings()
    assert (settings.redis_url, settings.slack_bot_token, settings.routing_file) == (None, None, None)
    assert settings.missing("slack_bot_token") == ["SLACK_BOT_TOKEN"]


def test_an_empty_signing_secret_stops_the_cold_start_naming_it(
    slackbot: Bot, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A deploy whose signing secret came through empty fails its cold start saying which setting is
    missing (rather than refusing every Slack request as forged)."""
    from bot.bootstrap import MissingSettingsError

    monkeypatch.setenv("SLACK_SIGNING_SECRET", "")
    with pytest.raises(MissingSettingsError):
        slackbot.command("help")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert [(e["event"], e["missing"]) for e in lines if e.get("level") == "error"] == [
        ("start_failed", "SLACK_SIGNING_SECRET")
    ]
