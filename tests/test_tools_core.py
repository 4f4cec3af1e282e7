"""The pure tool rules: names, limits, approval, and what an agent file's tools become here."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

import pytest

from bot.core.agents import AgentSpec, parse_agent
from bot.core.tools import (
    FETCH,
    GITHUB,
    ApprovalPolicy,
    McpServer,
    Toolbox,
    ToolCall,
    ToolConfig,
    ToolError,
    ToolOutput,
    ToolRules,
    ToolSpec,
    approval_reason,
    call_line,
    model_tool_name,
    plan_tools,
    result_for_error,
    result_for_output,
    safe_url,
    urls_in,
)

FETCH_SPEC = ToolSpec(name="fetch", description="", parameters={}, read_only=True)
WRITE_SPEC = ToolSpec(
    name="tracker__create_ticket",
    description="",
    parameters={},
    read_only=False,
    label="tracker/create_ticket",
    source="mcp:tracker",
)
READ_SPEC = ToolSpec(
    name="tracker__list_tickets",
    description="",
    parameters={},
    read_only=True,
    label="tracker/list_tickets",
    source="mcp:tracker",
)
ALL_ON = ToolConfig(
    fetch=True,
    github=True,
    mcp=True,
    mcp_allowed_prefixes=("https://mcp.example.com/",),
)


def agent(frontmatter: str) -> AgentSpec:
    spec, problems = parse_agent(f"---\n{frontmatter}\n---\nBe useful.\n", "x.agent.md")
    assert spec is not None, problems
    return spec


# ------------------------------------------------------------------------------------ names, calls


def test_model_tool_names_are_what_openai_accepts() -> None:
    """A server tool with dots or spaces still reaches the model under a valid, stable function name."""
    assert model_tool_name("docs", "search.pages") == "docs__search_pages"
    long = model_tool_name(
        "a-very-long-server-name-indeed", "and-an-even-longer-tool-name-that-goes-on-and-on"
    )
    other = model_tool_name(
        "a-very-long-server-name-indeed", "and-an-even-longer-tool-name-that-goes-on-and-ox"
    )
    assert len(long) <= 64
    assert long != other
    assert long == model_tool_name(
        "a-very-long-server-name-indeed", "and-an-even-longer-tool-name-that-goes-on-and-on"
    )


def test_bad_arguments_are_a_clear_error() -> None:
    """A model that sends broken JSON gets told why instead of crashing the answer."""
    assert ToolCall("c1", "fetch", '{"url": "https://a.example/"}').parsed() == {"url": "https://a.example/"}
    assert ToolCall("c1", "fetch", "").parsed() == {}
    with pytest.raises(ValueError, match="not valid JSON"):
        ToolCall("c1", "fetch", '{"url": ').parsed()
    with pytest.raises(ValueError, match="JSON object"):
        ToolCall("c1", "fetch", "[1]").parsed()


# ------------------------------------------------------------------------------------------ rules


def test_a_huge_result_is_cut_with_a_note_to_the_model() -> None:
    """A 50,000-character page reaches the model cut to the cap, and the model is told it was cut."""
    rules = ToolRules(result_max_chars=1000)
    call = ToolCall("c1", "fetch", "{}")
    result = result_for_output(call, ToolOutput("x" * 50_000), rules, elapsed_ms=5)
    assert result.truncated
    assert result.size == 50_000
    assert result.content.startswith("x" * 1000)
    assert "50,000 characters" in result.content
    assert "first 1,000" in result.content
    small = result_for_output(call, ToolOutput("short"), rules, elapsed_ms=5)
    assert small.content == "short"
    assert not small.truncated


def test_tool_errors_reach_the_model_and_the_thread() -> None:
    """A failing tool gives the model the reason and the thread a short line."""
    call = ToolCall("c1", "fetch", "{}")
    failed = result_for_output(
        call, ToolOutput("server said no\nmore detail", is_error=True), ToolRules(), elapsed_ms=1
    )
    assert failed.error == "server said no"
    assert failed.content.startswith("Tool error: server said no")
    told = result_for_error(call, "timed out after 20 s")
    assert not told.ok
    assert told.content == "Tool error: timed out after 20 s"


def test_tools_leave_time_for_the_answer() -> None:
    """Tools use at most their share of the answer's time; a call never starts with under a second left."""
    rules = ToolRules(call_timeout_s=20, tools_share=0.5, min_call_s=1.0)
    # answer started at 100 with a deadline at 160: tools may run until 130
    assert rules.call_deadline(now=100, started=100, deadline=160) == 120
    assert rules.call_deadline(now=125, started=100, deadline=160) == 130
    assert rules.call_deadline(now=129.5, started=100, deadline=160) is None


