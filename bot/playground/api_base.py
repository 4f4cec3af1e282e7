"""What every emulated Web API method is built from: the request, the error, the answer, a method table.

A module of methods makes its own table and registers each method in it::

    methods = MethodTable()

    @methods.add("conversations.replies", required=("channel", "ts"))
    def conversations_replies(request: ApiRequest) -> dict[str, Any]:
        channel = request.channel()
        ...
        return {"ok": True, "messages": [...]}

:mod:`bot.playground.slack_api` joins the tables into the emulator's one table and dispatches to
it; a module of methods imports only this module (and the workspace), never the dispatcher.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.playground.blockkit import (
    MESSAGE_BLOCKS_LIMIT,
    MESSAGE_MARKDOWN_LIMIT,
    MESSAGE_TEXT_LIMIT,
    blocks_problems,
    text_length,
)
from bot.playground.workspace import Channel, Message, Workspace


class SlackError(Exception):
    """A Web API error answer: ``{"ok": false, "error": code, ...}``."""

    def __init__(
        self, error: str, *messages: str, status: int = 200, headers: Mapping[str, str] | None = None
    ):
        super().__init__(error)
        self.error = error
        self.messages = list(messages)
        self.status = status
        self.headers = dict(headers or {})
        self.fields: dict[str, Any] = {}

    def with_fields(self, **fields: Any) -> SlackError:
        """The same error with extra top-level fields (``missing_scope`` names what is ``needed``)."""
        self.fields.update(fields)
        return self

    def body(self) -> dict[str, Any]:
        """The JSON answer."""
        body: dict[str, Any] = {"ok": False, "error": self.error, **self.fields}
        if self.messages:
            body["response_metadata"] = {"messages": [f"[ERROR] {m}" for m in self.messages]}
        return body


@dataclass
class ApiResponse:
    """One HTTP answer of the emulator (``content``: raw bytes instead of the JSON ``body``)."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    content: bytes | None = None


@dataclass
class ApiRequest:
    """One Web API call: the method's arguments, the caller's token, the workspace."""

    workspace: Workspace
    method: str
    params: dict[str, Any]
    token: str | None
    base_url: str

    def require(self, *names: str) -> None:
        """Refuse a call without a required argument (no channel: ``channel_not_found``, as Slack does)."""
        given = {name: self.params.get(name) for name in names}
        missing = [name for name, got in given.items() if got is None or (got == "" and name != "status")]
        if "channel" in missing:
            raise SlackError("channel_not_found")
        if missing:
            raise SlackError("invalid_arguments", *(f"missing required field: {name}" for name in missing))

    def text(self, name: str) -> str | None:
        """A string argument (None when absent)."""
        value = self.params.get(name)
        return None if value is None else str(value)

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean argument (``true``/``1`` in a form body)."""
        value = self.params.get(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        return str(value).lower() in ("true", "1")

    def json(self, name: str, *, error: str = "invalid_arguments") -> Any:
        """A JSON argument, parsed; ``error`` when it is not valid JSON."""
        value = self.params.get(name)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                raise SlackError(error, f"{name} is not valid JSON") from None
        return value

    def channel(self, *, member: bool = True) -> Channel:
        """The ``channel`` argument's channel; the bot must be in it when ``member``."""
        channel_id = self.text("channel")
        if not channel_id:
            raise SlackError("channel_not_found")
        found = self.workspace.channel(channel_id)
        if found is None:
            raise SlackError("channel_not_found")
        if member and self.workspace.bot_user_id not in found.members:
            raise SlackError("not_in_channel")
        return found

    def message_content(self, *, required: bool = True) -> tuple[str | None, list[dict[str, Any]] | None]:
        """``text`` and ``blocks`` checked against Slack's message limits."""
        text = self.text("text")
        blocks = self.json("blocks", error="invalid_blocks_format")
        attachments = self.params.get("attachments")
        if required and not text and not blocks and not attachments:
            raise SlackError("no_text")
        if text is not None and len(text) > MESSAGE_TEXT_LIMIT:
            raise SlackError("msg_too_long")
        if blocks is not None:
            problems = blocks_problems(blocks, limit=MESSAGE_BLOCKS_LIMIT)
            if problems:
                raise SlackError("invalid_blocks", *problems)
            if text_length(blocks) > MESSAGE_MARKDOWN_LIMIT:
                raise SlackError(
                    "msg_blocks_too_long",
                    f"the blocks' text must be less than {MESSAGE_MARKDOWN_LIMIT + 1} characters in total",
                )
        return text, blocks

    def own_message(self) -> Message:
        """The bot's message named by ``channel`` and ``ts``."""
        self.require("channel", "ts")
        channel = self.channel(member=False)
        found = self.workspace.message(channel.id, str(self.params["ts"]))
        if found is None:
            raise SlackError("message_not_found")
        if found.user != self.workspace.bot_user_id:
            raise SlackError(f"cant_{self.method.split('.')[1]}_message")
        return found


MethodFn = Callable[[ApiRequest], dict[str, Any]]


@dataclass(frozen=True)
class ApiMethod:
    """A Web API method: its function and the arguments it cannot do without (slack_sdk's)."""

    name: str
    fn: MethodFn
    required: tuple[str, ...] = ()


class MethodTable(dict[str, ApiMethod]):
    """Web API methods by name; :meth:`add` registers a function as one."""

    def add(self, name: str, *, required: tuple[str, ...] = ()) -> Callable[[MethodFn], MethodFn]:
        """Register ``fn`` as the Web API method ``name`` (``required`` arguments are checked first)."""

        def register(fn: MethodFn) -> MethodFn:
            self[name] = ApiMethod(name, fn, required)
            return fn

        return register


def needs_scope(request: ApiRequest, *scopes: str) -> None:
    """Refuse as Slack does when the token has none of ``scopes``."""
    if not any(request.workspace.has_scope(scope) for scope in scopes):
        raise SlackError("missing_scope").with_fields(needed=",".join(scopes))
