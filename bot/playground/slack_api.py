"""The Slack Web API emulator: a method table over a :class:`~bot.playground.workspace.Workspace`.

Each Web API method is one function registered with :func:`method`; it receives an
:class:`ApiRequest` (the parsed arguments, the token, the workspace) and returns the JSON answer, or
raises :class:`SlackError` with Slack's error code and, where Slack gives them, its
``response_metadata.messages``. Arguments and limits are checked the way Slack documents them
(required arguments, text 40,000 characters, 50 blocks, the ``markdown`` block 12,000, button value
2,000, ``action_id`` 255, ...), so a payload Slack would refuse is refused here too.

Add a method::

    @method("conversations.replies", required=("channel", "ts"))
    def conversations_replies(request: ApiRequest) -> dict[str, Any]:
        channel = request.channel()
        ...
        return {"ok": True, "messages": [...]}

:func:`handle` answers one HTTP request (``/api/<method>`` and ``/response/<name>``), so any server
can mount the emulator; :class:`SlackApiServer` is a standalone one on a local port.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bot.playground import readback
from bot.playground.blockkit import (
    MESSAGE_BLOCKS_LIMIT,
    MESSAGE_MARKDOWN_LIMIT,
    MESSAGE_TEXT_LIMIT,
    blocks_problems,
    markdown_length,
    view_problems,
)
from bot.playground.workspace import (
    RESPONSE_URL_TTL_S,
    RESPONSE_URL_USES,
    TRIGGER_TTL_S,
    Call,
    Channel,
    Failure,
    Message,
    ResponsePost,
    ResponseUrl,
    View,
    Workspace,
)

JSON_ARGS = {"blocks", "attachments", "view", "metadata", "files", "chunks", "document_content", "prompts"}
"""Arguments that arrive JSON-encoded in a form body (parsed before a method sees them)."""


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
            if markdown_length(blocks) > MESSAGE_MARKDOWN_LIMIT:
                raise SlackError(
                    "msg_blocks_too_long",
                    f"markdown blocks must be less than {MESSAGE_MARKDOWN_LIMIT + 1} characters in total",
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


METHODS: dict[str, ApiMethod] = {}
"""Method name -> its implementation. :func:`method` adds to it."""


def method(name: str, *, required: tuple[str, ...] = ()) -> Callable[[MethodFn], MethodFn]:
    """Register ``fn`` as the Web API method ``name`` (``required`` arguments are checked first)."""

    def register(fn: MethodFn) -> MethodFn:
        METHODS[name] = ApiMethod(name, fn, required)
        return fn

    return register


# --------------------------------------------------------------------------------- methods


@method("auth.test")
def auth_test(request: ApiRequest) -> dict[str, Any]:
    """Who the token belongs to."""
    ws = request.workspace
    return {
        "ok": True,
        "url": f"https://{ws.team_domain}.slack.com/",
        "team": ws.team_domain,
        "user": ws.bot_name,
        "team_id": ws.team_id,
        "user_id": ws.bot_user_id,
        "bot_id": ws.bot_id,
    }


@method("chat.postMessage", required=("channel",))
def chat_post_message(request: ApiRequest) -> dict[str, Any]:
    """Post a message in a channel or a thread."""
    channel = request.channel()
    text, blocks = request.message_content()
    metadata = request.json("metadata", error="invalid_metadata_format")
    thread_ts = request.text("thread_ts") or None
    ws = request.workspace
    posted = ws.post(
        channel=channel.id,
        user=ws.bot_user_id,
        bot_id=ws.bot_id,
        text=text or "",
        blocks=blocks,
        thread_ts=thread_ts,
        metadata=metadata if isinstance(metadata, dict) else None,
    )
    return {"ok": True, "channel": channel.id, "ts": posted.ts, "message": posted.to_slack()}


@method("chat.update", required=("channel", "ts"))
def chat_update(request: ApiRequest) -> dict[str, Any]:
    """Edit one of the bot's messages (blocks left out are kept)."""
    message = request.own_message()
    text, blocks = request.message_content()
    metadata = request.json("metadata", error="invalid_metadata_format")
    request.workspace.update(
        message, text=text, blocks=blocks, metadata=metadata if isinstance(metadata, dict) else None
    )
    return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}


@method("chat.delete", required=("channel", "ts"))
def chat_delete(request: ApiRequest) -> dict[str, Any]:
    """Delete one of the bot's messages."""
    message = request.own_message()
    request.workspace.delete(message)
    return {"ok": True, "channel": message.channel, "ts": message.ts}


