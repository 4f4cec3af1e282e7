"""The playground without a browser: rendering, Slack's delivery rules, page actions, `make run`'s choice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml
from slack_sdk.signature import SignatureVerifier

from bot.playground import platform
from bot.playground.app import Playground
from bot.playground.delivery import Deliverer, event_envelope
from bot.playground.interactions import MESSAGE_SHORTCUTS
from bot.playground.render import blocks_html, markdown, mrkdwn
from bot.playground.workspace import Workspace
from bot.settings import Settings
from tests.fakes.openai_server import FakeOpenAI, Stream, fake_openai  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-c", "import sys; from bot.cli import main; sys.exit(main())"]
SECRET = "playground-test-signing-secret"
WAIT_S = 30.0


# ------------------------------------------------------------------------------- rendering


def test_nothing_typed_or_generated_becomes_markup() -> None:
    """Tags, scripts and javascript: links in any text show as text; only http(s)/mailto links open."""
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)"> [x](javascript:alert(3))'
    shown = markdown(hostile)
    assert "<script" not in shown
    assert "<img" not in shown
    assert 'href="javascript' not in shown
    assert "&lt;script&gt;" in shown
    slack_text = '&lt;b&gt;hi&lt;/b&gt; <javascript:alert(1)|click> <https://example.com/?a=1&amp;b="2"|ok>'
    rendered = mrkdwn(slack_text)
    assert "<b>" not in rendered
    assert "javascript" not in rendered
    assert 'href="https://example.com/?a=1&amp;b=&quot;2&quot;"' in rendered
    button = {
        "type": "actions",
        "elements": [{"type": "button", "text": {"type": "plain_text", "text": '"><script>x</script>'}}],
    }
    assert "<script>" not in blocks_html([button])


def test_slack_text_renders_as_slack_shows_it() -> None:
    """Mentions show names; *bold*, _italic_, ~strike~, `code`, code blocks and quotes look like Slack's."""
    rendered = mrkdwn(
        "<@U1> asked *backend-builder*: _why_ ~not~ `a*b*c`\n&gt; quoted\n```x = *1*```",
        {"U1": "ada"}.get,  # type: ignore[arg-type]
    )
    assert '<span class="mention">@ada</span>' in rendered
    assert "<b>backend-builder</b>" in rendered
    assert "<i>why</i>" in rendered
    assert "<s>not</s>" in rendered
    assert "<code>a*b*c</code>" in rendered
    assert '<span class="quote">quoted</span>' in rendered
    assert "<pre>x = *1*</pre>" in rendered
    assert "<table>" in markdown("| a | b |\n|---|---|\n| 1 | 2 |")


# ------------------------------------------------------------------------------- delivery


class App:
    """A stand-in request URL: records signed requests; answers as told."""

    def __init__(self, answer: Callable[[int], tuple[int, dict[str, str]]]) -> None:
        self.requests: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.seen = threading.Condition()
        app = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                verified = SignatureVerifier(SECRET).is_valid(
                    body=body,
                    timestamp=self.headers["X-Slack-Request-Timestamp"],
                    signature=self.headers["X-Slack-Signature"],
                )
                with app.seen:
                    attempt = len(app.requests)
                    app.requests.append({"headers": dict(self.headers.items()), "body": body, "ok": verified})
                    app.seen.notify_all()
                status, headers = answer(attempt)
                if status == 0:  # no answer until the test releases it
                    app.release.wait(WAIT_S)
                    status = 200
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/slack/events"

    def wait_for(self, count: int) -> list[dict[str, Any]]:
        with self.seen:
            assert self.seen.wait_for(lambda: len(self.requests) >= count, timeout=WAIT_S)
            return list(self.requests)

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def _envelope() -> dict[str, Any]:
    return event_envelope(
        {"type": "message", "channel": "C1", "user": "U1", "text": "hi", "ts": "1.000001"},
        team_id="T1",
        api_app_id="A1",
        bot_user_id="UBOT",
    )


