"""Web API methods for views: open a modal (with a fresh trigger_id), update it, publish a Home tab.

Registered in :data:`methods`; :mod:`bot.playground.slack_api` dispatches.
"""

from __future__ import annotations

from typing import Any

from bot.playground.api_base import ApiRequest, MethodTable, SlackError
from bot.playground.blockkit import view_problems
from bot.playground.workspace import TRIGGER_TTL_S, View, Workspace

methods = MethodTable()
"""The methods of this module, by name."""


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


@methods.add("views.open", required=("view",))
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


@methods.add("views.update", required=("view",))
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


@methods.add("views.publish", required=("user_id", "view"))
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