@method("chat.postEphemeral", required=("channel", "user"))
def chat_post_ephemeral(request: ApiRequest) -> dict[str, Any]:
    """Show a message to one person in a channel."""
    channel = request.channel()
    user = str(request.params["user"])
    ws = request.workspace
    if ws.strict and user not in channel.members:
        raise SlackError("user_not_in_channel")
    text, blocks = request.message_content()
    shown = ws.add_ephemeral(
        channel=channel.id,
        user=user,
        text=text or "",
        blocks=blocks,
        thread_ts=request.text("thread_ts") or None,
        params=request.params,
    )
    return {"ok": True, "message_ts": shown.id}


@method("usergroups.users.list", required=("usergroup",))
def usergroups_users_list(request: ApiRequest) -> dict[str, Any]:
    """The members of a user group (scope ``usergroups:read``)."""
    ws = request.workspace
    with ws.lock:
        members = ws.usergroups.get(str(request.params["usergroup"]))
        if members is None:
            raise SlackError("no_such_subteam")
        return {"ok": True, "users": sorted(members)}


_HISTORY_SCOPES = {"C": "channels:history", "G": "groups:history", "D": "im:history"}


def _needs(request: ApiRequest, scope: str) -> None:
    """Refuse as Slack does when the token lacks ``scope``."""
    if not request.workspace.has_scope(scope):
        raise SlackError("missing_scope").with_fields(needed=scope)


@method("conversations.replies", required=("channel", "ts"))
def conversations_replies(request: ApiRequest) -> dict[str, Any]:
    """A thread, parent first, a page at a time (``limit``, ``cursor``); metadata on request."""
    channel = request.channel()
    _needs(request, _HISTORY_SCOPES.get(channel.id[:1], "channels:history"))
    ws = request.workspace
    messages = ws.thread_with_parent(channel.id, str(request.params["ts"]))
    if not messages:
        raise SlackError("thread_not_found")
    try:
        limit = int(request.params.get("limit") or 1000)
        start = int(request.params.get("cursor") or 0)
    except ValueError:
        raise SlackError("invalid_arguments", "limit and cursor must be numbers") from None
    limit = max(1, min(limit, 1000, ws.replies_limit_cap or 1000))
    page = messages[start : start + limit]
    metadata = request.flag("include_all_metadata")
    shown = []
    for message in page:
        item = readback.as_read(message.to_slack(), ws.agent.markdown_read_back)
        if not metadata:
            item.pop("metadata", None)
        if message.thread_ts:
            item["thread_ts"] = message.thread_ts
        shown.append(item)
    more = start + limit < len(messages)
    answer: dict[str, Any] = {"ok": True, "messages": shown, "has_more": more}
    answer["response_metadata"] = {"next_cursor": str(start + limit) if more else ""}
    return answer


@method("files.info", required=("file",))
def files_info(request: ApiRequest) -> dict[str, Any]:
    """A file's object (its download URL once Slack has processed it)."""
    _needs(request, "files:read")
    stored = request.workspace.files.get(str(request.params["file"]))
    if stored is None:
        raise SlackError("file_not_found")
    stored.ready = True  # Slack finishes processing a file by the time anyone asks files.info
    return {"ok": True, "file": stored.to_slack(request.base_url)}


LOGIN_PAGE = b"<!DOCTYPE html><html><head><title>Slack</title></head><body>Sign in to Slack</body></html>"


def download(ws: Workspace, path: str, headers: Mapping[str, str]) -> ApiResponse:
    """A private file download (``url_private_download``): the bot token, or Slack's login page."""
    parts = path.strip("/").split("/")
    stored = ws.files.get(parts[1]) if len(parts) >= 2 else None
    auth = headers.get("Authorization") or headers.get("authorization") or ""
    token = auth.removeprefix("Bearer ").strip()
    with ws.lock:
        ws.calls.append(Call("files.download", {"file": parts[1] if len(parts) > 1 else ""}, token or None))
    authorised = token.startswith("xoxb-") and (ws.bot_token is None or token == ws.bot_token)
    if stored is None or not authorised or not ws.has_scope("files:read"):
        # Slack answers 200 with its sign-in page, not 401/403
        return ApiResponse(200, {}, {"Content-Type": "text/html; charset=utf-8"}, LOGIN_PAGE)
    if stored.redirect_to:
        return ApiResponse(302, {}, {"Location": stored.redirect_to, "Content-Length": "0"}, b"")
    return ApiResponse(
        200, {}, {"Content-Type": stored.mimetype or "application/octet-stream"}, stored.content
    )


def _view_answer(ws: Workspace, shown: View) -> dict[str, Any]:
    return {
        "ok": True,
        "view": {
            **shown.view,
            "id": shown.id,
            "team_id": ws.team_id,
            "state": {"values": {}},
            "hash": shown.hash,
            "bot_id": ws.bot_id,
        },
    }