def test_an_event_not_acked_in_time_is_retried_like_slack() -> None:
    """An event not acked within 3 s comes again, signed, with Slack's retry headers and the same event_id."""
    app = App(lambda attempt: (0, {}) if attempt == 0 else (200, {}))  # the first is never acked in time
    deliverer = Deliverer(app.url, SECRET, retry_delays_s=(0.0, 0.0, 0.0))
    try:
        envelope = _envelope()
        deliverer.event(envelope)
        first, retry = app.wait_for(2)
        assert first["ok"]  # signed as Slack signs
        assert retry["ok"]
        assert "X-Slack-Retry-Num" not in first["headers"]
        assert retry["headers"]["X-Slack-Retry-Num"] == "1"
        assert retry["headers"]["X-Slack-Retry-Reason"] == "http_timeout"
        assert json.loads(retry["body"])["event_id"] == envelope["event_id"]
    finally:
        app.stop()


def test_failing_events_are_retried_three_times_unless_told_not_to() -> None:
    """A 500 gets Slack's three retries; X-Slack-No-Retry stops them; commands are never retried."""
    done = threading.Event()
    failing = App(lambda attempt: (500, {}))
    refusing = App(lambda attempt: (500, {"X-Slack-No-Retry": "1"}))
    try:
        deliverer = Deliverer(failing.url, SECRET, retry_delays_s=(0.0, 0.0, 0.0))
        deliverer.event(_envelope(), on_done=lambda ack: done.set())
        assert done.wait(WAIT_S)
        attempts = failing.wait_for(4)
        assert len(attempts) == 4
        assert [a["headers"].get("X-Slack-Retry-Num") for a in attempts] == [None, "1", "2", "3"]
        assert attempts[-1]["headers"]["X-Slack-Retry-Reason"] == "http_error"
        done.clear()
        Deliverer(refusing.url, SECRET, retry_delays_s=(0.0,)).event(
            _envelope(), on_done=lambda ack: done.set()
        )
        assert done.wait(WAIT_S)
        assert len(refusing.requests) == 1
        ack = Deliverer(refusing.url, SECRET).command({"command": "/architect", "text": "help"})
        assert ack.status == 500
        assert len(refusing.requests) == 2
    finally:
        failing.stop()
        refusing.stop()


def test_subscriptions_match_the_manifest() -> None:
    """The playground delivers the events and commands the Slack app subscribes to, no others."""
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert set(manifest["settings"]["event_subscriptions"]["bot_events"]) == set(platform.SUBSCRIBED_EVENTS)
    assert {c["command"] for c in manifest["features"]["slash_commands"]} == set(platform.COMMANDS)
    shortcuts = {
        (s["name"], s["callback_id"]) for s in manifest["features"]["shortcuts"] if s["type"] == "message"
    }
    assert shortcuts == set(MESSAGE_SHORTCUTS)  # the ⋮ menu offers what the manifest declares


# --------------------------------------------------------------------------- page actions


@pytest.fixture
def playground(fake_openai: FakeOpenAI) -> Iterator[Playground]:  # noqa: F811
    """The playground with the in-memory store (no REDIS_URL), the fake model."""
    settings = Settings(
        openai_api_key="sk-test",
        openai_base_url=fake_openai.base_url,
        agents_dir=ROOT / "agents",
        model_max_retries=0,
        log_level="WARNING",
        redis_url=None,
    )
    running = Playground(port=0, settings=settings)
    running.start()
    yield running
    running.stop()


def _act(playground: Playground, path: str, origin: str | None = None, **payload: Any) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "Origin": origin or playground.url}
    request = urllib.request.Request(
        playground.url + path, data=json.dumps(payload).encode(), headers=headers, method="POST"
    )
    with urllib.request.urlopen(request, timeout=WAIT_S) as response:
        answer: dict[str, Any] = json.loads(response.read())
        return answer


def _until(ws: Workspace, found: Callable[[], Any]) -> Any:
    """Wait for the workspace to show something (each change re-checks)."""
    seen = 0
    for _ in range(1000):
        result = found()
        if result:
            return result
        changes = ws.wait_changes(seen, timeout=WAIT_S)
        assert changes, "nothing changed in time"
        seen = changes[-1].seq
    raise AssertionError("never shown")


def test_a_mention_starts_a_thread_with_the_default_agent(playground: Playground) -> None:
    """`@architect-bot <text>` in #design: the Director answers in a thread under the person's message."""
    ws = playground.workspace
    assert _act(
        playground, "/ui/send", **{"as": "U01ADA", "channel": "C01DESIGN", "text": "@architect-bot plan it"}
    )["ok"]
    [asked] = ws.top_level("C01DESIGN")
    assert asked.text == "<@UBOT> plan it"
    answer = _until(ws, lambda: [m for m in ws.thread("C01DESIGN", asked.ts) if m.blocks and m.buttons()])
    assert "director" in json.dumps(answer[0].blocks)


