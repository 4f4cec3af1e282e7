"""parse_agent: one agent file's bytes or text -> AgentSpec and problems, never an exception.

Each case follows ../shared/docs/agent-format.md (what real files do) and docs/agents.md.
"""

from __future__ import annotations

import hashlib
import json
import string
from dataclasses import asdict
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.agents import AgentSpec, Handoff, McpServerSpec, Problem, file_stem, parse_agent

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "agents"
SEED = Path(__file__).resolve().parent.parent / "agents" / "backend-builder.agent.md"
# The user's file as they gave it (its digest and size, taken from their copy): shipped unchanged.
SEED_SHA256 = "a55306bb9ca129a67acd1c3e62d21dc92088aca26a1fb4298ead5f3590752543"
SEED_SIZE = 3865


def _ok(text: str | bytes, path: str = "agents/x.agent.md") -> AgentSpec:
    spec, problems = parse_agent(text, path)
    assert spec is not None, problems
    assert problems == [], problems
    return spec


def _messages(problems: list[Problem]) -> str:
    return "\n".join(p.message for p in problems)


# --- frontmatter framing --------------------------------------------------------------------------


def test_seed_agent_loads_unchanged() -> None:
    """The user's own backend-builder agent loads with its fields and its body as instructions, verbatim."""
    raw = SEED.read_text(encoding="utf-8")
    spec = _ok(raw, str(SEED))
    assert spec.name == "backend-builder"
    assert spec.description == "Ruthless backend / DevOps / infra architect."
    assert spec.models == ("gpt-4.1",)
    assert spec.target == "vscode"
    assert [(h.label, h.agent, h.send) for h in spec.handoffs] == [("⬅ Back to Director", "director", False)]
    assert spec.handoffs[0].prompt.startswith("Review this backend / infra architecture")
    body = raw.split("\n---\n", 1)[1]
    assert spec.instructions == body.strip("\n").rstrip()


def test_seed_agent_file_is_shipped_byte_for_byte() -> None:
    """agents/backend-builder.agent.md is the user's own file, unchanged to the byte (no reformatting,
    no line-ending or whitespace change): any edit, even one the parser would not notice, fails here."""
    data = SEED.read_bytes()
    assert len(data) == SEED_SIZE
    assert hashlib.sha256(data).hexdigest() == SEED_SHA256


def test_utf8_bom_crlf_and_blank_line_before_frontmatter() -> None:
    """A file saved on Windows (BOM, CRLF) with a blank line before `---` loads like a clean one."""
    text = (
        "\ufeff\r\n---\r\nname: windows\r\ndescription: saved on Windows\r\n---\r\nLine one.\r\nLine two.\r\n"
    )
    spec = _ok(text.encode("utf-8"))
    assert spec.name == "windows"
    assert spec.description == "saved on Windows"
    assert spec.instructions == "Line one.\nLine two."


def test_frontmatter_ends_at_first_closing_rule() -> None:
    """`---` horizontal rules in the body stay in the instructions; the frontmatter ends at the first one."""
    spec = _ok((FIXTURES / "clean" / "lead.agent.md").read_text(), "lead.agent.md")
    assert "\n---\n" in spec.instructions
    assert spec.instructions.endswith("not the end of the frontmatter.")


def test_no_frontmatter_loads_with_defaults_like_vscode() -> None:
    """A body-only file loads (as in VS Code): name from the file, text as instructions, one warning."""
    spec, problems = parse_agent("# Hi\n\n---\n\nbody", "dir/plain-notes.agent.md")
    assert spec is not None
    assert spec.name == "plain-notes"
    assert spec.instructions == "# Hi\n\n---\n\nbody"
    assert spec.has_frontmatter is False
    assert [p.severity for p in problems] == ["warning"]
    assert "no frontmatter" in problems[0].message


def test_empty_frontmatter_means_all_defaults() -> None:
    """`---` immediately followed by `---` is a valid file with every default and no problem."""
    spec = _ok("---\n---\nBody", "a/Empty.agent.md")
    assert (spec.name, spec.description, spec.models, spec.user_invocable) == ("Empty", "", (), True)


def test_unclosed_frontmatter_is_an_error() -> None:
    """An opening `---` that is never closed cannot be split safely: the file is reported, not loaded."""
    spec, problems = parse_agent("---\nname: x\nbody without end", "x.agent.md")
    assert spec is None
    assert problems[0].line == 1
    assert "never closed" in problems[0].message


def test_yaml_error_reports_file_line_and_reason() -> None:
    """An apostrophe inside a single-quoted description: error with the file line and YAML's reason."""
    path = str(FIXTURES / "messy" / "apostrophe.agent.md")
    spec, problems = parse_agent((FIXTURES / "messy" / "apostrophe.agent.md").read_bytes(), path)
    assert spec is None
    [problem] = problems
    assert (problem.file, problem.line, problem.severity) == (path, 3, "error")
    assert "not valid YAML" in problem.message
    assert "did not find expected key" in problem.message


