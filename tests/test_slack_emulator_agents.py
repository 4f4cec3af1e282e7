"""The emulator's agent features (streaming, loading states, assistant threads, canvases, uploads):
Slack's documented arguments, limits and errors, through slack_sdk over real HTTP."""

from __future__ import annotations

import urllib.request

import pytest
from slack_sdk import WebClient

from bot.core.ports import FixedClock
from bot.playground.workspace import Workspace
from tests.support import refusal

TOKEN = "xoxb-emulator-agents"


@pytest.fixture
def workspace(clock: FixedClock) -> Workspace:
    """A strict workspace: #design with the bot and a person, a DM with that person."""
    ws = Workspace(bot_token=TOKEN, strict=True, monotonic=clock.monotonic)
    ws.add_user("U1", "ada")
    ws.add_channel("C1", "design", {"U1", ws.bot_user_id})
    ws.add_channel("D1", "ada", {"U1", ws.bot_user_id})
    return ws


def _thread(workspace: Workspace, channel: str = "C1") -> str:
    return workspace.post(channel=channel, user="U1", text="a question").ts


def test_a_stream_in_a_channel_needs_its_recipient(client: WebClient, workspace: Workspace) -> None:
    """Streaming in a channel thread names the person it answers (team and user); a DM does not."""
    root = _thread(workspace)
    start = lambda **kw: client.chat_startStream(channel="C1", thread_ts=root, markdown_text="hi", **kw)  # noqa: E731
    assert refusal(start)[0] == "missing_recipient_team_id"
    assert refusal(lambda: start(recipient_team_id="T1"))[0] == "missing_recipient_user_id"
    assert start(recipient_team_id="T1", recipient_user_id="U1")["ok"]
    dm_root = _thread(workspace, "D1")
    assert client.chat_startStream(channel="D1", thread_ts=dm_root, markdown_text="hi")["ok"]
    assert refusal(lambda: client.chat_startStream(channel="C1", thread_ts="", markdown_text="x"))[0] == (
        "invalid_arguments"
    )


def test_a_stream_grows_then_stops_with_blocks_under_the_text(
    client: WebClient, workspace: Workspace
) -> None:
    """Appended Markdown shows in one message; stopping puts the footer and buttons under it and
    closes the stream: a later append is refused."""
    root = _thread(workspace)
    started = client.chat_startStream(
        channel="C1", thread_ts=root, recipient_team_id="T1", recipient_user_id="U1", markdown_text="Hel"
    )
    ts = started["ts"]
    client.chat_appendStream(channel="C1", ts=ts, markdown_text="lo ")
    client.chat_appendStream(channel="C1", ts=ts, chunks=[{"type": "markdown_text", "text": "world"}])
    message = workspace.message("C1", ts)
    assert message is not None
    assert message.markdown() == "Hello world"
    buttons = {
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}}],
    }
    client.chat_stopStream(channel="C1", ts=ts, markdown_text=".", blocks=[buttons])
    assert message.markdown() == "Hello world."
    assert message.blocks[-1]["type"] == "actions"
    assert message.thread_ts == root
    assert refusal(lambda: client.chat_appendStream(channel="C1", ts=ts, markdown_text="more"))[0] == (
        "message_not_in_streaming_state"
    )


def test_stream_limits_and_ownership(client: WebClient, workspace: Workspace, clock: FixedClock) -> None:
    """12,000 characters per call; chunks of known types; only the app's own streaming message;
    a stream idle for five minutes expires."""
    root = _thread(workspace)
    kw = {"recipient_team_id": "T1", "recipient_user_id": "U1"}
    error, messages = refusal(
        lambda: client.chat_startStream(channel="C1", thread_ts=root, markdown_text="x" * 12_001, **kw)
    )
    assert error == "invalid_arguments"
    assert "12001" in messages[0]
    assert refusal(
        lambda: client.chat_startStream(channel="C1", thread_ts=root, chunks=[{"type": "gif"}], **kw)
    )[0] == ("invalid_chunks")
    ts = client.chat_startStream(channel="C1", thread_ts=root, markdown_text="x" * 12_000, **kw)["ts"]
    assert refusal(lambda: client.chat_appendStream(channel="C1", ts=ts, markdown_text="y"))[0] == (
        "msg_blocks_too_long"  # the message as a whole stays within Slack's markdown limit
    )
    assert refusal(lambda: client.chat_appendStream(channel="C1", ts=root, markdown_text="y"))[0] == (
        "message_not_owned_by_app"
    )
    assert refusal(lambda: client.chat_appendStream(channel="C1", ts=ts))[0] == "no_text"
    other = client.chat_startStream(channel="C1", thread_ts=root, markdown_text="a", **kw)["ts"]
    clock.advance(301)
    assert refusal(lambda: client.chat_appendStream(channel="C1", ts=other, markdown_text="b"))[0] == (
        "message_not_in_streaming_state"
    )


