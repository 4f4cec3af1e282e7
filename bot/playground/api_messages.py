"""Web API methods for messages: post, edit, delete, ephemeral, thread replies, history, files, user groups.

Arguments and limits are checked the way Slack documents them (required arguments, text 40,000
characters, 50 blocks, the ``markdown`` block 12,000, ...), so a payload Slack would refuse is
refused here too. Registered in :data:`methods`; :mod:`bot.playground.slack_api` dispatches.
"""

from __future__ import annotations

from typing import Any

from bot.playground import readback
from bot.playground.api_base import ApiRequest, MethodTable, SlackError, needs_scope

methods = MethodTable()
"""The methods of this module, by name."""


@methods.add("auth.test")
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


@methods.add("chat.postMessage", required=("channel",))
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


@methods.add("chat.update", required=("channel", "ts"))
def chat_update(request: ApiRequest) -> dict[str, Any]:
    """Edit one of the bot's messages (blocks left out are kept). Slack asks for a new ``block_id`` in
    each iteration of a message: an edit that shows a block id the message has is refused here."""
    message = request.own_message()
    text, blocks = request.message_content()
    metadata = request.json("metadata", error="invalid_metadata_format")
    reused = {b.get("block_id") for b in blocks or []} & {b.get("block_id") for b in message.blocks} - {None}
    if reused:
        raise SlackError("invalid_blocks", f"block_id {min(map(str, reused))} reused: use a new one per edit")
    request.workspace.update(
        message, text=text, blocks=blocks, metadata=metadata if isinstance(metadata, dict) else None
    )
    return {"ok": True, "channel": message.channel, "ts": message.ts, "text": message.text}


@methods.add("chat.delete", required=("channel", "ts"))
def chat_delete(request: ApiRequest) -> dict[str, Any]:
    """Delete one of the bot's messages."""
    message = request.own_message()
    request.workspace.delete(message)
    return {"ok": True, "channel": message.channel, "ts": message.ts}


@methods.add("chat.postEphemeral", required=("channel", "user"))
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


@methods.add("usergroups.users.list", required=("usergroup",))
def usergroups_users_list(request: ApiRequest) -> dict[str, Any]:
    """The members of a user group (scope ``usergroups:read``)."""
    ws = request.workspace
    with ws.lock:
        members = ws.usergroups.get(str(request.params["usergroup"]))
        if members is None:
            raise SlackError("no_such_subteam")
        return {"ok": True, "users": sorted(members)}


_HISTORY_SCOPES = {"C": "channels:history", "G": "groups:history", "D": "im:history"}


@methods.add("conversations.replies", required=("channel", "ts"))
def conversations_replies(request: ApiRequest) -> dict[str, Any]:
    """A thread, parent first, a page at a time (``limit``, ``cursor``); metadata on request."""
    channel = request.channel()
    needs_scope(request, _HISTORY_SCOPES.get(channel.id[:1], "channels:history"))
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


@methods.add("conversations.history", required=("channel",))
def conversations_history(request: ApiRequest) -> dict[str, Any]:
    """A conversation's messages outside threads, newest first (``limit``; one page)."""
    channel = request.channel()
    needs_scope(request, _HISTORY_SCOPES.get(channel.id[:1], "channels:history"))
    newest = list(reversed(request.workspace.top_level(channel.id)))
    shown = newest[: max(1, min(int(request.params.get("limit") or 100), 999))]
    return {"ok": True, "messages": [m.to_slack() for m in shown], "has_more": len(newest) > len(shown)}


@methods.add("files.info", required=("file",))
def files_info(request: ApiRequest) -> dict[str, Any]:
    """A file's object (its download URL once Slack has processed it)."""
    needs_scope(request, "files:read")
    stored = request.workspace.files.get(str(request.params["file"]))
    if stored is None:
        raise SlackError("file_not_found")
    stored.ready = True  # Slack finishes processing a file by the time anyone asks files.info
    return {"ok": True, "file": stored.to_slack(request.base_url)}