def test_yaml_error_line_counts_bom_and_leading_blank_lines() -> None:
    """Line numbers in problems are the file's own lines, even after a BOM and blank lines."""
    text = "\ufeff\n\n---\nname: ok\ndescription: 'it's'\n---\n"
    _spec, problems = parse_agent(text.encode(), "x.agent.md")
    assert problems[0].line == 5


def test_yaml_error_message_never_quotes_the_source_line() -> None:
    """A YAML error does not echo the broken line (it may hold a secret), only its position and reason."""
    text = '---\nmcp-servers:\n  x: {"KEY": "${{ secrets.SUPER_SECRET }}"\nname: [\n---\n'
    _spec, problems = parse_agent(text, "x.agent.md")
    assert problems
    assert "SUPER_SECRET" not in _messages(problems)


@pytest.mark.parametrize(
    ("frontmatter", "kind"),
    [("- a\n- b", "list"), ("just a string", "string"), ("42", "number")],
)
def test_non_mapping_frontmatter_is_an_error(frontmatter: str, kind: str) -> None:
    """Frontmatter that is YAML but not `key: value` lines is reported with what it was instead."""
    spec, problems = parse_agent(f"---\n{frontmatter}\n---\nbody", "x.agent.md")
    assert spec is None
    assert f"found a {kind}" in problems[0].message
    assert problems[0].line == 2


def test_non_utf8_bytes_are_an_error_with_line() -> None:
    """A Latin-1 file is not guessed at: reported as not UTF-8, with the line of the first bad byte."""
    spec, problems = parse_agent("---\nname: caf\xe9\n---\n".encode("latin-1"), "x.agent.md")
    assert spec is None
    assert problems[0].line == 2
    assert "not UTF-8" in problems[0].message


# --- names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "stem"),
    [
        ("agents/director.agent.md", "director"),
        ("chatmodes/4.1-Beast.chatmode.md", "4.1-Beast"),
        ("C:\\agents\\Thing.Agent.MD", "Thing"),
        ("notes.md", "notes"),
        ("weird", "weird"),
    ],
)
def test_file_stem_drops_only_the_agent_suffix(path: str, stem: str) -> None:
    """The default name is the file name without .agent.md/.chatmode.md; dots inside the stem stay."""
    assert file_stem(path) == stem


def test_name_defaults_to_stem_and_explicit_name_wins() -> None:
    """An old chatmode without `name` is called by its stem; a `name` field overrides the stem."""
    assert _ok("---\ndescription: d\n---\n", "x/4.1-Beast.chatmode.md").name == "4.1-Beast"
    spec = _ok("---\nname: 'SE: Security'\n---\n", "x/se-security.agent.md")
    assert (spec.name, spec.stem) == ("SE: Security", "se-security")


def test_numeric_name_is_text_and_empty_name_falls_back() -> None:
    """`name: 4.1` (a YAML number) is the text "4.1"; an empty name uses the file name, with a warning."""
    assert _ok("---\nname: 4.1\n---\n", "x.agent.md").name == "4.1"
    spec, problems = parse_agent("---\nname: '  '\n---\n", "x/fallback.agent.md")
    assert spec is not None
    assert spec.name == "fallback"
    assert [p.severity for p in problems] == ["warning"]


def test_descriptions_with_colons_and_quotes() -> None:
    """Quoted descriptions with `:` inside are read as written."""
    spec = _ok("---\ndescription: \"Director: decides; 'quotes' too\"\n---\n")
    assert spec.description == "Director: decides; 'quotes' too"


# --- fields ---------------------------------------------------------------------------------------


def test_model_string_or_list_kept_as_written() -> None:
    """`model` keeps every name as written, in order (mapping to OpenAI ids is model_names' job)."""
    assert _ok("---\nmodel: GPT-4.1 (copilot)\n---\n").models == ("GPT-4.1 (copilot)",)
    assert _ok("---\nmodel: [a, 'Claude Sonnet 4']\n---\n").models == ("a", "Claude Sonnet 4")
    assert _ok("---\nmodel:\n---\n").models == ()


def test_tools_as_list_or_comma_string() -> None:
    """`tools` may be a list or a comma-separated string; both give the same tuple."""
    assert _ok("---\ntools: ['a', 'b/*']\n---\n").tools == ("a", "b/*")
    assert _ok("---\ntools: a, b/* ,c\n---\n").tools == ("a", "b/*", "c")


def test_agents_list_or_star_and_argument_hint() -> None:
    """`agents: *`-style values and lists are kept; argument-hint is read."""
    assert _ok("---\nagents: '*'\nargument-hint: say what\n---\n").agents == ("*",)
    spec = _ok("---\nagents: [x, y]\nargument-hint: say what\n---\n")
    assert (spec.agents, spec.argument_hint) == (("x", "y"), "say what")


