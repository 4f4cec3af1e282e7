"""Links into Slack: the workspace's web address (asked once per process with ``auth.test``) and the
message and canvas links built on it (the shape ``chat.getPermalink`` returns, without a call per link).
"""

from __future__ import annotations

import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.logging import get_logger

log = get_logger("bot.slack.links")


class SlackLinks:
    """The workspace URL, cached; links to threads and canvases."""

    def __init__(self) -> None:
        self._url: str | None = None
        self._lock = threading.Lock()

    def workspace_url(self, client: WebClient) -> str | None:
        """``https://<workspace>.slack.com/`` (None if Slack cannot say now: links are then left out)."""
        with self._lock:
            if self._url is None:
                try:
                    url = client.auth_test().get("url")
                except SlackApiError as error:
                    log.warning("workspace_url_unknown", error=str(error.response.get("error")))
                    return None
                if isinstance(url, str) and url.startswith("https://"):
                    self._url = url if url.endswith("/") else url + "/"
            return self._url

    @staticmethod
    def message(base: str, channel: str, ts: str) -> str:
        """A message's link (a thread's root message links to the thread)."""
        return f"{base}archives/{channel}/p{ts.replace('.', '')}"

    @staticmethod
    def canvas(base: str, team_id: str | None, canvas_id: str) -> str:
        """A canvas's link."""
        return f"{base}docs/{team_id or '-'}/{canvas_id}"
