"""The tests' fake Slack: the package's Web API emulator on a local port, plus a fake Lambda endpoint.

:class:`FakeSlack` is :mod:`bot.playground.slack_api` (the same emulator the playground runs) over a
non-strict :class:`~bot.playground.workspace.Workspace`: channels appear on first use, and trigger
ids and response URLs the tests make up are accepted. Arguments and limits are checked as Slack
checks them. Every call is recorded so tests assert on what a person in Slack would see; failures
are scriptable per method (a Slack error, a 429 with ``Retry-After``, a 500).

:class:`FakeLambda` is the Lambda ``Invoke`` API (``POST /2015-03-31/functions/<name>/invocations``)
on localhost: point ``AWS_ENDPOINT_URL_LAMBDA`` at it and Bolt's lazy re-invocations (boto3) land
here, to be replayed into the handler by the test (:meth:`FakeLambda.take`), or by another process
that fetches them with ``GET /invocations`` (the benchmark's measured Lambda processes).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlparse

from bot.playground.slack_api import SlackApiServer
from bot.playground.workspace import Call, Message, Workspace

__all__ = ["Call", "FakeLambda", "FakeSlack", "Message"]


class FakeSlack:
    """The fake Slack Web API. Use as a context manager."""

    def __init__(self) -> None:
        self.workspace = Workspace(strict=False)
        self._server = SlackApiServer(self.workspace)

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
        after: int = 0,
    ) -> None:
        """Make ``times`` calls of ``method`` fail, once ``after`` more calls have been answered."""
        self.workspace.fail(
            method, error=error, status=status, retry_after=retry_after, times=times, after=after
        )

    @property
    def base_url(self) -> str:
        """``http://host:port`` of the emulator (file downloads live under it)."""
        return self._server.url

    def share_file(
        self,
        name: str,
        content: bytes,
        *,
        mimetype: str,
        filetype: str = "",
        user: str = "U1",
        ready: bool = True,
    ) -> dict[str, Any]:
        """Store a file; returns its object as a message event shows it (``files`` entry)."""
        stored = self.workspace.add_file(
            name,
            content,
            mimetype=mimetype,
            filetype=filetype or name.rsplit(".", 1)[-1],
            user=user,
            ready=ready,
        )
        return stored.to_slack(self.base_url)

    def say(
        self,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        thread_ts: str | None = None,
        files: list[dict[str, Any]] | None = None,
        ts: str | None = None,
    ) -> Message:
        """A person's message as it now stands in Slack (what ``conversations.replies`` reads back)."""
        self.workspace.channel(channel)
        return self.workspace.post(
            channel=channel,
            user=user,
            text=text,
            thread_ts=thread_ts,
            subtype="file_share" if files else None,
            files=files,
            ts=ts,
        )

    def refuse(self, method: str, error: str) -> None:
        """Answer every call of ``method`` with ``error`` (a feature this workspace lacks)."""
        with self.workspace.lock:
            self.workspace.agent.refuse(method, error)

    def refuse_streaming(self, error: str = "access_denied") -> None:
        """A workspace where Slack refuses the streaming API: answers go the ``chat.update`` way."""
        self.refuse("chat.startStream", error)

    @property
    def calls(self) -> list[Call]:
        """Every Web API call so far."""
        with self.workspace.lock:
            return list(self.workspace.calls)

    def calls_of(self, method: str) -> list[Call]:
        """Calls of one method."""
        return [c for c in self.calls if c.method == method]

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """The replies the bot posted in a thread, oldest first."""
        bot = self.workspace.bot_user_id
        return [m for m in self.workspace.thread(channel, thread_ts) if m.user == bot]

    def top_level(self, channel: str) -> list[Message]:
        """Messages the bot posted in a channel outside threads."""
        bot = self.workspace.bot_user_id
        return [m for m in self.workspace.top_level(channel) if m.user == bot]

    @property
    def ephemeral(self) -> list[dict[str, Any]]:
        """chat.postEphemeral calls."""
        with self.workspace.lock:
            return [e.params for e in self.workspace.ephemeral]

    @property
    def responses(self) -> list[dict[str, Any]]:
        """response_url posts."""
        with self.workspace.lock:
            return [r.params for r in self.workspace.responses]

    @property
    def views(self) -> list[dict[str, Any]]:
        """views.open calls."""
        with self.workspace.lock:
            return [v.params for v in self.workspace.opened]


# ------------------------------------------------------------------------------------------ Lambda


@dataclass
class _LambdaState:
    invocations: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class _LambdaHandler(BaseHTTPRequestHandler):
    state: _LambdaState

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        """``GET /invocations``: hand over (and forget) the invocations captured so far, as JSON."""
        if urlparse(self.path).path != "/invocations":
            self.send_error(404)
            return
        with self.state.lock:
            taken = list(self.state.invocations)
            self.state.invocations.clear()
        data = json.dumps(taken).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        payload = json.loads(self.rfile.read(length) or b"{}")
        with self.state.lock:
            self.state.invocations.append(
                {
                    "function": unquote(urlparse(self.path).path.split("/")[3]),  # name or (qualified) ARN
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
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FakeLambda:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def endpoint(self) -> str:
        """Value for AWS_ENDPOINT_URL_LAMBDA."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def take(self) -> list[dict[str, Any]]:
        """The invocations captured since the last call (oldest first)."""
        with self.state.lock:
            taken = list(self.state.invocations)
            self.state.invocations.clear()
        return taken
