"""End-to-end harness: signed Slack requests through the production Lambda handler.

Requests are signed exactly as Slack signs them (``v0=`` HMAC-SHA256 of ``v0:{timestamp}:{body}``
with the signing secret), wrapped as API Gateway HTTP API (v2) events, and passed to
``handlers.lambda_function.handler``. Bolt's lazy re-invocations go through boto3 to a fake Lambda
endpoint (``AWS_ENDPOINT_URL_LAMBDA``) and are replayed into the same handler by :meth:`Bot.lazy`.
Slack's Web API and OpenAI are fake servers over real HTTP; Redis is real.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.fakes.slack_server import FakeLambda, FakeSlack, Message

if TYPE_CHECKING:
    from bot.core.engine import Engine

ROOT = Path(__file__).resolve().parent.parent
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # a test value, not a real secret
BOT_TOKEN = "xoxb-test-0000-token"
OPENAI_KEY = "sk-test-openai-key-000000"
FUNCTION = "architect-bot-test-slack"
TEAM, CHANNEL, USER, OTHER_USER = "T1", "C1", "U1", "U2"


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    """Slack's request signature."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def api_gateway_event(
    body: str,
    *,
    content_type: str,
    timestamp: int | None = None,
    signature: str | None = None,
    retry_num: int | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API (payload v2) event for ``POST /slack/events``."""
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "content-type": content_type,
        "x-slack-request-timestamp": str(ts),
        "x-slack-signature": signature or sign(body, ts),
        "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
    }
    if retry_num is not None:
        headers["x-slack-retry-num"] = str(retry_num)
        headers["x-slack-retry-reason"] = "http_timeout"
    return {
        "version": "2.0",
        "routeKey": "POST /slack/events",
        "rawPath": "/slack/events",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "http": {
                "method": "POST",
                "path": "/slack/events",
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
            },
            "requestId": uuid.uuid4().hex,
            "routeKey": "POST /slack/events",
            "stage": "$default",
        },
        "body": body,
        "isBase64Encoded": False,
    }


@dataclass
class LambdaContext:
    """The parts of the Lambda context object the handler and Bolt use."""

    remaining_ms: int = 300_000
    function_name: str = FUNCTION
    aws_request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    qualifier: str | None = None  # the alias or version the caller invoked (as Lambda puts it in the ARN)

    @property
    def invoked_function_arn(self) -> str:
        arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        return f"{arn}:{self.qualifier}" if self.qualifier else arn

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


@dataclass
class Bot:
    """The deployed bot as Slack sees it, with its fakes."""

    slack: FakeSlack
    openai: FakeOpenAI
    aws_lambda: FakeLambda
    counter: int = 0
    qualifier: str | None = None  # invoke through this alias (as the deployed HTTP API does)

    # ------------------------------------------------------------------------------- transport

    def send(self, event: dict[str, Any], *, remaining_ms: int = 300_000) -> dict[str, Any]:
        """Invoke the production handler with an API Gateway event."""
        from handlers.lambda_function import handler

        context = LambdaContext(remaining_ms=remaining_ms, qualifier=self.qualifier)
        result: dict[str, Any] = handler(event, context)
        return result

    def lazy(self, *, remaining_ms: int = 300_000) -> list[dict[str, Any]]:
        """Replay every captured lazy invocation (as Lambda would), until none is left."""
        results = []
        while batch := self.aws_lambda.take():
            for invocation in batch:
                assert invocation["type"] == "Event"
                assert invocation["function"].endswith(
                    f":{FUNCTION}" + (f":{self.qualifier}" if self.qualifier else "")
                )
                results.append(self.send(invocation["payload"], remaining_ms=remaining_ms))
        return results

    def _next_ts(self) -> str:
        """A Slack ts from the fake Slack's clock: strictly increasing, and unique among the bot's own
        messages too (people's messages are kept in the fake Slack with it)."""
        ts = self.slack.workspace.next_ts()
        seconds, _, micros = ts.partition(".")
        self.counter = int(seconds) * 1_000_000 + int(micros)
        return ts

    # --------------------------------------------------------------------------------- requests

    def command_event(self, text: str, *, user: str = USER, channel: str = CHANNEL) -> dict[str, Any]:
        """A signed ``/architect`` request."""
        body = urlencode(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM,
                "team_domain": "example",
                "channel_id": channel,
                "channel_name": "design",
                "user_id": user,
                "user_name": "someone",
                "command": "/architect",
                "text": text,
                "api_app_id": "A1",
                "is_enterprise_install": "false",
                "response_url": self.slack.response_url(),
                "trigger_id": f"trigger.{uuid.uuid4().hex}",
            }
        )
        return api_gateway_event(body, content_type="application/x-www-form-urlencoded")

    def command(self, text: str, *, user: str = USER, channel: str = CHANNEL) -> dict[str, Any]:
        """Send ``/architect <text>``; returns the ack response."""
        return self.send(self.command_event(text, user=user, channel=channel))

    def event_body(self, event: dict[str, Any], *, event_id: str | None = None) -> str:
        """An ``event_callback`` body."""
        return json.dumps(
            {
                "token": "legacy-verification-token",
                "team_id": TEAM,
                "api_app_id": "A1",
                "event": event,
                "type": "event_callback",
                "event_id": event_id or f"Ev{uuid.uuid4().hex[:10]}",
                "event_time": int(time.time()),
                "authorizations": [{"team_id": TEAM, "user_id": "UBOT", "is_bot": True}],
            }
        )

    def message(
        self,
        text: str,
        *,
        thread_ts: str | None,
        channel: str = CHANNEL,
        user: str | None = USER,
        ts: str | None = None,
        event_id: str | None = None,
        retry_num: int | None = None,
        **extra: Any,
    ) -> tuple[dict[str, Any], str]:
        """Send a ``message`` event (a reply when ``thread_ts`` is given); returns (ack, ts)."""
        event, ts = self.message_event(
            text,
            thread_ts=thread_ts,
            channel=channel,
            user=user,
            ts=ts,
            event_id=event_id,
            retry_num=retry_num,
            **extra,
        )
        return self.send(event), ts

    def message_event(
        self,
        text: str,
        *,
        thread_ts: str | None,
        channel: str = CHANNEL,
        user: str | None = USER,
        ts: str | None = None,
        event_id: str | None = None,
        retry_num: int | None = None,
        **extra: Any,
    ) -> tuple[dict[str, Any], str]:
        """A signed ``message`` event (a reply when ``thread_ts`` is given) and its ts, not sent.

        ``files=[...]`` (from :meth:`FakeSlack.share_file`) makes it a ``file_share``. The message is
        also kept in the fake Slack, where reading the thread back finds it.
        """
        ts = ts or self._next_ts()
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "text": text,
            "ts": ts,
            "event_ts": ts,
            "channel_type": "channel",
            **extra,
        }
        if extra.get("files"):
            event.setdefault("subtype", "file_share")
        if user is not None:
            event["user"] = user
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
            event.setdefault("parent_user_id", "UBOT")  # a thread under the bot's own message
        if user is not None:
            self._record(event)
        body = self.event_body(event, event_id=event_id)
        return api_gateway_event(body, content_type="application/json", retry_num=retry_num), ts

    def _record(self, event: dict[str, Any]) -> None:
        """Keep a person's message in the fake Slack too, as Slack does (conversations.replies reads it)."""
        if event.get("bot_id") or event.get("subtype") not in (None, "file_share", "thread_broadcast"):
            return
        self.slack.workspace.post(
            channel=event["channel"],
            user=event.get("user") or "",
            text=event.get("text") or "",
            thread_ts=event.get("thread_ts"),
            subtype=event.get("subtype"),
            files=event.get("files"),
            ts=event["ts"],
        )

    def mention(
        self,
        text: str,
        *,
        thread_ts: str | None = None,
        user: str = USER,
        files: list[dict[str, Any]] | None = None,
    ) -> tuple[dict[str, Any], str]:
        """An ``app_mention`` event (with ``files`` shared along); returns (ack, ts)."""
        ts = self._next_ts()
        event: dict[str, Any] = {
            "type": "app_mention",
            "channel": CHANNEL,
            "user": user,
            "text": f"<@UBOT> {text}",
            "ts": ts,
            "event_ts": ts,
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        if files:
            event["files"] = files
        self._record({**event, "subtype": "file_share" if files else None})
        return self.send(api_gateway_event(self.event_body(event), content_type="application/json")), ts

    def interaction(self, payload: dict[str, Any]) -> dict[str, Any]:
        """A signed interactivity request (``payload=<json>``)."""
        return self.send(self.interaction_event(payload))

    def interaction_event(self, payload: dict[str, Any]) -> dict[str, Any]:
        """The API Gateway event of a signed interactivity request (``payload=<json>``)."""
        body = urlencode({"payload": json.dumps(payload)})
        return api_gateway_event(body, content_type="application/x-www-form-urlencoded")

    def click(
        self, message: Message, label: str, *, user: str = USER, value: str | None = None
    ) -> dict[str, Any]:
        """Click the button labelled ``label`` under ``message`` (``value`` forges another value)."""
        return self.send(self.click_event(message, label, user=user, value=value))

    def click_event(
        self, message: Message, label: str, *, user: str = USER, value: str | None = None
    ) -> dict[str, Any]:
        """The API Gateway event of a click on the button labelled ``label`` under ``message``."""
        button = next(b for b in message.buttons() if b["text"]["text"] == label)
        return self.interaction_event(
            {
                "type": "block_actions",
                "user": {"id": user, "username": "someone", "team_id": TEAM},
                "api_app_id": "A1",
                "token": "legacy-verification-token",
                "container": {
                    "type": "message",
                    "message_ts": message.ts,
                    "channel_id": message.channel,
                    "is_ephemeral": False,
                    "thread_ts": message.thread_ts,
                },
                "trigger_id": f"trigger.{uuid.uuid4().hex}",
                "team": {"id": TEAM, "domain": "example"},
                "channel": {"id": message.channel, "name": "design"},
                "message": {
                    "type": "message",
                    "ts": message.ts,
                    "thread_ts": message.thread_ts,
                    "text": message.text,
                    "blocks": message.blocks,
                },
                "actions": [
                    {
                        "type": "button",
                        "action_id": button["action_id"],
                        "block_id": "handoffs-0",
                        "text": button["text"],
                        "value": value if value is not None else button["value"],
                        "action_ts": f"{time.time():.6f}",
                    }
                ],
            }
        )

    def submit_view(self, view: dict[str, Any], prompt: str, *, user: str = USER) -> dict[str, Any]:
        """Submit a modal that ``views.open`` showed, with ``prompt`` typed in."""
        from bot.slack.blocks import HANDOFF_PROMPT_ACTION, HANDOFF_PROMPT_BLOCK

        submitted = {
            **view,
            "id": f"V{uuid.uuid4().hex[:8]}",
            "state": {
                "values": {
                    HANDOFF_PROMPT_BLOCK: {
                        HANDOFF_PROMPT_ACTION: {"type": "plain_text_input", "value": prompt}
                    }
                }
            },
        }
        return self.interaction(
            {
                "type": "view_submission",
                "team": {"id": TEAM, "domain": "example"},
                "user": {"id": user, "username": "someone", "team_id": TEAM},
                "api_app_id": "A1",
                "token": "legacy-verification-token",
                "trigger_id": f"trigger.{uuid.uuid4().hex}",
                "view": submitted,
            }
        )

    # ------------------------------------------------------------------------------ what's seen

    def answers(self, thread_ts: str, channel: str = CHANNEL) -> list[Message]:
        """Bot messages in a thread that carry markdown (answers, not handoff lines or errors)."""
        return [m for m in self.slack.thread(channel, thread_ts) if m.markdown()]

    def root(self, channel: str = CHANNEL) -> Message:
        """The latest top-level message the bot posted."""
        return self.slack.top_level(channel)[-1]


def bot_env(
    slack: FakeSlack, openai: FakeOpenAI, aws_lambda: FakeLambda, *, redis_url: str, prefix: str
) -> dict[str, str]:
    """The environment of a deployed bot wired to the fakes (tests and benchmarks)."""
    return {
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_USER_ID": "UBOT",
        "OPENAI_API_KEY": OPENAI_KEY,
        "OPENAI_BASE_URL": openai.base_url,
        "REDIS_URL": redis_url,
        "REDIS_KEY_PREFIX": prefix,
        "AGENTS_DIR": str(ROOT / "agents"),
        "AWS_LAMBDA_FUNCTION_NAME": FUNCTION,
        "AWS_ENDPOINT_URL_LAMBDA": aws_lambda.endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "STAGE": "test",
        "MODEL_RETRY_BASE_DELAY_S": "0.01",
        "LOCK_WAIT_S": "20",
        "WARM_AFTER_ACK": "false",
        "STORE_OUTAGE_RETRY_S": "0",  # tests of the outage retry set their own window
    }


def running_container() -> Any:
    """The container the production handler built for the requests so far (the bot's one instance)."""
    from handlers import lambda_function

    container = lambda_function._container
    assert container is not None, "no request has reached the handler yet"
    return container


def running_engine() -> Engine:
    """The engine of :func:`running_container` (what the Slack layer calls)."""
    engine: Engine = running_container().services.engine
    return engine


@pytest.fixture
def slackbot(monkeypatch: pytest.MonkeyPatch, redis_url: str, redis_prefix: str) -> Iterator[Bot]:
    """A bot wired to fake Slack, fake OpenAI, a fake Lambda endpoint and the real Redis."""
    from bot.adapters import aws_secrets
    from handlers import lambda_function

    with FakeSlack() as slack, FakeOpenAI() as openai, FakeLambda() as aws_lambda:
        env = bot_env(slack, openai, aws_lambda, redis_url=redis_url, prefix=redis_prefix)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        for key in ("SLACK_APP_TOKEN", "SECRETS_MANAGER_SECRET_ID", "ROUTING_FILE"):
            monkeypatch.delenv(key, raising=False)
        lambda_function.reset()
        aws_secrets.clear_cache()
        try:
            yield Bot(slack=slack, openai=openai, aws_lambda=aws_lambda)
        finally:
            lambda_function.reset()
