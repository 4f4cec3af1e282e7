"""One typeable verb per agent, the same in `agents list`, Slack's `/architect` and the terminal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.adapters.agent_files import load_registry
from bot.cli import main
from bot.core.agents import AgentSpec
from bot.core.registry import RESERVED_VERBS, Registry, RoutingConfig
from bot.slack.help import help_blocks, parse_command

VERBS = Path(__file__).resolve().parent / "fixtures" / "agents" / "verbs"
TYPEABLE = re.compile(r"^[a-z0-9._-]+$")


def _listed(capsys: pytest.CaptureFixture[str], folder: Path) -> dict[str, str]:
    """`agents list DIR` as {name: the verb shown}, read from the table as a person reads it."""
    assert main(["agents", "list", str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["NAME", "VERB", "MODEL", "HANDOFFS", "FILE"]
    shown: dict[str, str] = {}
    for line in lines[1 : lines.index("")]:
        name, verb = re.split(r"\s{2,}", line)[:2]
        name = name.removesuffix(" [default]").removesuffix(" (agents only)")
        shown[name] = verb.split()[0]
    return shown


def _assert_reachable(registry: Registry, shown: dict[str, str]) -> None:
    """Every verb shown reaches its agent by Slack's parser and by the terminal's lookup."""
    assert set(shown) == {spec.name for spec in registry}
    assert len(set(shown.values())) == len(shown), "two agents show the same verb"
    for name, verb in shown.items():
        assert TYPEABLE.match(verb), verb
        assert verb not in RESERVED_VERBS
        reached = registry.resolve_verb(verb)  # `architect-bot chat VERB`
        assert reached is not None
        assert reached.name == name
        parsed = parse_command(f"{verb} please look at this", registry)  # `/architect VERB text`
        if reached.user_invocable:
            assert parsed.agent is not None, parsed.error
            assert parsed.agent.name == name
        else:
            assert parsed.error is not None
            assert "only be used by other agents" in parsed.error


def test_every_agent_is_reachable_by_the_verb_list_shows(capsys: pytest.CaptureFixture[str]) -> None:
    """Names that clash, cannot be typed (`SE: Security`, `🤖`) or are `help`: each agent's verb in
    `agents list` reaches exactly that agent in Slack and in the terminal."""
    registry = load_registry(VERBS, VERBS / "routing.yaml", "gpt-4.1")
    shown = _listed(capsys, VERBS)
    _assert_reachable(registry, shown)
    assert shown["SE: Security"] == "se-security-2"
    assert shown["se-security"] == "se-security"
    assert shown["API Designer"] == "api-designer-2"
    assert shown["Help"] == "help-2"
    assert shown["🤖"] == "robot"
    assert shown["X!"] == "x-3"


def test_validate_on_clashes_passes_and_its_advice_works(capsys: pytest.CaptureFixture[str]) -> None:
    """Clashing verbs and a handoff to VS Code's `agent` are warnings (exit 0); the verb each warning
    tells you to type reaches the agent it is about."""
    assert main(["agents", "validate", str(VERBS)]) == 0
    out = capsys.readouterr().out
    assert out.strip().splitlines()[-1] == "OK: 14 agents loaded; 0 errors, 5 warnings"
    assert main(["agents", "validate", str(VERBS), "--strict"]) == 1
    capsys.readouterr()
    registry = load_registry(VERBS, VERBS / "routing.yaml", "gpt-4.1")
    advice = re.findall(r"^(\S+?):1: warning: agent '(.+?)' is reached as '/architect (\S+)'", out, re.M)
    assert len(advice) == 4
    for file, name, verb in advice:
        parsed = parse_command(f"{verb} hi", registry)
        assert parsed.agent is not None
        shown = (VERBS / parsed.agent.file).relative_to(Path.cwd()).as_posix()  # as validate prints it
        assert (parsed.agent.name, shown) == (name, file)


def test_slack_help_shows_each_agents_verb() -> None:
    """`/architect help` shows the verb to type for every agent people may use, and no agents-only one."""
    registry = load_registry(VERBS, VERBS / "routing.yaml", "gpt-4.1")
    _, blocks = help_blocks(registry)
    text = "\n".join(block["text"]["text"] for block in blocks if "text" in block)  # and the menu
    assert "• `/architect se-security-2` (also `sec`): *SE: Security*" in text
    for spec in registry.user_invocable():
        assert f"`/architect {registry.verb_for(spec.name)}`" in text
    assert "/architect worker" not in text


def test_unknown_verb_suggests_close_ones() -> None:
    """A typo in Slack gets the nearest verbs as a suggestion; a long list of verbs is cut."""
    registry = load_registry(VERBS, VERBS / "routing.yaml", "gpt-4.1")
    parsed = parse_command("se-securty hi", registry)
    assert parsed.error is not None
    assert "Did you mean `se-security`" in parsed.error
    many = Registry.build(
        [AgentSpec(name=f"agent {i}", file=f"a{i}.agent.md", stem=f"a{i}") for i in range(45)],
        [],
        RoutingConfig(),
        "gpt-4.1",
    )
    error = parse_command("zzz hi", many).error
    assert error is not None
    assert "... and 15 more" in error


_NAMES = (
    st.lists(st.sampled_from([*"abcXYZ019 .-_:#+!é🤖", "help", "++", "x-2"]), min_size=1, max_size=8)
    .map("".join)
    .filter(lambda name: name.strip() != "")
)


@settings(max_examples=200, deadline=None)
@given(names=st.lists(_NAMES, min_size=1, max_size=12))
def test_any_names_get_unique_typeable_verbs(names: list[str]) -> None:
    """Whatever the names, every loaded agent has one verb of its own, typeable, that reaches it."""
    specs = [
        AgentSpec(name=name.strip(), file=f"d{i}/f{i}.agent.md", stem=f"f{i}") for i, name in enumerate(names)
    ]
    registry = Registry.build(specs, [], RoutingConfig(), "gpt-4.1")
    shown = {spec.name: registry.verb_for(spec.name) or "" for spec in registry}
    _assert_reachable(registry, shown)


def test_terminal_chat_with_unknown_agent_suggests_and_cuts_the_list(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`architect-bot chat se-securty` says which verbs are close and lists a few, not all 300 on a line."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-unused")
    monkeypatch.setenv("AGENTS_DIR", str(VERBS))
    monkeypatch.delenv("ROUTING_FILE", raising=False)
    assert main(["chat", "se-securty"]) == 2
    err = capsys.readouterr().err
    assert "no agent 'se-securty'. Did you mean se-security or se-security-2?" in err
    assert "... and 7 more" in err
    assert max(len(line) for line in err.splitlines()) < 120


def test_help_names_the_default_agent_on_the_mention_line() -> None:
    """The default agent's name follows "`@architect-bot <text>` starts a thread with the default
    agent", not the end of the forget bullet (where it read as part of forgetting)."""
    registry = load_registry(VERBS, VERBS / "routing.yaml", "gpt-4.1")
    assert registry.default_agent is not None
    _, blocks = help_blocks(registry)
    usage = blocks[0]["text"]["text"].splitlines()
    mention = next(line for line in usage if "@architect-bot <text>" in line)
    forget = next(line for line in usage if "forget <message link>" in line)
    assert mention.endswith(f"the default agent (*{registry.default_agent.name}*).")
    assert forget.endswith("a thread you started.")
