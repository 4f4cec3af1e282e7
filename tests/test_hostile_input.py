"""Hostile and broken requests through the Lambda handler: a clear 2xx/4xx, one warning line, nothing
posted where it should not be, no model call, never an invocation error or an error-level traceback."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.slack.guard import MAX_BODY_BYTES
from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, TEAM, USER, Bot, api_gateway_event

Send = Callable[[Bot], dict[str, Any]]


def _log_lines(out: str) -> list[dict[str, Any]]:
    lines = []
    for raw in out.splitlines():
        if raw.startswith("{") and '"_aws"' not in raw:
            lines.append(json.loads(raw))
    return lines


def _form(bot: Bot, fields: dict[str, str]) -> dict[str, Any]:
    return bot.send(api_gateway_event(urlencode(fields), content_type="application/x-www-form-urlencoded"))


def _event(bot: Bot, event: dict[str, Any], *, drop_team: bool = False) -> dict[str, Any]:
    body = json.loads(bot.event_body(event))
    if drop_team:
        body.pop("team_id")
        body.pop("authorizations")
    return bot.send(api_gateway_event(json.dumps(body), content_type="application/json"))


def _message(**fields: Any) -> dict[str, Any]:
    ts = f"{time.time():.6f}"
    return {"type": "message", "text": "hello", "ts": ts, "user": USER, "thread_ts": "1700000000.000100",
            "channel": CHANNEL, **fields}  # fmt: skip


def _without(mapping: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def _block_actions(action_id: str, value: str = "x", **overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": USER, "username": "someone", "team_id": TEAM},
        "team": {"id": TEAM, "domain": "example"},
        "channel": {"id": CHANNEL, "name": "design"},
        "container": {"type": "message", "message_ts": "1700000000.000200", "channel_id": CHANNEL,
                      "thread_ts": "1700000000.000100"},
        "trigger_id": f"trigger.{uuid.uuid4().hex}",
        "actions": [{"type": "button", "action_id": action_id, "block_id": "b", "value": value,
                     "action_ts": f"{time.time():.6f}"}],
    }  # fmt: skip
    payload.update(overrides)
    return payload


CASES: dict[str, tuple[Send, int]] = {
    "interaction payload that is not JSON": (lambda b: _form(b, {"payload": "{not json"}), 400),
    "interaction payload that is JSON but not an object": (lambda b: _form(b, {"payload": "[1, 2]"}), 400),
    "JSON body that is not JSON": (
        lambda b: b.send(api_gateway_event('{"type": "event_callback", ', content_type="application/json")),
        400,
    ),
    "body over Slack's size": (
        lambda b: b.send(api_gateway_event("x" * (MAX_BODY_BYTES + 1), content_type="application/json")),
        413,
    ),
    "base64 body that is not base64": (
        lambda b: b.send(
            {**api_gateway_event("!!", content_type="application/json"), "isBase64Encoded": True}
        ),
        400,
    ),
    "reply without a channel": (lambda b: _event(b, _without(_message(), "channel")), 200),
    "mention without a channel": (
        lambda b: _event(b, _without({**_message(), "type": "app_mention", "text": "<@UBOT> hi"}, "channel")),
        200,
    ),
    "mention without a user": (
        lambda b: _event(b, _without({**_message(), "type": "app_mention", "text": "<@UBOT> hi"}, "user")),
        200,
    ),
    "event without a team": (lambda b: _event(b, _message(), drop_team=True), 200),
    "command without a channel": (
        lambda b: b.send(
            api_gateway_event(
                urlencode({k: v for k, v in _command_fields(b).items() if k != "channel_id"}),
                content_type="application/x-www-form-urlencoded",
            )
        ),
        400,
    ),
    "button click without a user": (
        lambda b: b.interaction(_without(_block_actions("handoff:0"), "user")),
        400,
    ),
    "modal submission without a team": (
        lambda b: b.interaction(
            {
                "type": "view_submission",
                "user": {"id": USER},
                "view": {"id": "V1", "callback_id": "handoff_modal"},
            }
        ),
        400,
    ),
    "modal submission whose view Bolt cannot route": (
        lambda b: b.interaction(
            {
                "type": "view_submission",
                "team": {"id": TEAM},
                "user": {"id": USER},
                "view": {"id": "V1", "callback_id": "handoff_modal"},
            }
        ),
        400,
    ),
    "button click with no actions": (lambda b: b.interaction({**_block_actions("x"), "actions": []}), 400),
    "event that is not an object": (
        lambda b: b.send(
            api_gateway_event(
                json.dumps({"type": "event_callback", "team_id": TEAM, "event": 7}),
                content_type="application/json",
            )
        ),
        400,
    ),
    "unknown action_id": (lambda b: b.interaction(_block_actions("made_up_action")), 200),
    "unknown modal callback_id": (
        lambda b: b.interaction(
            {
                "type": "view_submission",
                "team": {"id": TEAM},
                "user": {"id": USER},
                "view": {
                    "id": "V1",
                    "type": "modal",
                    "callback_id": "made_up_modal",
                    "state": {"values": {}},
                },
            }
        ),
        200,
    ),
    "unknown shortcut": (
        lambda b: b.interaction(
            {
                "type": "shortcut",
                "callback_id": "made_up",
                "team": {"id": TEAM},
                "user": {"id": USER},
                "trigger_id": "t.1",
            }
        ),
        200,
    ),
}


def _command_fields(bot: Bot) -> dict[str, str]:
    event = bot.command_event("review something")
    from urllib.parse import parse_qsl

    return dict(parse_qsl(event["body"]))


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_request_is_refused_quietly(
    slackbot: Bot, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    """Each broken request gets a plain 2xx/4xx and one warning line; nothing is posted, no model is asked."""
    slackbot.openai.set_default(Stream(["should never be asked"]))
    send, status = CASES[case]
    capsys.readouterr()
    response = send(slackbot)
    slackbot.lazy()
    assert response["statusCode"] == status
    out = capsys.readouterr().out
    lines = _log_lines(out)
    assert [line for line in lines if line.get("level") in ("error", "critical", "exception")] == []
    assert "Traceback" not in out
    warnings = [line for line in lines if line.get("level") == "warning"]
    assert len(warnings) == 1, warnings
    assert warnings[0]["event"] == "request_refused"
    assert slackbot.openai.requests == []
    assert slackbot.slack.calls_of("chat.postMessage") == []
    assert slackbot.slack.ephemeral == []
    assert slackbot.slack.views == []


def test_a_refusal_is_counted(slackbot: Bot, capsys: pytest.CaptureFixture[str]) -> None:
    """Malformed requests show on the Rejections metric (kind malformed / unknown_request)."""
    _form(slackbot, {"payload": "{not json"})
    slackbot.interaction(_block_actions("made_up_action"))
    kinds = [
        json.loads(line)["Kind"] for line in capsys.readouterr().out.splitlines() if '"Rejections"' in line
    ]
    assert kinds == ["malformed", "unknown_request"]


def test_a_handoff_button_value_that_does_not_decode_is_refused_to_the_clicker_only(
    slackbot: Bot, capsys: pytest.CaptureFixture[str]
) -> None:
    """A forged or garbled button value: the clicker is told it is not valid; nothing else happens."""
    slackbot.interaction(_block_actions("handoff:0", value="%%% not a ref"))
    slackbot.lazy()
    out = capsys.readouterr().out
    assert [e["text"][:30] for e in slackbot.slack.ephemeral] == ["That button is not valid (it m"]
    assert slackbot.openai.requests == []
    assert slackbot.slack.calls_of("chat.postMessage") == []
    assert [line["event"] for line in _log_lines(out) if line.get("level") == "warning"] == [
        "handoff_button_refused"
    ]
    assert "Traceback" not in out


def test_modal_metadata_that_does_not_decode_hands_nothing_off(
    slackbot: Bot, capsys: pytest.CaptureFixture[str]
) -> None:
    """A submitted handoff modal whose metadata is not ours closes without handing anything off."""
    response = slackbot.interaction(
        {
            "type": "view_submission",
            "team": {"id": TEAM},
            "user": {"id": USER},
            "trigger_id": "t.1",
            "view": {
                "id": "V9",
                "type": "modal",
                "callback_id": "handoff_modal",
                "private_metadata": base64.b64encode(b"garbage").decode(),
                "state": {
                    "values": {"prompt_block": {"prompt": {"type": "plain_text_input", "value": "go"}}}
                },
            },
        }
    )
    slackbot.lazy()
    assert response["statusCode"] == 200
    out = capsys.readouterr().out
    assert slackbot.openai.requests == []
    assert slackbot.slack.calls_of("chat.postMessage") == []
    assert [line["event"] for line in _log_lines(out) if line.get("level") == "warning"] == [
        "modal_metadata_invalid"
    ]
    assert "Traceback" not in out


def test_the_local_http_server_refuses_the_same_way(
    slackbot: Bot, capsys: pytest.CaptureFixture[str]
) -> None:
    """`make run` in HTTP mode (and the playground) answer broken requests with 4xx, not a crash."""
    import http.client
    import urllib.error
    import urllib.request

    from bot.bootstrap import SLACK_REQUIRED, bootstrap
    from bot.slack.app import build_app
    from bot.slack.server import HttpServer

    server = HttpServer(build_app(bootstrap(required=SLACK_REQUIRED)), host="127.0.0.1", port=0)
    server.start()
    try:
        for body, content_type, status in (
            (urlencode({"payload": "{not json"}).encode(), "application/x-www-form-urlencoded", 400),
            (b"\xff\xfe", "application/json", 400),
        ):
            request = urllib.request.Request(
                server.url + "/slack/events", data=body, headers={"Content-Type": content_type}, method="POST"
            )
            with pytest.raises(urllib.error.HTTPError) as refused:
                urllib.request.urlopen(request, timeout=10)
            assert refused.value.code == status
        # a body announced over the limit is refused before it is read (nothing buffered)
        host, port = server.httpd.server_address[:2]
        connection = http.client.HTTPConnection(str(host), int(port), timeout=10)
        connection.putrequest("POST", "/slack/events")
        connection.putheader("Content-Type", "application/json")
        connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
        connection.endheaders()
        assert connection.getresponse().status == 413
        connection.close()
    finally:
        server.stop()
    out = capsys.readouterr().out
    assert "Traceback" not in out
    assert [line["event"] for line in _log_lines(out) if line.get("level") == "warning"] == [
        "request_refused"
    ] * 3
