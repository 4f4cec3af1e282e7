"""The terminal chat, the local server's start-up checks and the store choice."""

from __future__ import annotations

import io
import sys

import pytest

from bot.cli import main
from bot.container import Services
from bot.core.registry import Registry, RoutingConfig
from bot.errors import ConfigurationError
from bot.settings import Settings
from tests.fakes.openai_server import FakeOpenAI, Stream
from tests.harness import ROOT


def _clear(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "REDIS_URL",
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AGENTS_DIR",
        "ROUTING_FILE",
    ):
        monkeypatch.delenv(key, raising=False)


def test_chat_without_credentials_says_what_to_set(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """`architect-bot chat` with no API key names exactly the variables to set, and exits 2."""
    _clear(monkeypatch)
    assert main(["chat"]) == 2
    err = capsys.readouterr().err
    assert "export OPENAI_API_KEY=" in err
    assert "OPENAI_BASE_URL" in err


def test_chat_streams_answer_and_offers_handoffs(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """A terminal chat answers, numbers the handoffs, and a chosen handoff lets the target answer."""
    _clear(monkeypatch)
    with FakeOpenAI() as fake:
        fake.script(Stream(["Backend ", "answer."]), Stream(["Director ", "answer."]))
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-chat")
        monkeypatch.setenv("OPENAI_BASE_URL", fake.base_url)
        monkeypatch.setenv("AGENTS_DIR", str(ROOT / "agents"))
        # a message, then handoff 1 (send: false), keep the prompt as is (empty line), then quit
        monkeypatch.setattr(sys, "stdin", io.StringIO("design a queue\n1\n\n/quit\n"))
        assert main(["chat", "review"]) == 0
        out = capsys.readouterr().out
        assert "Backend answer." in out
        assert "[1] ⬅ Back to Director -> director (edit the prompt first)" in out
        assert "handed off from backend-builder to director" in out
        assert "Director answer." in out
        assert "Review this backend / infra architecture" in fake.requests[-1].messages[-1]["content"]
        assert "Director" in fake.requests[-1].messages[0]["content"]
        assert "\x1b[" not in out  # not a terminal: plain text, no escape codes
        assert "store_selected" not in out  # and no log lines unless --verbose


def test_serve_without_settings_says_what_is_missing(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """`make run` with nothing configured lists the missing settings instead of crashing."""
    _clear(monkeypatch)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    for name in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN", "OPENAI_API_KEY"):
        assert name in err
    assert "SLACK_APP_TOKEN" in err


@pytest.mark.parametrize("command", [["serve"], ["chat"], ["agents", "list"], ["run"]])
def test_a_wrong_setting_is_named_by_every_command(
    command: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`MAX_TURNS=5` stops each command with one line naming the variable and the bound (exit 2), not
    "unexpected error" nor a traceback, and the message says "invalid settings" once."""
    _clear(monkeypatch)
    monkeypatch.setenv("MAX_TURNS", "5")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    assert main(command) == 2
    err = capsys.readouterr().err
    assert "invalid settings: MAX_TURNS: should be at least 10 (got '5')" in err
    assert err.count("invalid settings") == 1
    assert "Traceback" not in err
    assert "unexpected error" not in err


def _services(**settings: object) -> Services:
    registry = Registry.build([], [], RoutingConfig(), "gpt-4.1")
    return Services(Settings(**settings), registry)  # type: ignore[arg-type]


def test_memory_store_locally_refused_on_lambda(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without REDIS_URL the in-memory store serves locally, but Lambda refuses it with a clear reason."""
    _clear(monkeypatch)
    local = _services()
    assert type(local.store).__name__ == "MemoryConversationStore"
    on_lambda = _services(aws_lambda_function_name="architect-bot-prod-slack")
    with pytest.raises(ConfigurationError, match="REDIS_URL"):
        _ = on_lambda.store


def test_serve_accepts_a_local_model_server_without_a_key(monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """A local OpenAI-compatible server needs no key: with OPENAI_BASE_URL set, only Slack is missing."""
    _clear(monkeypatch)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert "SLACK_SIGNING_SECRET" in err
    assert "OPENAI_API_KEY" not in err


def test_help_texts_show_no_markup_backticks(capsys: pytest.CaptureFixture[str]) -> None:
    """No `--help` page of any command shows the docstrings' ``double backticks``."""
    import argparse

    from bot.cli import build_parser

    parser = build_parser()
    pages = [parser.format_help()]
    pending = [parser]
    while pending:
        for action in pending.pop()._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    pages.append(sub.format_help())
                    pending.append(sub)
    assert len(pages) > 6
    assert [page.splitlines()[0] for page in pages if "``" in page] == []
