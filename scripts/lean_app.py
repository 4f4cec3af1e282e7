"""The leanest Bolt-on-Lambda app: the yardstick that ``scripts/bench_speed.py`` measures the bot against.

One ``/architect`` command: the ack says nothing; a lazy listener (Bolt re-invokes the function
asynchronously, exactly as for the bot) calls the model once and posts its answer with one
``chat.postMessage``. Nothing else: no settings, no logging set-up, no secrets from AWS, no store,
no agents. The model is called over plain HTTP (stdlib, streaming, no SDK), and authorization makes
no ``auth.test`` round trip: the fastest a Bolt app on Lambda can be, so a ratio against it is
an upper bound on what the bot's own code costs.

Configured by the same environment as the bot (``SLACK_SIGNING_SECRET``, ``SLACK_BOT_TOKEN``,
``SLACK_API_URL``, ``SLACK_BOT_USER_ID``, ``OPENAI_BASE_URL``, ``OPENAI_API_KEY``). Lambda handler:
``scripts/lean_app.handler``. Not part of the deployed package.
"""

from __future__ import annotations

import json
import os
import urllib.request
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.aws_lambda import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient

TOKEN = os.environ["SLACK_BOT_TOKEN"]


def _authorize(enterprise_id: str | None, team_id: str | None, **_: Any) -> AuthorizeResult:
    return AuthorizeResult(
        enterprise_id=enterprise_id,
        team_id=team_id,
        bot_token=TOKEN,
        bot_user_id=os.environ.get("SLACK_BOT_USER_ID", "UBOT"),
    )


app = App(
    signing_secret=os.environ["SLACK_SIGNING_SECRET"],
    client=WebClient(token=TOKEN, base_url=os.environ.get("SLACK_API_URL", "https://slack.com/api/")),
    authorize=_authorize,
    process_before_response=True,
)


def ack_command(ack: Ack) -> None:
    """Acknowledge at once; the answer comes from the lazy listener."""
    ack()


def answer(command: dict[str, Any], client: WebClient) -> None:
    """Ask the model (streamed, read to the end), then post its answer in one message."""
    base = os.environ.get("OPENAI_BASE_URL", "https://api.openai.com/v1").rstrip("/")
    request = urllib.request.Request(
        f"{base}/chat/completions",
        data=json.dumps(
            {
                "model": "gpt-4.1",
                "stream": True,
                "messages": [{"role": "user", "content": command.get("text", "")}],
            }
        ).encode(),
        headers={
            "Authorization": f"Bearer {os.environ.get('OPENAI_API_KEY', '')}",
            "Content-Type": "application/json",
        },
    )
    parts: list[str] = []
    with urllib.request.urlopen(request, timeout=60) as response:
        for raw in response:
            line = raw.decode().strip()
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            for choice in json.loads(line[6:]).get("choices", []):
                parts.append(choice.get("delta", {}).get("content") or "")
    client.chat_postMessage(channel=command["channel_id"], text="".join(parts))


app.command("/architect")(ack=ack_command, lazy=[answer])
_handler = SlackRequestHandler(app)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point."""
    response: dict[str, Any] = _handler.handle(event, context)  # type: ignore[no-untyped-call]
    return response
