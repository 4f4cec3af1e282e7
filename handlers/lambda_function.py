"""The AWS Lambda entry point: ``handlers/lambda_function.handler`` (named in serverless.yml).

Cold start: settings from the environment, secrets from SSM / Secrets Manager when named, logging,
the agent registry, the Bolt app. A missing secret fails the cold start with one clear log line
naming the parameter, so Slack never talks to a half-configured bot. The Bolt Lambda adapter
re-invokes this same function asynchronously for lazy listeners (boto3's Lambda client, which
honours ``AWS_ENDPOINT_URL_LAMBDA``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from slack_bolt.adapter.aws_lambda import SlackRequestHandler

from bot import runtime
from bot.adapters.agent_files import load_registry
from bot.adapters.aws_secrets import resolve_secrets
from bot.container import Services
from bot.errors import ConfigurationError
from bot.logging import bind_request, configure_logging, get_logger
from bot.settings import Settings
from handlers.app import build_app

log = get_logger("handlers.lambda")

LAZY_HEADER = "x-slack-bolt-lazy-only"


@dataclass(frozen=True, slots=True)
class Container:
    """What a warm Lambda container keeps between invocations."""

    handler: SlackRequestHandler
    services: Services


_container: Container | None = None


def _use_json(settings: Settings) -> bool:
    return settings.log_format == "json" or (settings.log_format == "auto" and settings.on_lambda)


def cold_start(settings: Settings | None = None) -> Container:
    """Build everything the handler needs, once per container."""
    settings = settings or Settings()
    configure_logging(json=_use_json(settings), level=settings.log_level)
    settings = resolve_secrets(settings)  # an unreadable secret: one log line naming it, then raises
    missing = settings.missing("slack_signing_secret", "slack_bot_token")
    if missing:
        log.error("cold_start_failed", missing=", ".join(missing))
        raise ConfigurationError(f"missing settings: {', '.join(missing)}")
    registry = load_registry(settings.agents_dir, settings.routing_path, settings.default_model)
    for problem in registry.problems:
        log.warning("agent_problem", file=problem.file, line=problem.line, problem=problem.message)
    log.info("cold_start", agents=len(registry), stage=settings.stage)
    services = Services(settings, registry)
    return Container(SlackRequestHandler(build_app(services)), services)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda handler: API Gateway HTTP API events and lazy re-invocations."""
    global _container  # noqa: PLW0603 - one app per container is the point of a cold start
    started = time.monotonic()
    invocation = runtime.begin(context)
    bind_request(request_id=invocation.request_id)
    if _container is None:
        _container = cold_start()
    response: dict[str, Any] = _container.handler.handle(event, context)
    headers = {str(key).lower() for key in (event.get("headers") or {})}
    if LAZY_HEADER not in headers:
        elapsed_ms = (time.monotonic() - started) * 1000
        _container.services.metrics.ack_latency(elapsed_ms)
        log.info("acked", duration_ms=round(elapsed_ms, 1), status=response.get("statusCode"))
    return response


def reset() -> None:
    """Forget the built app (tests simulate a new container with it)."""
    global _container  # noqa: PLW0603
    _container = None
