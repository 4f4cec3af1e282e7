"""The Slack Web API emulator (bot/playground): Slack's arguments, limits and errors, through slack_sdk."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.ports import FixedClock
from bot.playground.slack_api import METHODS, ApiRequest, SlackApiServer, SlackError, method
from bot.playground.workspace import Workspace
from tests.support import refusal

TOKEN = "xoxb-emulator-test"


@pytest.fixture
def workspace(clock: FixedClock) -> Workspace:
    """A strict workspace: #design with the bot, #random without it, two people."""
    ws = Workspace(bot_token=TOKEN, strict=True, monotonic=clock.monotonic)
    ws.add_user("U1", "ada")
    ws.add_user("U2", "grace")
    ws.add_channel("C1", "design", {"U1", "U2", ws.bot_user_id})
    ws.add_channel("C2", "random", {"U1"})
    return ws


def _post(
    url: str, *, json_body: dict[str, Any] | None = None, form: dict[str, str] | None = None
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """POST over real HTTP; (status, JSON body, headers), error statuses included."""
    if json_body is not None:
        data, kind = json.dumps(json_body).encode(), "application/json"
    else:
        data, kind = urllib.parse.urlencode(form or {}).encode(), "application/x-www-form-urlencoded"
    request = urllib.request.Request(
        url, data=data, headers={"Content-Type": kind, "Authorization": f"Bearer {TOKEN}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_message_limits_are_slacks(client: WebClient, workspace: Workspace) -> None:
    """What Slack refuses is refused here with Slack's error, and nothing appears in the channel."""
    assert refusal(lambda: client.chat_postMessage(channel="C1", text="x" * 40_001))[0] == "msg_too_long"
    assert refusal(lambda: client.chat_postMessage(channel="C1"))[0] == "no_text"
    too_many = [{"type": "divider"}] * 51
    error, messages = refusal(lambda: client.chat_postMessage(channel="C1", text="t", blocks=too_many))
    assert error == "invalid_blocks"
    assert messages == ["[ERROR] must provide no more than 50 items [json-pointer:/blocks]"]
    long_markdown = [{"type": "markdown", "text": "m" * 12_001}]
    error, messages = refusal(lambda: client.chat_postMessage(channel="C1", text="t", blocks=long_markdown))
    assert (error, messages) == (
        "invalid_blocks",
        ["[ERROR] must be less than 12001 characters [json-pointer:/blocks/0/text]"],
    )
    split = [{"type": "markdown", "text": "m" * 7_000}, {"type": "markdown", "text": "m" * 5_001}]
    assert refusal(lambda: client.chat_postMessage(channel="C1", text="t", blocks=split))[0] == (
        "msg_blocks_too_long"
    )
    button = {
        "type": "button",
        "text": {"type": "plain_text", "text": "Go"},
        "action_id": "a" * 256,
        "value": "v" * 2_001,
    }
    error, messages = refusal(
        lambda: client.chat_postMessage(
            channel="C1", text="t", blocks=[{"type": "actions", "elements": [button]}]
        )
    )
    assert error == "invalid_blocks"
    assert sorted(messages) == [
        "[ERROR] must be less than 2001 characters [json-pointer:/blocks/0/elements/0/value]",
        "[ERROR] must be less than 256 characters [json-pointer:/blocks/0/elements/0/action_id]",
    ]
    unknown = [{"type": "marquee", "text": "hi"}]
    assert refusal(lambda: client.chat_postMessage(channel="C1", text="t", blocks=unknown))[0] == (
        "invalid_blocks"
    )
    assert workspace.top_level("C1") == []
    ok = client.chat_postMessage(channel="C1", text="x" * 40_000, blocks=[{"type": "markdown", "text": "ok"}])
    assert workspace.top_level("C1")[0].ts == ok["ts"]


def test_channels_tokens_and_ownership(client: WebClient, server: SlackApiServer) -> None:
    """Unknown channels, channels without the bot, bad tokens and other people's messages are refused."""
    assert refusal(lambda: client.chat_postMessage(channel="C9", text="hi"))[0] == "channel_not_found"
    assert refusal(lambda: client.chat_postMessage(channel="C2", text="hi"))[0] == "not_in_channel"
    stranger = WebClient(token="xoxb-someone-else", base_url=server.url + "/api/")
    assert refusal(stranger.auth_test)[0] == "invalid_auth"
    anonymous = WebClient(base_url=server.url + "/api/")
    assert refusal(anonymous.auth_test)[0] == "not_authed"
    person = server.workspace.post(channel="C1", user="U1", text="mine")
    assert refusal(lambda: client.chat_update(channel="C1", ts=person.ts, text="edited"))[0] == (
        "cant_update_message"
    )
    assert refusal(lambda: client.chat_delete(channel="C1", ts=person.ts))[0] == "cant_delete_message"
    assert (
        refusal(lambda: client.chat_update(channel="C1", ts="1.000001", text="x"))[0] == "message_not_found"
    )
    assert refusal(lambda: client.api_call("chat.fly"))[0] == "unknown_method"
    assert refusal(lambda: client.chat_postEphemeral(channel="C1", user="U3", text="x"))[0] == (
        "user_not_in_channel"
    )


def test_update_keeps_blocks_left_out_and_counts_edits(client: WebClient, workspace: Workspace) -> None:
    """An edit with text only keeps the message's blocks, as Slack does; the page hears of every edit."""
    posted = client.chat_postMessage(channel="C1", text="a", blocks=[{"type": "markdown", "text": "**a**"}])
    seen = workspace.seq
    client.chat_update(channel="C1", ts=posted["ts"], text="b")
    [message] = workspace.top_level("C1")
    assert (message.text, message.blocks, message.updates) == (
        "b",
        [{"type": "markdown", "text": "**a**"}],
        1,
    )
    [change] = workspace.wait_changes(seen, timeout=5)
    assert change.kind == "message"
    assert change.data["ts"] == posted["ts"]


def test_modal_needs_a_live_trigger(client: WebClient, workspace: Workspace, clock: FixedClock) -> None:
    """A modal opens only with a trigger_id Slack gave out in the last 3 seconds, for its person."""
    view = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Hand off"},
        "submit": {"type": "plain_text", "text": "Send"},
        "blocks": [
            {
                "type": "input",
                "block_id": "b",
                "label": {"type": "plain_text", "text": "Prompt"},
                "element": {"type": "plain_text_input", "action_id": "p", "initial_value": "hi"},
            }
        ],
    }
    assert refusal(lambda: client.views_open(trigger_id="made.up", view=view))[0] == "invalid_trigger_id"
    trigger = workspace.issue_trigger("U2", "C1")
    long_title = {**view, "title": {"type": "plain_text", "text": "t" * 25}}
    error, messages = refusal(lambda: client.views_open(trigger_id=trigger, view=long_title))
    assert error == "invalid_arguments"
    assert messages == ["[ERROR] must be less than 25 characters [json-pointer:/view/title/text]"]
    no_submit = {k: v for k, v in view.items() if k != "submit"}
    assert refusal(lambda: client.views_open(trigger_id=trigger, view=no_submit))[0] == "invalid_arguments"
    opened = client.views_open(trigger_id=trigger, view=view)
    assert workspace.views[opened["view"]["id"]].user == "U2"
    clock.advance(3.5)
    late = workspace.issue_trigger("U1", "C1")
    clock.advance(3.5)
    assert refusal(lambda: client.views_open(trigger_id=late, view=view))[0] == "expired_trigger_id"


def test_response_url_answers_five_times_to_the_right_person(server: SlackApiServer) -> None:
    """A command's response_url shows ephemeral answers to its person only, and stops after five."""
    ws = server.workspace
    url = ws.issue_response_url(server.url, channel="C1", user="U2")
    for n in range(5):
        assert _post(url, json_body={"text": f"answer {n}"})[:2] == (200, {"ok": True})
    assert [(e.user, e.text) for e in ws.ephemeral] == [("U2", f"answer {n}") for n in range(5)]
    status, body, _ = _post(url, json_body={"text": "too many"})
    assert (status, body["error"]) == (404, "used_url")
    public = ws.issue_response_url(server.url, channel="C1", user="U1")
    _post(public, json_body={"text": "for all", "response_type": "in_channel"})
    assert [m.text for m in ws.top_level("C1")] == ["for all"]
    status, body, _ = _post(public, json_body={"text": "x" * 40_001})
    assert (status, body["error"]) == (400, "msg_too_long")


def test_a_new_method_is_one_function(client: WebClient, workspace: Workspace) -> None:
    """Adding a Web API method is one registered function; its required arguments are checked for it."""

    @method("emulator.echo", required=("word",))
    def echo(request: ApiRequest) -> dict[str, Any]:
        if request.params["word"] == "boom":
            raise SlackError("boom_happened", "it went boom")
        return {"ok": True, "word": request.params["word"], "team": request.workspace.team_id}

    try:
        assert client.api_call("emulator.echo", params={"word": "hi"})["word"] == "hi"
        error, messages = refusal(lambda: client.api_call("emulator.echo", params={}))
        assert (error, messages) == ("invalid_arguments", ["[ERROR] missing required field: word"])
        assert refusal(lambda: client.api_call("emulator.echo", params={"word": "boom"})) == (
            "boom_happened",
            ["[ERROR] it went boom"],
        )
        assert [c.method for c in workspace.calls][-3:] == ["emulator.echo"] * 3
    finally:
        del METHODS["emulator.echo"]


def test_form_encoded_blocks_and_scripted_failures(server: SlackApiServer) -> None:
    """Form bodies carry blocks as JSON text like Slack's clients send them; failures can be scripted."""
    ws = server.workspace
    form = {"channel": "C1", "text": "t", "blocks": json.dumps([{"type": "markdown", "text": "hi"}])}
    api = server.url + "/api/chat.postMessage"
    _, posted, _ = _post(api, form=form)
    assert ws.message("C1", posted["ts"]).blocks == [{"type": "markdown", "text": "hi"}]  # type: ignore[union-attr]
    assert _post(api, form={**form, "blocks": "[{"})[1]["error"] == "invalid_blocks_format"
    ws.fail("chat.postMessage", status=429, retry_after=7)
    status, _, headers = _post(api, form=form)
    assert (status, headers["Retry-After"]) == (429, "7")


def test_threads_and_files_read_back_as_slack_gives_them(workspace: Workspace, client: WebClient) -> None:
    """conversations.replies: parent first, pages, metadata only on request; files.info needs files:read."""
    root = client.chat_postMessage(
        channel="C1",
        text="root",
        metadata={"event_type": "architect_request", "event_payload": {"agent": "a"}},
    )["ts"]
    for i in range(4):
        workspace.post(channel="C1", user="U1", text=f"reply {i}", thread_ts=root)
    plain = client.conversations_replies(channel="C1", ts=root, limit=3)
    assert [m["text"] for m in plain["messages"]] == ["root", "reply 0", "reply 1"]
    assert "metadata" not in plain["messages"][0]
    assert plain["has_more"]
    rest = client.conversations_replies(
        channel="C1",
        ts=root,
        limit=3,
        cursor=plain["response_metadata"]["next_cursor"],
        include_all_metadata=True,
    )
    assert [m["text"] for m in rest["messages"]] == ["reply 2", "reply 3"]
    assert not rest["has_more"]
    first = client.conversations_replies(channel="C1", ts=root, limit=1, include_all_metadata=True)
    assert first["messages"][0]["metadata"]["event_type"] == "architect_request"
    shared = workspace.add_file("a.md", b"# a", mimetype="text/markdown", filetype="markdown", user="U1")
    assert client.files_info(file=shared.id)["file"]["name"] == "a.md"
    workspace.scopes = {"chat:write"}
    with pytest.raises(SlackApiError) as refused:
        client.files_info(file=shared.id)
    assert refused.value.response["error"] == "missing_scope"
    assert refused.value.response["needed"] == "files:read"
    with pytest.raises(SlackApiError) as no_history:
        client.conversations_replies(channel="C1", ts=root)
    assert no_history.value.response["needed"] == "channels:history"
