"""The objects of an emulated Slack workspace: people, channels, messages, views, files, calls.

Plain data (:mod:`bot.playground.workspace` holds them under its lock). ``to_slack`` gives each the
shape the Web API and the Events API show.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

TOMBSTONE_TEXT = "This message was deleted."
"""What a deleted thread parent with replies shows (Slack keeps it, with its replies under it)."""


@dataclass
class Call:
    """One Web API call as received."""

    method: str
    params: dict[str, Any]
    token: str | None
    at: float = field(default_factory=time.monotonic)  # when it arrived (benchmarks)


@dataclass
class User:
    """A person (or the bot) in the workspace."""

    id: str
    name: str
    real_name: str
    is_bot: bool = False


@dataclass
class Channel:
    """A public channel and who is in it, or the app's DM with one person (``is_im``)."""

    id: str
    name: str
    members: set[str] = field(default_factory=set)
    is_im: bool = False


@dataclass
class Message:
    """A message as Slack would now show it."""

    channel: str
    ts: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    user: str | None = None
    bot_id: str | None = None
    updates: int = 0
    subtype: str | None = None
    metadata: dict[str, Any] | None = None
    files: list[dict[str, Any]] = field(default_factory=list)

    def markdown(self) -> str:
        """The text of the message's markdown blocks (what a person reads)."""
        return "\n".join(b.get("text", "") for b in self.blocks if b.get("type") == "markdown")

    def buttons(self) -> list[dict[str, Any]]:
        """Every button of the message."""
        return [e for b in self.blocks if b.get("type") == "actions" for e in b.get("elements", [])]

    def to_slack(self) -> dict[str, Any]:
        """The message as the Web API and the Events API show it."""
        shown: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if self.user:
            shown["user"] = self.user
        if self.bot_id:
            shown["bot_id"] = self.bot_id
        if self.subtype:
            shown["subtype"] = self.subtype
        if self.blocks:
            shown["blocks"] = self.blocks
        if self.thread_ts:
            shown["thread_ts"] = self.thread_ts
        if self.metadata:
            shown["metadata"] = self.metadata
        if self.files:
            shown["files"] = self.files
        if self.updates:
            shown["edited"] = {"user": self.user, "ts": self.ts}
        return shown


@dataclass
class Ephemeral:
    """A message only one person sees ("Only visible to you")."""

    id: str
    channel: str
    user: str
    text: str
    blocks: list[dict[str, Any]]
    thread_ts: str | None
    params: dict[str, Any]  # as received (chat.postEphemeral arguments or a response_url body)
    author: str | None = None  # who shows it: the bot (None) or Slack itself ("USLACKBOT")


@dataclass
class View:
    """A modal opened for a person, or a published Home tab."""

    id: str
    user: str | None
    view: dict[str, Any]
    trigger_id: str | None
    params: dict[str, Any]  # as received (views.open arguments)
    closed: bool = False
    hash: str = field(default_factory=lambda: uuid.uuid4().hex[:16])


@dataclass
class Trigger:
    """A trigger_id handed to the app with a command or an interaction."""

    id: str
    user: str
    issued_at: float
    channel: str | None = None


@dataclass
class ResponseUrl:
    """A response_url handed to the app: where its answers go, and how often it may answer."""

    name: str
    channel: str
    user: str
    issued_at: float
    thread_ts: str | None = None
    message_ts: str | None = None  # the message an interaction came from (replace_original)
    ephemeral_id: str | None = None  # or the ephemeral message it came from
    uses: int = 0


@dataclass
class ResponsePost:
    """One post to a response_url."""

    name: str
    params: dict[str, Any]


@dataclass
class StoredFile:
    """A file shared in the workspace: what ``files.info`` and a private download give."""

    id: str
    name: str
    mimetype: str
    filetype: str
    content: bytes
    user: str
    ready: bool = True  # False: still processing (events say ``file_access: check_file_info``)
    redirect_to: str | None = None  # a download answers 302 to this URL (tests of redirects)

    def to_slack(self, base_url: str) -> dict[str, Any]:
        """The file object as messages, events and ``files.info`` show it."""
        url = f"{base_url.rstrip('/')}/files-pri/{self.id}/{self.name}"
        shown: dict[str, Any] = {
            "id": self.id,
            "name": self.name,
            "title": self.name,
            "mimetype": self.mimetype,
            "filetype": self.filetype,
            "size": len(self.content),
            "user": self.user,
            "mode": "hosted",
            "url_private": url,
            "url_private_download": url + "?download=1",
        }
        if not self.ready:
            return {"id": self.id, "mode": "hosted", "file_access": "check_file_info"}
        return shown


@dataclass
class Failure:
    """A scripted failure for the next call of a method."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None
    passes: bool = False  # a call let through before the failures (``fail(..., after=n)``)


@dataclass(frozen=True)
class Change:
    """Something a person could see changed."""

    seq: int
    kind: str  # message | message_deleted | ephemeral | view_opened | view_closed | home | notice
    data: dict[str, Any]
