"""Web API methods of Slack's agent features, checked the way Slack documents them.

- Streaming: ``chat.startStream`` / ``chat.appendStream`` / ``chat.stopStream``. Streams are thread
  replies (``thread_ts``); outside a DM they need ``recipient_team_id`` and ``recipient_user_id``;
  ``markdown_text`` (or a ``markdown_text`` chunk) holds at most 12,000 characters per call; a
  stream idle for about 5 minutes leaves the streaming state (``message_not_in_streaming_state``);
  ``chat.stopStream`` puts its ``blocks`` under the streamed text.
- Assistant threads: ``assistant.threads.setStatus`` (a loading state with up to 10
  ``loading_messages``, cleared by the app's next message in the thread or after two minutes),
  ``setTitle``, ``setSuggestedPrompts`` (up to four, each a ``title`` and a ``message``; for an app
  with the Agent messaging experience, ``agent.experience == "agent"``, only without ``thread_ts``:
  with it the call answers ok and shows nothing).
- Canvases: ``canvases.create`` (Markdown ``document_content``, at most 1 MiB; tabbed in
  ``channel_id``), ``canvases.edit`` (``changes``; ``replace`` without a section replaces the whole
  canvas), ``canvases.access.set``.
- File uploads (``files.uploadV2`` in slack_sdk): ``files.getUploadURLExternal``, a POST of the bytes
  to the returned URL, ``files.completeUploadExternal`` sharing the file into a channel or thread.

A workspace can refuse any of them for good (:meth:`~bot.playground.surfaces.AgentSurfaces.refuse`),
as one whose plan, channel type or settings lack the feature does.
"""

from __future__ import annotations

import uuid
from typing import Any

from bot.playground import sdk_models
from bot.playground.api_base import ApiRequest, ApiResponse, MethodTable, SlackError, needs_scope
from bot.playground.blockkit import (
    MARKDOWN_BLOCK_LIMIT,
    MESSAGE_BLOCKS_LIMIT,
    MESSAGE_MARKDOWN_LIMIT,
    blocks_problems,
    text_length,
)
from bot.playground.surfaces import (
    STATUS_LOADING_MESSAGES,
    STREAM_IDLE_S,
    SUGGESTED_PROMPTS,
    Canvas,
    Stream,
    ThreadStatus,
    Upload,
)
from bot.playground.workspace import Message, StoredFile, Workspace

CANVAS_MARKDOWN_LIMIT = 1_048_576  # document_content markdown: 1 MiB
CHUNK_TYPES = ("markdown_text", "task_update", "plan_update")
TASK_STATUSES = ("pending", "in_progress", "complete", "error")
CANVAS_OPERATIONS = ("insert_after", "insert_before", "insert_at_start", "insert_at_end", "replace", "delete")


methods = MethodTable()
"""The methods of this module, by name."""


# ---------------------------------------------------------------------------------- streaming


def _stream_text(request: ApiRequest) -> str:
    """The Markdown a stream call adds: ``markdown_text`` and any ``markdown_text`` chunks."""
    text = request.text("markdown_text") or ""
    if len(text) > MARKDOWN_BLOCK_LIMIT:
        raise SlackError(
            "invalid_arguments", f"markdown_text must be less than {MARKDOWN_BLOCK_LIMIT + 1} characters"
        )
    chunks = request.json("chunks", error="invalid_chunks")
    if chunks is None:
        return text
    if text:
        raise SlackError(
            "invalid_arguments",
            "markdown_text and chunks in one call: send the text as a markdown_text chunk first "
            "(as slack_sdk's ChatStream does)",
        )
    if not isinstance(chunks, list):
        raise SlackError("invalid_chunks", "chunks must be an array")
    problems = sdk_models.chunk_problems(chunks)
    if problems:
        raise SlackError("invalid_chunks", *problems)
    for index, chunk in enumerate(chunks):
        if not isinstance(chunk, dict) or chunk.get("type") not in CHUNK_TYPES:
            raise SlackError("invalid_chunks", f"unsupported chunk type [json-pointer:/chunks/{index}/type]")
        if chunk["type"] == "task_update" and not (
            isinstance(chunk.get("id"), str)
            and isinstance(chunk.get("title"), str)
            and chunk.get("status") in TASK_STATUSES
        ):
            raise SlackError(
                "invalid_chunks",
                f"task_update needs id, title and a status of {', '.join(TASK_STATUSES)} "
                f"[json-pointer:/chunks/{index}]",
            )
        if chunk["type"] == "markdown_text":
            piece = chunk.get("text")
            if not isinstance(piece, str) or len(piece) > MARKDOWN_BLOCK_LIMIT:
                raise SlackError(
                    "invalid_chunks",
                    f"text must be a string of at most {MARKDOWN_BLOCK_LIMIT} characters "
                    f"[json-pointer:/chunks/{index}/text]",
                )
            text += piece
    return text