def _checked_view(request: ApiRequest) -> dict[str, Any]:
    view = request.json("view")
    problems = view_problems(view)
    if problems:
        raise SlackError("invalid_arguments", *problems)
    return dict(view)


@method("views.open", required=("view",))
def views_open(request: ApiRequest) -> dict[str, Any]:
    """Open a modal for the person whose action gave the trigger_id (valid 3 seconds)."""
    ws = request.workspace
    if not request.text("interactivity_pointer"):  # one of the two is required
        request.require("trigger_id")
    trigger = ws.triggers.get(request.text("trigger_id") or request.text("interactivity_pointer") or "")
    if trigger is None and ws.strict:
        raise SlackError("invalid_trigger_id")
    if trigger is not None and ws.monotonic() - trigger.issued_at > TRIGGER_TTL_S:
        raise SlackError("expired_trigger_id")
    view = _checked_view(request)
    if view.get("type") != "modal":
        raise SlackError("invalid_arguments", "view type must be modal [json-pointer:/view/type]")
    shown = ws.open_view(
        user=trigger.user if trigger else None,
        view=view,
        trigger_id=trigger.id if trigger else None,
        params=request.params,
    )
    return _view_answer(ws, shown)


@method("views.update", required=("view",))
def views_update(request: ApiRequest) -> dict[str, Any]:
    """Replace an open modal's content (``hash`` guards against a newer update)."""
    ws = request.workspace
    view_id = request.text("view_id")
    found = ws.views.get(view_id or "")
    if found is None or found.closed:
        raise SlackError("not_found")
    expected = request.text("hash")
    if expected and expected != found.hash:
        raise SlackError("hash_conflict")
    view = _checked_view(request)
    replaced = ws.replace_view(found.id, view)
    assert replaced is not None
    return _view_answer(ws, replaced)


@method("views.publish", required=("user_id", "view"))
def views_publish(request: ApiRequest) -> dict[str, Any]:
    """Publish a person's App Home tab."""
    ws = request.workspace
    user = str(request.params["user_id"])
    if ws.strict and user not in ws.users:
        raise SlackError("user_not_found")
    view = _checked_view(request)
    if view.get("type") != "home":
        raise SlackError("invalid_arguments", "view type must be home [json-pointer:/view/type]")
    return _view_answer(ws, ws.publish_home(user, view, request.params))


# ---------------------------------------------------------------------------- response URLs


def _use_response_url(ws: Workspace, name: str) -> ResponseUrl | ApiResponse:
    """The issued response_url, counted as used; or the answer refusing it."""
    with ws.lock:
        issued = ws.response_urls.get(name)
        if issued is None:
            # the tests' made-up response URLs are only recorded
            return (
                ApiResponse(404, {"ok": False, "error": "no_such_url"})
                if ws.strict
                else ApiResponse(200, {"ok": True})
            )
        if ws.monotonic() - issued.issued_at > RESPONSE_URL_TTL_S:
            return ApiResponse(404, {"ok": False, "error": "expired_url"})
        if issued.uses >= RESPONSE_URL_USES:
            return ApiResponse(404, {"ok": False, "error": "used_url"})
        issued.uses += 1
        return issued


def respond(ws: Workspace, name: str, params: dict[str, Any], base_url: str = "") -> ApiResponse:
    """A post to a response_url: an ephemeral or in-channel answer, or a change to the original."""
    with ws.lock:
        ws.responses.append(ResponsePost(name, params))
    issued = _use_response_url(ws, name)
    if isinstance(issued, ApiResponse):
        return issued
    request = ApiRequest(ws, "response_url", params, ws.bot_token, base_url)
    original = ws.message(issued.channel, issued.message_ts) if issued.message_ts else None
    try:
        if request.flag("delete_original"):
            if original is not None:
                ws.delete(original)
            return ApiResponse(200, {"ok": True})
        text, blocks = request.message_content()
    except SlackError as error:
        return ApiResponse(400, error.body())
    if request.flag("replace_original") and original is not None:
        ws.update(original, text=text, blocks=blocks)
    elif request.text("response_type") == "in_channel":
        ws.post(
            channel=issued.channel,
            user=ws.bot_user_id,
            bot_id=ws.bot_id,
            text=text or "",
            blocks=blocks,
            thread_ts=request.text("thread_ts") or issued.thread_ts,
        )
    else:
        ws.add_ephemeral(
            channel=issued.channel,
            user=issued.user,
            text=text or "",
            blocks=blocks,
            thread_ts=issued.thread_ts,
            params=params,
        )
    return ApiResponse(200, {"ok": True})


# ---------------------------------------------------------------------------------- dispatch


