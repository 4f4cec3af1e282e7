"""What one change in the workspace means for one person's open page (the live stream's events).

Each kind of change becomes at most one update, rendered for that person: a message (with the
feedback they chose, and the thread's loading line), an ephemeral message only they see, a modal
opened for them, their Home tab, the loading line of a thread, or an unread mark on another channel.
A DM with the app is never shown, nor marked unread, to anyone but its person.
"""

from __future__ import annotations

from typing import Any

from bot.playground.page import Page
from bot.playground.workspace import Change, Workspace

Update = dict[str, Any]


def page_update(  # noqa: PLR0911 - one branch per kind of change
    ws: Workspace, page: Page, change: Change, viewer: str, channel: str | None
) -> Update | None:
    """The update for ``viewer`` looking at ``channel`` (None: nothing to show them)."""
    data = change.data
    with ws.lock:
        if change.kind == "status":
            if data.get("channel") != channel:
                return None
            thread_ts = str(data.get("thread_ts"))
            return {"kind": "status", "thread_ts": thread_ts, "html": page.status(str(channel), thread_ts)}
        if change.kind in ("message", "message_deleted"):
            return _message(ws, page, data, viewer, channel)
        if change.kind == "ephemeral":
            return _ephemeral(ws, page, data, viewer, channel)
        if change.kind in ("view_opened", "view_closed"):
            shown = ws.views.get(str(data.get("id")))
            if shown is None or shown.user not in (None, viewer):
                return None
            if change.kind == "view_closed" or shown.closed:
                return {"kind": "modal_closed", "id": shown.id}
            return {"kind": "modal", "id": shown.id, "html": page.modal(shown)}
        if change.kind == "assistant" and data.get("channel") == channel and not data.get("thread_ts"):
            return {"kind": "prompts", "html": page.prompts(str(channel))}
        if change.kind == "home" and data.get("user") == viewer:
            return {"kind": "home", "html": page.home(viewer)}
    return None


def _message(
    ws: Workspace, page: Page, data: dict[str, Any], viewer: str, channel: str | None
) -> Update | None:
    """A message posted, edited or deleted: its new look in the channel and the thread."""
    if data.get("channel") != channel:
        other = ws.channels.get(str(data.get("channel")))
        if other is not None and other.is_im and viewer not in other.members:
            return None
        return {"kind": "unread", "channel": data.get("channel")}
    update: Update = {"kind": "message", "ts": data["ts"], "thread_ts": data.get("thread_ts")}
    msg = ws.message(str(data["channel"]), str(data["ts"]))
    if msg is not None:
        update["channel_html"] = page.message(msg, in_thread=False, viewer=viewer)
        update["thread_html"] = page.message(msg, in_thread=True, viewer=viewer)
    parent_ts = data.get("thread_ts")
    if parent_ts and parent_ts != data["ts"]:
        parent = ws.message(str(data["channel"]), str(parent_ts))
        if parent is not None:
            update["parent_html"] = page.message(parent, in_thread=False, viewer=viewer)
    if parent_ts:  # a message in a thread ends the app's loading line there
        update["status_html"] = page.status(str(data["channel"]), str(parent_ts))
    update["deleted"] = msg is None
    return update


def _ephemeral(
    ws: Workspace, page: Page, data: dict[str, Any], viewer: str, channel: str | None
) -> Update | None:
    """A message only ``viewer`` sees, in the channel they look at."""
    if data.get("user") != viewer or data.get("channel") != channel:
        return None
    shown = next((e for e in ws.ephemeral if e.id == data["id"]), None)
    if shown is None:  # taken away (a response_url's delete_original)
        return {"kind": "ephemeral_gone", "ts": data["id"], "thread_ts": data.get("thread_ts")}
    return {"kind": "ephemeral", "ts": shown.id, "thread_ts": shown.thread_ts, "html": page.ephemeral(shown)}
