"""`architect-bot agents list | validate | graph`: what a person (or CI) sees and the exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "agents"
CLEAN = FIXTURES / "clean"
MESSY = FIXTURES / "messy"


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_shipped_agents_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """The agents shipped in agents/ (with routing.yaml) validate with no problem at all: exit 0."""
    code, out, _ = _run(capsys, "agents", "validate", str(ROOT / "agents"))
    assert code == 0, out
    assert out.startswith("OK: ")
    assert "0 errors, 0 warnings" in out


def test_validate_clean_fixture_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    """A clean folder prints no problem: the OK summary, after the tools its files name that do not
    run in Slack (not problems: the agents run without them)."""
    code, out, _ = _run(capsys, "agents", "validate", str(CLEAN))
    lines = out.strip().splitlines()
    assert (code, lines[-1]) == (0, "OK: 4 agents loaded; 0 errors, 0 warnings")
    assert lines[0] == "Tools not available here (the agents run without them):"
    assert all(line.startswith("  ") for line in lines[1:-1])


def test_validate_messy_exits_1_and_reports_every_problem(capsys: pytest.CaptureFixture[str]) -> None:
    """Errors give exit 1; each problem is printed as `file:line: severity: message` with the path
    relative to the current directory (as it can be opened from there), then a FAILED summary."""
    code, out, _ = _run(capsys, "agents", "validate", str(MESSY))
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[-1] == "FAILED: 4 agents loaded; 8 errors, 11 warnings"
    here = MESSY.relative_to(Path.cwd()).as_posix()
    assert any(
        line.startswith(f"{here}/apostrophe.agent.md:3: error: frontmatter is not valid YAML")
        for line in lines
    )
    assert any(
        line.startswith(f"{here}/b/dup.agent.md:1: warning: duplicate agent name 'twin'") for line in lines
    )
    assert str(MESSY) not in out
    assert len(lines) > 15


def test_counts_are_written_in_correct_english(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """One agent with one error and one warning reads "1 agent", "1 error", "1 warning"."""
    (tmp_path / "a.agent.md").write_text(
        "---\nname: a\nhandoffs:\n  - {label: x, agent: ghost, prompt: p}\n---\nYou help.\n"
    )
    code, out, _ = _run(capsys, "agents", "validate", str(tmp_path))
    assert code == 1
    assert out.strip().splitlines()[-1] == "FAILED: 1 agent loaded; 1 error, 1 warning"
    code, out, _ = _run(capsys, "agents", "list", str(tmp_path))
    assert (
        out.strip().splitlines()[-1]
        == f"1 agent; 1 error, 1 warning (`architect-bot agents validate {tmp_path}`)"
    )


def test_warnings_alone_pass_unless_strict(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Warnings are printed but pass (a valid public file is not "broken"); --strict makes them fail.
    A real error (a file that cannot be loaded) always fails."""
    (tmp_path / "a.agent.md").write_text("no frontmatter\n")
    (tmp_path / "routing.yaml").write_text("verbs: {}\n")
    code, out, _ = _run(capsys, "agents", "validate", str(tmp_path))
    assert (code, out.splitlines()[-1]) == (0, "OK: 1 agent loaded; 0 errors, 1 warning")
    assert _run(capsys, "agents", "validate", str(tmp_path), "--strict")[0] == 1
    assert _run(capsys, "agents", "validate", str(tmp_path), "--allow-warnings")[0] == 0  # old spelling
    (tmp_path / "b.agent.md").write_text("---\nname: [\n---\n")
    assert _run(capsys, "agents", "validate", str(tmp_path))[0] == 1


def test_handoff_to_vscode_builtin_agent_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A public file that hands off to VS Code's built-in `agent` validates (exit 0) with a warning."""
    (tmp_path / "c.agent.md").write_text(
        "---\nname: C\nhandoffs:\n  - label: Implement\n    agent: agent\n    prompt: Go.\n---\nBody\n"
    )
    (tmp_path / "routing.yaml").write_text("verbs: {}\n")
    code, out, _ = _run(capsys, "agents", "validate", str(tmp_path))
    assert code == 0
    assert out.startswith(
        f"{tmp_path}/c.agent.md:4: warning: handoff 'Implement' goes to VS Code's built-in 'agent'"
    )


