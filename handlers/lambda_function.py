"""The AWS Lambda entry point: ``handlers/lambda_function.handler`` (named in serverless.yml).

Cold start = :func:`bot.bootstrap.bootstrap` (settings, secrets from SSM / Secrets Manager,
logging, agents) + the Bolt app. A missing secret fails the cold start with one clear log line
naming it, so Slack never talks to a half-configured bot. Bolt's Lambda adapter re-invokes this
same function asynchronously for lazy listeners (boto3, which honours ``AWS_ENDPOINT_URL_LAMBDA``).

First words fast: the ack path imports neither ``openai`` nor ``redis``. After a cold start's
first ack, a background thread builds the engine (imports included) so the lazy run that follows
on this container finds it ready. With SnapStart (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``)
everything is built during init, before the snapshot, and network clients are re-made after each
restore.
"""

from __future__ import annotations

import os
import random
import threading
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

from bot import runtime
from bot.agents_source import refresh_agents
from bot.bootstrap import SLACK_REQUIRED, bootstrap
from bot.core.held import HeldReply
from bot.errors import ConfigurationError
from bot.logging import bind_request, get_logger
from bot.slack.app import build_app
from bot.slack.clients import bot_client
from bot.slack.guard import screen_http
from bot.slack.wiring import Wiring

if TYPE_CHECKING:
    from bot.container import Services
    from bot.core.ports import Clock

log = get_logger("handlers.lambda")

LAZY_HEADER = "x-slack-bolt-lazy-only"


@dataclass(slots=True)
class Container:
    """What a warm Lambda container keeps between invocations."""

    handler: SlackRequestHandler
    services: Services
    wiring: Wiring
    warming: threading.Thread | None = None


_container: Container | None = None
_clock: Clock | None = None  # None: the system clock; tests inject a FixedClock with reset(clock=...)


def cold_start() -> Container:
    """Build everything the ack path needs, once per container."""
    return container_for(bootstrap(required=SLACK_REQUIRED, clock=_clock))


def container_for(services: Services) -> Container:
    """The Bolt app, its Lambda adapter and the flows' wiring for these services."""
    wiring = Wiring(services)
    return Container(SlackRequestHandler(build_app(services, wiring=wiring)), services, wiring)


def with_new_agents(container: Container) -> Container:
    """The Bolt app rebuilt for a reloaded set of agent files (listeners take the registry when they
    are registered: verbs, help, the picker); the wiring with its per-process memory, the services
    and Bolt's Lambda client for lazy invocations are kept."""
    app = build_app(container.services, wiring=container.wiring)
    old = container.handler.app.listener_runner.lazy_listener_runner
    new = app.listener_runner.lazy_listener_runner
    if isinstance(old, LambdaLazyListenerRunner) and isinstance(new, LambdaLazyListenerRunner):
        new.lambda_client = new.lambda_client or old.lambda_client
    return replace(container, handler=SlackRequestHandler(app))


def _warm_in_background(container: Container) -> None:
    if container.warming is None and container.services.settings.warm_after_ack:
        container.warming = threading.Thread(target=container.services.warm, name="warm-up", daemon=True)
        container.warming.start()


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Lambda handler: API Gateway HTTP API events, lazy re-invocations and held replies (SQS)."""
    global _container  # noqa: PLW0603 - one app per container is the point of a cold start
    started = time.monotonic()
    invocation = runtime.begin(context)
    bind_request(request_id=invocation.request_id)
    if _container is None:
        _container = cold_start()
    if _is_queue_event(event):
        return _held_replies(event, _container)
    refused = _screen(event, _container.services)
    if refused is not None:
        return refused
    headers = {str(key).lower() for key in (event.get("headers") or {})}
    if LAZY_HEADER in headers and refresh_agents(_container.services) == "applied":
        _container = with_new_agents(_container)  # the slow half only: S3 is never looked at in the ack
    response: dict[str, Any] = _container.handler.handle(event, context)  # type: ignore[no-untyped-call]
    if LAZY_HEADER not in headers:
        elapsed_ms = (time.monotonic() - started) * 1000
        _container.services.metrics.ack_latency(elapsed_ms)
        log.info("acked", duration_ms=round(elapsed_ms, 1), status=response.get("statusCode"))
    _warm_in_background(_container)
    return response


def _is_queue_event(event: dict[str, Any]) -> bool:
    """An SQS event source batch (the held-replies queue), not a Slack request."""
    records = event.get("Records")
    return isinstance(records, list) and all(
        isinstance(r, dict) and r.get("eventSource") == "aws:sqs" for r in records
    )


def _held_replies(event: dict[str, Any], container: Container) -> dict[str, Any]:
    """Catch up each held reply's thread (bot/slack/flows/catch_up.py); a failed one is retried by SQS.

    Returns the partial batch response (``ReportBatchItemFailures``): only failed messages come back.
    """
    failures = []
    client = bot_client(container.services.settings)
    for record in event["Records"]:
        try:
            reply = HeldReply.from_json(str(record.get("body") or ""))
        except ValueError as error:
            log.error("held_reply_unreadable", error=str(error))  # retrying cannot mend it: dropped
            continue
        flow = container.wiring.catch_up(client)
        try:
            if flow is None:
                raise ConfigurationError("a held reply arrived but no held-replies queue is configured")
            flow.catch_up(reply)
        except Exception as error:
            log.error("held_reply_failed", error_type=type(error).__name__, exc_info=error)
            failures.append({"itemIdentifier": record.get("messageId")})
    return {"batchItemFailures": failures}


def _screen(event: dict[str, Any], services: Services) -> dict[str, Any] | None:
    """A response for a request Bolt could not even parse (too large, not JSON, ...); None to go on.

    Also fills what API Gateway always sends and Bolt's adapter indexes without checking.
    """
    if not isinstance(event.get("headers"), dict):
        event["headers"] = {}
    event.setdefault("isBase64Encoded", False)
    content_type = next(
        (str(v) for k, v in event["headers"].items() if str(k).lower() == "content-type"), None
    )
    body = event.get("body")
    refused = screen_http(
        body if isinstance(body, str | bytes) or body is None else str(body),
        content_type=content_type,
        base64_encoded=bool(event["isBase64Encoded"]),
        metrics=services.metrics,
    )
    if refused is None:
        return None
    status, _reason = refused
    return {"statusCode": status, "body": "", "headers": {"content-type": "text/plain"}}


def reset(*, clock: Clock | None = None) -> None:
    """Forget the built app (tests simulate a new container with it); the next one uses ``clock``."""
    global _container, _clock  # noqa: PLW0603
    _container = None
    _clock = clock


def _lazy_invoker_ready(container: Container) -> None:
    """Create the Lambda client that Bolt's lazy listeners invoke with, instead of on the first ack."""
    import boto3

    runner = container.handler.app.listener_runner.lazy_listener_runner
    if isinstance(runner, LambdaLazyListenerRunner) and runner.lambda_client is None:
        runner.lambda_client = boto3.client("lambda")


def _snap_start() -> None:
    """SnapStart init: build and warm everything before the snapshot; re-make network clients after restore.

    Runs when Lambda publishes a version (``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``); each new
    instance then resumes from the snapshot, runs the after-restore hook, and serves at once.
    """
    global _container  # noqa: PLW0603
    from snapshot_restore_py import register_after_restore  # part of Lambda's Python runtime

    _container = cold_start()
    _container.services.warm()
    _lazy_invoker_ready(_container)
    register_after_restore(_container.services.reconnect)
    register_after_restore(random.seed)  # every instance resumes the same state: fresh retry jitter


if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start":
    _snap_start()