def _tasks(request: ApiRequest, stream: Stream) -> None:
    """Keep a stream's ``task_update`` chunks (the timeline Slack shows under the text), latest per id."""
    for chunk in request.json("chunks", error="invalid_chunks") or []:
        if isinstance(chunk, dict) and chunk.get("type") == "task_update":
            stream.tasks[str(chunk["id"])] = dict(chunk)


def _grow(ws: Workspace, message: Message, added: str) -> None:
    """Add streamed Markdown to a message (the whole message stays within Slack's markdown limit)."""
    if not added:
        return
    total = message.markdown() + added
    if len(total) > MESSAGE_MARKDOWN_LIMIT:
        raise SlackError(
            "msg_blocks_too_long",
            f"markdown blocks must be less than {MESSAGE_MARKDOWN_LIMIT + 1} characters in total",
        )
    ws.update(message, text=total, blocks=[{"type": "markdown", "text": total}])


def _open_stream(request: ApiRequest) -> tuple[Message, Stream]:
    """The bot's message named by ``channel`` and ``ts``, still in the streaming state."""
    ws = request.workspace
    channel = request.channel()
    message = ws.message(channel.id, str(request.params["ts"]))
    if message is None:
        raise SlackError("message_not_found")
    if message.user != ws.bot_user_id:
        raise SlackError("message_not_owned_by_app")
    stream = ws.agent.streams.get((channel.id, message.ts))
    if stream is not None and stream.open and ws.monotonic() - stream.touched > STREAM_IDLE_S:
        stream.open = False  # expired: idle too long
    if stream is None or not stream.open:
        raise SlackError("message_not_in_streaming_state")
    return message, stream


@methods.add("chat.startStream", required=("channel", "thread_ts"))
def chat_start_stream(request: ApiRequest) -> dict[str, Any]:
    """Start a streamed reply in a thread (recipients required outside DMs)."""
    needs_scope(request, "chat:write")
    ws = request.workspace
    channel = request.channel()
    team, user = request.text("recipient_team_id"), request.text("recipient_user_id")
    if not channel.id.startswith("D"):
        if not team:
            raise SlackError("missing_recipient_team_id")
        if not user:
            raise SlackError("missing_recipient_user_id")
    text = _stream_text(request)
    thread_ts = str(request.params["thread_ts"])
    with ws.lock:
        message = ws.post(
            channel=channel.id,
            user=ws.bot_user_id,
            bot_id=ws.bot_id,
            text=text,
            blocks=[{"type": "markdown", "text": text}] if text else [],
            thread_ts=thread_ts,
        )
        stream = Stream(channel.id, message.ts, thread_ts, user, team, ws.monotonic())
        _tasks(request, stream)
        ws.agent.streams[(channel.id, message.ts)] = stream
    return {"ok": True, "channel": channel.id, "ts": message.ts}


@methods.add("chat.appendStream", required=("channel", "ts"))
def chat_append_stream(request: ApiRequest) -> dict[str, Any]:
    """Append Markdown to a message in the streaming state."""
    needs_scope(request, "chat:write")
    ws = request.workspace
    if not request.text("markdown_text") and request.params.get("chunks") in (None, "", []):
        raise SlackError("no_text")
    with ws.lock:
        message, stream = _open_stream(request)
        _grow(ws, message, _stream_text(request))
        _tasks(request, stream)
        stream.appends += 1
        stream.touched = ws.monotonic()
    return {"ok": True, "channel": message.channel, "ts": message.ts}