def test_a_channel_without_the_bot_says_how_to_invite_it(playground: Playground) -> None:
    """In #random the bot is not a member: the command says to invite it; after /invite it answers."""
    ws = playground.workspace
    ada = {"as": "U01ADA", "channel": "C02RANDOM"}
    _act(playground, "/ui/send", **ada, text="/architect review a queue")
    told = _until(ws, lambda: [e for e in ws.ephemeral if "/invite" in e.text])
    assert told[0].user == "U01ADA"
    assert ws.top_level("C02RANDOM") == []
    _act(playground, "/ui/send", **ada, text="/invite @architect-bot")
    _act(playground, "/ui/send", **ada, text="/architect review a queue")
    [asked] = _until(ws, lambda: [m for m in ws.top_level("C02RANDOM") if m.bot_id and m.subtype is None])
    _until(ws, lambda: [m for m in ws.thread("C02RANDOM", asked.ts) if m.buttons()])  # answered


def test_page_actions_come_only_from_the_page(playground: Playground) -> None:
    """Another site cannot post messages as a person: actions from another origin are refused."""
    with pytest.raises(urllib.error.HTTPError) as refused:
        _act(playground, "/ui/send", origin="http://evil.example", **{"as": "U01ADA", "channel": "C01DESIGN"})
    assert refused.value.code == 403
    too_long = _act(playground, "/ui/send", **{"as": "U01ADA", "channel": "C01DESIGN", "text": "x" * 40_001})
    assert "too long" in too_long["error"]
    assert playground.workspace.top_level("C01DESIGN") == []


# ------------------------------------------------------------------------------- make run


def _cli_env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "OPENAI_", "REDIS_"))}
    keep.pop("SECRETS_MANAGER_SECRET_ID", None)
    return {**keep, "AGENTS_DIR": str(ROOT / "agents"), "PORT": "0", **extra}


def test_make_run_without_slack_settings_opens_the_playground() -> None:
    """`architect-bot run` without Slack settings prints the address; the page says what to set."""
    process = subprocess.Popen(
        [*CLI, "run"],
        env=_cli_env(),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = next(line for line in process.stdout if "open http://" in line)
        url = line.split("open ", 1)[1].split()[0]
        with urllib.request.urlopen(url, timeout=WAIT_S) as response:
            page = response.read().decode()
        assert "# design" in page
        assert "No model is configured" in page
        assert "OPENAI_API_KEY" in page
        assert "OPENAI_BASE_URL" in page
    finally:
        process.terminate()
        process.wait(timeout=WAIT_S)


def test_make_run_with_slack_settings_runs_the_real_bot() -> None:
    """With any Slack setting, `architect-bot run` is the real bot and names what is still missing."""
    result = subprocess.run(
        [*CLI, "run"],
        env=_cli_env(SLACK_BOT_TOKEN="xoxb-only-this"),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=WAIT_S,
        check=False,
    )
    assert result.returncode == 2
    assert "SLACK_SIGNING_SECRET" in result.stderr
    assert "playground" not in result.stdout


def test_a_local_model_server_needs_no_key(fake_openai: FakeOpenAI) -> None:  # noqa: F811
    """With only OPENAI_BASE_URL (e.g. a local server), agents answer and the page shows no model warning."""
    settings = Settings(
        openai_api_key=None, openai_base_url=fake_openai.base_url, agents_dir=ROOT / "agents", redis_url=None
    )
    running = Playground(port=0, settings=settings)
    running.start()
    try:
        ws = running.workspace
        fake_openai.script(Stream(["Local ", "model here."]))
        _act(running, "/ui/send", **{"as": "U02GRACE", "channel": "C01DESIGN", "text": "/architect review x"})
        [asked] = _until(ws, lambda: ws.top_level("C01DESIGN"))
        _until(ws, lambda: [m for m in ws.thread("C01DESIGN", asked.ts) if "model here." in m.markdown()])
        with urllib.request.urlopen(running.url + "/?as=U02GRACE&channel=C01DESIGN", timeout=WAIT_S) as page:
            assert "No model is configured" not in page.read().decode()
    finally:
        running.stop()


def test_feedback_buttons_and_the_home_tab_reach_the_app() -> None:
    """A thumbs-up under an answer reaches the app with its value; a Home tab shows to its person."""
    from urllib.parse import parse_qs

    from bot.playground.page import Page
    from bot.playground.platform import Platform
    from bot.playground.slack_api import call

    app = App(lambda attempt: (200, {}))
    ws = Workspace(strict=True, bot_token="xoxb-t")
    ws.add_user("U1", "ada")
    ws.add_channel("C1", "design", {"U1", ws.bot_user_id})
    platform_ = Platform(ws, Deliverer(app.url, SECRET), base_url="http://127.0.0.1:9")
    feedback = {
        "type": "context_actions",
        "elements": [
            {
                "type": "feedback_buttons",
                "action_id": "feedback",
                "positive_button": {"text": {"type": "plain_text", "text": "Good"}, "value": "good-a1"},
                "negative_button": {"text": {"type": "plain_text", "text": "Bad"}, "value": "bad-a1"},
            }
        ],
    }
    try:
        posted = call(
            ws, "chat.postMessage", {"channel": "C1", "text": "answer", "blocks": [feedback]}, "xoxb-t"
        )
        assert posted.body["ok"]
        html = Page(ws).message(ws.top_level("C1")[0], in_thread=False)
        assert 'data-side="positive_button"' in html
        outcome = platform_.click(
            user="U1",
            container="message",
            item_id=posted.body["ts"],
            block=0,
            element="0",
            side="positive_button",
        )
        assert outcome.ok
        [delivered] = app.wait_for(1)
        payload = json.loads(parse_qs(delivered["body"])["payload"][0])
        assert payload["actions"][0]["type"] == "feedback_buttons"
        assert payload["actions"][0]["value"] == "good-a1"
        assert payload["user"]["id"] == "U1"
        home = {
            "type": "home",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "*Your threads*"}}],
        }
        assert call(ws, "views.publish", {"user_id": "U1", "view": home}, "xoxb-t").body["ok"]
        assert "<b>Your threads</b>" in Page(ws).home("U1")
        assert "has not published a Home tab" in Page(ws).home("U2")
    finally:
        app.stop()