def test_loading_state_rules(client: WebClient, workspace: Workspace, clock: FixedClock) -> None:
    """A loading state shows until the app's next message in the thread (or two minutes); at most
    ten loading messages; an empty status clears it."""
    root = _thread(workspace)
    error, _ = refusal(
        lambda: client.assistant_threads_setStatus(
            channel_id="C1", thread_ts=root, status="is thinking", loading_messages=["m"] * 11
        )
    )
    assert error == "invalid_arguments"
    client.assistant_threads_setStatus(
        channel_id="C1", thread_ts=root, status="is asking Director…", loading_messages=["Reading…"]
    )
    shown = workspace.agent.status("C1", root, clock.monotonic())
    assert shown is not None
    assert shown.loading_messages == ["Reading…"]
    client.chat_postMessage(channel="C1", thread_ts=root, text="the answer")
    assert workspace.agent.status("C1", root, clock.monotonic()) is None
    client.assistant_threads_setStatus(channel_id="C1", thread_ts=root, status="is thinking")
    assert workspace.agent.status("C1", root, clock.monotonic() + 121) is None
    client.assistant_threads_setStatus(channel_id="C1", thread_ts=root, status="")
    assert workspace.agent.status("C1", root, clock.monotonic()) is None
    assert refusal(lambda: client.assistant_threads_setStatus(channel_id="C9", thread_ts=root, status="x"))[
        0
    ] == ("channel_not_found")


def test_suggested_prompts_and_titles(client: WebClient, workspace: Workspace) -> None:
    """Up to four prompts, each with a title and a message; a thread title is kept. The side panel
    (assistant_view) shows prompts per thread; an agent_view app's prompts go without a thread_ts
    (with one, Slack answers ok and shows nothing)."""
    workspace.agent.experience = "assistant"
    root = _thread(workspace, "D1")
    prompts = [{"title": f"Agent {i}", "message": f"do {i}"} for i in range(5)]
    assert refusal(
        lambda: client.assistant_threads_setSuggestedPrompts(channel_id="D1", thread_ts=root, prompts=prompts)
    )[0] == ("invalid_arguments")
    assert refusal(
        lambda: client.assistant_threads_setSuggestedPrompts(
            channel_id="D1", thread_ts=root, prompts=[{"title": "no message"}]
        )
    )[0] == ("invalid_arguments")
    client.assistant_threads_setSuggestedPrompts(
        channel_id="D1", thread_ts=root, prompts=prompts[:4], title="Try"
    )
    assert workspace.agent.prompts[("D1", root)]["prompts"] == prompts[:4]
    client.assistant_threads_setTitle(channel_id="D1", thread_ts=root, title="Rate limiter design")
    assert workspace.agent.titles[("D1", root)] == "Rate limiter design"
    workspace.agent.experience, workspace.agent.prompts = "agent", {}
    two = prompts[:2]
    assert client.assistant_threads_setSuggestedPrompts(channel_id="D1", thread_ts=root, prompts=two)["ok"]
    assert workspace.agent.prompts == {}
    client.assistant_threads_setSuggestedPrompts(channel_id="D1", prompts=prompts[:2])
    assert workspace.agent.prompts[("D1", "")]["prompts"] == prompts[:2]


def test_canvases_create_edit_and_share(client: WebClient, workspace: Workspace) -> None:
    """A Markdown canvas tabbed in a channel; a whole-canvas replace; access for channels or people."""
    made = client.canvases_create(
        title="Design", document_content={"type": "markdown", "markdown": "# One"}, channel_id="C1"
    )
    canvas = workspace.agent.canvases[made["canvas_id"]]
    assert (canvas.markdown, canvas.channel_id) == ("# One", "C1")
    client.canvases_edit(
        canvas_id=canvas.id,
        changes=[{"operation": "replace", "document_content": {"type": "markdown", "markdown": "# Two"}}],
    )
    assert canvas.markdown == "# Two"
    client.canvases_access_set(canvas_id=canvas.id, access_level="read", channel_ids=["C1"])
    assert refusal(
        lambda: client.canvases_access_set(
            canvas_id=canvas.id, access_level="read", channel_ids=["C1"], user_ids=["U1"]
        )
    )[0] == ("invalid_parameters")
    assert refusal(lambda: client.canvases_edit(canvas_id="F0", changes=[{"operation": "replace"}]))[0] == (
        "canvas_not_found"
    )
    too_big = {"type": "markdown", "markdown": "x" * 1_048_577}
    assert refusal(lambda: client.canvases_create(title="big", document_content=too_big))[0] == (
        "canvas_creation_failed"
    )


def test_files_upload_v2_shares_a_file_in_a_thread(client: WebClient, workspace: Workspace) -> None:
    """slack_sdk's files_upload_v2 (get URL, POST bytes, complete) shares the file in the thread;
    it downloads back byte for byte with the bot token."""
    root = _thread(workspace)
    done = client.files_upload_v2(
        channel="C1", thread_ts=root, filename="design.md", content="# Design\n", title="Design"
    )
    file_id = done["files"][0]["id"]
    [shared] = [m for m in workspace.thread("C1", root) if m.files]
    assert shared.files[0]["id"] == file_id
    request = urllib.request.Request(
        shared.files[0]["url_private_download"], headers={"Authorization": f"Bearer {TOKEN}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.read() == b"# Design\n"


def test_a_workspace_can_refuse_a_feature_for_good(client: WebClient, workspace: Workspace) -> None:
    """A refused method answers the same error every time, until allowed again."""
    root = _thread(workspace)
    workspace.agent.refuse("chat.startStream", "access_denied")
    for _ in range(2):
        assert refusal(lambda: client.chat_startStream(channel="D1", thread_ts=root, markdown_text="x"))[
            0
        ] == ("access_denied")
    workspace.agent.allow("chat.startStream")
    assert client.chat_startStream(channel="D1", thread_ts=root, markdown_text="x")["ok"]
