"""Gateways (LiteLLM's proxy and the like) say "no such model" and "wrong key" differently from
OpenAI: fallbacks and the wording must work through them too (fake OpenAI server answering as
LiteLLM's proxy does)."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import structlog

from bot.adapters.gateway_errors import classify
from bot.adapters.openai_model import OpenAIChatModel
from bot.core.ports import ChatMessage, ModelRequest, SystemClock, TextDelta
from bot.errors import ModelCredentialsError, ModelRequestError
from tests.fakes import openai_server
from tests.fakes.openai_server import FakeOpenAI, Status, Stream, litellm_invalid_model, litellm_no_db
from tests.harness import ROOT, Bot

fake_openai = openai_server.fake_openai

PROMPT = (ChatMessage("system", "You are a helper."), ChatMessage("user", "<@U1>: hello"))


def _model(base_url: str) -> OpenAIChatModel:
    return OpenAIChatModel(
        api_key="sk-gateway-test",
        base_url=base_url,
        connect_timeout_s=1.0,
        read_timeout_s=5.0,
        max_retries=1,
        retry_base_delay_s=0.0,
        clock=SystemClock(),
        sleep=lambda _s: None,
    )


def _run(model: OpenAIChatModel, name: str, fallbacks: tuple[str, ...] = ()) -> str:
    request = ModelRequest(model=name, messages=PROMPT, fallback_models=fallbacks)
    events = list(model.stream(request, deadline=time.monotonic() + 10))
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def test_invalid_model_400_tries_the_fallback_model(fake_openai: FakeOpenAI) -> None:
    """LiteLLM's 400 "Invalid model name passed in model=gpt-5" moves on to the agent's next model."""
    fake_openai.script(litellm_invalid_model("gpt-5"), Stream(["from gpt-4.1"]))
    assert _run(_model(fake_openai.base_url), "gpt-5", ("gpt-4.1",)) == "from gpt-4.1"
    assert [r.model for r in fake_openai.requests] == ["gpt-5", "gpt-4.1"]


def test_no_db_connection_400_is_told_as_a_key_problem(fake_openai: FakeOpenAI) -> None:
    """LiteLLM's 400 ``no_db_connection`` is a refused key: the person hears about the key, no retry."""
    fake_openai.set_default(litellm_no_db())
    with pytest.raises(ModelCredentialsError) as caught:
        _run(_model(fake_openai.base_url), "gpt-4.1", ("gpt-4o",))
    assert "key" in caught.value.user_message
    assert "OPENAI_API_KEY" in caught.value.for_terminal
    assert "No connected db" in caught.value.detail
    assert len(fake_openai.requests) == 1  # neither retried nor sent to the fallback


def test_other_400s_stay_plain_rejections(fake_openai: FakeOpenAI) -> None:
    """A 400 about something else (content, a bad parameter) is neither a missing model nor a key."""
    fake_openai.set_default(
        Status(400, message="max_tokens is too large", error_type="invalid_request_error")
    )
    with pytest.raises(ModelRequestError) as caught:
        _run(_model(fake_openai.base_url), "gpt-4.1", ("gpt-4o",))
    assert not isinstance(caught.value, ModelCredentialsError)
    assert len(fake_openai.requests) == 1


@pytest.mark.parametrize(
    ("status", "type_", "code", "message", "meaning"),
    [
        (404, "invalid_request_error", "model_not_found", "The model does not exist", "missing_model"),
        (400, "invalid_request_error", "400", "Invalid model name passed in model=gpt-5.", "missing_model"),
        (400, "NotFoundError", None, "litellm.NotFoundError: model gpt-9 not found", "missing_model"),
        (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided", "credentials"),
        (400, "no_db_connection", "400", "Authentication Error, No connected db.", "credentials"),
        (400, "auth_error", "400", "Authentication Error, Invalid proxy server token passed.", "credentials"),
        (400, "invalid_request_error", None, "messages: field required", None),
        (429, "rate_limit", None, "Invalid model name", None),
        (503, None, None, "model not found upstream", None),
    ],
)
def test_answers_are_recognised_by_status_type_code_and_message(
    status: int, type_: str | None, code: str | None, message: str, meaning: str | None
) -> None:
    """Each provider answer maps to what the bot does with it (fallback, key problem, plain rejection)."""
    assert classify(status, type_=type_, code=code, message=message) == meaning


def test_the_providers_answer_is_in_the_verbose_log_line(fake_openai: FakeOpenAI) -> None:
    """`--verbose` promises the provider's answer: the attempt's log line carries it, key removed."""
    fake_openai.set_default(Status(400, message="bad key sk-gateway-test", error_type="no_db_connection"))
    with structlog.testing.capture_logs() as logs, pytest.raises(ModelCredentialsError):
        _run(_model(fake_openai.base_url), "gpt-4.1")
    said = [line["provider_said"] for line in logs if line.get("event") == "model_call"]
    assert said
    assert "bad key" in said[0]
    assert "sk-gateway-test" not in said[0]


def test_fallback_through_a_gateway_end_to_end(
    slackbot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An agent with `model: [gpt-5, gpt-4.1]` behind a gateway that says "invalid model" with a 400
    is answered by gpt-4.1 in the Slack thread; the answer's footer names gpt-4.1, which answered."""
    agents = tmp_path / "agents"
    shutil.copytree(ROOT / "agents", agents)
    spec = agents / "backend-builder.agent.md"
    text = spec.read_text(encoding="utf-8")
    head, _, body = text.partition("\n---")
    lines = [line for line in head.splitlines() if not line.startswith("model:")]
    spec.write_text("\n".join([*lines, "model: [gpt-5, gpt-4.1]"]) + "\n---" + body, encoding="utf-8")
    monkeypatch.setenv("AGENTS_DIR", str(agents))
    slackbot.openai.script(litellm_invalid_model("gpt-5"), Stream(["answered by the fallback"]))

    slackbot.command("review a queue in front of the database")
    slackbot.lazy()

    answers = slackbot.answers(slackbot.root().ts)
    assert answers[-1].markdown().startswith("answered by the fallback")
    assert [r.model for r in slackbot.openai.requests] == ["gpt-5", "gpt-4.1"]
    footers = [b for b in answers[-1].blocks if b["type"] == "context" and "backend-builder" in str(b)]
    assert [f["elements"][0]["text"] for f in footers] == ["*backend-builder* · gpt-4.1"]
