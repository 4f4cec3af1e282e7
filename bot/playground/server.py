"""The playground's web server: the page, its static files, live updates, and the Slack Web API emulator.

One local port serves a person's browser (``/``, ``/static/...``, ``/ui/...``) and the bot's Slack
client (``/api/<method>``, ``/response/<name>``: :mod:`bot.playground.slack_api`). Live updates go
to the page as server-sent events (``/ui/events``), one stream per person, so ephemeral messages
and modals reach only the person they are for. Page actions are JSON posts from the same origin.
"""

from __future__ import annotations

import base64
import json
import mimetypes
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bot.logging import get_logger
from bot.playground import slack_api
from bot.playground.interactions import Outcome
from bot.playground.page import Page
from bot.playground.platform import Platform, Upload
from bot.playground.render import INLINE_IMAGES, options_html
from bot.playground.updates import page_update
from bot.playground.workspace import Workspace

log = get_logger("bot.playground.server")

STATIC = {"playground.js": "text/javascript", "playground.css": "text/css"}
MAX_BODY = 8_000_000  # a page post: a message of at most 40,000 characters, or a 5 MB file as base64
KEEPALIVE_S = 10.0


class PlaygroundServer:
    """Serves the page and the emulator on ``host:port`` (``port`` 0: a free one)."""

    def __init__(self, ws: Workspace, page: Page, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.ws = ws
        self.page = page
        self.platform: Platform | None = None
        self.stopping = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_GET(self) -> None:
                server.get(self)

            def do_POST(self) -> None:
                server.post(self)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="playground-http", daemon=True)

    @property
    def url(self) -> str:
        """``http://host:port``."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving: live streams end, the port is freed."""
        self.stopping.set()
        self.ws.notify("stopping")
        self.httpd.shutdown()
        self.httpd.server_close()

    # -------------------------------------------------------------------------------- GET

    def get(self, handler: BaseHTTPRequestHandler) -> None:
        """Pages, static files, fragments and the event stream."""
        parts = urlsplit(handler.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        if parts.path.startswith(("/api/", "/response/", "/files-pri/")):
            self._emulator(handler, b"")
            return
        if parts.path == "/":
            self._document(handler, query)
        elif parts.path.startswith("/ui/file/"):
            self._file(handler, parts.path.removeprefix("/ui/file/"))
        elif parts.path == "/favicon.ico":
            _send(handler, 204, b"", "image/x-icon")
        elif parts.path.startswith("/static/"):
            self._static(handler, parts.path.removeprefix("/static/"))
        elif parts.path == "/ui/events":
            self._events(handler, query)
        elif parts.path.startswith("/ui/"):
            self._fragment(handler, parts.path, query)
        elif parts.path.startswith("/docs/"):  # a canvas link: the canvas on a page of its own
            shown = self.page.canvas(parts.path.rstrip("/").rsplit("/", 1)[-1])
            if shown is None:
                _send(handler, 404, b"no such canvas", "text/plain")
            else:
                _send(handler, 200, shown.encode(), "text/html; charset=utf-8")
        elif parts.path.startswith("/archives/"):  # a message link: its thread, opened here
            self._thread_link(handler, parts.path, query)
        else:
            _send(handler, 404, b"not found", "text/plain")

    def _fragment(self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, str]) -> None:
        """``/ui/thread`` (a thread pane), ``/ui/home`` (the Home tab; ``tab=messages``: Messages opened)."""
        viewer = self._viewer(query)
        if path == "/ui/thread":
            channel, ts = query.get("channel", ""), query.get("ts", "")
            if not self._visible(channel, viewer):
                _send(handler, 404, b"unknown channel", "text/plain")
                return
            _send(
                handler, 200, self.page.thread_pane(channel, ts, viewer).encode(), "text/html; charset=utf-8"
            )
        elif path == "/ui/home":
            tab = "messages" if query.get("tab") == "messages" else "home"
            if self.platform is not None:
                self.platform.open_home(user=viewer, tab=tab)
            _send(handler, 200, self.page.home(viewer).encode(), "text/html; charset=utf-8")
        else:
            _send(handler, 404, b"not found", "text/plain")

    def _thread_link(self, handler: BaseHTTPRequestHandler, path: str, query: dict[str, str]) -> None:
        """``/archives/<channel>/p<digits>[?thread_ts=...]``: the channel with that thread open."""
        match = re.fullmatch(r"/archives/([A-Z0-9]+)/p(\d{10})(\d{6})", path)
        if match is None:
            _send(handler, 404, b"not a message link", "text/plain")
            return
        thread = query.get("thread_ts") or f"{match[2]}.{match[3]}"
        target = {"as": self._viewer(query), "channel": match[1], "thread": thread}
        handler.send_response(303)
        handler.send_header("Location", "/?" + urlencode(target))
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    def _visible(self, channel: str, viewer: str) -> bool:
        """Whether ``viewer`` may see ``channel`` (a DM only its person)."""
        found = self.ws.channels.get(channel)
        return found is not None and (not found.is_im or viewer in found.members)

    def _viewer(self, query: dict[str, str]) -> str:
        viewer = query.get("as", "")
        people = [u.id for u in self.ws.users.values() if not u.is_bot]
        return viewer if viewer in people else people[0]

    def _document(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        viewer = self._viewer(query)
        if query.get("as") != viewer or ("channel" not in query and "home" not in query):
            first = next(iter(self.ws.channels))
            target = {"as": viewer, "channel": query.get("channel") or first}
            if "home" in query:
                target = {"as": viewer, "home": "1"}
            handler.send_response(303)
            handler.send_header("Location", "/?" + urlencode(target))
            handler.send_header("Content-Length", "0")
            handler.end_headers()
            return
        channel = None if "home" in query else query.get("channel")
        if channel is not None and not self._visible(channel, viewer):
            _send(handler, 404, b"unknown channel", "text/plain")
            return
        thread = query.get("thread") if channel is not None else None
        with self.ws.lock:
            seq = self.ws.seq
            html = self.page.document(viewer=viewer, channel=channel, thread_ts=thread, seq=seq)
        _send(handler, 200, html.encode(), "text/html; charset=utf-8")

    def _file(self, handler: BaseHTTPRequestHandler, file_id: str) -> None:
        """A shared file for the page: raster images inline, anything else as a download."""
        stored = self.ws.files.get(file_id)
        if stored is None:
            _send(handler, 404, b"no such file", "text/plain")
            return
        inline = stored.mimetype in INLINE_IMAGES
        handler.send_response(200)
        handler.send_header("Content-Type", stored.mimetype if inline else "application/octet-stream")
        handler.send_header("Content-Length", str(len(stored.content)))
        handler.send_header("X-Content-Type-Options", "nosniff")
        handler.send_header("Content-Security-Policy", "default-src 'none'; sandbox")
        if not inline:
            name = "".join(c for c in stored.name if c.isalnum() or c in "._- ") or "file"
            handler.send_header("Content-Disposition", f'attachment; filename="{name}"')
        handler.end_headers()
        handler.wfile.write(stored.content)

    def _static(self, handler: BaseHTTPRequestHandler, name: str) -> None:
        kind = STATIC.get(name)
        if kind is None:
            _send(handler, 404, b"not found", "text/plain")
            return
        data = resources.files("bot.playground").joinpath("static", name).read_bytes()
        _send(handler, 200, data, f"{kind}; charset=utf-8")

    # ------------------------------------------------------------------------ live stream

    def _events(self, handler: BaseHTTPRequestHandler, query: dict[str, str]) -> None:
        viewer = self._viewer(query)
        channel = query.get("channel") or None
        if channel is not None and not self._visible(channel, viewer):
            channel = None
        try:
            after = int(handler.headers.get("Last-Event-ID") or query.get("after") or self.ws.seq)
        except ValueError:
            after = self.ws.seq
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.send_header("Cache-Control", "no-store")
        handler.send_header("Connection", "close")
        handler.end_headers()
        handler.close_connection = True
        try:
            handler.wfile.write(b"retry: 1000\n\n")
            handler.wfile.flush()
            while not self.stopping.is_set():
                changes = self.ws.wait_changes(after, timeout=KEEPALIVE_S)
                if not changes:
                    handler.wfile.write(b": keepalive\n\n")
                for change in changes:
                    after = change.seq
                    update = page_update(self.ws, self.page, change, viewer, channel)
                    if update is not None:
                        data = json.dumps(update)
                        handler.wfile.write(f"id: {change.seq}\ndata: {data}\n\n".encode())
                handler.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, TimeoutError):
            return

    # ------------------------------------------------------------------------------- POST

    def post(self, handler: BaseHTTPRequestHandler) -> None:
        """The emulator's methods, and the page's actions (JSON from the same origin only)."""
        length = int(handler.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            _send(handler, 413, b"too large", "text/plain")
            return
        body = handler.rfile.read(length) if length else b""
        path = urlsplit(handler.path).path
        if path.startswith(("/api/", "/response/")):
            self._emulator(handler, body)
            return
        origin = handler.headers.get("Origin")
        if "application/json" not in (handler.headers.get("Content-Type") or "") or (
            origin is not None and origin != self.url and origin.replace("localhost", "127.0.0.1") != self.url
        ):
            _send(handler, 403, b"page actions are JSON from this page only", "text/plain")
            return
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            request = None
        if not isinstance(request, dict) or self.platform is None:
            _send(handler, 400, b"bad request", "text/plain")
            return
        outcome = self._act(path, request)
        if outcome is None:
            _send(handler, 404, b"not found", "text/plain")
            return
        answer: dict[str, Any] = {"ok": outcome.ok, "error": outcome.error, "errors": outcome.errors}
        if outcome.options is not None:  # an external menu's options, rendered here
            answer["html"] = options_html(outcome.options)
        if outcome.errors and path == "/ui/view":
            shown = self.ws.views.get(str(request.get("id")))
            if shown is not None:
                answer["html"] = self.page.modal(shown, outcome.errors)
        _send(handler, 200, json.dumps(answer).encode(), "application/json")

    def _act(self, path: str, request: dict[str, Any]) -> Outcome | None:
        platform = self.platform
        assert platform is not None
        user = str(request.get("as") or "")
        if path == "/ui/send":
            upload = _upload(request.get("file"))
            if isinstance(upload, Outcome):
                return upload
            return platform.send(
                user=user,
                channel=str(request.get("channel") or ""),
                text=str(request.get("text") or ""),
                thread_ts=str(request.get("thread_ts") or "") or None,
                upload=upload,
            )
        if path == "/ui/action":
            try:
                block = int(request.get("block", -1))
            except (TypeError, ValueError):
                return Outcome("That button is gone.")
            return platform.click(
                user=user,
                container=str(request.get("container") or ""),
                item_id=str(request.get("id") or ""),
                block=block,
                element=str(request.get("element") or ""),
                side=str(request.get("side") or "") or None,
                value=None if request.get("value") is None else str(request.get("value")),
            )
        return self._menu_act(platform, user, path, request)

    def _menu_act(self, platform: Platform, user: str, path: str, request: dict[str, Any]) -> Outcome | None:
        """``/ui/options`` (an external menu's search), ``/ui/shortcut`` (⋮ on a message), ``/ui/view``."""
        if path == "/ui/options":
            try:
                block = int(request.get("block", -1))
            except (TypeError, ValueError):
                return Outcome("That menu is gone.")
            return platform.interactions.options(
                user=user,
                container=str(request.get("container") or ""),
                item_id=str(request.get("id") or ""),
                block=block,
                element=str(request.get("element") or ""),
                query=str(request.get("query") or "")[:200],
            )
        if path == "/ui/shortcut":
            return platform.interactions.shortcut(
                user=user,
                channel=str(request.get("channel") or ""),
                ts=str(request.get("ts") or ""),
                callback_id=str(request.get("callback_id") or ""),
            )
        if path == "/ui/view":
            view_id = str(request.get("id") or "")
            if request.get("action") == "close":
                return platform.close_view(user=user, view_id=view_id)
            values = request.get("values")
            clean: dict[str, dict[str, str]] = {}
            if isinstance(values, dict):
                for block_id, actions in values.items():
                    if isinstance(actions, dict):
                        clean[str(block_id)] = {str(k): str(v) for k, v in actions.items()}
            return platform.submit_view(user=user, view_id=view_id, values=clean)
        return None

    def _emulator(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        answer = slack_api.handle(
            self.ws, path=handler.path, headers=dict(handler.headers.items()), body=body, base_url=self.url
        )
        slack_api.send(handler, answer or slack_api.ApiResponse(404, {"ok": False, "error": "not_found"}))


def _upload(raw: Any) -> Upload | Outcome | None:
    """The file a page post attaches (``{"name", "mimetype", "content": base64}``), if any."""
    if raw is None:
        return None
    if not isinstance(raw, dict) or not isinstance(raw.get("content"), str):
        return Outcome("That file could not be read.")
    try:
        content = base64.b64decode(raw["content"], validate=True)
    except ValueError:
        return Outcome("That file could not be read.")
    name = str(raw.get("name") or "file")[:255]
    mimetype = str(raw.get("mimetype") or "") or mimetypes.guess_type(name)[0] or "application/octet-stream"
    return Upload(name=name, content=content, mimetype=mimetype)


def _send(handler: BaseHTTPRequestHandler, status: int, data: bytes, content_type: str) -> None:
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    handler.send_header("Content-Length", str(len(data)))
    handler.send_header("X-Content-Type-Options", "nosniff")
    if content_type.startswith("text/html"):
        handler.send_header(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "connect-src 'self'; frame-ancestors 'none'",
        )
    handler.send_header("Cache-Control", "no-store")
    handler.end_headers()
    handler.wfile.write(data)
