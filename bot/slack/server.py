"""The bot as a local server: Socket Mode with SLACK_APP_TOKEN, else Bolt's HTTP server on PORT.

Without REDIS_URL the in-memory store serves (conversations vanish on exit; the log says so).
"""

from __future__ import annotations

import sys

from bot.bootstrap import SLACK_REQUIRED, MissingSettingsError, bootstrap
from bot.errors import ConfigurationError
from bot.logging import get_logger
from bot.slack.app import build_app

log = get_logger("bot.slack.server")

REQUIRED = (*SLACK_REQUIRED, "openai_api_key")


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
        app.start(port=settings.port, path="/slack/events")
    return 0
