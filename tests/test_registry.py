"""Registry: which agent a name, verb or @mention reaches, which handoffs are offered, which model runs."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from bot.adapters.agent_files import agent_paths, load_agent_files, load_registry, load_routing
from bot.core.agents import AgentSpec, Handoff, Problem
from bot.core.registry import Registry, RoutingConfig, parse_routing, verb_form

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "agents"
CLEAN = FIXTURES / "clean"
MESSY = FIXTURES / "messy"


def _spec(name: str, file: str | None = None, **fields: object) -> AgentSpec:
    file = file or f"agents/{name.replace(' ', '_').replace(':', '')}.agent.md"
    stem = Path(file).name.removesuffix(".agent.md")
    return AgentSpec(name=name, file=file, stem=stem, **fields)  # type: ignore[arg-type]


def _handoff(agent: str, label: str = "Go") -> Handoff:
    return Handoff(label=label, agent=agent, prompt="p")


def _build(*specs: AgentSpec, routing: RoutingConfig | None = None) -> Registry:
    return Registry.build(specs, [], routing or RoutingConfig(), "gpt-4.1")


@pytest.fixture
def clean() -> Registry:
    return load_registry(CLEAN, CLEAN / "routing.yaml", "gpt-4.1")


# --- the clean fixture team -----------------------------------------------------------------------


def test_clean_team_loads_without_problems(clean: Registry) -> None:
    """A well-formed folder (with a subfolder) loads every agent and reports nothing."""
    assert clean.problems == ()
    assert len(clean) == 4
    assert [spec.name for spec in clean] == ["4.1-Beast", "helper", "Lead", "SE: Security"]


def test_names_resolve_case_insensitively_then_by_stem(clean: Registry) -> None:
    """`get` finds an agent by name in any case, else by its file stem; unknown names give None."""
    security = clean.get("se: SECURITY")
    assert security is not None
    assert security.name == "SE: Security"
    assert clean.get("security") is security  # the file stem
    assert clean.get("4.1-beast") is not None
    assert clean.get("nobody") is None
    assert "lead" in clean
    assert "nobody" not in clean


def test_verbs(clean: Registry) -> None:
    """Agent names are verbs in their verb form; routing adds verbs; anything else resolves to None."""
    assert verb_form("SE: Security") == "se-security"
    assert verb_form("C++ Expert") != verb_form("C# Expert")
    assert clean.resolve_verb("se-security") == clean.get("SE: Security")
    assert clean.resolve_verb("SEC") == clean.get("SE: Security")
    assert clean.resolve_verb("plan") == clean.get("lead")
    assert clean.resolve_verb("SE: Security") == clean.get("SE: Security")
    assert clean.resolve_verb("security") == clean.get("SE: Security")  # stem still works
    assert clean.resolve_verb("deploy") is None
    assert clean.verbs_for("SE: Security") == ("se-security", "sec")
    assert clean.verbs_for("lead") == ("lead", "plan")
    assert clean.verbs_for("nobody") == ()


def test_default_agent_and_user_invocable(clean: Registry) -> None:
    """Routing's default_agent answers plain @mentions; agents-only agents are not listed for people."""
    assert clean.default_agent is not None
    assert clean.default_agent.name == "Lead"
    assert [spec.name for spec in clean.user_invocable()] == ["4.1-Beast", "Lead", "SE: Security"]


def test_handoffs_resolve_to_canonical_names_including_itself(clean: Registry) -> None:
    """Handoff targets written in any case resolve to the target's real name; a self-handoff is offered."""
    offered = clean.handoffs("lead")
    assert [(h.handoff.label, h.target) for h in offered] == [
        ("Security review", "SE: Security"),
        ("Refine", "Lead"),
    ]
    assert offered[0].handoff.send is True
    assert [h.target for h in clean.handoffs("SE: Security")] == ["Lead"]
    assert clean.handoffs("helper") == ()
    assert clean.handoffs("nobody") == ()


def test_model_for(clean: Registry) -> None:
    """Each agent's model is mapped once: list -> first OpenAI name + fallbacks; inherit -> default."""
    security = clean.model_for("se: security")
    assert (security.model, security.fallbacks) == ("gpt-4o", ("o3-mini",))
    beast = clean.model_for("4.1-Beast")
    assert (beast.model, beast.fallbacks) == ("gpt-4.1", ("gpt-5",))
    assert clean.model_for("helper").model == "gpt-4.1"
    assert clean.model_for("nobody").model == "gpt-4.1"


def test_registry_is_immutable(clean: Registry) -> None:
    """Nothing can be added or changed after build (one registry is shared by every request)."""
    with pytest.raises(dataclasses.FrozenInstanceError):
        clean.problems = ()  # type: ignore[misc]
    with pytest.raises(TypeError):
        clean._by_name["x"] = clean.get("lead")  # type: ignore[index]
    assert not hasattr(clean, "__dict__")  # slots: no attribute can be added either


# --- problems -------------------------------------------------------------------------------------