def _button(message: Any, label: str) -> tuple[int, str]:
    """(block index, element index) of the button labelled ``label`` in a message."""
    for index, block in enumerate(message.blocks):
        for position, element in enumerate(block.get("elements") or []):
            text = element.get("text")
            if isinstance(text, dict) and text.get("text") == label:
                return index, str(position)
    raise AssertionError(f"no button {label!r}")


@pytest.mark.parametrize("verbose", [False, True])
def test_a_local_run_prints_readable_logs_and_metrics_only_when_verbose(
    fake_openai: FakeOpenAI,  # noqa: F811
    capfd: pytest.CaptureFixture[str],
    verbose: bool,
) -> None:
    """A review and a handoff in a local run print readable log lines and no CloudWatch metric JSON;
    with --verbose (METRICS_OUTPUT=stdout) the metric lines are there too."""
    settings = Settings(
        openai_api_key="sk-playground-test",
        openai_base_url=fake_openai.base_url,
        agents_dir=ROOT / "agents",
        model_max_retries=0,
        redis_url=None,
        log_level="INFO",
        metrics_output="stdout" if verbose else "auto",
    )
    running = Playground(port=0, settings=settings)
    running.start()
    try:
        ws = running.workspace
        fake_openai.script(Stream(["Add retries."]), Stream(["Director: ship it."]))
        _act(running, "/ui/send", **{"as": "U01ADA", "channel": "C01DESIGN", "text": "/architect review x"})
        [asked] = _until(ws, lambda: ws.top_level("C01DESIGN"))
        [answer] = _until(ws, lambda: [m for m in ws.thread("C01DESIGN", asked.ts) if m.buttons()])
        block, element = _button(answer, "⬅ Back to Director")
        ada = {"as": "U01ADA", "container": "message", "id": answer.ts}
        assert _act(running, "/ui/action", **ada, block=block, element=element)["ok"]
        [view] = _until(ws, lambda: [v for v in ws.views.values() if not v.closed])
        values = {
            str(b["block_id"]): {str(b["element"]["action_id"]): "Summarise."}
            for b in view.view["blocks"]
            if b.get("type") == "input"
        }
        assert _act(running, "/ui/view", **{"as": "U01ADA", "id": view.id, "values": values})["ok"]
        # finished (its buttons are there): nothing of the bot's is still running when it stops
        _until(
            ws,
            lambda: [
                m for m in ws.thread("C01DESIGN", asked.ts) if "ship it" in m.markdown() and m.buttons()
            ],
        )
    finally:
        running.stop()
    lines = [line for line in capfd.readouterr().out.splitlines() if line.strip()]
    metric_lines = [line for line in lines if line.startswith("{") and '"_aws"' in line]
    assert any("[info" in line and "started" in line for line in lines)  # readable, not JSON
    if verbose:
        assert metric_lines
    else:
        assert metric_lines == []
        assert not any(line.startswith("{") for line in lines)


