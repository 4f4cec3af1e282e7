"""build_app(services) -> the Bolt App, with the one error handler and request-context middleware.

The same App serves Lambda (handlers/lambda_function.py), the local server (bot/slack/server.py)
and the tests. Listeners live in bot/slack/listeners/ and get the flows they call from
:class:`bot.slack.wiring.Wiring` as arguments, never as module globals.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from slack_bolt import App, BoltResponse
from slack_bolt.authorization import AuthorizeResult

from bot import runtime
from bot.errors import ConfigurationError
from bot.logging import bind_request, get_logger
from bot.slack.clients import slack_client
from bot.slack.guard import register_fallbacks, shape_middleware
from bot.slack.payload import log_context
from bot.slack.wiring import Wiring

if TYPE_CHECKING:
    from bot.container import Services
    from bot.settings import Settings

log = get_logger("bot.slack.app")


def _authorizer(settings: Settings) -> Any:
    """Authorize without an ``auth.test`` round trip when SLACK_BOT_USER_ID is configured."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    cache: dict[str, AuthorizeResult] = {}

    def authorize(enterprise_id: str | None, team_id: str | None, **_: Any) -> AuthorizeResult:
        if token is None:
            raise ConfigurationError("SLACK_BOT_TOKEN is not set")
        if settings.slack_bot_user_id:
            return AuthorizeResult(
                enterprise_id=enterprise_id,
                team_id=team_id,
                bot_token=token,
                bot_user_id=settings.slack_bot_user_id,
            )
        if "auth" not in cache:  # once per process
            response = slack_client(settings, token).auth_test()
            cache["auth"] = AuthorizeResult.from_auth_test_response(
                auth_test_response=response, bot_token=token
            )
        return cache["auth"]

    return authorize


def _context_middleware() -> Any:
    """Middleware binding request context (team, channel, thread, user, kind) to every log line."""

    def middleware(
        body: dict[str, Any],
        context: Any,
        next: Any,
        request: Any,
    ) -> BoltResponse | None:
        """Bind request id, team, channel, thread, user and event kind to every log line."""
        lazy = bool(request.headers.get("x-slack-bolt-lazy-only"))
        bind_request(
            request_id=runtime.current().request_id,
            team=context.get("team_id"),
            user=context.get("user_id"),
            **log_context(body, context),
            phase="lazy" if lazy else "ack",
            slack_retry=(request.headers.get("x-slack-retry-num") or [None])[0],
        )
        # Bolt's next() only marks the chain as continued; the listener runs after we return.
        next()
        return None

    return middleware


def _drop_token_warning(record: logging.LogRecord) -> bool:
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client wins; that is intended."""
    return "`token` will be unused" not in record.getMessage()


def build_app(services: Services, *, wiring: Wiring | None = None) -> App:
    """The Bolt app for these services (process_before_response: required on Lambda).

    ``wiring``: the flows' wiring, when the caller keeps it too (the Lambda handler runs the held
    replies' catch-up with it); by default one is made here."""
    settings = services.settings
    if settings.slack_signing_secret is None:
        raise ConfigurationError("SLACK_SIGNING_SECRET is not set")
    bolt_logger = logging.getLogger("slack_bolt")
    bolt_logger.setLevel(logging.WARNING)
    bolt_logger.addFilter(_drop_token_warning)
    app = App(
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        client=slack_client(settings),
        authorize=_authorizer(settings),
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        logger=bolt_logger,
        name="architect-bot",
    )
    app.middleware(_context_middleware())
    app.middleware(shape_middleware(services.metrics))  # after the context: its warning carries it
    (wiring or Wiring(services)).register(app)
    register_fallbacks(app, services.metrics)  # last: only what no listener above handles

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        """Unexpected errors: logged with the tracking id; Slack gets a plain 200 (no retry storm)."""
        services.metrics.error("unhandled")
        log.error("unhandled_error", error_type=type(error).__name__, exc_info=error)
        if body.get("command"):  # a slash command shows the body to the user who typed it
            tracking = runtime.current().request_id
            return BoltResponse(
                status=200,
                body=f"Something went wrong on my side. Please try again. (tracking id `{tracking}`)",
            )
        return BoltResponse(status=200, body="")

    return app