def test_duplicate_names_first_path_wins_with_warning_naming_both() -> None:
    """Two files named the same (any case): the path that sorts first is used; a warning names both files."""
    first = _spec("Twin", "a/dup.agent.md", description="first")
    second = _spec("twin", "b/dup.agent.md", description="second")
    registry = _build(second, first)
    twin = registry.get("TWIN")
    assert twin is not None
    assert twin.description == "first"
    assert len(registry) == 1
    [problem] = registry.problems
    assert (problem.file, problem.severity) == ("b/dup.agent.md", "warning")
    assert "a/dup.agent.md" in problem.message


def test_handoffs_to_missing_agents_are_errors_and_to_vscode_builtins_warnings() -> None:
    """A handoff to a name that is not loaded is an error; to VS Code's built-in agents only a warning.

    Neither is offered as a button. A public file handing off to `agent` is valid in VS Code, so it
    must not fail validation.
    """
    builtins = [_handoff(name, f"to {name}") for name in ("agent", "Ask", "edit", "plan")]
    registry = _build(_spec("a", handoffs=(*builtins, _handoff("ghost", "Boo"), _handoff("B"))), _spec("b"))
    assert [h.target for h in registry.handoffs("a")] == ["b"]
    severities = [(p.severity, "built-in" in p.message) for p in registry.problems]
    assert severities == [("warning", True)] * 4 + [("error", False)]
    assert "'ghost'" in registry.problems[-1].message


def test_a_loaded_agent_named_agent_is_a_valid_target() -> None:
    """If the team really has an agent called `agent`, a handoff to it is offered."""
    registry = _build(_spec("x", handoffs=(_handoff("agent"),)), _spec("agent"))
    assert [h.target for h in registry.handoffs("x")] == ["agent"]
    assert registry.problems == ()


def test_verb_clash_between_agents_numbers_the_other_one() -> None:
    """`SE: Security` and `se-security` share a verb form: the agent whose name is the verb keeps it,
    the other is reached as `se-security-2`, and the warning says exactly that."""
    registry = _build(_spec("SE: Security", "a/a.agent.md"), _spec("se-security", "b/b.agent.md"))
    assert registry.verb_for("se-security") == "se-security"
    assert registry.verb_for("SE: Security") == "se-security-2"
    assert registry.resolve_verb("se-security") == registry.get("se-security")
    assert registry.resolve_verb("se-security-2") == registry.get("SE: Security")
    [problem] = registry.problems
    assert problem.severity == "warning"
    assert problem.file == "a/a.agent.md"
    assert "reached as '/architect se-security-2'" in problem.message


def test_clash_without_exact_name_goes_by_path_and_numbers_skip_other_agents_verbs() -> None:
    """Without an exact name, the path that sorts first keeps the verb; `-N` never takes another's verb."""
    registry = _build(
        _spec("X!", "b/x.agent.md"),
        _spec("x?", "a/x.agent.md"),
        _spec("X (old)", "c/x.agent.md"),
        _spec("x 2", "d/x2.agent.md"),  # its own verb is x-2
    )
    assert registry.verb_for("x?") == "x"
    assert registry.verb_for("x 2") == "x-2"
    assert registry.verb_for("X!") == "x-3"
    assert registry.verb_for("X (old)") == "x-old"
    assert len(registry.problems) == 1


def test_reserved_and_untypeable_names_still_get_a_verb() -> None:
    """`help` belongs to the bot; a name with nothing typeable falls back to the file stem, else `agent`."""
    registry = _build(
        _spec("Help", "h/help.agent.md"),
        _spec("🤖🤖", "r/robot.agent.md"),
        _spec("Архитектор", "z/😀.agent.md"),
        _spec("Café Crème", "c/cafe.agent.md"),
    )
    assert registry.verb_for("help") == "help-2"
    assert registry.verb_for("🤖🤖") == "robot"
    assert registry.verb_for("Архитектор") == "agent"
    assert registry.verb_for("Café Crème") == "cafe-creme"
    assert registry.verb_for("nobody") is None
    [problem] = registry.problems
    assert "'/architect help-2'" in problem.message
    assert "reserved" in problem.message


def test_routing_cannot_take_an_agent_verb_or_help() -> None:
    """A routing verb equal to an agent's verb (or `help`) is refused: verbs always reach their agent."""
    routing = RoutingConfig(
        verbs={"a": "b", "go": "b", "x": "nobody", "help": "a"}, default_agent="ghost", file="r.yaml"
    )
    registry = _build(_spec("a"), _spec("b"), routing=routing)
    assert registry.resolve_verb("a") == registry.get("a")
    assert registry.resolve_verb("go") == registry.get("b")
    assert registry.resolve_verb("x") is None
    assert registry.resolve_verb("help") is None
    assert registry.verbs_for("b") == ("b", "go")
    assert registry.default_agent is None
    assert {p.file for p in registry.problems} == {"r.yaml"}
    assert len(registry.problems) == 4


def test_routing_to_agents_only_agent_warns() -> None:
    """Routing a verb (or @mentions) to an agent people may not use works, with warnings."""
    routing = RoutingConfig(verbs={"go": "hidden"}, default_agent="hidden", file="r.yaml")
    registry = _build(_spec("hidden", user_invocable=False), routing=routing)
    assert registry.resolve_verb("go") is not None
    assert registry.default_agent is not None
    assert [p.severity for p in registry.problems] == ["warning", "warning"]


