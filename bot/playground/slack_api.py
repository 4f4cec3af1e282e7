"""The Slack Web API emulator: one method table over a :class:`~bot.playground.workspace.Workspace`.

The table joins the method modules' own tables (:mod:`~bot.playground.api_messages`,
:mod:`~bot.playground.api_views`, :mod:`~bot.playground.agent_api`); each method receives an
:class:`~bot.playground.api_base.ApiRequest` and returns the JSON answer, or raises
:class:`~bot.playground.api_base.SlackError` with Slack's error code. The method modules import
only :mod:`bot.playground.api_base`, never this module: the table imports them, nothing imports back.

Add a method to one of those modules (``@methods.add("conversations.info", required=("channel",))``),
or to the table here at run time with :func:`method`.

:func:`handle` answers one HTTP request (``/api/<method>``, ``/response/<name>``, a private file
download or an upload), so any server can mount the emulator; :class:`SlackApiServer` is a
standalone one on a local port.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.playground import agent_api, api_messages, api_urls, api_views
from bot.playground.api_base import ApiMethod, ApiRequest, ApiResponse, MethodFn, SlackError
from bot.playground.workspace import Failure, Workspace

__all__ = [
    "METHODS",
    "ApiRequest",
    "ApiResponse",
    "SlackApiServer",
    "SlackError",
    "call",
    "handle",
    "method",
    "parse_params",
    "send",
]

JSON_ARGS = {"blocks", "attachments", "view", "metadata", "files", "chunks", "document_content", "prompts"}
"""Arguments that arrive JSON-encoded in a form body (parsed before a method sees them)."""

METHODS: dict[str, ApiMethod] = {**api_messages.methods, **api_views.methods, **agent_api.methods}
"""Method name -> its implementation."""


def method(name: str, *, required: tuple[str, ...] = ()) -> Callable[[MethodFn], MethodFn]:
    """Add ``fn`` to the table as the Web API method ``name`` (``required`` arguments checked first)."""

    def register(fn: MethodFn) -> MethodFn:
        METHODS[name] = ApiMethod(name, fn, required)
        return fn

    return register


def _scripted(failure: Failure) -> ApiResponse:
    if failure.status == 429:
        return ApiResponse(
            429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(failure.retry_after or 1)}
        )
    if failure.status >= 500:
        return ApiResponse(failure.status, {"ok": False, "error": "internal_error"})
    return ApiResponse(200, {"ok": False, "error": failure.error or "fatal_error"})


def call(
    ws: Workspace, name: str, params: dict[str, Any], token: str | None, base_url: str = ""
) -> ApiResponse:
    """Answer one Web API call as Slack would."""
    failure = ws.record_call(name, params, token)
    if failure is None and name in ws.agent.refusals:  # a feature the workspace lacks, for good
        failure = Failure(error=ws.agent.refusals[name])
    if failure is not None:
        return _scripted(failure)
    if not token:
        return ApiResponse(200, {"ok": False, "error": "not_authed"})
    if (ws.bot_token is not None and token != ws.bot_token) or not token.startswith("xoxb-"):
        return ApiResponse(200, {"ok": False, "error": "invalid_auth"})
    found = METHODS.get(name)
    if found is None:
        return ApiResponse(200, {"ok": False, "error": "unknown_method", "req_method": name})
    request = ApiRequest(ws, name, params, token, base_url)
    try:
        request.require(*found.required)
        return ApiResponse(200, found.fn(request))
    except SlackError as error:
        return ApiResponse(error.status, error.body(), error.headers)


def parse_params(body: bytes, content_type: str, query: str = "") -> dict[str, Any]:
    """A call's arguments from its query string and form or JSON body (JSON arguments parsed)."""
    params: dict[str, Any] = {k: v[0] for k, v in parse_qs(query).items()}
    raw = body.decode("utf-8", errors="replace")
    if "application/json" in content_type:
        try:
            loaded = json.loads(raw or "{}")
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            params.update(loaded)
        return params
    params.update({k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()})
    for key in JSON_ARGS & params.keys():
        if isinstance(params[key], str):
            with contextlib.suppress(ValueError):  # else left as text: the method reports the format
                params[key] = json.loads(params[key])
    return params


def handle(
    ws: Workspace, *, path: str, headers: Mapping[str, str], body: bytes, base_url: str
) -> ApiResponse | None:
    """Answer ``/api/<method>`` and ``/response/<name>``; None for any other path."""
    parts = urlsplit(path)
    content_type = headers.get("Content-Type") or headers.get("content-type") or ""
    if parts.path.startswith("/response/"):
        return api_urls.respond(
            ws, parts.path.removeprefix("/response/"), parse_params(body, content_type), base_url
        )
    if parts.path.startswith("/files-pri/"):
        return api_urls.download(ws, parts.path, headers)
    if parts.path.startswith("/upload/"):
        return agent_api.receive_upload(ws, parts.path, body)
    if not parts.path.startswith("/api/"):
        return None
    params = parse_params(body, content_type, parts.query)
    auth = headers.get("Authorization") or headers.get("authorization") or ""
    token = auth.removeprefix("Bearer ").strip() if auth else params.get("token")
    return call(ws, parts.path.removeprefix("/api/"), params, str(token) if token else None, base_url)


def send(handler: BaseHTTPRequestHandler, response: ApiResponse) -> None:
    """Write an :class:`ApiResponse` to an HTTP handler."""
    raw = response.content is not None
    data = response.content if response.content is not None else json.dumps(response.body).encode()
    handler.send_response(response.status)
    if not raw:
        handler.send_header("Content-Type", "application/json; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    for key, value in response.headers.items():
        if key.lower() != "content-length":
            handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)


class SlackApiServer:
    """The emulator alone on a local port (the tests' fake Slack)."""

    def __init__(self, workspace: Workspace, host: str = "127.0.0.1", port: int = 0) -> None:
        self.workspace = workspace
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = handle(
                    server.workspace,
                    path=self.path,
                    headers=dict(self.headers.items()),
                    body=body,
                    base_url=server.url,
                )
                send(self, answer or ApiResponse(404, {"ok": False, "error": "not_found"}))

            do_GET = _answer
            do_POST = _answer

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """``http://host:port`` of the server."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.httpd.shutdown()
        self.httpd.server_close()
