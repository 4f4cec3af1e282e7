"""The Slack platform's side of a request to the app: payloads, signatures, the 3-second ack, retries.

Slash commands and interactions are posted form-encoded, events as ``event_callback`` JSON, each
signed the way Slack signs them (``X-Slack-Signature: v0=HMAC-SHA256(v0:{timestamp}:{body})`` with
the signing secret, ``X-Slack-Request-Timestamp``). The app must answer within 3 seconds. Events
that time out or fail are retried as Slack retries them: at once, after a minute, after five minutes,
with ``X-Slack-Retry-Num`` and ``X-Slack-Retry-Reason``, and the same ``event_id``; a response
header ``X-Slack-No-Retry: 1`` stops the retries. Commands and interactions are not retried.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

from bot.logging import get_logger

log = get_logger("bot.playground.delivery")

ACK_TIMEOUT_S = 3.0
RETRY_DELAYS_S = (0.0, 60.0, 300.0)  # Slack's event retries: at once, after 1 minute, after 5 minutes


@dataclass(frozen=True)
class Ack:
    """The app's answer to one delivery (``status`` None: no answer within the ack time)."""

    status: int | None
    body: bytes = b""
    content_type: str = ""
    no_retry: bool = False

    @property
    def ok(self) -> bool:
        """True for a 2xx answer in time."""
        return self.status is not None and 200 <= self.status < 300

    def json(self) -> dict[str, Any] | None:
        """The body as a JSON object, if it is one."""
        if not self.body:
            return None
        try:
            loaded = json.loads(self.body)
        except ValueError:
            return None
        return loaded if isinstance(loaded, dict) else None

    def text(self) -> str:
        """The body as text."""
        return self.body.decode("utf-8", errors="replace")


Schedule = Callable[[float, Callable[[], None]], None]


def _timer(delay_s: float, action: Callable[[], None]) -> None:
    timer = threading.Timer(delay_s, action)
    timer.daemon = True
    timer.start()


class Deliverer:
    """Delivers requests to the app's request URL as Slack does."""

    def __init__(
        self,
        request_url: str,
        signing_secret: str,
        *,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
        schedule: Schedule = _timer,
    ) -> None:
        self.request_url = request_url
        self._verifier = SignatureVerifier(signing_secret)
        self.ack_timeout_s = ack_timeout_s
        self.retry_delays_s = tuple(retry_delays_s)
        self._schedule = schedule

    # ---------------------------------------------------------------------------- transport

    def post(self, body: str, content_type: str, headers: dict[str, str] | None = None) -> Ack:
        """Sign and post one request; wait up to the ack time for the answer."""
        timestamp = str(int(time.time()))
        signed = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": timestamp,
            "X-Slack-Signature": str(self._verifier.generate_signature(timestamp=timestamp, body=body)),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(headers or {}),
        }
        request = urllib.request.Request(  # noqa: S310 - the app's own http URL
            self.request_url, data=body.encode(), headers=signed, method="POST"
        )
        try:
            with urllib.request.urlopen(request, timeout=self.ack_timeout_s) as response:  # noqa: S310 - our own URL
                return Ack(
                    response.status,
                    response.read(),
                    response.headers.get("Content-Type") or "",
                    response.headers.get("X-Slack-No-Retry") == "1",
                )
        except urllib.error.HTTPError as error:
            return Ack(
                error.code,
                error.read(),
                error.headers.get("Content-Type") or "",
                error.headers.get("X-Slack-No-Retry") == "1",
            )
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError):
            return Ack(None)

    # ---------------------------------------------------------------------------- requests

    def command(self, form: dict[str, str]) -> Ack:
        """A slash command (form-encoded); not retried."""
        return self.post(urlencode(form), "application/x-www-form-urlencoded")

    def interaction(self, payload: dict[str, Any]) -> Ack:
        """An interaction (``payload=<json>``); not retried."""
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def event(self, envelope: dict[str, Any], *, on_done: Callable[[Ack], None] | None = None) -> None:
        """An ``event_callback``, in the background, retried as Slack retries."""
        body = json.dumps(envelope)
        self._schedule(0.0, lambda: self._attempt(body, envelope, 0, "", on_done))

    def _attempt(
        self,
        body: str,
        envelope: dict[str, Any],
        retry: int,
        reason: str,
        on_done: Callable[[Ack], None] | None,
    ) -> None:
        headers: dict[str, str] = {}
        if retry:
            headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": reason}
        ack = self.post(body, "application/json", headers)
        if ack.ok or ack.no_retry or retry >= len(self.retry_delays_s):
            if not ack.ok:
                log.warning("event_delivery_failed", event_id=envelope.get("event_id"), status=ack.status)
            if on_done is not None:
                on_done(ack)
            return
        why = "http_timeout" if ack.status is None else "http_error"
        log.info("event_retry", event_id=envelope.get("event_id"), retry=retry + 1, reason=why)
        delay = self.retry_delays_s[retry]
        self._schedule(delay, lambda: self._attempt(body, envelope, retry + 1, why, on_done))


def event_envelope(
    event: dict[str, Any], *, team_id: str, api_app_id: str, bot_user_id: str
) -> dict[str, Any]:
    """An ``event_callback`` envelope around one event, with a fresh ``event_id``."""
    return {
        "token": "playground-verification-token",
        "team_id": team_id,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team_id, "user_id": bot_user_id, "is_bot": True}],
        "is_ext_shared_channel": False,
    }