# --------------------------------------------------------------------------------------- approval


def test_people_written_addresses_are_found_in_slack_text() -> None:
    """Links as Slack sends them (<url|label>, trailing punctuation, http) count as written by a person."""
    found = urls_in(
        [
            "see <https://Docs.Example.com/design?id=7|the design>.",
            "and http://wiki.example.org/page, please",
        ]
    )
    assert "https://docs.example.com/design?id=7" in found
    assert "https://wiki.example.org/page" in found
    assert "http://wiki.example.org/page" in found


def test_fetch_of_an_address_a_person_wrote_runs_at_once() -> None:
    """The agent reads the design doc a colleague linked without asking anyone."""
    people = urls_in(["review https://docs.example.com/design?id=7"])
    reason = approval_reason(
        FETCH_SPEC,
        {"url": "https://docs.example.com/design?id=7"},
        policy=ApprovalPolicy(),
        people_urls=people,
    )
    assert reason is None


def test_fetch_of_a_made_up_address_asks_first() -> None:
    """An address the model built (which could carry the thread's text out) waits for a click."""
    people = urls_in(["review https://docs.example.com/design?id=7"])
    for url in (
        "https://docs.example.com/design?id=7&leak=secret-plan",
        "https://attacker.example/?q=thread+text",
        "https://docs.example.com/other",
    ):
        reason = approval_reason(FETCH_SPEC, {"url": url}, policy=ApprovalPolicy(), people_urls=people)
        assert reason == "the address was not written by a person in this thread"


def test_fetch_domain_allow_list_waives_the_question() -> None:
    """Domains on the allow-list (and their subdomains) are read without asking; look-alikes are not."""
    policy = ApprovalPolicy(fetch_domains=("example.com",))
    assert (
        approval_reason(
            FETCH_SPEC, {"url": "https://docs.example.com/x"}, policy=policy, people_urls=frozenset()
        )
        is None
    )
    assert (
        approval_reason(FETCH_SPEC, {"url": "https://example.com/"}, policy=policy, people_urls=frozenset())
        is None
    )
    assert approval_reason(
        FETCH_SPEC, {"url": "https://notexample.com/"}, policy=policy, people_urls=frozenset()
    )


def test_writes_ask_unless_trusted_and_ask_first_always_asks() -> None:
    """An MCP tool not marked read-only asks; an operator can trust it, or make any tool ask."""
    none: frozenset[str] = frozenset()
    assert approval_reason(WRITE_SPEC, {}, policy=ApprovalPolicy(), people_urls=none) == (
        "it can change something"
    )
    assert approval_reason(READ_SPEC, {}, policy=ApprovalPolicy(), people_urls=none) is None
    trusted = ApprovalPolicy(trusted=frozenset({"tracker/create_ticket"}))
    assert approval_reason(WRITE_SPEC, {}, policy=trusted, people_urls=none) is None
    whole_server = ApprovalPolicy(ask_first=frozenset({"tracker/*"}))
    assert approval_reason(READ_SPEC, {}, policy=whole_server, people_urls=none)
    people = urls_in(["https://docs.example.com/"])
    ask_fetch = ApprovalPolicy(ask_first=frozenset({"fetch"}))
    assert approval_reason(
        FETCH_SPEC, {"url": "https://docs.example.com/"}, policy=ask_fetch, people_urls=people
    )


# ------------------------------------------------------------------------------ what runs here


