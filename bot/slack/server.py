"""The bot as a local server: Socket Mode with SLACK_APP_TOKEN, else HTTP on PORT (``/slack/events``).

:class:`HttpServer` serves a Bolt app over HTTP with one thread per request (Bolt's own development
server handles one request at a time, so a slow ack would hold up every other delivery); the
playground serves the same app with it on a local port. Without REDIS_URL the in-memory store serves
(conversations vanish on exit; the log says so).
"""

from __future__ import annotations

import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from slack_bolt import App, BoltRequest

from bot.bootstrap import SLACK_REQUIRED, MissingSettingsError, bootstrap
from bot.errors import ConfigurationError
from bot.logging import get_logger
from bot.settings import SettingsError
from bot.slack.app import build_app
from bot.slack.guard import MAX_BODY_BYTES, screen_http, too_large

log = get_logger("bot.slack.server")

# a local OpenAI-compatible server (OPENAI_BASE_URL) needs no key
REQUIRED = (*SLACK_REQUIRED, "openai_api_key|openai_base_url")
EVENTS_PATH = "/slack/events"


def _refused(refused: tuple[int, str] | None) -> tuple[int, dict[str, Any], str]:
    """The HTTP answer to a request the guard refused (bot/slack/guard.py)."""
    return (refused[0] if refused else 400), {"Content-Type": "text/plain"}, ""


class HttpServer:
    """A Bolt app over HTTP: ``POST /slack/events`` dispatched to the app, one thread per request."""

    def __init__(self, app: App, *, host: str = "0.0.0.0", port: int = 3000, path: str = EVENTS_PATH) -> None:  # noqa: S104 - Slack (or a tunnel) must reach it
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def do_POST(self) -> None:
                parts = urlsplit(self.path)
                if parts.path != path:
                    self._reply(404, {}, "")
                    return
                try:
                    length = int(self.headers.get("Content-Length") or 0)
                except ValueError:
                    length = -1
                if length < 0 or length > MAX_BODY_BYTES:  # refused before reading it
                    self._reply(*_refused(too_large()))
                    return
                raw = self.rfile.read(length) if length else b""
                refused = screen_http(raw, content_type=self.headers.get("Content-Type"))
                if refused is not None:
                    self._reply(*_refused(refused))
                    return
                body = raw.decode("utf-8")
                request = BoltRequest(body=body, query=parts.query, headers=dict(self.headers.items()))
                response = app.dispatch(request)
                self._reply(response.status, response.headers, response.body)

            def _reply(self, status: int, headers: dict[str, Any], body: str) -> None:
                data = body.encode("utf-8")
                self.send_response(status)
                for key, values in headers.items():
                    if key.lower() == "content-length":
                        continue
                    for value in values if isinstance(values, list | tuple) else [values]:
                        self.send_header(key, str(value))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self.path = path
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        """``http://host:port`` the server listens on."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def serve_forever(self) -> None:
        """Serve until interrupted."""
        try:
            self.httpd.serve_forever()
        finally:
            self.httpd.server_close()

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="bolt-http", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.httpd.shutdown()
        self.httpd.server_close()


def main() -> int:
    """Run the bot until interrupted. Returns a process exit code."""
    try:
        services = bootstrap(required=REQUIRED)
    except MissingSettingsError as error:
        print(
            "architect-bot: cannot start, these settings are missing: "
            + ", ".join(error.missing)
            + "\nSet them in the environment (README.md, 'Fresh machine: the two commands'). "
            "Add SLACK_APP_TOKEN (xapp-...) for Socket Mode, or expose the port at /slack/events "
            "for HTTP mode.",
            file=sys.stderr,
        )
        return 2
    except ConfigurationError as error:
        print(f"architect-bot: {error.detail}", file=sys.stderr)
        return 2
    except SettingsError as error:  # one line naming each wrong variable (logged too)
        print(f"architect-bot: {error}", file=sys.stderr)
        return 2
    settings = services.settings
    services.warm()  # store, model and engine built now: the choice is logged, the first answer is fast
    app = build_app(services)
    if settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        log.info("serving", mode="socket", agents=len(services.registry))
        SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()  # type: ignore[no-untyped-call]
    else:
        log.info(
            "serving", mode="http", port=settings.port, path="/slack/events", agents=len(services.registry)
        )
        HttpServer(app, port=settings.port).serve_forever()
    return 0
