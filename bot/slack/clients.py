"""The Slack Web API clients the bot makes: one way to build them (base URL, timeouts, retries)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from bot.errors import ConfigurationError

if TYPE_CHECKING:
    from bot.settings import Settings

SLACK_HTTP_TIMEOUT_S = 10


def slack_client(settings: Settings, token: str | None = None) -> WebClient:
    """A WebClient for the configured Slack API URL that retries 429 (Retry-After) and 5xx."""
    return WebClient(
        token=token,
        base_url=settings.slack_api_url,
        timeout=SLACK_HTTP_TIMEOUT_S,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
        ],
    )


def bot_client(settings: Settings) -> WebClient:
    """A WebClient with the bot token, for work that no Slack request started (a held reply's catch-up)."""
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    if token is None:
        raise ConfigurationError("SLACK_BOT_TOKEN is not set")
    return slack_client(settings, token)
