"""Hostile and broken requests: refused early, with one warning line, never an error or a traceback.

Three layers, each for what the next one cannot survive:

1. :func:`screen_http` runs before Bolt on every HTTP request (Lambda, the local HTTP server): a body
   over :data:`MAX_BODY_BYTES` gets 413; a body Bolt cannot parse (a JSON body that is not a JSON
   object, a form ``payload`` that is not one, bytes that are not UTF-8 or base64) gets 400. Bolt
   would raise on these before any middleware runs (an invocation error on Lambda).
2. :func:`shape_middleware` runs after Bolt verified the signature: a request of a kind the bot
   answers but without the ids its listener needs (a command without ``channel_id``, an event
   without ``channel``, an interaction without ``user``, any request without a team) is acked
   (events: 200, so Slack does not retry what cannot succeed) or refused (400) without reaching a
   listener, so nothing is posted and no model is called.
3. :func:`register_fallbacks` (registered last) acknowledges an ``action_id``, ``callback_id``,
   shortcut or command nobody listens to, where Bolt would answer 404 with a multi-line warning.

Each refusal logs one ``request_refused`` warning (kind and reason, never the body) and counts
``Rejections{Kind=malformed}``.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from slack_bolt import Ack, App, BoltResponse

from bot.logging import get_logger

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = get_logger("bot.slack.guard")

MAX_BODY_BYTES = 1024 * 1024
"""Largest request body accepted. Slack's largest real request (a 40,000-character message with its
rich-text copy, four bytes per character at worst) is about 330 KB; Lambda's asynchronous payload
limit, which the lazy self-invocation must fit, is 1 MB (256 KB before late 2025)."""

_ANY = re.compile(r".*", re.DOTALL)

Rejected = tuple[int, str]


def _refuse(metrics: Metrics | None, status: int, reason: str, kind: str = "http") -> Rejected:
    log.warning("request_refused", status=status, reason=reason, request_kind=kind)
    if metrics is not None:
        metrics.rejection("malformed")
    return status, reason


def too_large(metrics: Metrics | None = None) -> Rejected:
    """The refusal of a body whose announced length is over :data:`MAX_BODY_BYTES` (not read at all)."""
    return _refuse(metrics, 413, "body_too_large")


def _json_object(text: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _bolt_can_route(body: dict[str, Any]) -> bool:
    """False for shapes Bolt's own routing indexes into and would raise on (before any middleware).

    Slack never sends these; a request carrying one is forged, truncated or from a broken proxy.
    """
    kind = body.get("type")
    if "event" in body and not isinstance(body["event"], dict):
        return False
    if isinstance(body.get("event"), dict) and not isinstance(body["event"].get("type", ""), str):
        return False
    if kind in ("block_actions", "interactive_message") or "actions" in body:
        actions = body.get("actions")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
            return False
    if kind in ("view_submission", "view_closed") or "view" in body:
        view = body.get("view")
        if not isinstance(view, dict) or not isinstance(view.get("type"), str):
            return False
        if view["type"] == "workflow_step" and "workflow_step" not in body:
            return False
    return True


def screen_http(
    body: str | bytes | None,
    *,
    content_type: str | None,
    base64_encoded: bool = False,
    metrics: Metrics | None = None,
) -> Rejected | None:
    """None when Bolt can parse the request; else (status, reason) to answer instead."""
    decoded = _decode(body, base64_encoded)
    if isinstance(decoded, tuple):
        return _refuse(metrics, *decoded)
    text = decoded
    if not text:
        return None  # Bolt answers an empty body itself (401: no signature matches)
    parsed: dict[str, Any] | None
    if (content_type or "").split(";")[0].strip() == "application/json" or text.startswith("{"):
        parsed = _json_object(text)
        if parsed is None:
            return _refuse(metrics, 400, "body_not_json_object")
    elif (
        "payload" in text
        and (payload := dict(parse_qsl(text, keep_blank_values=True)).get("payload")) is not None
    ):
        parsed = _json_object(payload)
        if parsed is None:
            return _refuse(metrics, 400, "payload_not_json_object")
    else:
        return None  # a slash command's form: Bolt reads it with .get()
    return None if _bolt_can_route(parsed) else _refuse(metrics, 400, "unroutable_shape")


def _decode(body: str | bytes | None, base64_encoded: bool) -> str | Rejected:
    """The body as text, or (status, reason) when it is too large or not text."""
    raw = body if isinstance(body, bytes) else (body or "").encode("utf-8", errors="surrogatepass")
    if len(raw) > (MAX_BODY_BYTES * 4 // 3 + 4 if base64_encoded else MAX_BODY_BYTES):
        return 413, "body_too_large"
    if base64_encoded:
        try:
            raw = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            return 400, "bad_base64"
        if len(raw) > MAX_BODY_BYTES:
            return 413, "body_too_large"
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return 400, "not_utf8"


# ------------------------------------------------------------------------------------- request shape


def _get(body: Any, path: str) -> Any:
    value = body
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _present(body: Any, path: str) -> bool:
    value = _get(body, path)
    return isinstance(value, str) and bool(value)


def _team(body: dict[str, Any]) -> bool:
    return any(_present(body, p) for p in ("team_id", "team.id", "user.team_id", "authorizations.0.team_id"))


# What each kind of request the bot answers must carry (dotted paths into the body).
_EVENT_NEEDS: dict[str, tuple[str, ...]] = {
    "app_mention": ("event.channel", "event.user", "event.ts"),
    "message": ("event.channel", "event.ts"),
}
_INTERACTION_NEEDS: dict[str, tuple[str, ...]] = {
    "block_actions": ("user.id", "actions.0.action_id", "trigger_id"),
    "view_submission": ("user.id", "view.id"),
    "message_action": ("user.id", "channel.id", "message.ts", "callback_id"),
    "shortcut": ("user.id", "callback_id"),
}


def missing_fields(body: dict[str, Any]) -> tuple[str, list[str]]:
    """(kind, the required fields it lacks) for a parsed Slack request body."""
    if body.get("command"):
        kind = "command"
        needs: tuple[str, ...] = ("channel_id", "user_id", "trigger_id")
    elif body.get("type") == "event_callback":
        event_type = _get(body, "event.type")
        kind = f"event:{event_type}"
        needs = _EVENT_NEEDS.get(str(event_type), ())
        if not isinstance(body.get("event"), dict):
            needs = ("event.type",)
    else:
        kind = str(body.get("type") or "unknown")
        needs = _INTERACTION_NEEDS.get(kind, ())
        if kind == "block_actions" and _get(body, "container.type") == "message":
            needs = (*needs, "channel.id", "container.message_ts")
    missing = [path for path in needs if not _present(body, path)]
    if kind != "url_verification" and not kind.startswith("ssl_check") and not _team(body):
        missing.append("team")
    return kind, missing


def shape_middleware(metrics: Metrics) -> Callable[..., BoltResponse | None]:
    """Bolt middleware: requests without the ids their listener needs stop here (both phases)."""

    def middleware(body: dict[str, Any], next: Callable[[], None]) -> BoltResponse | None:
        """Continue with well-formed requests; answer the others without reaching a listener."""
        if body.get("type") in ("url_verification", "ssl_check") or body.get("ssl_check"):
            next()
            return None
        kind, missing = missing_fields(body)
        if not missing:
            next()
            return None
        status = 200 if kind.startswith("event:") else 400  # Slack retries events that fail
        log.warning(
            "request_refused",
            status=status,
            reason="missing_fields",
            request_kind=kind,
            fields=",".join(missing),
        )
        metrics.rejection("malformed")
        return BoltResponse(status=status, body="")

    return middleware


def register_fallbacks(app: App, metrics: Metrics) -> None:
    """Acknowledge interactions and commands no listener handles. Register after every listener."""

    def unknown(ack: Ack, body: dict[str, Any]) -> None:
        kind = str(body.get("type") or ("command" if body.get("command") else "unknown"))
        name = (
            _get(body, "actions.0.action_id")
            or _get(body, "view.callback_id")
            or body.get("callback_id")
            or body.get("command")
            or "-"
        )
        log.warning(
            "request_refused", status=200, reason="no_listener", request_kind=kind, name=str(name)[:80]
        )
        metrics.rejection("unknown_request")
        ack()

    app.action(_ANY)(unknown)
    app.view(_ANY)(unknown)
    app.shortcut(_ANY)(unknown)
    app.options(_ANY)(unknown)
    app.command(_ANY)(unknown)
