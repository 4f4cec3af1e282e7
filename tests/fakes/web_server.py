"""A local HTTPS web server for the ``fetch`` tool, with a test certificate authority (trustme).

Usage::

    with FakeWeb() as web:                      # https://localhost:<port>/ in a thread
        fetcher = WebFetcher(allow_loopback=True, ca_file=web.ca_file)
        fetcher.fetch(web.url("/design"), deadline=...)

The certificate is valid for ``localhost``, ``127.0.0.1``, ``::1`` and ``docs.example.test`` (a
name only a test resolver knows). Pages are served from :attr:`FakeWeb.pages` (path -> ``Page``);
every request is recorded (path, Host header).
"""

from __future__ import annotations

import os
import ssl
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
import trustme

from tests.fakes._http import LocalServer

DESIGN_HTML = """<!doctype html><html><head><title>Payments design</title>
<script>var leaked = "never in the text";</script><style>.x{color:red}</style></head>
<body><nav>Home | About</nav><main><h1>Payments design</h1>
<p>The ledger is <b>append-only</b>; refunds are new entries.</p>
<ul><li>Idempotency keys on every POST</li><li>Outbox for events</li></ul></main>
<footer>© footer text</footer></body></html>"""


@dataclass(frozen=True)
class WebPage:
    """What one path answers."""

    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()
    stall_s: float = 0.0  # wait before answering
    repeat: int = 1  # send the body this many times (a huge page)


@dataclass
class _State:
    pages: dict[str, WebPage] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_GET(self) -> None:
        """Serve the page registered for the path (404 otherwise)."""
        state = self.server.state
        with state.lock:
            state.requests.append((self.path, self.headers.get("Host", "")))
            page = state.pages.get(self.path.split("?")[0], WebPage(b"not found", 404, "text/plain"))
        if page.stall_s and state.closing.wait(page.stall_s):
            return
        try:
            self.send_response(page.status)
            self.send_header("Content-Type", page.content_type)
            self.send_header("Content-Length", str(len(page.body) * page.repeat))
            for name, value in page.headers:
                self.send_header(name, value)
            self.end_headers()
            for _ in range(page.repeat):
                self.wfile.write(page.body)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the client stopped reading (size cap): fine


class _Server(LocalServer):
    """The local server over TLS (a certificate from the test CA)."""

    def __init__(self, state: _State, context: ssl.SSLContext) -> None:
        super().__init__(_Handler, state)
        self.socket = context.wrap_socket(self.socket, server_side=True)


class FakeWeb:
    """A running local HTTPS server (context manager)."""

    def __init__(self) -> None:
        self._state = _State()
        self._ca = trustme.CA()
        self._cert = self._ca.issue_cert("localhost", "127.0.0.1", "::1", "docs.example.test")
        handle, self.ca_file = tempfile.mkstemp(prefix="ab-ca-", suffix=".pem")
        os.close(handle)
        self._ca.cert_pem.write_to_path(self.ca_file)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.pages["/design"] = WebPage(DESIGN_HTML.encode())

    @property
    def pages(self) -> dict[str, WebPage]:
        """Path -> page (edit freely in a test)."""
        return self._state.pages

    @property
    def requests(self) -> list[tuple[str, str]]:
        """(path, Host header) of every request so far."""
        with self._state.lock:
            return list(self._state.requests)

    def __enter__(self) -> FakeWeb:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(context)
        self._server = _Server(self._state, context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-web", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._state.closing.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        os.unlink(self.ca_file)

    @property
    def port(self) -> int:
        """The TCP port."""
        assert self._server is not None, "use FakeWeb as a context manager"
        return int(self._server.server_address[1])

    def url(self, path: str, host: str = "localhost") -> str:
        """``https://<host>:<port><path>``."""
        return f"https://{host}:{self.port}{path}"


@pytest.fixture
def fake_web() -> Iterator[FakeWeb]:
    """A running :class:`FakeWeb` (bind it in a test module with ``fake_web = web_server.fake_web``)."""
    with FakeWeb() as web:
        yield web