@pytest.mark.parametrize(
    ("frontmatter", "expected"),
    [
        ("", True),
        ("user-invocable: false", False),
        ("user-invokable: false", False),
        ("user-invocable: 'false'", False),
        ("user-invocable: true\nuser-invokable: true", True),
    ],
)
def test_user_invocable_both_spellings(frontmatter: str, expected: bool) -> None:
    """`user-invocable` (or `user-invokable`) defaults to true; false hides the agent from people."""
    assert _ok(f"---\n{frontmatter}\n---\n").user_invocable is expected


def test_user_invocable_spellings_disagreeing_warns() -> None:
    """When both spellings disagree, `user-invocable` wins and a warning says so."""
    spec, problems = parse_agent("---\nuser-invocable: true\nuser-invokable: false\n---\n", "x.agent.md")
    assert spec is not None
    assert spec.user_invocable is True
    assert "disagree" in problems[0].message


def test_infer_false_disables_model_invocation_with_deprecation_warning() -> None:
    """Deprecated `infer: false` means disable-model-invocation; it still works, with a warning."""
    spec, problems = parse_agent("---\ninfer: false\n---\n", "x.agent.md")
    assert spec is not None
    assert spec.disable_model_invocation is True
    assert [p.severity for p in problems] == ["warning"]
    assert _ok("---\ndisable-model-invocation: true\n---\n").disable_model_invocation is True
    spec, _ = parse_agent("---\ninfer: false\ndisable-model-invocation: false\n---\n", "x.agent.md")
    assert spec is not None
    assert spec.disable_model_invocation is False


def test_targets() -> None:
    """`vscode` / `github-copilot` are kept; `RPI Agent` is unknown: both products, with a warning."""
    assert _ok("---\ntarget: vscode\n---\n").target == "vscode"
    assert _ok("---\ntarget: github-copilot\n---\n").target == "github-copilot"
    spec, problems = parse_agent("---\ntarget: RPI Agent\n---\n", "x.agent.md")
    assert spec is not None
    assert spec.target is None
    assert problems[0].severity == "warning"
    assert problems[0].line == 2


def test_unknown_keys_and_other_products_settings_are_ignored_and_secrets_not_kept() -> None:
    """mcp-servers/metadata/hooks and unknown keys load silently; `${{ secrets.X }}` is not stored."""
    text = (FIXTURES / "clean" / "security.agent.md").read_text()
    spec = _ok(text)
    assert "FIXTURE_SECRET_VALUE" not in json.dumps(asdict(spec))
    assert spec.tools == ("search", "fetch", "githubRepo")
    assert _ok("---\nmode: agent\nhidden: true\ntitle: T\nmetadata: {a: 1}\nhooks: [x]\n---\n").name == "x"


def test_wrong_types_are_warnings_with_defaults() -> None:
    """Wrongly typed fields are replaced by their defaults; each gives a warning on its own line."""
    path = str(FIXTURES / "messy" / "types.agent.md")
    spec, problems = parse_agent((FIXTURES / "messy" / "types.agent.md").read_bytes(), path)
    assert spec is not None
    assert (spec.description, spec.user_invocable, spec.handoffs) == ("", True, ())
    assert {p.severity for p in problems} == {"warning"}
    assert sorted(p.line or 0 for p in problems) == [3, 4, 5, 6, 7]


# --- handoffs -------------------------------------------------------------------------------------


def test_handoff_fields() -> None:
    """Handoff label/agent/prompt/send/model/showContinueOn are read; send defaults to false."""
    text = (
        "---\nhandoffs:\n"
        "  - label: Go\n    agent: b\n    prompt: Do it\n"
        "    model: GPT-5 (copilot)\n    showContinueOn: false\n"
        "  - label: Now\n    agent: c\n    prompt: Now\n    send: true\n"
        "---\n"
    )
    first, second = _ok(text).handoffs
    assert (first.label, first.agent, first.prompt, first.send) == ("Go", "b", "Do it", False)
    assert (first.model, first.show_continue_on, first.line) == ("GPT-5 (copilot)", False, 3)
    assert (second.send, second.line) == (True, 8)