def test_folder_is_the_same_argument_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    """`list`, `validate` and `graph` all take DIR, and all accept --dir as the same thing."""
    for command in ("list", "validate", "graph"):
        positional = _run(capsys, "agents", command, str(CLEAN))
        option = _run(capsys, "agents", command, "--dir", str(CLEAN))
        assert positional[0] == 0
        assert positional == option
    code, out, err = _run(capsys, "agents", "list", str(CLEAN), "--dir", str(MESSY))
    assert (code, out) == (2, "")
    assert "two different folders" in err


def test_validate_json_is_one_object(capsys: pytest.CaptureFixture[str]) -> None:
    """--json prints one JSON object: agents (name, file, description, model, handoffs) and problems."""
    code, out, _ = _run(capsys, "agents", "validate", str(CLEAN), "--json")
    assert code == 0
    data = json.loads(out)
    assert set(data) == {"agents", "problems"}
    assert data["problems"] == []
    lead = next(agent for agent in data["agents"] if agent["name"] == "Lead")
    assert set(lead) == {
        "name",
        "verb",
        "aliases",
        "file",
        "description",
        "model",
        "endpoint",
        "handoffs",
        "tools",
    }
    assert {"tool": "search", "reason": "reads the local workspace, which Slack does not have"} in (
        lead["tools"]["not_available"]
    )
    assert (lead["verb"], lead["aliases"], lead["file"]) == ("lead", ["plan"], "lead.agent.md")
    assert lead["model"] == "gpt-4.1"
    assert lead["handoffs"][0] == {"label": "Security review", "agent": "SE: Security", "send": True}

    code, out, _ = _run(capsys, "agents", "validate", str(MESSY), "--json")
    assert code == 1
    problems = json.loads(out)["problems"]
    assert {"file", "line", "message"} <= set(problems[0])
    assert any(p["line"] == 3 and p["file"].endswith("apostrophe.agent.md") for p in problems)


def test_validate_missing_dir_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A folder that does not exist is bad usage: exit 2 with a message on stderr."""
    code, out, err = _run(capsys, "agents", "validate", str(tmp_path / "nope"))
    assert (code, out) == (2, "")
    assert "does not exist" in err


@pytest.mark.parametrize("argv", [["agents", "validate", "--nope"], ["agents"], [], ["agents", "frobnicate"]])
def test_bad_usage_exits_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Unknown options or missing subcommands are argparse errors: exit 2 with usage on stderr."""
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    """`agents list` shows name, verb (and routing aliases), mapped model, handoff targets and the file
    relative to the folder, one agent per line."""
    code, out, _ = _run(capsys, "agents", "list", str(CLEAN))
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["NAME", "VERB", "MODEL", "HANDOFFS", "FILE"]
    security = next(line for line in lines if line.startswith("SE: Security"))
    assert security.split("  ")[-1] == "security.agent.md"
    assert "se-security (also sec)" in security
    assert "gpt-4o" in security
    assert any(line.startswith("Lead [default]") for line in lines)
    helper = next(line for line in lines if line.startswith("helper (agents only)"))
    assert helper.endswith("  sub/helper.agent.md")
    assert lines[-1] == "4 agents"


