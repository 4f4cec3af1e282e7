"""Agents that act, end to end through the Lambda handler.

The fake OpenAI server asks for tool calls; the tools are real: a local HTTPS web server for
``fetch`` (reachable through the test-only loopback setting), a fake GitHub API over HTTP, and a
local MCP server built with the ``mcp`` SDK. Approval runs through the Approve / Deny buttons, with
an injected clock for the time limit.
"""

from __future__ import annotations

import json

import pytest

from tests.fakes.openai_server import Stream, calls
from tests.harness import CHANNEL, OTHER_USER, USER
from tests.tool_servers import Tools


def test_fetch_reads_the_page_a_person_linked(tools: Tools) -> None:
    """The agent reads the design doc linked in the thread at once, and the call shows in the thread."""
    url = tools.web.url("/design")
    tools.bot.openai.script(
        calls(("fetch", {"url": url}), text=["Reading it."]), Stream(["The ledger is append-only."])
    )
    root = tools.ask(f"what does <{url}> say?")
    answer = tools.bot.answers(root)[-1].markdown()
    assert answer == "Reading it.\n\nThe ledger is append-only."
    [step] = tools.tasks(root)
    assert step["title"] == f"fetch {url}"
    assert step["status"] == "complete"
    assert str(step["output"]).endswith(" chars")
    [result] = tools.tool_messages()
    assert "append-only" in str(result["content"])
    assert tools.web.requests == [("/design", f"localhost:{tools.web.port}")]
    sent_tools = {t["function"]["name"] for t in tools.bot.openai.requests[0].body["tools"]}
    assert {"fetch", "github_read_file", "tracker__search_docs", "tracker__create_ticket"} <= sent_tools


def test_fetch_of_an_address_nobody_wrote_asks_first(tools: Tools) -> None:
    """A URL the model made up (it could carry the thread out) waits for the asker's approval."""
    made_up = tools.web.url("/design?leak=our+secret+plan")
    tools.bot.openai.script(calls(("fetch", {"url": made_up})), Stream(["Fine, I won't."]))
    root = tools.ask("summarise our plan")
    assert tools.web.requests == []
    approval = tools.approval(root)
    assert "the address was not written by a person in this thread" in json.dumps(approval.blocks)
    tools.bot.click(approval, "Deny")
    tools.bot.lazy()
    assert tools.web.requests == []
    assert "Not run" in str(tools.tool_messages()[-1]["content"])
    assert tools.bot.answers(root)[-1].markdown().endswith("Fine, I won't.")


def test_github_tools_read_an_allowed_repository(tools: Tools) -> None:
    """The agent reads a file of an allowed repository with the bot's token."""
    tools.bot.openai.script(
        calls(("github_read_file", {"repo": "acme/payments", "path": "src/ledger.py"})),
        Stream(["It is append-only."]),
    )
    tools.ask("is the ledger append-only? see acme/payments")
    [result] = tools.tool_messages()
    assert "class Ledger:  # append-only" in str(result["content"])
    assert tools.github.requests[-1][1] == f"Bearer {tools.github.token}"


def test_mcp_read_only_tool_runs_at_once_with_settings_credentials(tools: Tools) -> None:
    """A read-only MCP tool runs without asking; its key comes from the bot's settings."""
    tools.bot.openai.script(calls(("tracker__search_docs", {"query": "ledger"})), Stream(["ADR-1 says so."]))
    tools.ask("what do our ADRs say about the ledger?")
    [result] = tools.tool_messages()
    assert "ADR-1 append-only ledger" in str(result["content"])
    assert set(tools.mcp.seen_keys) == {"tracker-key-1"}


def _ask_for_ticket(tools: Tools, *then: Stream) -> str:
    tools.bot.openai.script(
        calls(("tracker__create_ticket", {"title": "Fix the ledger"}), text=["I'll file it."]), *then
    )
    root = tools.ask("file a ticket to fix the ledger")
    assert tools.mcp.tickets == []
    return root


def test_a_write_waits_for_approval_then_runs_once(tools: Tools) -> None:
    """The asker approves; the ticket is filed once and the answer goes on in the thread."""
    root = _ask_for_ticket(tools, Stream(["Filed T-1."]))
    approval = tools.approval(root)
    text = json.dumps(approval.blocks)
    assert "tracker/create_ticket" in text
    assert "Fix the ledger" in text
    assert "can change something" in text
    assert tools.bot.answers(root)[0].markdown().startswith("I'll file it.")
    tools.bot.click(approval, "Approve")
    tools.bot.lazy()
    assert tools.mcp.tickets == ["Fix the ledger"]
    updated = next(m for m in tools.bot.slack.thread(CHANNEL, root) if m.ts == approval.ts)
    assert updated.buttons() == []
    assert f"Approved by <@{USER}>" in json.dumps(updated.blocks)
    final = tools.bot.answers(root)[-1].markdown()
    assert final == "Filed T-1."
    [step] = tools.tasks(root)
    assert (step["title"], step["status"]) == ("tracker/create_ticket Fix the ledger", "complete")
    assert "Created ticket T-1" in str(tools.tool_messages()[-1]["content"])
    # The stored answer is whole: the next reply's prompt has both parts of it
    tools.bot.openai.script(Stream(["ok"]))
    tools.bot.message("thanks", thread_ts=root)
    tools.bot.lazy()
    history = [m["content"] for m in tools.bot.openai.requests[-1].messages if m["role"] == "assistant"]
    assert any("I'll file it." in str(c) and "Filed T-1." in str(c) for c in history)


