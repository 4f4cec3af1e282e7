"""The emulator's agent features (streaming, loading states, assistant threads, canvases, uploads):
Slack's documented arguments, limits and errors, through slack_sdk over real HTTP."""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.playground.slack_api import SlackApiServer
from bot.playground.workspace import Workspace

TOKEN = "xoxb-emulator-agents"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """A hand-moved clock for stream and status lifetimes."""
    return Clock()


@pytest.fixture
def workspace(clock: Clock) -> Workspace:
    """A strict workspace: #design with the bot and a person, a DM with that person."""
    ws = Workspace(bot_token=TOKEN, strict=True, monotonic=clock)
    ws.add_user("U1", "ada")
    ws.add_channel("C1", "design", {"U1", ws.bot_user_id})
    ws.add_channel("D1", "ada", {"U1", ws.bot_user_id})
    return ws


@pytest.fixture
def server(workspace: Workspace) -> Iterator[SlackApiServer]:
    """The emulator on a free local port."""
    running = SlackApiServer(workspace)
    running.start()
    yield running
    running.stop()


@pytest.fixture
def client(server: SlackApiServer) -> WebClient:
    """slack_sdk's client pointed at the emulator by base URL, as the bot is."""
    return WebClient(token=TOKEN, base_url=server.url + "/api/")


def _error(call: Any) -> tuple[str, list[str]]:
    with pytest.raises(SlackApiError) as raised:
        call()
    response = raised.value.response
    return str(response["error"]), list((response.get("response_metadata") or {}).get("messages") or [])


def _thread(workspace: Workspace, channel: str = "C1") -> str:
    return workspace.post(channel=channel, user="U1", text="a question").ts


def test_a_stream_in_a_channel_needs_its_recipient(client: WebClient, workspace: Workspace) -> None:
    """Streaming in a channel thread names the person it answers (team and user); a DM does not."""
    root = _thread(workspace)
    start = lambda **kw: client.chat_startStream(channel="C1", thread_ts=root, markdown_text="hi", **kw)  # noqa: E731
    assert _error(start)[0] == "missing_recipient_team_id"
    assert _error(lambda: start(recipient_team_id="T1"))[0] == "missing_recipient_user_id"
    assert start(recipient_team_id="T1", recipient_user_id="U1")["ok"]
    dm_root = _thread(workspace, "D1")
    assert client.chat_startStream(channel="D1", thread_ts=dm_root, markdown_text="hi")["ok"]
    assert _error(lambda: client.chat_startStream(channel="C1", thread_ts="", markdown_text="x"))[0] == (
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
    assert _error(lambda: client.chat_appendStream(channel="C1", ts=ts, markdown_text="more"))[0] == (
        "message_not_in_streaming_state"
    )


def test_stream_limits_and_ownership(client: WebClient, workspace: Workspace, clock: Clock) -> None:
    """12,000 characters per call; chunks of known types; only the app's own streaming message;
    a stream idle for five minutes expires."""
    root = _thread(workspace)
    kw = {"recipient_team_id": "T1", "recipient_user_id": "U1"}
    error, messages = _error(
        lambda: client.chat_startStream(channel="C1", thread_ts=root, markdown_text="x" * 12_001, **kw)
    )
    assert error == "invalid_arguments"
    assert "12001" in messages[0]
    assert _error(
        lambda: client.chat_startStream(channel="C1", thread_ts=root, chunks=[{"type": "gif"}], **kw)
    )[0] == ("invalid_chunks")
    ts = client.chat_startStream(channel="C1", thread_ts=root, markdown_text="x" * 12_000, **kw)["ts"]
    assert _error(lambda: client.chat_appendStream(channel="C1", ts=ts, markdown_text="y"))[0] == (
        "msg_blocks_too_long"  # the message as a whole stays within Slack's markdown limit
    )
    assert _error(lambda: client.chat_appendStream(channel="C1", ts=root, markdown_text="y"))[0] == (
        "message_not_owned_by_app"
    )
    assert _error(lambda: client.chat_appendStream(channel="C1", ts=ts))[0] == "no_text"
    other = client.chat_startStream(channel="C1", thread_ts=root, markdown_text="a", **kw)["ts"]
    clock.now += 301
    assert _error(lambda: client.chat_appendStream(channel="C1", ts=other, markdown_text="b"))[0] == (
        "message_not_in_streaming_state"
    )


def test_loading_state_rules(client: WebClient, workspace: Workspace, clock: Clock) -> None:
    """A loading state shows until the app's next message in the thread (or two minutes); at most
    ten loading messages; an empty status clears it."""
    root = _thread(workspace)
    error, _ = _error(
        lambda: client.assistant_threads_setStatus(
            channel_id="C1", thread_ts=root, status="is thinking", loading_messages=["m"] * 11
        )
    )
    assert error == "invalid_arguments"
    client.assistant_threads_setStatus(
        channel_id="C1", thread_ts=root, status="is asking Director…", loading_messages=["Reading…"]
    )
    shown = workspace.agent.status("C1", root, clock.now)
    assert shown is not None
    assert shown.loading_messages == ["Reading…"]
    client.chat_postMessage(channel="C1", thread_ts=root, text="the answer")
    assert workspace.agent.status("C1", root, clock.now) is None
    client.assistant_threads_setStatus(channel_id="C1", thread_ts=root, status="is thinking")
    assert workspace.agent.status("C1", root, clock.now + 121) is None
    client.assistant_threads_setStatus(channel_id="C1", thread_ts=root, status="")
    assert workspace.agent.status("C1", root, clock.now) is None
    assert _error(lambda: client.assistant_threads_setStatus(channel_id="C9", thread_ts=root, status="x"))[
        0
    ] == ("channel_not_found")


def test_suggested_prompts_and_titles(client: WebClient, workspace: Workspace) -> None:
    """Up to four prompts, each with a title and a message; a thread title is kept."""
    root = _thread(workspace, "D1")
    prompts = [{"title": f"Agent {i}", "message": f"do {i}"} for i in range(5)]
    assert _error(
        lambda: client.assistant_threads_setSuggestedPrompts(channel_id="D1", thread_ts=root, prompts=prompts)
    )[0] == ("invalid_arguments")
    assert _error(
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
    assert _error(
        lambda: client.canvases_access_set(
            canvas_id=canvas.id, access_level="read", channel_ids=["C1"], user_ids=["U1"]
        )
    )[0] == ("invalid_parameters")
    assert _error(lambda: client.canvases_edit(canvas_id="F0", changes=[{"operation": "replace"}]))[0] == (
        "canvas_not_found"
    )
    too_big = {"type": "markdown", "markdown": "x" * 1_048_577}
    assert _error(lambda: client.canvases_create(title="big", document_content=too_big))[0] == (
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
        assert _error(lambda: client.chat_startStream(channel="D1", thread_ts=root, markdown_text="x"))[
            0
        ] == ("access_denied")
    workspace.agent.allow("chat.startStream")
    assert client.chat_startStream(channel="D1", thread_ts=root, markdown_text="x")["ok"]
