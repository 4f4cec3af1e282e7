"""What Slack sends the app when a person uses its Block Kit: buttons, menus, shortcuts and modals.

:class:`Interactions` turns a person's click in the page into the payload Slack would deliver
(``block_actions``, ``block_suggestion``, ``message_action``, ``view_submission``, ``view_closed``)
and shows the app's ack the way Slack does (modal errors, an updated or closed modal, a warning
when the app did not answer). Every element the bot sends is driven here: buttons, feedback
buttons, static and external selects, overflow menus, and the message shortcuts of the ⋮ menu.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from bot.playground.blockkit import view_problems
from bot.playground.delivery import Ack, Deliverer
from bot.playground.workspace import View, Workspace

API_APP_ID = "APLAYGROUND"
MESSAGE_SHORTCUTS = (("Forget this thread", "forget_thread"), ("Save as canvas", "save_canvas"))
"""The app's message shortcuts, (name, callback_id) (manifest.yml ``features.shortcuts``)."""
SELECTS = ("static_select", "external_select")
CHOOSERS = (*SELECTS, "overflow")  # elements whose click carries a chosen option


@dataclass(frozen=True)
class Outcome:
    """What the page should tell the person (``error`` None: done)."""

    error: str | None = None
    errors: dict[str, str] | None = None  # modal input errors, by block_id
    options: list[dict[str, Any]] | None = None  # an external select's options, as the app gave them

    @property
    def ok(self) -> bool:
        """True when nothing needs telling."""
        return self.error is None and not self.errors


def why(ack: Ack) -> str:
    """Slack's words for an app that did not acknowledge."""
    if ack.status is None:
        return "operation_timeout"
    if ack.status >= 500:
        return "http_service_error"
    return "dispatch_failed"


def options_of(element: dict[str, Any]) -> list[dict[str, Any]]:
    """A menu's options (``options``, or every group's under ``option_groups``)."""
    found = [o for o in element.get("options") or [] if isinstance(o, dict)]
    for group in element.get("option_groups") or []:
        found += [o for o in (group or {}).get("options") or [] if isinstance(o, dict)]
    return found


