"""What the app reaches by URL rather than by method: response URLs and private file downloads.

A ``response_url`` answers up to five times within 30 minutes: ephemeral by default, in the channel
with ``response_type: in_channel``, or a change to the original message (``replace_original``,
``delete_original``). A private download needs the bot token; without it Slack answers 200 with its
sign-in page, not 401.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.playground.api_base import ApiRequest, ApiResponse, SlackError
from bot.playground.workspace import (
    RESPONSE_URL_TTL_S,
    RESPONSE_URL_USES,
    Call,
    ResponsePost,
    ResponseUrl,
    Workspace,
)

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
            if issued.ephemeral_id:
                ws.change_ephemeral(issued.ephemeral_id)
            return ApiResponse(200, {"ok": True})
        text, blocks = request.message_content()
    except SlackError as error:
        return ApiResponse(400, error.body())
    if request.flag("replace_original") and original is not None:
        ws.update(original, text=text, blocks=blocks)
    elif request.flag("replace_original") and issued.ephemeral_id:
        ws.change_ephemeral(issued.ephemeral_id, text=text or "", blocks=blocks)
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