def test_list_cuts_long_handoff_lists(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An agent handing off to many agents shows the first three targets and "... and N more"."""
    entries = "".join(f"  - {{label: L{i}, agent: t{i}, prompt: p}}\n" for i in range(5))
    (tmp_path / "hub.agent.md").write_text(f"---\nname: hub\nhandoffs:\n{entries}---\n")
    for i in range(5):
        (tmp_path / f"t{i}.agent.md").write_text("---\n---\n")
    code, out, _ = _run(capsys, "agents", "list", str(tmp_path))
    assert code == 0
    hub = next(line for line in out.splitlines() if line.startswith("hub"))
    assert "t0, t1, t2, ... and 2 more" in hub


def test_list_uses_agents_dir_setting(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --dir, the folder comes from AGENTS_DIR (and its routing.yaml)."""
    monkeypatch.setenv("AGENTS_DIR", str(CLEAN))
    code, out, _ = _run(capsys, "agents", "list")
    assert code == 0
    assert "Lead [default]" in out


def test_graph_is_mermaid_with_safe_ids(capsys: pytest.CaptureFixture[str]) -> None:
    """`agents graph` prints a Mermaid flowchart; names with spaces/colons are labels, never node ids."""
    code, out, _ = _run(capsys, "agents", "graph", str(CLEAN))
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "flowchart LR"
    assert '    a3["SE: Security"]' in lines
    assert '    a2 -->|"Security review"| a3' in lines
    assert '    a2 -->|"Refine"| a2' in lines
    for line in lines[1:]:
        node = line.split()[0]
        assert node.split("[")[0].isalnum()


def test_console_script_does_not_import_slack_openai_or_redis() -> None:
    """The installed `architect-bot` CLI runs (exit 0 on the shipped agents) without loading heavy SDKs."""
    code = (
        "import sys\n"
        "from bot.cli import main\n"
        f"rc = main(['agents', 'validate', {str(ROOT / 'agents')!r}, '--json'])\n"
        "bad = [m for m in ('slack_bolt', 'slack_sdk', 'openai', 'redis', 'boto3') if m in sys.modules]\n"
        "print(rc, bad, file=sys.stderr)\n"
        "sys.exit(rc if not bad else 9)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    json.loads(result.stdout)


def test_a_misspelt_key_is_named_with_the_closest_known_one(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`modle:` and `handof:` are named with the key meant (they would silently run the agent on the
    default model, without handoffs); --strict fails on them; the path is printed as it can be opened."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "agents"
    folder.mkdir()
    (folder / "a.agent.md").write_text(
        "---\nname: A\nmodle: gpt-5\nhandof:\n  - {label: Go, agent: A, prompt: p, sned: true}\n"
        "---\nYou help.\n"
    )
    (folder / "routing.yaml").write_text("verbs: {}\n")
    code, out, _ = _run(capsys, "agents", "validate", "agents")
    assert code == 0  # warnings pass...
    assert "agents/a.agent.md:3: warning: `modle`: unknown key; did you mean `model`?" in out.splitlines()
    assert "agents/a.agent.md:4: warning: `handof`: unknown key; did you mean `handoffs`?" in out.splitlines()
    assert _run(capsys, "agents", "validate", "agents", "--strict")[0] == 1  # ...except with --strict


def test_keys_real_agent_files_use_are_known(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Every key the public awesome-copilot agents and chat modes use (counted on its 317 files:
    description, tools, name, model, argument-hint, user-invocable, mcp-servers,
    disable-model-invocation, mode, hidden, title, agents, handoffs, target, agent) loads without a
    word about unknown keys."""
    (tmp_path / "all.agent.md").write_text(
        "---\nname: All\ndescription: d\ntools: [read]\nmodel: gpt-4.1\nargument-hint: what\n"
        "user-invocable: true\nmcp-servers: {}\ndisable-model-invocation: false\nmode: agent\n"
        "hidden: false\ntitle: All keys\nagents: ['*']\ntarget: vscode\nagent: agent\n"
        "metadata: {owner: x}\nhooks: {}\n"
        "handoffs:\n  - {label: Again, agent: All, prompt: p, send: false, model: gpt-4.1,"
        " showContinueOn: true}\n"
        "---\nYou do everything.\n"
    )
    (tmp_path / "routing.yaml").write_text("verbs: {}\n")
    code, out, _ = _run(capsys, "agents", "validate", str(tmp_path), "--strict")
    assert "unknown key" not in out
    assert code == 0, out


def test_an_empty_body_is_warned(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An agent file with frontmatter but no instructions loads, with a warning saying so."""
    (tmp_path / "a.agent.md").write_text("---\nname: A\ndescription: helps\n---\n\n")
    (tmp_path / "routing.yaml").write_text("verbs: {}\n")
    code, out, _ = _run(capsys, "agents", "validate", str(tmp_path))
    assert code == 0
    assert "warning: the body is empty: the agent has no instructions" in out


def test_policy_and_agent_paths_are_printed_the_same_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A problem in the policy file and one in an agent file are both named relative to the current
    directory (before, the policy's path was absolute and the agent's relative to the folder)."""
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "agents"
    folder.mkdir()
    (folder / "a.agent.md").write_text("no frontmatter\n")
    (folder / "routing.yaml").write_text("verbs: {}\n")
    (folder / "policy.yaml").write_text("agents: [\n")
    _, out, _ = _run(capsys, "agents", "validate", "agents")
    named = {
        line.split(":", 1)[0] for line in out.splitlines() if ": warning: " in line or ": error: " in line
    }
    assert named == {"agents/a.agent.md", "agents/policy.yaml"}