class Interactions:
    """Slack's side of a person's click, for one workspace and one app."""

    def __init__(self, ws: Workspace, deliverer: Deliverer, *, base_url: str) -> None:
        self.ws = ws
        self.deliverer = deliverer
        self.base_url = base_url
        self.served: dict[tuple[str, str, str], list[dict[str, Any]]] = {}  # (user, container id, action)

    def _user(self, user: str) -> dict[str, Any]:
        return {
            "id": user,
            "username": self.ws.users[user].name,
            "name": self.ws.users[user].name,
            "team_id": self.ws.team_id,
        }

    def _common(self, kind: str, user: str) -> dict[str, Any]:
        ws = self.ws
        return {
            "type": kind,
            "user": self._user(user),
            "api_app_id": API_APP_ID,
            "token": "playground-verification-token",
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # ------------------------------------------------------------------------ block actions

    def click(
        self,
        *,
        user: str,
        container: str,
        item_id: str,
        block: int,
        element: str,
        side: str | None = None,
        value: str | None = None,
    ) -> Outcome:
        """A person clicks a button, a feedback button, or picks an option of a menu (``value``)."""
        ws = self.ws
        if user not in ws.users:
            return Outcome("Pick a person first.")
        found = self._container(user, container, item_id)
        if found is None:
            return Outcome("That message is gone.")
        blocks, extra = found
        chosen_block, chosen = _element(blocks, block, element)
        if chosen is None:
            return Outcome("That button is gone.")
        action: dict[str, Any] = {
            "type": chosen.get("type"),
            "action_id": chosen.get("action_id") or f"act{block}{element}",
            "block_id": chosen_block.get("block_id") or f"blk{block}",
            "action_ts": f"{time.time():.6f}",
        }
        if chosen.get("type") == "feedback_buttons":
            pressed = chosen.get(side or "") or {}
            action.update(text=pressed.get("text"), value=pressed.get("value"))
            if container == "message" and side in ("positive_button", "negative_button"):
                ws.choose_feedback(item_id, user, side)
        elif chosen.get("type") in CHOOSERS:
            option = self._option(chosen, user, item_id, value)
            if option is None:
                return Outcome("That choice is not in the menu.")
            action["selected_option"] = option
            action["placeholder"] = chosen.get("placeholder")
        else:
            for key in ("text", "value", "style", "url"):
                if chosen.get(key) is not None:
                    action[key] = chosen[key]
        payload = {**self._common("block_actions", user), "state": {"values": {}}, "actions": [action]}
        payload.update({k: v for k, v in extra.items() if k != "channel"})
        self._where(payload, user, extra.get("channel"))
        ack = self.deliverer.interaction(payload)
        if not ack.ok:
            return Outcome(f"{ws.bot_name} did not respond ({why(ack)}). Slack shows a warning next to it.")
        return Outcome()

    def _option(
        self, element: dict[str, Any], user: str, item_id: str, value: str | None
    ) -> dict[str, Any] | None:
        """The option picked by ``value``: from the menu, or from what the app offered (external)."""
        offered = options_of(element)
        if element.get("type") == "external_select":
            offered = self.served.get((user, item_id, str(element.get("action_id"))), [])
        if isinstance(element.get("initial_option"), dict):  # what the menu shows before any choice
            offered = [*offered, element["initial_option"]]
        return next((dict(o) for o in offered if str(o.get("value")) == value), None)

    def _where(self, payload: dict[str, Any], user: str, channel: str | None) -> None:
        """The channel, a trigger and a response URL, as Slack adds them to an interaction."""
        ws = self.ws
        payload["trigger_id"] = ws.issue_trigger(user, channel)
        if not channel:
            return
        payload["channel"] = {"id": channel, "name": ws.channels[channel].name}
        info = payload.get("container") or {}
        payload["response_url"] = ws.issue_response_url(
            self.base_url,
            channel=channel,
            user=user,
            thread_ts=info.get("thread_ts"),
            message_ts=None if info.get("is_ephemeral") else info.get("message_ts"),
            ephemeral_id=info.get("message_ts") if info.get("is_ephemeral") else None,
        )

    def options(
        self, *, user: str, container: str, item_id: str, block: int, element: str, query: str
    ) -> Outcome:
        """An external select asks the app for options matching what the person typed."""
        found = self._container(user, container, item_id) if user in self.ws.users else None
        if found is None:
            return Outcome("That menu is gone.")
        blocks, extra = found
        chosen_block, chosen = _element(blocks, block, element)
        if chosen is None or chosen.get("type") != "external_select":
            return Outcome("That menu is gone.")
        payload = {
            **self._common("block_suggestion", user),
            "action_id": chosen.get("action_id"),
            "block_id": chosen_block.get("block_id") or f"blk{block}",
            "value": query,
            **{k: v for k, v in extra.items() if k in ("container", "view")},
        }
        ack = self.deliverer.interaction(payload)
        if not ack.ok:
            return Outcome(f"{self.ws.bot_name} did not answer with options ({why(ack)}).")
        body = ack.json() or {}  # an empty ack: no options
        offered = [o for o in body.get("options") or [] if isinstance(o, dict)]
        for group in body.get("option_groups") or []:
            offered += [o for o in (group or {}).get("options") or [] if isinstance(o, dict)]
        self.served[(user, item_id, str(chosen.get("action_id")))] = offered
        return Outcome(options=offered)

    def shortcut(self, *, user: str, channel: str, ts: str, callback_id: str) -> Outcome:
        """A message shortcut from a message's ⋮ menu (``message_action``)."""
        ws = self.ws
        message = ws.message(channel, ts)
        if user not in ws.users or message is None:
            return Outcome("That message is gone.")
        if callback_id not in {callback for _, callback in MESSAGE_SHORTCUTS}:
            return Outcome("The app has no such shortcut.")
        payload = {
            **self._common("message_action", user),
            "callback_id": callback_id,
            "action_ts": f"{time.time():.6f}",
            "message_ts": message.ts,
            "message": message.to_slack(),
        }
        self._where(payload, user, channel)
        payload["response_url"] = ws.issue_response_url(
            self.base_url, channel=channel, user=user, thread_ts=message.thread_ts
        )
        ack = self.deliverer.interaction(payload)
        if not ack.ok:
            return Outcome(f"{ws.bot_name} did not respond ({why(ack)}).")
        return Outcome()

    def _container(  # noqa: PLR0911 - one branch per kind of container
        self, user: str, container: str, item_id: str
    ) -> tuple[list[Any], dict[str, Any]] | None:
        ws = self.ws
        if container == "message":
            msg = ws.find_message(item_id)
            if msg is None:
                return None
            info = {"type": "message", "message_ts": msg.ts, "channel_id": msg.channel, "is_ephemeral": False}
            if msg.thread_ts:
                info["thread_ts"] = msg.thread_ts
            return msg.blocks, {"container": info, "message": msg.to_slack(), "channel": msg.channel}
        if container == "ephemeral":
            shown = next((e for e in ws.ephemeral if e.id == item_id and e.user == user), None)
            if shown is None:
                return None
            info = {
                "type": "message",
                "message_ts": shown.id,
                "channel_id": shown.channel,
                "is_ephemeral": True,
            }
            if shown.thread_ts:
                info["thread_ts"] = shown.thread_ts
            return shown.blocks, {"container": info, "channel": shown.channel}
        if container in ("view", "home"):
            view = ws.views.get(item_id) if container == "view" else ws.home.get(user)
            if view is None or view.user not in (None, user) or view.closed:
                return None
            return view.view.get("blocks") or [], {
                "container": {"type": "view", "view_id": view.id},
                "view": self.view_payload(view, {}),
            }
        return None

    # -------------------------------------------------------------------------------- modals

    def view_payload(self, shown: View, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """A view as an interaction payload carries it (with the inputs' ``state``)."""
        ws = self.ws
        return {
            **shown.view,
            "id": shown.id,
            "team_id": ws.team_id,
            "state": {"values": values},
            "hash": shown.hash,
            "private_metadata": shown.view.get("private_metadata", ""),
            "callback_id": shown.view.get("callback_id", ""),
            "root_view_id": shown.id,
            "previous_view_id": None,
            "app_id": API_APP_ID,
            "bot_id": ws.bot_id,
        }

    def _state(
        self, shown: View, user: str, values: dict[str, dict[str, str]]
    ) -> tuple[dict[str, Any], dict[str, str]]:
        """The inputs' state as Slack sends it, and what is missing (by block_id)."""
        state: dict[str, dict[str, Any]] = {}
        missing: dict[str, str] = {}
        for index, block in enumerate(shown.view.get("blocks") or []):
            if not isinstance(block, dict) or block.get("type") != "input":
                continue
            element = block.get("element") or {}
            block_id = str(block.get("block_id") or f"b{index}")
            action_id = str(element.get("action_id") or f"a{index}")
            value = (values.get(block_id) or {}).get(action_id, "")
            if element.get("type") in SELECTS:
                option = self._option(element, user, shown.id, value) if value else None
                if not value and element.get("initial_option"):
                    option = dict(element["initial_option"])
                state[block_id] = {action_id: {"type": element.get("type"), "selected_option": option}}
                filled = option is not None
            else:
                limit = element.get("max_length")
                if isinstance(limit, int):
                    value = value[:limit]
                state[block_id] = {action_id: {"type": element.get("type"), "value": value or None}}
                filled = bool(value)
            if not filled and not block.get("optional"):
                missing[block_id] = "Please fill out this field."
        return state, missing

    def submit_view(self, *, user: str, view_id: str, values: dict[str, dict[str, str]]) -> Outcome:
        """A person submits a modal with these input values (block_id -> action_id -> text or value)."""
        ws = self.ws
        shown = ws.views.get(view_id)
        if shown is None or shown.closed or shown.user not in (None, user):
            return Outcome("This modal is closed.")
        state, missing = self._state(shown, user, values)
        if missing:  # Slack's client refuses to submit before the app hears of it
            return Outcome(errors=missing)
        payload = {
            **self._common("view_submission", user),
            "trigger_id": ws.issue_trigger(user),
            "view": self.view_payload(shown, state),
            "response_urls": [],
        }
        ack = self.deliverer.interaction(payload)
        if not ack.ok:
            return Outcome("We had some trouble connecting. Try again?")
        return self._view_ack(shown, ack)

    def _view_ack(self, shown: View, ack: Ack) -> Outcome:
        ws = self.ws
        body = ack.json() or {}
        action = body.get("response_action")
        if action == "errors":
            errors = body.get("errors")
            if isinstance(errors, dict) and errors:
                return Outcome(errors={str(k): str(v) for k, v in errors.items()})
            return Outcome("The app's answer was not valid.")
        if action in ("update", "push"):
            view = body.get("view")
            if not isinstance(view, dict) or view_problems(view):
                return Outcome("The app's answer was not valid.")
            ws.replace_view(shown.id, view)
            return Outcome()
        ws.close_view(shown.id)  # an empty ack, or "clear"
        return Outcome()

    def close_view(self, *, user: str, view_id: str) -> Outcome:
        """A person cancels a modal; the app hears of it only if the view asked (``notify_on_close``)."""
        ws = self.ws
        shown = ws.views.get(view_id)
        if shown is None or shown.closed or shown.user not in (None, user):
            return Outcome()
        ws.close_view(view_id)
        if shown.view.get("notify_on_close"):
            payload = {
                **self._common("view_closed", user),
                "view": self.view_payload(shown, {}),
                "is_cleared": False,
            }
            self.deliverer.interaction(payload)
        return Outcome()


def _element(blocks: list[Any], block: int, element: str) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The block and the element a click names (``a``: the section's accessory; ``e``: the input's)."""
    try:
        chosen_block = blocks[block]
        if element == "a":
            chosen = chosen_block["accessory"]
        elif element == "e":
            chosen = chosen_block["element"]
        else:
            chosen = chosen_block["elements"][int(element)]
    except (IndexError, KeyError, TypeError, ValueError):
        return {}, None
    return chosen_block, chosen if isinstance(chosen, dict) else None