def test_deny_runs_nothing_and_the_model_is_told(tools: Tools) -> None:
    """Deny: no ticket, the model reads why, the answer goes on."""
    root = _ask_for_ticket(tools, Stream(["Understood, no ticket."]))
    tools.bot.click(tools.approval(root), "Deny")
    tools.bot.lazy()
    assert tools.mcp.tickets == []
    assert "they clicked Deny" in str(tools.tool_messages()[-1]["content"])
    assert tools.bot.answers(root)[-1].markdown().endswith("Understood, no ticket.")


def test_only_the_asker_decides(tools: Tools) -> None:
    """Someone else's click is refused privately and changes nothing; the asker still can."""
    root = _ask_for_ticket(tools, Stream(["Filed."]))
    approval = tools.approval(root)
    tools.bot.click(approval, "Approve", user=OTHER_USER)
    tools.bot.lazy()
    assert tools.mcp.tickets == []
    assert any("Only the person who asked" in e["text"] for e in tools.bot.slack.ephemeral)
    tools.bot.click(approval, "Approve", user=USER)
    tools.bot.lazy()
    assert tools.mcp.tickets == ["Fix the ledger"]


def test_a_double_click_runs_the_tool_once(tools: Tools) -> None:
    """Two clicks (and a re-delivered one) file one ticket; the late click is told it was decided."""
    root = _ask_for_ticket(tools, Stream(["Filed."]))
    approval = tools.approval(root)
    tools.bot.click(approval, "Approve")
    tools.bot.click(approval, "Approve")
    tools.bot.lazy()
    assert tools.mcp.tickets == ["Fix the ledger"]
    assert any("no longer waiting" in e["text"] for e in tools.bot.slack.ephemeral)
    assert len(tools.bot.answers(root)) == 2  # the paused part and the rest, once


def test_no_click_in_time_is_a_denial_at_the_click(tools: Tools) -> None:
    """A click after the time limit does not run the call: it counts as not approved in time."""
    root = _ask_for_ticket(tools, Stream(["Too late, no ticket."]))
    tools.clock.advance(601, wall_only=True)
    tools.bot.click(tools.approval(root), "Approve")
    tools.bot.lazy()
    assert tools.mcp.tickets == []
    assert "no one approved it in time" in str(tools.tool_messages()[-1]["content"])
    assert "Not approved in time" in tools.thread_text(root)


def test_no_click_in_time_is_a_denial_at_the_next_message(tools: Tools) -> None:
    """The next message after the time limit settles the waiting call as denied, then is answered."""
    root = _ask_for_ticket(tools, Stream(["No ticket; and about your question: yes."]))
    tools.clock.advance(601, wall_only=True)
    tools.bot.message("also, is the ledger sharded?", thread_ts=root)
    tools.bot.lazy()
    assert tools.mcp.tickets == []
    request = tools.bot.openai.requests[-1]
    assert "no one approved it in time" in str(tools.tool_messages()[-1]["content"])
    assert any("sharded" in str(m["content"]) for m in request.messages if m["role"] == "user")
    assert "Not approved in time" in tools.thread_text(root)
    tools.bot.click(tools.approval(root), "Approve")  # the old buttons no longer do anything
    tools.bot.lazy()
    assert tools.mcp.tickets == []


def test_a_tool_error_is_told_and_the_answer_goes_on(tools: Tools) -> None:
    """A failing tool shows as a warning line; the model reads the error and still answers."""
    tools.bot.openai.script(calls(("tracker__explode", {})), Stream(["The tracker is down, sorry."]))
    root = tools.ask("search the tracker")
    assert "the tracker database is down" in str(tools.tool_messages()[-1]["content"])
    assert tools.bot.answers(root)[-1].markdown() == "The tracker is down, sorry."
    [step] = tools.tasks(root)
    assert (step["status"], step["output"]) == (
        "error",
        "Error executing tool explode: the tracker database is down",
    )


def test_a_looping_model_is_stopped_at_the_cap(tools: Tools, monkeypatch: pytest.MonkeyPatch) -> None:
    """After the cap the model is told to answer; one that keeps asking is stopped, and the user told."""
    monkeypatch.setenv("TOOL_MAX_CALLS", "2")
    search = calls(("tracker__search_docs", {"query": "again"}))
    tools.bot.openai.script(search, search, search, search)
    root = tools.ask("loop please")
    requests = tools.bot.openai.requests
    assert len(requests) == 4
    assert [r.body.get("tool_choice") for r in requests] == ["auto", "auto", "auto", "none"]
    assert "limit of 2 tool calls" in str(tools.tool_messages()[-1]["content"])
    assert tools.mcp.calls == ["search_docs", "search_docs"]
    assert "kept asking for tools after its 2 tool calls" in tools.bot.answers(root)[-1].markdown()


def test_a_huge_result_reaches_the_model_cut_with_a_note(tools: Tools) -> None:
    """A 100,000-character tool result is cut to the cap and the model is told so."""
    tools.bot.openai.script(calls(("tracker__huge", {})), Stream(["That was a lot."]))
    tools.ask("get everything")
    content = str(tools.tool_messages()[-1]["content"])
    assert len(content) < 13_000
    assert "the tool returned 100,000 characters" in content


def test_without_native_streaming_each_call_is_a_line_in_the_text(
    tools: Tools, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where answers are edited in place (no streaming API), each call is a line in the answer's text."""
    monkeypatch.setenv("SLACK_NATIVE_STREAMING", "false")
    url = tools.web.url("/design")
    tools.bot.openai.script(calls(("fetch", {"url": url}), text=["Reading it."]), Stream(["Append-only."]))
    root = tools.ask(f"what does <{url}> say?")
    answer = tools.bot.answers(root)[-1].markdown()
    assert answer.startswith("Reading it.")
    assert f"> 🔧 `fetch` {url} → " in answer
    assert answer.endswith("Append-only.")
    assert tools.tasks(root) == []