def test_specs_keep_their_guarantees_when_built_in_code() -> None:
    """A spec built in code (tests, other modules) is held to what a parsed one guarantees: no empty
    name, label or target agent; lists given for tuple fields are stored as tuples, so specs still
    compare equal and can be used as keys."""
    with pytest.raises(ValueError, match="name"):
        AgentSpec(name="", file="x.agent.md", stem="x")
    with pytest.raises(ValueError, match="label"):
        Handoff(label="", agent="b", prompt="p")
    with pytest.raises(ValueError, match="agent"):
        Handoff(label="Go", agent="", prompt="p")
    with pytest.raises(ValueError, match="name"):
        McpServerSpec(name="")
    listed = AgentSpec(name="a", file="a.agent.md", stem="a", tools=["search"], models=["gpt-4.1"])  # type: ignore[arg-type]
    given = AgentSpec(name="a", file="a.agent.md", stem="a", tools=("search",), models=("gpt-4.1",))
    assert listed == given
    assert {listed: 1}[given] == 1
    assert McpServerSpec(name="docs", tools=["read"]).tools == ("read",)  # type: ignore[arg-type]


def test_broken_handoffs_are_reported_one_by_one() -> None:
    """No prompt: dropped with a warning. No label/agent, or not a mapping: error. The agent still loads."""
    text = (
        "---\nname: h\nhandoffs:\n"
        "  - label: No prompt\n    agent: x\n"
        "  - label: No agent\n    prompt: p\n"
        "  - agent: x\n    prompt: p\n"
        "  - just text\n"
        "  - label: Good\n    agent: x\n    prompt: p\n"
        "---\n"
    )
    spec, problems = parse_agent(text, "h.agent.md")
    assert spec is not None
    assert [h.label for h in spec.handoffs] == ["Good"]
    assert [(p.severity, p.line) for p in problems] == [
        ("warning", 4),
        ("error", 6),
        ("error", 8),
        ("error", 10),
    ]
    assert "no prompt" in problems[0].message
    assert "no agent" in problems[1].message
    assert "no label" in problems[2].message


def test_handoffs_in_flow_style_point_at_the_key() -> None:
    """Handoffs written inline (`handoffs: [{...}]`) load; their problems point at the `handoffs:` line."""
    spec, problems = parse_agent("---\nname: f\nhandoffs: [{label: L, agent: a}]\n---\n", "f.agent.md")
    assert spec is not None
    assert problems[0].line == 3


# --- never raises ---------------------------------------------------------------------------------


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.dates(),
)
_yaml_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=10), st.integers(), st.booleans()), children, max_size=4),
    ),
    max_leaves=20,
)
_keys = st.sampled_from(
    [
        "name",
        "description",
        "model",
        "target",
        "tools",
        "argument-hint",
        "agents",
        "user-invocable",
        "user-invokable",
        "disable-model-invocation",
        "infer",
        "mcp-servers",
        "handoffs",
        "label",
        "agent",
        "prompt",
        "send",
    ]
)
_handoff_like = st.lists(st.dictionaries(_keys, _yaml_values, max_size=5), max_size=3)
_frontmatters = st.one_of(
    _yaml_values,
    st.dictionaries(_keys, st.one_of(_yaml_values, _handoff_like), max_size=8),
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=400))
def test_random_bytes_never_raise(data: bytes) -> None:
    """Any bytes at all give a spec or problems, never an exception."""
    spec, problems = parse_agent(data, "random.agent.md")
    assert spec is not None or problems
    assert parse_agent(b"---\n" + data + b"\n---\n", "random.agent.md") is not None


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(value=_frontmatters, body=st.text(alphabet=string.printable, max_size=50))
def test_random_yaml_frontmatter_never_raises(value: object, body: str) -> None:
    """Any YAML value as frontmatter (mappings, lists, scalars, wrong types) is reported, not raised."""
    frontmatter = yaml.safe_dump(value, allow_unicode=True)
    spec, problems = parse_agent(f"---\n{frontmatter}---\n{body}", "random.agent.md")
    assert spec is not None or any(p.severity == "error" for p in problems)
    if spec is not None:
        assert spec.name


@settings(max_examples=200)
@given(text=st.text(max_size=300))
def test_random_text_never_raises(text: str) -> None:
    """Any text (including `---` and YAML-looking lines) is parsed without an exception, and a file is
    never dropped silently: it loads as an agent, or the problems say why not."""
    for content in (text, "---\n" + text, "---\n" + text + "\n---\n"):
        spec, problems = parse_agent(content, "t.agent.md")
        assert spec is not None or any(p.severity == "error" for p in problems)


def test_pathological_yaml_is_reported() -> None:
    """Deep nesting, alias bombs and huge values are reported or loaded, never raised."""
    deep = "[" * 5000 + "]" * 5000
    assert parse_agent(f"---\nname: {deep}\n---\n", "d.agent.md")[1]
    bomb = "a: &a [x, x, x]\nb: &b [*a, *a, *a]\nc: &c [*b, *b, *b]\ntools: [*c, *c]\nname: bomb\n"
    spec, _ = parse_agent(f"---\n{bomb}---\n", "b.agent.md")
    assert spec is not None
    assert parse_agent("---\nname: !!python/object:os.system echo\n---\n", "p.agent.md")[0] is None