def test_parse_problems_are_kept_and_sorted() -> None:
    """Problems from parsing are part of the registry's problems, sorted by file and line."""
    given = [Problem(file="b", line=2, message="x"), Problem(file="a", line=9, message="y")]
    registry = Registry.build([], given, RoutingConfig(), "gpt-4.1")
    assert [p.file for p in registry.problems] == ["a", "b"]
    assert len(registry) == 0
    assert registry.default_agent is None


def test_messy_folder_reports_every_problem_and_loads_the_rest() -> None:
    """One bad file never stops the rest: every loadable agent loads, every problem is listed."""
    registry = load_registry(MESSY, MESSY / "routing.yaml", "gpt-4.1")
    assert {spec.name for spec in registry} == {"handoffs", "no-frontmatter", "Twin", "types"}
    files = {Path(p.file).name for p in registry.problems}
    assert files == {
        "apostrophe.agent.md",
        "dup.agent.md",
        "handoffs.agent.md",
        "list-frontmatter.agent.md",
        "no-frontmatter.agent.md",
        "routing.yaml",
        "types.agent.md",
    }
    assert [h.handoff.label for h in registry.handoffs("handoffs")] == ["Fine"]


# --- routing file and folder loading --------------------------------------------------------------


def test_parse_routing() -> None:
    """The routing file's verbs (lower-cased) and default agent are read; bad entries are reported."""
    config, problems = parse_routing(
        "# comment\nverbs:\n  Review: backend-builder\n  two words: x\n  empty:\ndefault_agent: director\n",
        "routing.yaml",
    )
    assert dict(config.verbs) == {"review": "backend-builder"}
    assert config.default_agent == "director"
    assert [p.line for p in problems] == [4, 5]


@pytest.mark.parametrize(
    "text",
    ["verbs: [a, b]\n", "- x\n", "verbs: {a: [\n", b"\xff\xfe", "default_agent: [x]\n", ""],
)
def test_bad_routing_files_give_defaults(text: str | bytes) -> None:
    """A broken routing file never raises: defaults (no verbs) plus a problem (except an empty file)."""
    config, problems = parse_routing(text, "routing.yaml")
    assert dict(config.verbs) == {}
    assert config.default_agent is None
    assert bool(problems) is bool(text)


def test_missing_routing_file_is_a_warning(tmp_path: Path) -> None:
    """No routing file: no extra verbs and no default agent, with one warning; None means not configured."""
    config, problems = load_routing(tmp_path / "routing.yaml")
    assert (dict(config.verbs), config.default_agent) == ({}, None)
    assert [p.severity for p in problems] == ["warning"]
    assert load_routing(None) == (RoutingConfig(), [])


def test_shipped_routing() -> None:
    """The shipped agents: `review` goes to backend-builder and a plain @mention to director."""
    root = Path(__file__).resolve().parent.parent / "agents"
    registry = load_registry(root, root / "routing.yaml", "gpt-4.1")
    assert registry.problems == ()
    review = registry.resolve_verb("review")
    assert review is not None
    assert review.name == "backend-builder"
    assert registry.default_agent is not None
    assert registry.default_agent.name == "director"


def test_folder_walk_is_recursive_sorted_and_skips_hidden(tmp_path: Path) -> None:
    """Agent files are found in subfolders, in sorted order, both suffixes, not in .git or node_modules."""
    for rel in [
        "z.agent.md",
        "a/b.chatmode.md",
        "a/c.AGENT.md",
        ".git/x.agent.md",
        "node_modules/y.agent.md",
        ".github/agents/g.agent.md",
        "notes.md",
    ]:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("---\n---\n")
    found = [p.relative_to(tmp_path).as_posix() for p in agent_paths(tmp_path)]
    assert found == [".github/agents/g.agent.md", "a/b.chatmode.md", "a/c.AGENT.md", "z.agent.md"]


def test_awkward_bytes_from_disk(tmp_path: Path) -> None:
    """BOM + CRLF files load; a Latin-1 file and an unreadable entry are problems; the rest still load."""
    (tmp_path / "win.agent.md").write_bytes(b"\xef\xbb\xbf\r\n---\r\nname: win\r\n---\r\nHi\r\n")
    (tmp_path / "latin.agent.md").write_bytes("---\nname: caf\xe9\n---\n".encode("latin-1"))
    (tmp_path / "dangling.agent.md").symlink_to(tmp_path / "gone")  # listed, but cannot be read
    specs, problems = load_agent_files(tmp_path)
    assert [spec.name for spec in specs] == ["win"]
    assert specs[0].instructions == "Hi"
    assert sorted(Path(p.file).name for p in problems) == ["dangling.agent.md", "latin.agent.md"]


def test_missing_folder_is_a_problem(tmp_path: Path) -> None:
    """Loading a folder that does not exist gives an empty registry with an error, not an exception."""
    registry = load_registry(tmp_path / "nope", None, "gpt-4.1")
    assert len(registry) == 0
    assert registry.problems[0].severity == "error"
