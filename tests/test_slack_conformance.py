"""The emulator and the bot held to slack_sdk, which nobody here wrote.

- Every Web API method the emulator serves is a ``WebClient`` method, and the arguments the emulator
  requires are exactly the ones slack_sdk's signature requires.
- Every ``WebClient`` call in the bot's code names arguments that method takes, passes the ones it
  requires, and goes to a method the emulator serves (so no test passes on a method Slack lacks).
- Blocks, views and streaming chunks the models of slack_sdk refuse are refused by the emulator
  (the whole suite sends through it, so every payload the bot sends is checked).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.playground.slack_api import METHODS, SlackApiServer
from bot.playground.workspace import Workspace
from tests.webclient_calls import bot_calls, parameters, web_api_methods

TOKEN = "xoxb-conformance"


def _sdk_method(name: str) -> Any:
    return getattr(WebClient, name.replace(".", "_"), None)


def test_every_emulated_method_is_slack_sdks_with_its_required_arguments() -> None:
    """A method the emulator serves exists in slack_sdk, and needs what slack_sdk says it needs."""
    assert METHODS
    for name, served in METHODS.items():
        fn = _sdk_method(name)
        assert fn is not None, f"{name}: no such method in slack_sdk's WebClient"
        _, required = parameters(fn)
        assert set(served.required) == required, f"{name}: emulator requires {served.required}"


def test_the_bots_web_api_calls_match_slack_sdk_and_the_emulator() -> None:
    """Each call passes only arguments the SDK method names (``**kwargs`` would take any, Slack
    ignores unknown ones: a typo would pass silently), all it requires, to a method the emulator serves."""
    calls = list(bot_calls())
    assert len(calls) >= 20  # the scan sees the bot's calls
    served = set(METHODS)
    for where, line, name, call in calls:
        named, required = parameters(getattr(WebClient, name))
        passed = {keyword.arg for keyword in call.keywords if keyword.arg is not None}
        splat = any(keyword.arg is None for keyword in call.keywords)
        assert passed <= named, f"{where}:{line} {name}: not slack_sdk arguments {passed - named}"
        assert splat or required <= passed, f"{where}:{line} {name}: missing {required - passed}"
        assert set(web_api_methods(name)) <= served, f"{where}:{line} {name}: not emulated"


@pytest.fixture
def client() -> Iterator[WebClient]:
    """slack_sdk's client against a strict emulated workspace (#design with the bot, a DM)."""
    ws = Workspace(bot_token=TOKEN, strict=True)
    ws.add_user("U1", "ada")
    ws.add_channel("C1", "design", {"U1", ws.bot_user_id})
    ws.add_channel("D1", "ada", {"U1", ws.bot_user_id})
    server = SlackApiServer(ws)
    server.start()
    yield WebClient(token=TOKEN, base_url=server.url + "/api/")
    server.stop()


def _refused(call: Any) -> tuple[str, list[str]]:
    with pytest.raises(SlackApiError) as raised:
        call()
    body = raised.value.response
    return str(body["error"]), list((body.get("response_metadata") or {}).get("messages") or [])


FEEDBACK = {
    "type": "feedback_buttons",
    "action_id": "feedback",
    "positive_button": {"text": {"type": "plain_text", "text": "👍"}, "value": "up"},
    "negative_button": {"text": {"type": "plain_text", "text": "👎"}, "value": "down"},
}


def test_blocks_slack_sdk_refuses_are_refused(client: WebClient) -> None:
    """A property slack_sdk's models do not know (a typo), at any depth, and an element its model
    refuses are refused with the pointer to them; nothing is posted."""
    typo = [{"type": "markdown", "text": "hi", "txt": "x"}]
    assert _refused(lambda: client.chat_postMessage(channel="C1", text="t", blocks=typo)) == (
        "invalid_blocks",
        ["[ERROR] unsupported property 'txt' (slack_sdk) [json-pointer:/blocks/0/txt]"],
    )
    deep = [{"type": "context_actions", "elements": [{**FEEDBACK, "positive_button": {
        **FEEDBACK["positive_button"], "url": "https://example.com"}}]}]  # fmt: skip
    error, messages = _refused(lambda: client.chat_postMessage(channel="C1", text="t", blocks=deep))
    assert error == "invalid_blocks"
    assert messages == [
        "[ERROR] unsupported property 'url' (slack_sdk) "
        "[json-pointer:/blocks/0/elements/0/positive_button/url]"
    ]
    fine = [{"type": "markdown", "text": "hi"}, {"type": "context_actions", "elements": [FEEDBACK]}]
    assert client.chat_postMessage(channel="C1", text="t", blocks=fine)["ok"]


def test_views_slack_sdk_refuses_are_refused(client: WebClient) -> None:
    """A Home tab with submit/close (slack_sdk: "home view cannot have submit and close") is refused."""
    home = {
        "type": "home",
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}],
    }
    error, messages = _refused(lambda: client.views_publish(user_id="U1", view=home))
    assert error == "invalid_arguments"
    assert messages == ["[ERROR] home view cannot have submit and close (slack_sdk) [json-pointer:/view]"]
    del home["close"]
    assert client.views_publish(user_id="U1", view=home)["ok"]


def test_chunks_slack_sdk_refuses_and_text_with_chunks_are_refused(client: WebClient) -> None:
    """A chunk type or property slack_sdk does not know is refused; so is ``markdown_text`` beside
    ``chunks`` in one call (slack_sdk's ChatStream never sends both: the text goes first, as a chunk)."""
    started = client.chat_startStream(channel="D1", thread_ts="1.0", markdown_text="Hello")
    ts = str(started["ts"])
    step = {"type": "task_update", "id": "t1", "title": "Searching", "status": "in_progress"}
    typo = [{**step, "icon": "x"}]
    assert _refused(lambda: client.chat_appendStream(channel="D1", ts=ts, chunks=typo)) == (
        "invalid_chunks",
        ["[ERROR] unsupported property 'icon' (slack_sdk) [json-pointer:/chunks/0/icon]"],
    )
    assert _refused(lambda: client.chat_appendStream(channel="D1", ts=ts, chunks=[{"type": "sparkle"}]))[
        0
    ] == ("invalid_chunks")
    both = _refused(lambda: client.chat_appendStream(channel="D1", ts=ts, markdown_text=" x", chunks=[step]))
    assert both[0] == "invalid_arguments"
    assert "markdown_text and chunks in one call" in both[1][0]
    text_first = [{"type": "markdown_text", "text": " world"}, step]
    assert client.chat_appendStream(channel="D1", ts=ts, chunks=text_first)["ok"]
    stopped = client.chat_stopStream(channel="D1", ts=ts)
    assert stopped["message"]["text"] == "Hello world"


def test_an_edit_must_give_its_blocks_new_ids(client: WebClient) -> None:
    """Slack asks for a new block_id in each iteration of a message: an edit showing a block id the
    message already has is refused (the bot's edits renew them: the whole suite runs against this)."""
    same = [{"type": "context_actions", "block_id": "feedback.1", "elements": [FEEDBACK]}]
    ts = client.chat_postMessage(channel="C1", text="t", blocks=same)["ts"]
    error, messages = _refused(lambda: client.chat_update(channel="C1", ts=ts, text="t", blocks=same))
    assert error == "invalid_blocks"
    assert "feedback.1 reused" in messages[0]
    fresh = [{**same[0], "block_id": "feedback.2"}]
    assert client.chat_update(channel="C1", ts=ts, text="t", blocks=fresh)["ok"]