@methods.add("chat.stopStream", required=("channel", "ts"))
def chat_stop_stream(request: ApiRequest) -> dict[str, Any]:
    """Finish a stream: the last Markdown, then ``blocks`` under the text, and metadata."""
    needs_scope(request, "chat:write")
    ws = request.workspace
    blocks = request.json("blocks", error="invalid_blocks_format")
    if blocks is not None:
        problems = blocks_problems(blocks, limit=MESSAGE_BLOCKS_LIMIT - 1)
        if problems:
            raise SlackError("invalid_blocks", *problems)
    metadata = request.json("metadata", error="invalid_metadata_format")
    with ws.lock:
        message, stream = _open_stream(request)
        added = _stream_text(request)
        if len(message.markdown() + added) + text_length(blocks or []) > MESSAGE_MARKDOWN_LIMIT:
            raise SlackError("msg_blocks_too_long", "the text of all blocks is over Slack's budget")
        _grow(ws, message, added)
        stream.open = False
        shown = message.markdown()
        final = ([{"type": "markdown", "text": shown}] if shown else []) + list(blocks or [])
        ws.update(
            message,
            text=shown,
            blocks=final,
            metadata=metadata if isinstance(metadata, dict) else None,
        )
    return {"ok": True, "channel": message.channel, "ts": message.ts, "message": message.to_slack()}


# --------------------------------------------------------------------------- assistant threads


def _thread_args(request: ApiRequest) -> tuple[str, str]:
    ws = request.workspace
    channel_id = str(request.params["channel_id"])
    if ws.channel(channel_id) is None:
        raise SlackError("channel_not_found")
    return channel_id, str(request.params.get("thread_ts") or "")


@methods.add("assistant.threads.setStatus", required=("channel_id", "thread_ts", "status"))
def assistant_threads_set_status(request: ApiRequest) -> dict[str, Any]:
    """Show (or with an empty ``status``, clear) a thread's loading state."""
    needs_scope(request, "chat:write", "assistant:write")
    status = request.params.get("status")
    if status is None:
        raise SlackError("invalid_arguments", "missing required field: status")
    loading = request.json("loading_messages") or []
    if not isinstance(loading, list) or not all(isinstance(item, str) and item for item in loading):
        raise SlackError("invalid_arguments", "loading_messages must be an array of strings")
    if len(loading) > STATUS_LOADING_MESSAGES:
        raise SlackError(
            "invalid_arguments", f"loading_messages must provide no more than {STATUS_LOADING_MESSAGES} items"
        )
    ws = request.workspace
    channel_id, thread_ts = _thread_args(request)
    with ws.lock:
        ws.agent.statuses[(channel_id, thread_ts)] = ThreadStatus(str(status), list(loading), ws.monotonic())
        ws.notify("status", channel=channel_id, thread_ts=thread_ts)
    return {"ok": True}


@methods.add("assistant.threads.setTitle", required=("channel_id", "thread_ts", "title"))
def assistant_threads_set_title(request: ApiRequest) -> dict[str, Any]:
    """Name an assistant thread (shown in the app's history)."""
    needs_scope(request, "assistant:write")
    ws = request.workspace
    channel_id, thread_ts = _thread_args(request)
    with ws.lock:
        ws.agent.titles[(channel_id, thread_ts)] = str(request.params["title"])
        ws.notify("assistant", channel=channel_id, thread_ts=thread_ts)
    return {"ok": True}


@methods.add("assistant.threads.setSuggestedPrompts", required=("channel_id", "prompts"))
def assistant_threads_set_suggested_prompts(request: ApiRequest) -> dict[str, Any]:
    """Offer up to four prompts (a ``title`` shown, a ``message`` sent when clicked)."""
    needs_scope(request, "assistant:write")
    prompts = request.json("prompts")
    if not isinstance(prompts, list) or not prompts:
        raise SlackError("invalid_arguments", "prompts must be a non-empty array")
    if len(prompts) > SUGGESTED_PROMPTS:
        raise SlackError("invalid_arguments", f"prompts must provide no more than {SUGGESTED_PROMPTS} items")
    for index, prompt in enumerate(prompts):
        if not isinstance(prompt, dict) or not all(
            isinstance(prompt.get(key), str) and prompt[key] for key in ("title", "message")
        ):
            raise SlackError(
                "invalid_arguments", f"title and message are required [json-pointer:/prompts/{index}]"
            )
    ws = request.workspace
    channel_id, thread_ts = _thread_args(request)
    if thread_ts and ws.agent.experience == "agent":
        return {"ok": True}  # Slack: with thread_ts the call silently fails for an agent_view app
    with ws.lock:
        ws.agent.prompts[(channel_id, thread_ts)] = {"title": request.text("title"), "prompts": prompts}
        ws.notify("assistant", channel=channel_id, thread_ts=thread_ts)
    return {"ok": True}


# ------------------------------------------------------------------------------------ canvases


