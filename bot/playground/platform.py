"""What Slack does when a person acts: post the message, send the app its command, event or interaction.

:class:`Platform` is Slack's side between a person in the page and the app: it checks what the
person sent as Slack's client would (nothing empty, at most 40,000 characters), stores messages in
the :class:`~bot.playground.workspace.Workspace`, delivers to the app through a
:class:`~bot.playground.delivery.Deliverer` and shows the app's acks the way Slack shows them
(ephemeral answers, modal errors, "failed with the error operation_timeout").
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bot.logging import get_logger
from bot.playground.blockkit import MESSAGE_TEXT_LIMIT, blocks_problems, view_problems
from bot.playground.delivery import Ack, Deliverer, event_envelope
from bot.playground.page import SLACKBOT
from bot.playground.workspace import Message, View, Workspace

log = get_logger("bot.playground.platform")

SUBSCRIBED_EVENTS = frozenset(
    {
        "app_mention",
        "message.channels",
        "message.groups",
        "message.im",
        "app_home_opened",
        "assistant_thread_started",
        "assistant_thread_context_changed",
    }
)
"""The app's event subscriptions (manifest.yml ``settings.event_subscriptions.bot_events``)."""
COMMANDS = frozenset({"/architect"})
"""The app's slash commands (manifest.yml ``features.slash_commands``)."""
API_APP_ID = "APLAYGROUND"


FILE_LIMIT = 5 * 1024 * 1024  # the playground's upload limit (Slack's is 1 GB)


@dataclass(frozen=True)
class Upload:
    """A file a person attaches to a message."""

    name: str
    content: bytes
    mimetype: str


@dataclass(frozen=True)
class Outcome:
    """What the page should tell the person (``error`` None: done)."""

    error: str | None = None
    errors: dict[str, str] | None = None  # modal input errors, by block_id

    @property
    def ok(self) -> bool:
        """True when nothing needs telling."""
        return self.error is None and not self.errors