# ------------------------------------------------------------------ Slack's side of the first hour


def _platform() -> tuple[App, Workspace, Any]:
    """A strict workspace with Ada in #design (the bot too), her DM with the app, and Slack's side."""
    from bot.playground.platform import Platform

    app = App(lambda attempt: (200, {}))
    ws = Workspace(strict=True, bot_token="xoxb-t")
    ws.add_user("U1", "ada")
    ws.add_channel("C1", "design", {"U1", ws.bot_user_id})
    ws.add_dm("U1")
    return app, ws, Platform(ws, Deliverer(app.url, SECRET), base_url="http://127.0.0.1:9")


def _payload(delivered: dict[str, Any]) -> dict[str, Any]:
    from urllib.parse import parse_qs

    return dict(json.loads(parse_qs(delivered["body"])["payload"][0]))


def test_menus_overflow_and_shortcuts_reach_the_app_as_slack_sends_them() -> None:
    """A static menu's choice, an overflow item, an external menu's search and choice, and a message
    shortcut from ⋮ each reach the app in Slack's payload shape."""
    from bot.playground.slack_api import call

    app, ws, platform_ = _platform()
    options = [
        {"text": {"type": "plain_text", "text": n}, "value": n.lower()} for n in ("Director", "Builder")
    ]
    blocks = [
        {
            "type": "actions",
            "block_id": "pick",
            "elements": [
                {"type": "static_select", "action_id": "agent", "options": options},
                {"type": "overflow", "action_id": "more", "options": options},
                {"type": "external_select", "action_id": "search", "min_query_length": 0},
            ],
        }
    ]
    try:
        posted = call(ws, "chat.postMessage", {"channel": "C1", "text": "pick", "blocks": blocks}, "xoxb-t")
        ts = posted.body["ts"]
        where = {"user": "U1", "container": "message", "item_id": ts, "block": 0}
        assert platform_.click(**where, element="0", value="builder").ok
        assert platform_.click(**where, element="1", value="director").ok
        assert not platform_.click(**where, element="0", value="nobody").ok  # not in the menu
        first, second = (_payload(d) for d in app.wait_for(2))
        assert first["actions"][0]["selected_option"]["value"] == "builder"
        assert first["actions"][0]["type"] == "static_select"
        assert second["actions"][0]["type"] == "overflow"
        assert second["actions"][0]["selected_option"]["text"]["text"] == "Director"
        asked = platform_.interactions.options(
            user="U1", container="message", item_id=ts, block=0, element="2", query="dir"
        )
        suggestion = _payload(app.wait_for(3)[2])
        assert (suggestion["type"], suggestion["action_id"], suggestion["value"]) == (
            "block_suggestion",
            "search",
            "dir",
        )
        assert asked.options == []  # the stand-in app answered no options
        assert platform_.interactions.shortcut(user="U1", channel="C1", ts=ts, callback_id="forget_thread").ok
        shortcut = _payload(app.wait_for(4)[3])
        assert (shortcut["type"], shortcut["callback_id"]) == ("message_action", "forget_thread")
        assert (shortcut["message"]["ts"], shortcut["channel"]["id"]) == (ts, "C1")
        assert shortcut["trigger_id"]
        assert shortcut["response_url"]
    finally:
        app.stop()


