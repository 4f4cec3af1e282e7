"""A fake Slack Web API over real HTTP, plus a fake Lambda Invoke endpoint.

:class:`FakeSlack` answers the Web API methods the bot uses (``chat.postMessage``, ``chat.update``,
``chat.delete``, ``chat.postEphemeral``, ``views.open``, ``auth.test``) and ``response_url`` posts,
keeps the resulting messages per channel, and records every call so tests assert on what a person
in Slack would see. Failures are scriptable per method (a Slack error, a 429 with ``Retry-After``,
a 500).

:class:`FakeLambda` is the Lambda ``Invoke`` API (``POST /2015-03-31/functions/<name>/invocations``)
on localhost: point ``AWS_ENDPOINT_URL_LAMBDA`` at it and Bolt's lazy re-invocations (boto3) land
here, to be replayed into the handler by the test.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from tests.fakes._http import send_json


@dataclass
class Call:
    """One Web API call as received."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)  # when it arrived (benchmarks)


@dataclass
class Message:
    """A message as Slack would now show it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    updates: int = 0

    def markdown(self) -> str:
        """The text of the message's markdown blocks (what a person reads)."""
        return "\n".join(b.get("text", "") for b in self.blocks if b.get("type") == "markdown")

    def buttons(self) -> list[dict[str, Any]]:
        """Every button of the message."""
        return [e for b in self.blocks if b.get("type") == "actions" for e in b.get("elements", [])]


@dataclass
class _Failure:
    status: int = 200
    error: str | None = None
    retry_after: int | None = None


@dataclass
class _SlackState:
    calls: list[Call] = field(default_factory=list)
    messages: dict[str, Message] = field(default_factory=dict)  # ts -> message
    ephemeral: list[dict[str, Any]] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # response_url posts
    views: list[dict[str, Any]] = field(default_factory=list)
    failures: dict[str, deque[_Failure]] = field(default_factory=lambda: defaultdict(deque))
    counter: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


def _now_ts(state: _SlackState) -> str:
    """A Slack ts from the wall clock, strictly increasing (Slack's are unique per channel)."""
    micros = max(int(time.time() * 1_000_000), state.counter + 1)
    state.counter = micros
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def _parse_body(handler: BaseHTTPRequestHandler) -> dict[str, Any]:
    length = int(handler.headers.get("Content-Length") or 0)
    raw = handler.rfile.read(length).decode("utf-8") if length else ""
    if "application/json" in (handler.headers.get("Content-Type") or ""):
        return json.loads(raw or "{}")
    params: dict[str, Any] = {k: v[0] for k, v in parse_qs(raw).items()}
    for key in ("blocks", "view", "attachments"):
        if isinstance(params.get(key), str):
            params[key] = json.loads(params[key])
    return params


