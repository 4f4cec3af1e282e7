"""Model routes: agents whose model names another vendor are answered by the endpoint their route
names (a second fake OpenAI-compatible server), with the route's key; everything else as before."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from bot.adapters.openai_model import OpenAIChatModel
from bot.adapters.routed_model import RoutedChatModel
from bot.cli import main
from bot.core.model_names import resolve_model
from bot.core.model_routes import ModelRoutes, parse_routes
from bot.core.ports import ChatMessage, ModelRequest, SystemClock, TextDelta
from bot.errors import ConfigurationError, ModelNotFoundError
from tests.fakes.openai_server import FakeOpenAI, Status, Stream, litellm_invalid_model
from tests.harness import CHANNEL, Bot
from tests.model_gateway import GATEWAY_KEY, ROUTE_MODEL, agents_with_model, routes_json


def test_a_claude_agent_is_answered_through_its_route(
    slackbot: Bot, gateway: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`model: Claude Sonnet 4.5` with a `claude-*` route: the gateway answers, with the route's key
    and the route's model name; OpenAI (the default endpoint) is never asked."""
    monkeypatch.setenv("AGENTS_DIR", str(agents_with_model(tmp_path, "Claude Sonnet 4.5")))
    monkeypatch.setenv("GATEWAY_KEY", GATEWAY_KEY)
    monkeypatch.setenv("MODEL_ROUTES", routes_json(gateway, model=ROUTE_MODEL))
    gateway.script(Stream(["Answered ", "by the gateway."]))

    slackbot.command("review two services sharing one database")
    slackbot.lazy()

    answers = slackbot.answers(slackbot.root().ts)
    assert answers[-1].markdown().startswith("Answered by the gateway.")
    assert [r.model for r in gateway.requests] == [ROUTE_MODEL]
    assert gateway.requests[0].headers["authorization"] == f"Bearer {GATEWAY_KEY}"
    assert gateway.requests[0].body["stream"] is True
    assert slackbot.openai.requests == []