def test_deleting_a_parent_with_replies_leaves_this_message_was_deleted() -> None:
    """Slack keeps a deleted thread parent as "This message was deleted." while replies remain (the
    app hears a ``message_changed`` to a tombstone); it goes with the last reply."""
    from bot.playground.page import Page
    from bot.playground.slack_api import call

    ws = Workspace(strict=True, bot_token="xoxb-t")
    ws.add_user("U1", "ada")
    ws.add_channel("C1", "design", {"U1", ws.bot_user_id})
    parent = call(ws, "chat.postMessage", {"channel": "C1", "text": "request"}, "xoxb-t").body["ts"]
    reply = ws.post(channel="C1", user="U1", text="a person's reply", thread_ts=parent)
    lonely = call(ws, "chat.postMessage", {"channel": "C1", "text": "no replies"}, "xoxb-t").body["ts"]
    assert call(ws, "chat.delete", {"channel": "C1", "ts": parent}, "xoxb-t").body["ok"]
    assert call(ws, "chat.delete", {"channel": "C1", "ts": lonely}, "xoxb-t").body["ok"]
    [kept] = ws.top_level("C1")
    assert (kept.ts, kept.subtype, kept.text) == (parent, "tombstone", "This message was deleted.")
    assert [m.text for m in ws.thread("C1", parent)] == ["a person's reply"]
    shown = Page(ws).message(kept, in_thread=False)
    assert "This message was deleted." in shown
    assert "1 reply" in shown
    replies = call(ws, "conversations.replies", {"channel": "C1", "ts": parent}, "xoxb-t").body["messages"]
    assert [m.get("subtype") for m in replies] == ["tombstone", None]
    ws.delete(reply)
    assert ws.top_level("C1") == []  # the tombstone went with the last reply


def test_the_messages_tab_is_a_dm_the_app_hears_as_im() -> None:
    """Writing in the app's Messages tab sends ``message.im`` events (channel_type ``im``), never an
    app_mention; opening the tab sends ``app_home_opened`` with tab ``messages``."""
    app, ws, platform_ = _platform()
    try:
        [dm] = [c for c in ws.channels.values() if c.is_im]
        assert platform_.send(user="U1", channel=dm.id, text="hi @architect-bot").ok
        platform_.open_home(user="U1", tab="messages")
        delivered = [json.loads(d["body"])["event"] for d in app.wait_for(2)]
        message = next(e for e in delivered if e["type"] == "message")
        opened = next(e for e in delivered if e["type"] == "app_home_opened")
        assert (message["channel"], message["channel_type"]) == (dm.id, "im")
        assert (opened["tab"], opened["channel"]) == ("messages", dm.id)
        assert all(e["type"] != "app_mention" for e in delivered)
    finally:
        app.stop()


def test_another_person_cannot_open_someone_elses_dm(playground: Playground) -> None:
    """Grace cannot read Ada's DM with the app by its address."""
    [ada_dm] = [c for c in playground.workspace.channels.values() if c.is_im and "U01ADA" in c.members]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{playground.url}/?as=U02GRACE&channel={ada_dm.id}", timeout=WAIT_S)
    assert refused.value.code == 404
    with urllib.request.urlopen(f"{playground.url}/?as=U01ADA&channel={ada_dm.id}", timeout=WAIT_S) as page:
        assert "Messages" in page.read().decode()


def test_app_home_dates_read_as_dates() -> None:
    """``<!date^…|recently>`` shows the date, not "@recently"."""
    import time

    now = int(time.time())
    shown = mrkdwn(f"Your thread · <!date^{now}^{{date_short_pretty}} {{time}}|recently>")
    assert "@recently" not in shown
    assert "Today" in shown
    assert time.strftime("%-I:%M", time.localtime(now)) in shown


def test_without_a_model_an_agent_says_what_to_set() -> None:
    """Asked with no model configured, the agent answers in its thread with the settings to set."""
    settings = Settings(openai_api_key=None, openai_base_url="", agents_dir=ROOT / "agents", redis_url=None)
    running = Playground(port=0, settings=settings)
    running.start()
    try:
        ws = running.workspace
        _act(running, "/ui/send", **{"as": "U01ADA", "channel": "C01DESIGN", "text": "/architect review x"})
        [asked] = _until(ws, lambda: ws.top_level("C01DESIGN"))
        [told] = _until(
            ws, lambda: [m for m in ws.thread("C01DESIGN", asked.ts) if "OPENAI_API_KEY" in m.text]
        )
        assert "OPENAI_BASE_URL" in told.text
        assert "misconfigured" not in told.text
    finally:
        running.stop()