def _scripted(failure: Failure) -> ApiResponse:
    if failure.status == 429:
        return ApiResponse(
            429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(failure.retry_after or 1)}
        )
    if failure.status >= 500:
        return ApiResponse(failure.status, {"ok": False, "error": "internal_error"})
    return ApiResponse(200, {"ok": False, "error": failure.error or "fatal_error"})


def call(
    ws: Workspace, name: str, params: dict[str, Any], token: str | None, base_url: str = ""
) -> ApiResponse:
    """Answer one Web API call as Slack would."""
    failure = ws.record_call(name, params, token)
    if failure is None and name in ws.agent.refusals:  # a feature the workspace lacks, for good
        failure = Failure(error=ws.agent.refusals[name])
    if failure is not None:
        return _scripted(failure)
    if not token:
        return ApiResponse(200, {"ok": False, "error": "not_authed"})
    if (ws.bot_token is not None and token != ws.bot_token) or not token.startswith("xoxb-"):
        return ApiResponse(200, {"ok": False, "error": "invalid_auth"})
    found = METHODS.get(name)
    if found is None:
        return ApiResponse(200, {"ok": False, "error": "unknown_method", "req_method": name})
    request = ApiRequest(ws, name, params, token, base_url)
    try:
        request.require(*found.required)
        return ApiResponse(200, found.fn(request))
    except SlackError as error:
        return ApiResponse(error.status, error.body(), error.headers)


def parse_params(body: bytes, content_type: str, query: str = "") -> dict[str, Any]:
    """A call's arguments from its query string and form or JSON body (JSON arguments parsed)."""
    params: dict[str, Any] = {k: v[0] for k, v in parse_qs(query).items()}
    raw = body.decode("utf-8", errors="replace")
    if "application/json" in content_type:
        try:
            loaded = json.loads(raw or "{}")
        except ValueError:
            loaded = None
        if isinstance(loaded, dict):
            params.update(loaded)
        return params
    params.update({k: v[0] for k, v in parse_qs(raw, keep_blank_values=True).items()})
    for key in JSON_ARGS & params.keys():
        if isinstance(params[key], str):
            with contextlib.suppress(ValueError):  # else left as text: the method reports the format
                params[key] = json.loads(params[key])
    return params


def handle(
    ws: Workspace, *, path: str, headers: Mapping[str, str], body: bytes, base_url: str
) -> ApiResponse | None:
    """Answer ``/api/<method>`` and ``/response/<name>``; None for any other path."""
    parts = urlsplit(path)
    content_type = headers.get("Content-Type") or headers.get("content-type") or ""
    if parts.path.startswith("/response/"):
        return respond(ws, parts.path.removeprefix("/response/"), parse_params(body, content_type), base_url)
    if parts.path.startswith("/files-pri/"):
        return download(ws, parts.path, headers)
    if parts.path.startswith("/upload/"):
        return agent_api.receive_upload(ws, parts.path, body)
    if not parts.path.startswith("/api/"):
        return None
    params = parse_params(body, content_type, parts.query)
    auth = headers.get("Authorization") or headers.get("authorization") or ""
    token = auth.removeprefix("Bearer ").strip() if auth else params.get("token")
    return call(ws, parts.path.removeprefix("/api/"), params, str(token) if token else None, base_url)


def send(handler: BaseHTTPRequestHandler, response: ApiResponse) -> None:
    """Write an :class:`ApiResponse` to an HTTP handler."""
    raw = response.content is not None
    data = response.content if response.content is not None else json.dumps(response.body).encode()
    handler.send_response(response.status)
    if not raw:
        handler.send_header("Content-Type", "application/json; charset=utf-8")
    handler.send_header("Content-Length", str(len(data)))
    for key, value in response.headers.items():
        if key.lower() != "content-length":
            handler.send_header(key, value)
    handler.end_headers()
    handler.wfile.write(data)


class SlackApiServer:
    """The emulator alone on a local port (the tests' fake Slack)."""

    def __init__(self, workspace: Workspace, host: str = "127.0.0.1", port: int = 0) -> None:
        self.workspace = workspace
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                return

            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                answer = handle(
                    server.workspace,
                    path=self.path,
                    headers=dict(self.headers.items()),
                    body=body,
                    base_url=server.url,
                )
                send(self, answer or ApiResponse(404, {"ok": False, "error": "not_found"}))

            do_GET = _answer
            do_POST = _answer

        self.httpd = ThreadingHTTPServer((host, port), Handler)
        self.httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """``http://host:port`` of the server."""
        host, port = self.httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and free the port."""
        self.httpd.shutdown()
        self.httpd.server_close()


# The agent-feature methods (streaming, assistant threads, canvases, uploads) register themselves.
from bot.playground import agent_api  # noqa: E402