def test_vscode_only_tools_are_reported_not_available() -> None:
    """editFiles, the terminal, the codebase... are listed with a reason; fetch and githubRepo run."""
    spec = agent(
        "tools: ['editFiles', 'runInTerminal', 'codebase', 'fetch', 'githubRepo', 'execute/runTests', "
        "'ms-python.python/installPythonPackage', 'openSimpleBrowser']"
    )
    plan = plan_tools(spec, ALL_ON)
    assert plan.builtins == {FETCH, GITHUB}
    reasons = {item.name: item.reason for item in plan.unavailable}
    assert reasons == {
        "editFiles": "edits files in the workspace",
        "runInTerminal": "runs commands on the user's machine",
        "codebase": "reads the local workspace, which Slack does not have",
        "execute/runTests": "runs commands on the user's machine",
        "ms-python.python/installPythonPackage": "a tool of a VS Code extension",
        "openSimpleBrowser": "a feature of the editor",
    }


def test_no_tools_list_means_every_tool_the_bot_allows() -> None:
    """An agent file without `tools` gets every built-in that is on, as in VS Code; `tools: []` gets none."""
    assert plan_tools(agent("name: a"), ALL_ON).builtins == {FETCH, GITHUB}
    assert plan_tools(agent("name: a"), ToolConfig(fetch=True)).builtins == {FETCH}
    assert plan_tools(agent("tools: []"), ALL_ON).empty


def test_settings_switch_built_ins_off() -> None:
    """A built-in switched off in settings is not available, and the agent is told why."""
    plan = plan_tools(
        agent("tools: [fetch, githubRepo]"),
        ToolConfig(github_reason="not configured (GITHUB_ALLOWED_REPOS is empty)"),
    )
    assert plan.empty
    assert [item.reason for item in plan.unavailable] == [
        "switched off in the bot's settings (TOOL_FETCH)",
        "GitHub tools are not configured (GITHUB_ALLOWED_REPOS is empty)",
    ]


MCP_AGENT = """
tools: ['docs/*', 'tracker/list_tickets', 'fetch']
mcp-servers:
  docs:
    type: http
    url: https://mcp.example.com/docs
    headers: {"Authorization": "Bearer ${{ secrets.DOCS_TOKEN }}"}
  tracker:
    type: sse
    url: https://mcp.example.com/tracker/sse
    tools: ["list_tickets", "create_ticket"]
  evil:
    type: http
    url: https://evil.example/mcp
  local:
    type: local
    command: npx
    args: ['-y', 'some-server']
    env:
      KEY: ${{ secrets.KEY }}
"""


def test_only_allowed_mcp_servers_run() -> None:
    """An agent file cannot add a server the settings do not allow; stdio servers never run here."""
    plan = plan_tools(agent(MCP_AGENT), ALL_ON)
    chosen = {selection.server.name: selection for selection in plan.mcp}
    assert set(chosen) == {"docs", "tracker"}
    assert chosen["docs"].server.transport == "http"
    assert chosen["docs"].tools is None
    assert chosen["tracker"].server.transport == "sse"
    assert chosen["tracker"].selects("list_tickets")
    assert not chosen["tracker"].selects("create_ticket")
    reasons = {item.name: item.reason for item in plan.unavailable}
    assert reasons["MCP server evil"] == "https://evil.example/mcp is not in the bot's MCP_ALLOWED_SERVERS"
    assert "stdio" in reasons["MCP server local"]
    nothing_allowed = plan_tools(agent(MCP_AGENT), ToolConfig(fetch=True, mcp=True))
    assert nothing_allowed.mcp == ()
    assert (
        plan_tools(
            agent(MCP_AGENT), ToolConfig(fetch=True, mcp=False, mcp_allowed_prefixes=("https://",))
        ).mcp
        == ()
    )


def test_agent_file_credentials_are_never_kept() -> None:
    """Header and env values (and ${{ secrets.X }}) of an agent file are not stored anywhere."""
    spec = agent(MCP_AGENT)
    dumped = json.dumps(asdict(spec))
    assert "secrets" not in dumped
    assert "Bearer" not in dumped
    assert "npx" not in dumped
    docs = next(server for server in spec.mcp_servers if server.name == "docs")
    assert docs.credentials