def _document(request: ApiRequest, value: Any, pointer: str) -> str:
    """The Markdown of a ``document_content`` object (``{"type": "markdown", "markdown": ...}``)."""
    if (
        not isinstance(value, dict)
        or value.get("type") != "markdown"
        or not isinstance(value.get("markdown"), str)
    ):
        raise SlackError("invalid_arguments", f"document_content must be markdown [json-pointer:{pointer}]")
    markdown = str(value["markdown"])
    if len(markdown) > CANVAS_MARKDOWN_LIMIT:
        raise SlackError(
            "canvas_creation_failed" if request.method.endswith("create") else "canvas_too_large"
        )
    return markdown


@methods.add("canvases.create")
def canvases_create(request: ApiRequest) -> dict[str, Any]:
    """Create a canvas, tabbed in ``channel_id`` when given."""
    needs_scope(request, "canvases:write")
    ws = request.workspace
    content = request.json("document_content")
    markdown = _document(request, content, "/document_content") if content is not None else ""
    channel_id = request.text("channel_id")
    if channel_id and ws.channel(channel_id) is None:
        raise SlackError("channel_not_found")
    canvas = Canvas(
        f"F{uuid.uuid4().hex[:10].upper()}", request.text("title") or "Untitled", markdown, channel_id
    )
    if channel_id:
        canvas.access[channel_id] = "write"  # tabbed in the channel: its members can edit
    with ws.lock:
        ws.agent.canvases[canvas.id] = canvas
        ws.notify("canvas", id=canvas.id)
    return {"ok": True, "canvas_id": canvas.id}


@methods.add("canvases.edit", required=("canvas_id", "changes"))
def canvases_edit(request: ApiRequest) -> dict[str, Any]:
    """Apply changes; ``replace`` without a ``section_id`` replaces the whole canvas."""
    needs_scope(request, "canvases:write")
    ws = request.workspace
    changes = request.json("changes")
    if not isinstance(changes, list) or not changes:
        raise SlackError("invalid_arguments", "changes must be a non-empty array")
    with ws.lock:
        canvas = ws.agent.canvases.get(str(request.params["canvas_id"]))
        if canvas is None:
            raise SlackError("canvas_not_found")
        markdown = canvas.markdown
        for index, change in enumerate(changes):
            at = f"/changes/{index}"
            operation = change.get("operation") if isinstance(change, dict) else None
            if operation not in CANVAS_OPERATIONS:
                raise SlackError("invalid_arguments", f"unsupported operation [json-pointer:{at}/operation]")
            if change.get("section_id"):
                raise SlackError("canvas_editing_failed", "sections are not emulated")
            if operation == "delete":
                raise SlackError("invalid_arguments", f"delete needs a section_id [json-pointer:{at}]")
            added = _document(request, change.get("document_content"), f"{at}/document_content")
            if operation in ("replace",):
                markdown = added
            elif operation in ("insert_at_start", "insert_before"):
                markdown = added + "\n" + markdown
            else:
                markdown = markdown + "\n" + added
        if len(markdown) > CANVAS_MARKDOWN_LIMIT:
            raise SlackError("canvas_too_large")
        canvas.markdown = markdown
        canvas.edits += 1
        ws.notify("canvas", id=canvas.id)
    return {"ok": True}


@methods.add("canvases.delete", required=("canvas_id",))
def canvases_delete(request: ApiRequest) -> dict[str, Any]:
    """Delete a canvas."""
    needs_scope(request, "canvases:write")
    ws = request.workspace
    with ws.lock:
        if ws.agent.canvases.pop(str(request.params["canvas_id"]), None) is None:
            raise SlackError("canvas_not_found")
        ws.notify("canvas", id=str(request.params["canvas_id"]))
    return {"ok": True}


@methods.add("files.delete", required=("file",))
def files_delete(request: ApiRequest) -> dict[str, Any]:
    """Delete a file (the bot may delete the files it uploaded); the messages sharing it show it gone."""
    needs_scope(request, "files:write")
    ws = request.workspace
    file_id = str(request.params["file"])
    with ws.lock:
        stored = ws.files.get(file_id)
        if stored is None:
            raise SlackError("file_not_found")
        if stored.user != ws.bot_user_id:
            raise SlackError("cant_delete_file")
        del ws.files[file_id]
    return {"ok": True}