def test_without_a_model_the_route_sends_the_normalised_name(
    slackbot: Bot, gateway: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A route without `model` sends the agent's model as normalised (`claude-sonnet-4.5`)."""
    monkeypatch.setenv("AGENTS_DIR", str(agents_with_model(tmp_path, "Claude Sonnet 4.5 (copilot)")))
    monkeypatch.setenv("GATEWAY_KEY", GATEWAY_KEY)
    monkeypatch.setenv("MODEL_ROUTES", routes_json(gateway))

    slackbot.command("review a cron job")
    slackbot.lazy()

    assert [r.model for r in gateway.requests] == ["claude-sonnet-4.5"]
    assert slackbot.openai.requests == []


def test_a_failing_route_is_told_like_any_model_failure(
    slackbot: Bot, gateway: FakeOpenAI, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A gateway that keeps failing (503) is retried, then the thread says the model is not answering."""
    monkeypatch.setenv("AGENTS_DIR", str(agents_with_model(tmp_path, "Claude Sonnet 4.5")))
    monkeypatch.setenv("GATEWAY_KEY", GATEWAY_KEY)
    monkeypatch.setenv("MODEL_ROUTES", routes_json(gateway))
    gateway.set_default(Status(503))

    slackbot.command("review a cache")
    slackbot.lazy()

    shown = json.dumps([m.blocks for m in slackbot.slack.thread(CHANNEL, slackbot.root().ts)])
    assert "not answering right now" in shown
    assert len(gateway.requests) > 1  # retried like OpenAI
    assert slackbot.openai.requests == []


def _request(model: str, *fallbacks: str) -> ModelRequest:
    messages = (ChatMessage("system", "s"), ChatMessage("user", "u"))
    return ModelRequest(model=model, messages=messages, fallback_models=fallbacks)


def _client(base_url: str | None, key: str) -> OpenAIChatModel:
    return OpenAIChatModel(
        api_key=key,
        base_url=base_url,
        connect_timeout_s=1,
        read_timeout_s=5,
        max_retries=0,
        retry_base_delay_s=0,
        clock=SystemClock(),
    )


def test_a_missing_routed_model_falls_back_to_the_default_endpoint(
    gateway: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`model: [Claude Sonnet 4.5, gpt-4.1]`: the gateway says "invalid model" (LiteLLM's 400), so
    gpt-4.1 answers from the default endpoint; each endpoint is built once and kept."""
    monkeypatch.setenv("GATEWAY_KEY", GATEWAY_KEY)
    routes, problems = parse_routes(routes_json(gateway), "MODEL_ROUTES")
    assert problems == []
    with FakeOpenAI() as default:
        built: list[str | None] = []

        def factory(base_url: str | None, key: str) -> OpenAIChatModel:
            built.append(base_url)
            return _client(base_url, key)

        model = RoutedChatModel(_client(default.base_url, "sk-default"), lambda: routes, factory)
        gateway.script(litellm_invalid_model("claude-sonnet-4.5"))
        default.script(Stream(["from OpenAI"]))
        for _ in range(2):
            events = list(
                model.stream(_request("claude-sonnet-4.5", "gpt-4.1"), deadline=time.monotonic() + 10)
            )
            assert "".join(e.text for e in events if isinstance(e, TextDelta)).startswith(
                ("from OpenAI", "Hello")
            )
        assert [r.model for r in gateway.requests] == ["claude-sonnet-4.5", "claude-sonnet-4.5"]
        assert [r.model for r in default.requests] == ["gpt-4.1"]
        assert built == [gateway.base_url]
        assert default.requests[0].headers["authorization"] == "Bearer sk-default"


def test_every_model_missing_everywhere_says_so(gateway: FakeOpenAI) -> None:
    """No endpoint serves any of the agent's models: the person hears the provider rejected it."""
    routes, _ = parse_routes(json.dumps({"claude-*": {"base_url": gateway.base_url}}), "MODEL_ROUTES")
    gateway.set_default(litellm_invalid_model("claude-x"))
    model = RoutedChatModel(_client(gateway.base_url, "k"), lambda: routes, _client)
    with pytest.raises(ModelNotFoundError, match="Invalid model name"):
        list(model.stream(_request("claude-x"), deadline=time.monotonic() + 10))


def test_a_route_whose_key_variable_is_unset_is_a_configuration_error(
    gateway: FakeOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A route naming an unset key variable is refused with the variable's name, nothing is sent."""
    monkeypatch.delenv("GATEWAY_KEY", raising=False)
    routes, _ = parse_routes(routes_json(gateway), "MODEL_ROUTES")
    model = RoutedChatModel(_client(gateway.base_url, "k"), lambda: routes, _client)
    with pytest.raises(ConfigurationError, match="GATEWAY_KEY"):
        list(model.stream(_request("claude-sonnet-4"), deadline=time.monotonic() + 10))
    assert gateway.requests == []


def test_routes_parse_and_match_normalised_names() -> None:
    """Globs match normalised names in file order; broken routes are problems, never exceptions."""
    text = """
claude-*: {base_url: "https://gw.example/v1", api_key_env: GATEWAY_KEY, model: anthropic/claude}
gemini-2.5-*: {base_url: "https://gw.example/v1"}
broken: {base_url: "ftp://x", api_key_env: "not a name", colour: red}
"""
    routes, problems = parse_routes(text, "model-routes.yaml")
    assert [r.pattern for r in routes.routes] == ["claude-*", "gemini-2.5-*"]
    assert {p.message for p in problems} == {
        "route 'broken': unknown key 'colour'",
        "route 'broken': base_url must be an http(s) URL (e.g. https://gateway.example/v1)",
        "route 'broken': api_key_env 'not a name' is not an environment variable name: ignored",
    }
    assert all(p.severity == "error" for p in problems)
    choice = resolve_model(["Claude Sonnet 4.5 (copilot)", "GPT-4.1"], "gpt-4.1", routes.routed)
    assert (choice.model, choice.fallbacks) == ("claude-sonnet-4.5", ("gpt-4.1",))
    assert (
        routes.describe("claude-sonnet-4.5") == "anthropic/claude via https://gw.example/v1 (route claude-*)"
    )
    assert resolve_model(["Claude Sonnet 4.5"], "gpt-4.1", ModelRoutes().routed).model == "gpt-4.1"
    assert parse_routes("[1, 2]", "MODEL_ROUTES")[1][0].message.startswith("model routes must be a mapping")


def test_validate_and_app_home_show_the_real_model_and_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`agents validate` (text and JSON) and App Home name the routed model and its endpoint."""
    from bot.adapters.agent_files import load_registry
    from bot.slack.home_view import agent_lines

    agents = agents_with_model(tmp_path, "Claude Sonnet 4.5")
    (agents / "model-routes.yaml").write_text(
        "claude-*:\n  base_url: https://gw.example/v1\n  api_key_env: GATEWAY_KEY\n"
        "  model: anthropic/claude\n",
        encoding="utf-8",
    )
    monkeypatch.delenv("MODEL_ROUTES", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    assert main(["agents", "validate", str(agents)]) == 0
    out = capsys.readouterr().out
    assert "backend-builder: anthropic/claude via https://gw.example/v1 (route claude-*)" in out
    assert "director: gpt-4.1 via https://api.openai.com/v1" in out
    assert main(["agents", "validate", str(agents), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    lead = next(a for a in data["agents"] if a["name"] == "backend-builder")
    assert lead["endpoint"] == {
        "model": "anthropic/claude",
        "base_url": "https://gw.example/v1",
        "route": "claude-*",
    }
    registry = load_registry(agents, agents / "routing.yaml", "gpt-4.1")
    line = next(line for line in agent_lines(registry) if line.startswith("*backend-builder*"))
    assert "anthropic/claude via https://gw.example/v1" in line


def test_a_routes_key_can_come_from_secrets_manager(monkeypatch: pytest.MonkeyPatch) -> None:
    """`api_key_secret`: the route's key is read from Secrets Manager (once), never from the env."""
    from moto import mock_aws

    from bot.adapters import aws_secrets
    from bot.adapters.routed_model import route_key
    from bot.core.model_routes import ModelRoute

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    aws_secrets.clear_cache()
    with mock_aws():
        import boto3

        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(Name="gateway-key", SecretString='{"api_key": "sk-from-secret"}')["ARN"]
        route = ModelRoute(pattern="claude-*", base_url="https://gw.example/v1", api_key_secret=arn)
        assert route_key(route, region="us-east-1") == "sk-from-secret"
        client.delete_secret(SecretId=arn, ForceDeleteWithoutRecovery=True)
        assert route_key(route, region="us-east-1") == "sk-from-secret"  # read once per process
    aws_secrets.clear_cache()


def test_help_names_the_routed_model_and_its_endpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With model routes, `/architect help` says which model and endpoint each agent really uses."""
    from bot.adapters.agent_files import load_registry
    from bot.slack.help import help_blocks

    agents = agents_with_model(tmp_path, "Claude Sonnet 4.5")
    routes = json.dumps({"claude-*": {"base_url": "https://gw.example/v1", "model": "anthropic/claude"}})
    registry = load_registry(agents, agents / "routing.yaml", "gpt-4.1", model_routes=routes)
    _, blocks = help_blocks(registry)
    shown = json.dumps(blocks)
    assert "anthropic/claude via https://gw.example/v1" in shown
    assert "model gpt-4.1" in shown  # the unrouted agents say their model too


def test_a_handoffs_routed_model_is_kept(gateway: FakeOpenAI) -> None:
    """A handoff button naming `Claude Sonnet 4.5` switches to that model when a route answers it
    (without a route it maps to the default, as before)."""
    from bot.adapters.memory.store import MemoryConversationStore
    from bot.core.agents import parse_agent
    from bot.core.engine.handoff import Handoffs
    from bot.core.ports import FixedClock
    from bot.core.registry import Registry, RoutingConfig

    lead = (
        "---\nname: Lead\nhandoffs:\n  - label: Ask Claude\n    agent: Helper\n    prompt: Go on.\n"
        "    model: Claude Sonnet 4.5\n---\nLead."
    )
    helper = "---\nname: Helper\n---\nHelp."
    specs = [parse_agent(text, f"{n}.agent.md")[0] for n, text in (("lead", lead), ("helper", helper))]
    routes, _ = parse_routes(routes_json(gateway), "MODEL_ROUTES")
    for given, expected in ((routes, "claude-sonnet-4.5"), (ModelRoutes(), "gpt-4.1")):
        registry = Registry.build([s for s in specs if s], [], RoutingConfig(), "gpt-4.1", given)
        clock = FixedClock()
        store = MemoryConversationStore(ttl_s=60, max_turns=10, clock=clock)
        handoffs = Handoffs(registry=registry, store=store, clock=clock)
        assert handoffs.model(handoffs.allowed("Lead", "Helper")) == expected