class _SlackHandler(BaseHTTPRequestHandler):
    state: _SlackState

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        send_json(self, status, payload, headers)

    def do_POST(self) -> None:
        state = self.state
        path = urlparse(self.path).path
        params = _parse_body(self)
        if path.startswith("/response/"):
            with state.lock:
                state.responses.append(params)
            self._json(200, {"ok": True})
            return
        method = path.removeprefix("/api/")
        auth = self.headers.get("Authorization") or ""
        token = auth.removeprefix("Bearer ") if auth else params.get("token")
        with state.lock:
            state.calls.append(Call(method, params, token))
            queue = state.failures.get(method)
            failure = queue.popleft() if queue else None
        if failure is not None:
            if failure.status == 429:
                self._json(
                    429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(failure.retry_after or 1)}
                )
                return
            if failure.status >= 500:
                self._json(failure.status, {"ok": False, "error": "internal_error"})
                return
            self._json(200, {"ok": False, "error": failure.error})
            return
        if not token or not token.startswith("xoxb-"):
            self._json(200, {"ok": False, "error": "not_authed"})
            return
        self._json(200, self._answer(method, params))

    def _answer(self, method: str, params: dict[str, Any]) -> dict[str, Any]:  # noqa: PLR0911 - one branch per method
        state = self.state
        with state.lock:
            if method == "auth.test":
                return {
                    "ok": True,
                    "user_id": "UBOT",
                    "bot_id": "BBOT",
                    "team_id": "T1",
                    "user": "architect-bot",
                }
            if method == "chat.postMessage":
                ts = _now_ts(state)
                message = Message(
                    channel=params["channel"],
                    ts=ts,
                    text=params.get("text", ""),
                    blocks=params.get("blocks") or [],
                    thread_ts=params.get("thread_ts"),
                )
                state.messages[ts] = message
                return {"ok": True, "channel": message.channel, "ts": ts, "message": {"ts": ts}}
            if method == "chat.update":
                message = state.messages.get(params["ts"])
                if message is None:
                    return {"ok": False, "error": "message_not_found"}
                message.text = params.get("text", message.text)
                message.blocks = params.get("blocks") or message.blocks
                message.updates += 1
                return {"ok": True, "channel": message.channel, "ts": message.ts}
            if method == "chat.delete":
                state.messages.pop(params["ts"], None)
                return {"ok": True}
            if method == "chat.postEphemeral":
                state.ephemeral.append(params)
                return {"ok": True, "message_ts": "1700009999.000001"}
            if method == "views.open":
                state.views.append(params)
                return {"ok": True, "view": {"id": f"V{len(state.views)}"}}
        return {"ok": False, "error": "unknown_method"}


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class FakeSlack:
    """The fake Slack Web API. Use as a context manager."""

    def __init__(self) -> None:
        self.state = _SlackState()
        handler = type("Handler", (_SlackHandler,), {"state": self.state})
        self._server = _Server(handler)

    def __enter__(self) -> FakeSlack:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    @property
    def api_url(self) -> str:
        """Value for SLACK_API_URL."""
        return self._server.url + "/api/"

    def response_url(self, name: str = "cmd") -> str:
        """A response_url that lands in :attr:`responses`."""
        return f"{self._server.url}/response/{name}"

    def fail(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Make the next ``times`` calls of ``method`` fail."""
        with self.state.lock:
            for _ in range(times):
                self.state.failures[method].append(
                    _Failure(status=status, error=error, retry_after=retry_after)
                )

    @property
    def calls(self) -> list[Call]:
        """Every Web API call so far."""
        with self.state.lock:
            return list(self.state.calls)

    def calls_of(self, method: str) -> list[Call]:
        """Calls of one method."""
        return [c for c in self.calls if c.method == method]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The replies the bot posted in a thread, oldest first."""
        with self.state.lock:
            found = [
                m for m in self.state.messages.values() if m.channel == channel and m.thread_ts == thread_ts
            ]
        return sorted(found, key=lambda m: m.ts)

    def top_level(self, channel: str) -> list[Message]:
        """Messages posted in a channel outside threads."""
        with self.state.lock:
            found = [m for m in self.state.messages.values() if m.channel == channel and m.thread_ts is None]
        return sorted(found, key=lambda m: m.ts)

    @property
    def ephemeral(self) -> list[dict[str, Any]]:
        """chat.postEphemeral calls."""
        with self.state.lock:
            return list(self.state.ephemeral)

    @property
    def responses(self) -> list[dict[str, Any]]:
        """response_url posts."""
        with self.state.lock:
            return list(self.state.responses)

    @property
    def views(self) -> list[dict[str, Any]]:
        """views.open calls."""
        with self.state.lock:
            return list(self.state.views)


# ------------------------------------------------------------------------------------------ Lambda


@dataclass
class _LambdaState:
    invocations: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _LambdaHandler(BaseHTTPRequestHandler):
    state: _LambdaState

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        with self.state.lock:
            self.state.invocations.append(
                {
                    "function": urlparse(self.path).path.split("/")[3],
                    "type": self.headers.get("X-Amz-Invocation-Type"),
                    "payload": payload,
                }
            )
        self.send_response(202)
        self.send_header("Content-Length", "0")
        self.end_headers()


class FakeLambda:
    """Captures asynchronous Lambda invocations (Bolt's lazy listeners) for replay."""

    def __init__(self) -> None:
        self.state = _LambdaState()
        handler = type("Handler", (_LambdaHandler,), {"state": self.state})
        self._server = _Server(handler)

    def __enter__(self) -> FakeLambda:
        self._server.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.stop()

    @property
    def endpoint(self) -> str:
        """Value for AWS_ENDPOINT_URL_LAMBDA."""
        return self._server.url

    def take(self) -> list[dict[str, Any]]:
        """The invocations captured since the last call (oldest first)."""
        with self.state.lock:
            taken = list(self.state.invocations)
            self.state.invocations.clear()
        return taken