@methods.add("canvases.access.set", required=("canvas_id", "access_level"))
def canvases_access_set(request: ApiRequest) -> dict[str, Any]:
    """Let channels (or people, not both) read or write a canvas."""
    needs_scope(request, "canvases:write")
    ws = request.workspace
    level = str(request.params["access_level"])
    if level not in ("read", "write"):
        raise SlackError("invalid_arguments", "access_level must be read or write")
    channels = [c for c in str(request.params.get("channel_ids") or "").split(",") if c]
    users = [u for u in str(request.params.get("user_ids") or "").split(",") if u]
    if bool(channels) == bool(users):
        raise SlackError("invalid_parameters", "give channel_ids or user_ids, not both")
    with ws.lock:
        canvas = ws.agent.canvases.get(str(request.params["canvas_id"]))
        if canvas is None:
            raise SlackError("canvas_not_found")
        for channel_id in channels:
            if ws.channel(channel_id) is None:
                raise SlackError("channel_not_found")
        for entity in channels + users:
            canvas.access[entity] = level
    return {"ok": True}


# -------------------------------------------------------------------------------- file uploads


@methods.add("files.getUploadURLExternal", required=("filename", "length"))
def files_get_upload_url_external(request: ApiRequest) -> dict[str, Any]:
    """Where to POST a file's bytes (``length`` of them), and the id it will have."""
    needs_scope(request, "files:write")
    try:
        length = int(request.params["length"])
    except ValueError:
        raise SlackError("invalid_arguments", "length must be a number") from None
    if length <= 0:
        raise SlackError("invalid_arguments", "length must be more than 0")
    ws = request.workspace
    upload = Upload(f"F{uuid.uuid4().hex[:10].upper()}", str(request.params["filename"]), length)
    with ws.lock:
        ws.agent.uploads[upload.file_id] = upload
    return {
        "ok": True,
        "upload_url": f"{request.base_url.rstrip('/')}/upload/{upload.file_id}",
        "file_id": upload.file_id,
    }


def receive_upload(ws: Workspace, path: str, body: bytes) -> ApiResponse:
    """The POST of a file's bytes to its upload URL."""
    file_id = path.strip("/").split("/")[-1]
    with ws.lock:
        upload = ws.agent.uploads.get(file_id)
        if upload is None or upload.completed:
            return ApiResponse(404, {}, {"Content-Type": "text/plain"}, b"not found")
        if len(body) != upload.length:
            return ApiResponse(400, {}, {"Content-Type": "text/plain"}, b"length mismatch")
        upload.content = bytes(body)
    return ApiResponse(200, {}, {"Content-Type": "text/plain"}, b"OK - " + str(len(body)).encode())


@methods.add("files.completeUploadExternal", required=("files",))
def files_complete_upload_external(request: ApiRequest) -> dict[str, Any]:
    """Finish uploads and share them into ``channel_id`` (in ``thread_ts`` when given)."""
    needs_scope(request, "files:write")
    ws = request.workspace
    files = request.json("files")
    if not isinstance(files, list) or not files:
        raise SlackError("invalid_arguments", "files must be a non-empty array")
    channel_id = request.text("channel_id")
    thread_ts = request.text("thread_ts")
    if thread_ts and not channel_id:
        raise SlackError("invalid_arguments", "thread_ts needs channel_id")
    channel = None
    if channel_id:
        channel = ws.channel(channel_id)
        if channel is None:
            raise SlackError("channel_not_found")
        if ws.bot_user_id not in channel.members:
            raise SlackError("not_in_channel")
    shown: list[dict[str, Any]] = []
    with ws.lock:
        for item in files:
            upload = ws.agent.uploads.get(str((item or {}).get("id")))
            if upload is None or upload.content is None or upload.completed:
                raise SlackError("file_not_found")
            upload.completed = True
            stored = StoredFile(
                upload.file_id,
                upload.filename,
                "text/markdown" if upload.filename.endswith(".md") else "application/octet-stream",
                upload.filename.rsplit(".", 1)[-1] if "." in upload.filename else "binary",
                upload.content,
                ws.bot_user_id,
            )
            ws.files[stored.id] = stored
            shown.append({**stored.to_slack(request.base_url), "title": item.get("title") or upload.filename})
        if channel is not None:
            ws.post(
                channel=channel.id,
                user=ws.bot_user_id,
                bot_id=ws.bot_id,
                text=request.text("initial_comment") or "",
                thread_ts=thread_ts or None,
                files=shown,
            )
    return {"ok": True, "files": [{"id": f["id"], "title": f["title"]} for f in shown]}
