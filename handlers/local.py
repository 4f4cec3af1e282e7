"""Local development server: Socket Mode with SLACK_APP_TOKEN, else Bolt's HTTP server on PORT.

Without REDIS_URL the in-memory store serves (conversations vanish on exit; the log says so).
"""

from __future__ import annotations

import sys

from bot.adapters.agent_files import load_registry
from bot.adapters.aws_secrets import resolve_secrets
from bot.container import Services
from bot.errors import BotError
from bot.logging import configure_logging, get_logger
from bot.settings import Settings
from handlers.app import build_app

log = get_logger("handlers.local")

REQUIRED = ("slack_signing_secret", "slack_bot_token", "openai_api_key")


def main() -> int:
    """Run the bot until interrupted. Returns a process exit code."""
    settings = Settings()
    configure_logging(json=settings.log_format == "json", level=settings.log_level)
    try:
        settings = resolve_secrets(settings)
    except BotError as error:
        print(f"architect-bot: {error.detail}", file=sys.stderr)
        return 2
    missing = settings.missing(*REQUIRED)
    if missing:
        print(
            "architect-bot: cannot start, these settings are missing: "
            + ", ".join(missing)
            + "\nSet them in the environment (README.md, 'Fresh machine: the two commands'). "
            "Add SLACK_APP_TOKEN (xapp-...) for Socket Mode, or expose port "
            f"{settings.port} at /slack/events for HTTP mode.",
            file=sys.stderr,
        )
        return 2
    registry = load_registry(settings.agents_dir, settings.routing_path, settings.default_model)
    for problem in registry.problems:
        log.warning("agent_problem", file=problem.file, line=problem.line, problem=problem.message)
    services = Services(settings, registry)
    services.store  # noqa: B018 - build now so the store choice is logged at start-up
    app = build_app(services)
    if settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        log.info("starting", mode="socket", agents=len(registry))
        SocketModeHandler(app, settings.slack_app_token.get_secret_value()).start()  # type: ignore[no-untyped-call]
    else:
        log.info("starting", mode="http", port=settings.port, path="/slack/events", agents=len(registry))
        app.start(port=settings.port, path="/slack/events")
    return 0