class Platform:
    """Slack's side of the playground."""

    def __init__(self, ws: Workspace, deliverer: Deliverer, *, base_url: str) -> None:
        self.ws = ws
        self.deliverer = deliverer
        self.base_url = base_url
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None

    # ------------------------------------------------------------------------- people act

    def send(
        self,
        *,
        user: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        upload: Upload | None = None,
    ) -> Outcome:
        """A person sends a message, a slash command or a file (with a comment) from a message box."""
        refused = self._refusal(user=user, channel=channel, text=text, upload=upload)
        if refused is not None:
            return refused
        if text.startswith("/") and upload is None:
            return self._command(user=user, channel=channel, text=text.strip(), thread_ts=thread_ts)
        self._message(user=user, channel=channel, text=text, thread_ts=thread_ts, upload=upload)
        return Outcome()

    def _refusal(self, *, user: str, channel: str, text: str, upload: Upload | None) -> Outcome | None:
        """What Slack's client would refuse to send, said as it would say it."""
        ws = self.ws
        problem: str | None = None
        if user not in ws.users or ws.users[user].is_bot:
            problem = "Pick a person first."
        elif channel not in ws.channels:
            problem = "That channel does not exist."
        elif not text.strip() and upload is None:
            problem = "Write something first."
        elif upload is not None and len(upload.content) > FILE_LIMIT:
            problem = f"This file is too big for the playground: at most {FILE_LIMIT // 1024 // 1024} MB."
        elif len(text) > MESSAGE_TEXT_LIMIT:
            problem = (
                f"This message is too long: {len(text):,} characters. "
                f"Slack allows {MESSAGE_TEXT_LIMIT:,}; shorten it or share it as a file."
            )
        return None if problem is None else Outcome(problem)

    def _slackbot(self, *, user: str, channel: str, text: str, thread_ts: str | None) -> None:
        self.ws.add_ephemeral(
            channel=channel,
            user=user,
            text=text,
            blocks=None,
            thread_ts=thread_ts,
            params={},
            author=SLACKBOT,
        )

    def _command(self, *, user: str, channel: str, text: str, thread_ts: str | None) -> Outcome:
        name, _, rest = text.partition(" ")
        if name == "/invite":
            return self._invite(user=user, channel=channel, rest=rest, thread_ts=thread_ts)
        if name not in COMMANDS:
            self._slackbot(
                user=user,
                channel=channel,
                thread_ts=thread_ts,
                text=f"`{name[:60]}` is not a valid command. In Slack, all messages that start with "
                'the "/" character are interpreted as commands. Try `/architect help`.',
            )
            return Outcome()
        ws = self.ws
        form = {
            "token": "playground-verification-token",
            "team_id": ws.team_id,
            "team_domain": ws.team_domain,
            "channel_id": channel,
            "channel_name": ws.channels[channel].name,
            "user_id": user,
            "user_name": ws.users[user].name,
            "command": name,
            "text": rest.strip(),
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": ws.issue_response_url(
                self.base_url, channel=channel, user=user, thread_ts=thread_ts
            ),
            "trigger_id": ws.issue_trigger(user, channel),
        }
        ack = self.deliverer.command(form)
        if not ack.ok:
            self._slackbot(
                user=user,
                channel=channel,
                thread_ts=thread_ts,
                text=f'{name} failed with the error "{_why(ack)}"',
            )
            return Outcome()
        self._show_command_ack(ack, user=user, channel=channel, thread_ts=thread_ts, command=text)
        return Outcome()

    def _show_command_ack(
        self, ack: Ack, *, user: str, channel: str, thread_ts: str | None, command: str
    ) -> None:
        ws = self.ws
        body = ack.json()
        if body is None:
            text = ack.text().strip()
            if text:
                ws.add_ephemeral(
                    channel=channel, user=user, text=text, blocks=None, thread_ts=thread_ts, params={}
                )
            return
        text, blocks = str(body.get("text") or ""), body.get("blocks")
        if (blocks is not None and blocks_problems(blocks, limit=50)) or (not text and not blocks):
            self._slackbot(
                user=user, channel=channel, thread_ts=thread_ts, text="The app's answer was not valid."
            )
            return
        if body.get("response_type") == "in_channel":
            ws.post(channel=channel, user=user, text=command, thread_ts=thread_ts)
            ws.post(
                channel=channel,
                user=ws.bot_user_id,
                bot_id=ws.bot_id,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
            )
        else:
            ws.add_ephemeral(
                channel=channel, user=user, text=text, blocks=blocks, thread_ts=thread_ts, params=dict(body)
            )

    def _invite(self, *, user: str, channel: str, rest: str, thread_ts: str | None) -> Outcome:
        ws = self.ws
        if f"@{ws.bot_name}" not in rest:
            self._slackbot(
                user=user, channel=channel, thread_ts=thread_ts, text=f"Usage: `/invite @{ws.bot_name}`"
            )
            return Outcome()
        members = ws.channels[channel].members
        if ws.bot_user_id in members:
            self._slackbot(
                user=user,
                channel=channel,
                thread_ts=thread_ts,
                text=f"{ws.bot_name} is already in this channel.",
            )
            return Outcome()
        members.add(ws.bot_user_id)
        ws.post(channel=channel, user=ws.bot_user_id, text="joined the channel.", subtype="channel_join")
        return Outcome()

    def _message(
        self, *, user: str, channel: str, text: str, thread_ts: str | None, upload: Upload | None = None
    ) -> Message:
        ws = self.ws
        slack_text = self._encode(text)
        files: list[dict[str, Any]] = []
        if upload is not None:
            extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else "binary"
            stored = ws.add_file(
                upload.name, upload.content, mimetype=upload.mimetype, filetype=extension, user=user
            )
            files = [stored.to_slack(self.base_url)]
        subtype = "file_share" if files else None
        posted = ws.post(
            channel=channel, user=user, text=slack_text, thread_ts=thread_ts, files=files, subtype=subtype
        )
        members = ws.channels[channel].members
        if ws.bot_user_id not in members:
            return posted
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": slack_text,
            "ts": posted.ts,
            "event_ts": posted.ts,
            "channel_type": "channel",
            "team": ws.team_id,
            "client_msg_id": str(uuid.uuid4()),
        }
        if files:
            event.update(subtype="file_share", files=files, upload=False, display_as_bot=False)
        if thread_ts:
            parent = ws.message(channel, thread_ts)
            event["thread_ts"] = thread_ts
            if parent is not None and parent.user:
                event["parent_user_id"] = parent.user
        if f"<@{ws.bot_user_id}>" in slack_text and "app_mention" in SUBSCRIBED_EVENTS:
            dropped = ("channel_type", "parent_user_id", "subtype", "upload", "display_as_bot")
            mention = {k: v for k, v in event.items() if k not in dropped}
            self._event({**mention, "type": "app_mention"})
        if "message.channels" in SUBSCRIBED_EVENTS:
            self._event(event)
        return posted

    def _encode(self, text: str) -> str:
        """A person's text as Slack stores it: &, <, > escaped; @name mentions as ``<@U…>``."""
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        names = {u.name: u.id for u in self.ws.users.values()}

        def mention(match: re.Match[str]) -> str:
            found = names.get(match.group(1))
            return f"<@{found}>" if found else match.group(0)

        return re.sub(r"(?<![\w@])@([a-z0-9][a-z0-9._-]*)", mention, escaped)

    def _event(self, event: dict[str, Any]) -> None:
        ws = self.ws
        envelope = event_envelope(
            event, team_id=ws.team_id, api_app_id=API_APP_ID, bot_user_id=ws.bot_user_id
        )
        self.deliverer.event(envelope)

    # ---------------------------------------------------------------------- interactions

    def _user(self, user: str) -> dict[str, Any]:
        return {
            "id": user,
            "username": self.ws.users[user].name,
            "name": self.ws.users[user].name,
            "team_id": self.ws.team_id,
        }

    def click(
        self, *, user: str, container: str, item_id: str, block: int, element: str, side: str | None = None
    ) -> Outcome:
        """A person clicks a button (or a feedback button) in a message, an ephemeral message or a view."""
        ws = self.ws
        if user not in ws.users:
            return Outcome("Pick a person first.")
        found = self._container(user, container, item_id)
        if found is None:
            return Outcome("That message is gone.")
        blocks, extra = found
        try:
            chosen_block = blocks[block]
            chosen = chosen_block["accessory"] if element == "a" else chosen_block["elements"][int(element)]
        except (IndexError, KeyError, TypeError, ValueError):
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
        else:
            for key in ("text", "value", "style", "url"):
                if chosen.get(key) is not None:
                    action[key] = chosen[key]
        channel = extra.get("channel")
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": API_APP_ID,
            "token": "playground-verification-token",
            "trigger_id": ws.issue_trigger(user, channel),
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "enterprise": None,
            "is_enterprise_install": False,
            "state": {"values": {}},
            "actions": [action],
            **{k: v for k, v in extra.items() if k != "channel"},
        }
        if channel:
            payload["channel"] = {"id": channel, "name": ws.channels[channel].name}
            container_info = payload.get("container") or {}
            payload["response_url"] = ws.issue_response_url(
                self.base_url,
                channel=channel,
                user=user,
                thread_ts=container_info.get("thread_ts"),
                message_ts=None if container_info.get("is_ephemeral") else container_info.get("message_ts"),
            )
        ack = self.deliverer.interaction(payload)
        if not ack.ok:
            return Outcome(
                f"{ws.bot_name} did not respond ({_why(ack)}). Slack shows a warning next to the button."
            )
        return Outcome()

    def _container(  # noqa: PLR0911 - one branch per kind of container
        self, user: str, container: str, item_id: str
    ) -> tuple[list[Any], dict[str, Any]] | None:
        ws = self.ws
        if container == "message":
            msg = ws.find_message(item_id)
            if msg is None:
                return None
            info = {
                "type": "message",
                "message_ts": msg.ts,
                "channel_id": msg.channel,
                "is_ephemeral": False,
            }
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
                "view": self._view_payload(view, {}),
            }
        return None

    def _view_payload(self, shown: View, values: dict[str, dict[str, Any]]) -> dict[str, Any]:
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

    def submit_view(self, *, user: str, view_id: str, values: dict[str, dict[str, str]]) -> Outcome:
        """A person submits a modal with these input values (block_id -> action_id -> text)."""
        ws = self.ws
        shown = ws.views.get(view_id)
        if shown is None or shown.closed or shown.user not in (None, user):
            return Outcome("This modal is closed.")
        state: dict[str, dict[str, Any]] = {}
        missing: dict[str, str] = {}
        for index, block in enumerate(shown.view.get("blocks") or []):
            if not isinstance(block, dict) or block.get("type") != "input":
                continue
            element = block.get("element") or {}
            block_id = str(block.get("block_id") or f"b{index}")
            action_id = str(element.get("action_id") or f"a{index}")
            value = (values.get(block_id) or {}).get(action_id, "")
            limit = element.get("max_length")
            if isinstance(limit, int):
                value = value[:limit]
            if not value and not block.get("optional"):
                missing[block_id] = "Please fill out this field."
            state[block_id] = {action_id: {"type": element.get("type"), "value": value or None}}
        if missing:  # Slack's client refuses to submit before the app hears of it
            return Outcome(errors=missing)
        payload = {
            "type": "view_submission",
            "team": {"id": ws.team_id, "domain": ws.team_domain},
            "user": self._user(user),
            "api_app_id": API_APP_ID,
            "token": "playground-verification-token",
            "trigger_id": ws.issue_trigger(user),
            "view": self._view_payload(shown, state),
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
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
                "type": "view_closed",
                "team": {"id": ws.team_id, "domain": ws.team_domain},
                "user": self._user(user),
                "api_app_id": API_APP_ID,
                "token": "playground-verification-token",
                "view": self._view_payload(shown, {}),
                "is_cleared": False,
                "is_enterprise_install": False,
            }
            self.deliverer.interaction(payload)
        return Outcome()

    def open_home(self, *, user: str) -> None:
        """A person opens the app's Home tab (the app hears of it when subscribed to app_home_opened)."""
        if "app_home_opened" not in SUBSCRIBED_EVENTS:
            return
        ws = self.ws
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": f"D{user}",
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        if user in ws.home:
            event["view"] = self._view_payload(ws.home[user], {})
        self._event(event)

    # ------------------------------------------------------------- the app's own messages

    def follow(self) -> None:
        """Deliver ``message`` events for the app's own posts, edits and deletions, as Slack does."""
        self._follower = threading.Thread(target=self._follow, name="playground-events", daemon=True)
        self._follower.start()

    def stop(self) -> None:
        """Stop following."""
        self._stop.set()

    def _follow(self) -> None:
        ws = self.ws
        seen = ws.seq
        while not self._stop.is_set():
            for change in ws.wait_changes(seen, timeout=1.0):
                seen = change.seq
                self._app_message_event(change.kind, change.data)

    def _app_message_event(self, kind: str, data: dict[str, Any]) -> None:
        ws = self.ws
        channel = ws.channels.get(str(data.get("channel")))
        if (
            channel is None
            or ws.bot_user_id not in channel.members
            or "message.channels" not in SUBSCRIBED_EVENTS
        ):
            return
        msg = ws.message(channel.id, str(data.get("ts")))
        if kind == "message" and msg is not None and msg.user == ws.bot_user_id:
            shown = msg.to_slack()
            now = f"{time.time():.6f}"
            if data.get("action") == "posted":
                event = {**shown, "channel": channel.id, "event_ts": msg.ts, "channel_type": "channel"}
            else:
                event = {
                    "type": "message",
                    "subtype": "message_changed",
                    "channel": channel.id,
                    "hidden": True,
                    "message": shown,
                    "ts": now,
                    "event_ts": now,
                    "channel_type": "channel",
                }
            self._event(event)
        elif kind == "message_deleted":
            now = f"{time.time():.6f}"
            self._event(
                {
                    "type": "message",
                    "subtype": "message_deleted",
                    "channel": channel.id,
                    "hidden": True,
                    "deleted_ts": data.get("ts"),
                    "ts": now,
                    "event_ts": now,
                    "channel_type": "channel",
                }
            )


def _why(ack: Ack) -> str:
    if ack.status is None:
        return "operation_timeout"
    if ack.status >= 500:
        return "http_service_error"
    return "dispatch_failed"