def test_bare_tool_names_pick_tools_of_the_agents_servers() -> None:
    """A Copilot profile that lists its MCP tools by bare name gets exactly those tools."""
    spec = agent(
        "tools: ['search_papers']\nmcp-servers:\n  papers:\n    type: sse\n    url: https://mcp.example.com/p/sse\n"
    )
    plan = plan_tools(spec, ALL_ON)
    assert plan.mcp[0].selects("search_papers")
    assert not plan.mcp[0].selects("delete_paper")
    refused = plan_tools(spec, ToolConfig(mcp=True))
    assert {item.reason for item in refused.unavailable} == {
        "https://mcp.example.com/p/sse is not in the bot's MCP_ALLOWED_SERVERS",
        "not a tool the bot offers, and no MCP server the bot may use provides it",
    }


def test_bot_wide_servers_serve_agents_that_name_them() -> None:
    """A server configured for the whole bot is used by agents that name it, or that list no tools."""
    bot_server = McpServer(name="wiki", url="https://wiki.internal/mcp", transport="http", origin="bot")
    config = ToolConfig(mcp=True, bot_servers=(bot_server,))
    assert plan_tools(agent("tools: ['wiki/*']"), config).mcp[0].server == bot_server
    assert plan_tools(agent("name: x"), config).mcp[0].server == bot_server
    assert plan_tools(agent("tools: ['fetch']"), config).mcp == ()


def test_github_mcp_names_map_to_the_read_only_github_tools() -> None:
    """`github/get_file_contents` is served by the built-in GitHub tools; `github/create_issue` is not."""
    plan = plan_tools(agent("tools: ['github/get_file_contents', 'github/create_issue']"), ALL_ON)
    assert plan.builtins == {GITHUB}
    assert [item.name for item in plan.unavailable] == ["github/create_issue"]


def test_urls_shown_without_their_query() -> None:
    """An address shown in the thread or a log never shows its query (it may hold a key)."""
    assert safe_url("https://mcp.example.com/x?key=abc#f") == "https://mcp.example.com/x?…"
    assert safe_url("https://user:pw@h.example:8443/p") == "https://h.example:8443/p"


# ----------------------------------------------------------------------------------- the toolbox


class _Provider:
    def __init__(self, specs: Sequence[ToolSpec], fail: bool = False) -> None:
        self._specs = specs
        self._fail = fail
        self.calls: list[tuple[str, Mapping[str, Any]]] = []

    def specs(self, *, deadline: float) -> Sequence[ToolSpec]:
        if self._fail:
            raise ToolError("docs: the server did not answer")
        return self._specs

    def call(self, spec: ToolSpec, arguments: Mapping[str, Any], *, deadline: float) -> ToolOutput:
        self.calls.append((spec.name, arguments))
        return ToolOutput(f"ran {spec.name}")


def test_toolbox_dispatches_and_survives_a_failing_server() -> None:
    """One MCP server that cannot list its tools leaves the others usable, and says so."""
    reader = _Provider([READ_SPEC, FETCH_SPEC])
    box = Toolbox([_Provider([], fail=True), reader, _Provider([READ_SPEC])], deadline=10.0)
    assert [spec.name for spec in box.specs] == ["tracker__list_tickets", "fetch"]
    assert box.failures == ["docs: the server did not answer"]
    output = box.call(ToolCall("c1", "fetch", "{}"), {"url": "u"}, deadline=10.0)
    assert output.text == "ran fetch"
    assert reader.calls == [("fetch", {"url": "u"})]
    with pytest.raises(ToolError, match="no tool named 'nope'"):
        box.call(ToolCall("c2", "nope", "{}"), {}, deadline=10.0)


def test_call_lines_are_compact() -> None:
    """Each call shows in the thread as one line: tool, argument, then size or error."""
    call = ToolCall("c1", "fetch", '{"url": "https://docs.example.com/d?token=abc"}')
    ok = result_for_output(call, ToolOutput("y" * 12_345), ToolRules(), elapsed_ms=3)
    assert call_line(FETCH_SPEC, call, None) == "🔧 `fetch` https://docs.example.com/d?… …"
    assert call_line(FETCH_SPEC, call, ok) == "🔧 `fetch` https://docs.example.com/d?… → 12.3k chars"
    failed = result_for_error(call, "refused: the address is private")
    assert (
        call_line(FETCH_SPEC, call, failed)
        == "⚠️ `fetch` https://docs.example.com/d?… → refused: the address is private"
    )
